"""A whole search through the `gridprune` command: run, kill, resume, status, export."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor

from factories import make_checkpoint, write_dataset
from gridprune.data import read_hrl
from gridprune.models import transcribe
from gridprune.store import RunDir
from gridprune.wer import score

GENERATIONS = 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A small random-weight model, a search set, a held-out set and a config using them."""
    root = tmp_path_factory.mktemp("search")
    model = make_checkpoint(root / "model", stable_layer_norm=False, layers=3, hidden=96, intermediate=256)
    words = ["PRUNE THE MODEL", "SEARCH", "A GENETIC ALGORITHM", "SPEECH", "CLUSTER JOBS", "FAST"]
    write_dataset(root / "data", words * 3, seconds=2.0)
    write_dataset(root / "heldout", ["HELD OUT", "SET"], name="heldout.hrl")
    config = root / "search.yaml"
    config.write_text(
        f"method: ga_blocks\nmodel: {model}\ndata: {root / 'data' / 'set.hrl'}\n"
        f"heldout: {root / 'heldout' / 'heldout.hrl'}\nseed: 3\n"
        f"local: {{workers: 2, threads_per_worker: 1}}\n"
        f"ga: {{population: 8, generations: {GENERATIONS}, granularity: 16, pruned_blocks: 8}}\n"
    )
    return root, config


def gridprune(*args, check=True, **kwargs):
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", *map(str, args)],
                          capture_output=True, text=True, **kwargs)
    if check and proc.returncode:
        raise AssertionError(f"gridprune {args} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def finished_run(setup):
    root, config = setup
    run_dir = root / "uninterrupted"
    gridprune("run", config, "--run-dir", run_dir)
    return run_dir


def result_keys(run_dir: Path) -> set[str]:
    return {p.stem for p in (run_dir / "results").glob("*/*.json")}


def generation_keys(run_dir: Path) -> list[list[str]]:
    return [json.loads(p.read_text())["keys"] for p in sorted((run_dir / "generations").glob("*.json"))]


def test_resume_after_sigkill_mid_generation_equals_an_uninterrupted_run(setup, finished_run):
    root, config = setup
    run_dir = root / "killed"
    master = subprocess.Popen([sys.executable, "-m", "gridprune.cli", "run", str(config), "--run-dir", str(run_dir)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = run_dir / "checkpoint.json"
    known_after_gen2 = None
    deadline = time.time() + 300
    while time.time() < deadline:
        completed = json.loads(checkpoint.read_text())["round"] if checkpoint.exists() else 0
        if completed == 2 and known_after_gen2 is None:
            known_after_gen2 = len(result_keys(run_dir))
        if known_after_gen2 is not None and len(result_keys(run_dir)) > known_after_gen2:
            os.killpg(master.pid, signal.SIGKILL)  # the master and its workers, mid-generation
            break
        assert master.poll() is None, "the run ended before it could be killed"
        time.sleep(0.005)
    master.wait()
    assert json.loads(checkpoint.read_text())["round"] == 2, "the kill did not land mid-generation"
    gen2_keys = set(generation_keys(run_dir)[2])
    done_at_kill = result_keys(run_dir)
    assert 0 < len(gen2_keys & done_at_kill) < len(gen2_keys)
    table = gridprune("status", run_dir).stdout
    assert f"stopped after generation 2 of {GENERATIONS}; continue with `gridprune resume {run_dir}`" in table
    assert "left" not in table and "master: running" not in table

    gridprune("resume", run_dir)

    reference = json.loads((finished_run / "checkpoint.json").read_text())
    resumed = json.loads(checkpoint.read_text())
    assert resumed == reference
    assert generation_keys(run_dir) == generation_keys(finished_run)
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    assert [row["generation"] for row in history] == list(range(GENERATIONS))
    # nothing finished before the kill was evaluated again
    assert history[2]["evaluated"] == len(gen2_keys - done_at_kill)
    assert result_keys(run_dir) == set().union(*map(set, generation_keys(run_dir)))
    # ... and status counts as evaluations every result the run stored, also those made before the kill
    status = json.loads(gridprune("status", run_dir, "--json").stdout)
    assert status["evaluations"] == len(result_keys(run_dir)) and status["state"] == "finished"


def test_a_second_master_on_the_same_run_is_refused(setup, finished_run):
    run = RunDir.open(finished_run)
    with run.master_lock():
        proc = gridprune("resume", finished_run, check=False)
    assert proc.returncode == 2
    assert "master" in proc.stderr and "already" in proc.stderr and str(finished_run.name) in proc.stderr


def test_status_reports_the_finished_run(finished_run, tmp_path):
    status = json.loads(gridprune("status", finished_run, "--json", "--plot", tmp_path / "wer.png").stdout)
    assert status["completed_generations"] == status["planned_generations"] == GENERATIONS
    assert status["finished"] is True
    assert len(status["history"]) == GENERATIONS
    all_keys = generation_keys(finished_run)
    assert status["evaluations"] + status["cache_hits"] == sum(len(keys) for keys in all_keys)
    assert status["evaluations"] == len(result_keys(finished_run))
    assert status["failed"] == 0
    assert status["best_wer"] == min(row["best"] for row in status["history"])
    startup = [row["startup_seconds"] for row in status["history"]]
    assert startup[0] > 0 and startup[1:] == [0.0] * (GENERATIONS - 1)  # worker start-up is paid once, kept apart
    assert (tmp_path / "wer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = gridprune("status", finished_run).stdout
    assert f"{GENERATIONS}/{GENERATIONS} generations - finished" in table


def test_exported_model_reloads_in_plain_transformers_with_the_recorded_wer(setup, finished_run):
    root, _ = setup
    out = finished_run / "best"
    report = json.loads((out / "report.json").read_text())
    model = Wav2Vec2ForCTC.from_pretrained(out).eval()
    processor = Wav2Vec2Processor.from_pretrained(out)
    assert model.config.intermediate_size == 256 // 2
    assert report["params_after"] == sum(p.numel() for p in model.parameters()) < report["params_before"]
    dataset = read_hrl(root / "data" / "set.hrl")
    hypotheses = [transcribe(model, processor, audio) for audio in dataset.audio()]
    wer = score([u.transcription for u in dataset.utterances], hypotheses).wer
    checkpoint = json.loads((finished_run / "checkpoint.json").read_text())
    assert wer == pytest.approx(checkpoint["best"]["value"], abs=1e-12)
    assert report["wer_after"] == pytest.approx(wer, abs=1e-12)
    for key in ("wer_before", "heldout_wer_before", "heldout_wer_after", "decode_seconds_before", "decode_seconds_after"):
        assert isinstance(report[key], float)


def test_the_report_and_the_summary_say_what_is_kept_and_what_was_removed(finished_run):
    report = json.loads((finished_run / "best" / "report.json").read_text())
    assert report["summary"] == (f"kept {report['params_kept']:.1%} of parameters ({report['params_after']:,} of "
                                 f"{report['params_before']:,}); removed 50% of FFN rows in 3 of 3 layers")
    assert report["ffn_rows_removed"] == 0.5 and report["pruned_layers"] == report["encoder_layers"] == 3
    assert report["params_kept"] == report["params_after"] / report["params_before"] < 1
    speed = (report["speedup_min"], report["speedup"], report["speedup_max"])
    assert speed == tuple(sorted(speed)) and report["speed_rounds"] >= 1 and report["speed_threads"] == 1
    assert report["predicted_speedup"] > 1 and isinstance(report["speed_uncertain"], bool)
    assert report["completed_generations"] == GENERATIONS


def test_export_to_another_folder_never_replaces_a_report_silently(finished_run, tmp_path):
    out = tmp_path / "pruned"
    first = gridprune("export", finished_run, "--out", out, "--rounds", "1").stdout
    assert "kept " in first and "removed 50% of FFN rows in 3 of 3 layers" in first and "FLOPs predict" in first
    report = (out / "report.json").read_bytes()
    assert json.loads(report)["chromosome"] == \
        json.loads((finished_run / "best" / "report.json").read_text())["chromosome"]
    again = gridprune("export", finished_run, "--out", out, "--rounds", "1", check=False)
    assert again.returncode == 2
    assert f"{out / 'report.json'} already exists (exported after generation {GENERATIONS}); pass --force" in again.stderr
    assert (out / "report.json").read_bytes() == report
    forced = gridprune("export", finished_run, "--out", out, "--rounds", "1", "--force").stdout
    assert f"replaced the export made after generation {GENERATIONS}" in forced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pruned"]  # no partial or old copy left beside it


def test_resume_of_a_finished_run_says_so_and_exports_nothing(finished_run):
    best = finished_run / "best"
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in best.iterdir()}
    proc = gridprune("resume", finished_run)
    assert f"run {finished_run} has finished: all {GENERATIONS} generations are done" in proc.stdout
    assert "--set ga.generations=N" in proc.stdout and "export" in proc.stdout
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in best.iterdir()} == before


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_resume_refuses_what_cannot_change_naming_each_key_and_why(finished_run):
    before = snapshot(finished_run)
    proc = gridprune("resume", finished_run, "--set", "ga.granularity=8", "--set", "seed=4", "--set", "model=demo",
                     "--set", "ga.fitness.subset=2", "--set", "ga.generations=3", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "gridprune: error: --set ga.granularity: cannot be changed on resume: the saved search " \
                       "state was built with it"
    assert lines[1].startswith("--set seed: cannot be changed on resume: the search's random generator")
    assert lines[2].startswith("--set model: cannot be changed on resume: every result is keyed by the model")
    assert lines[3] == "--set ga.fitness.subset: cannot be changed on resume: every result is keyed by the fitness settings"
    assert len(lines) == 4  # ga.generations=3 alone would be refused for being fewer than done, below
    fewer = gridprune("resume", finished_run, "--set", "ga.generations=3", check=False)
    assert f"--set ga.generations: 3 is fewer than the {GENERATIONS} generations the run has completed" in fewer.stderr
    typo = gridprune("resume", finished_run, "--set", "ga.generatons=9", check=False)
    assert "--set ga.generatons: unknown key; did you mean ga.generations?" in typo.stderr
    assert snapshot(finished_run) == before


def test_more_generations_continue_the_search_as_if_planned_from_the_start(setup, finished_run):
    root, config = setup
    run_dir = root / "extended"
    gridprune("run", config, "--run-dir", run_dir, "--set", "ga.generations=2")
    proc = gridprune("resume", run_dir, "--set", f"ga.generations={GENERATIONS}", "--workers", "1")
    assert json.loads((run_dir / "checkpoint.json").read_text()) == \
        json.loads((finished_run / "checkpoint.json").read_text())
    assert generation_keys(run_dir) == generation_keys(finished_run)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["config"]["settings"]["generations"] == GENERATIONS and info["config"]["local"]["workers"] == 1
    assert info["changes"][0]["set"] == {"ga.generations": GENERATIONS, "local.workers": 1}
    assert "replaced the export made after generation 2" in proc.stdout
    assert json.loads((run_dir / "best" / "report.json").read_text())["completed_generations"] == GENERATIONS


@pytest.mark.parametrize("options, message", [
    (["--set", "ga.pruned_blocks=16"], "--set ga.pruned_blocks: 16: each must be in [1, 16)"),
    (["--set", "ga.granularity=12"], "--set ga.granularity: 12 does not divide the model's FFN width 256"),
    (["--set", "ga.layers=[5]"], "--set ga.layers: [5] must be distinct encoder layers in [0, 3)"),
    (["--set", "ga.populaton=6"], "--set ga.populaton: unknown key; did you mean ga.population?"),
    (["--workers", "0"], "--workers 0: Input should be greater than 0"),
    (["--seed", "-1"], "--seed -1: Input should be greater than or equal to 0"),
    (["--set", "data=nowhere.hrl"], "nowhere.hrl: no such dataset file"),
])
def test_errors_in_the_input_are_named_before_anything_is_written(setup, tmp_path, options, message):
    _, config = setup
    run_dir = tmp_path / "run"
    proc = gridprune("run", config, "--run-dir", run_dir, *options, check=False)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not run_dir.exists()


def test_a_run_dir_that_is_a_file_is_refused_and_left_alone(setup, tmp_path):
    _, config = setup
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    proc = gridprune("run", config, "--run-dir", afile, check=False)
    assert proc.returncode == 2 and f"{afile} is a file, not a run directory" in proc.stderr
    assert "Traceback" not in proc.stderr and afile.read_text() == "mine"


def test_a_run_dir_holding_another_run_says_which_and_is_left_alone(setup, finished_run):
    _, config = setup
    before = snapshot(finished_run)
    other = gridprune("run", config, "--run-dir", finished_run, "--set", "ga.population=6", check=False)
    assert other.returncode == 2
    assert f"already holds a run of {config} with {GENERATIONS} generations done" in other.stderr
    assert "ga.population 8 there, 6 here" in other.stderr and "choose another --run-dir" in other.stderr
    same = gridprune("run", config, "--run-dir", finished_run, check=False)
    assert same.returncode == 2 and f"continue it with `gridprune resume {finished_run}`" in same.stderr
    assert snapshot(finished_run) == before


def test_a_run_dir_in_which_no_generation_started_takes_a_corrected_config(setup, tmp_path):
    _, config = setup
    run_dir = tmp_path / "run"
    master = subprocess.Popen([sys.executable, "-m", "gridprune.cli", "run", str(config), "--run-dir", str(run_dir)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while not (run_dir / "run.json").exists():  # the workers take seconds to start: kill during their start-up
        assert time.time() < deadline and master.poll() is None
        time.sleep(0.005)
    os.killpg(master.pid, signal.SIGKILL)
    master.wait()
    assert not list((run_dir / "generations").glob("*.json"))
    assert "no generation started yet" in gridprune("status", run_dir).stdout
    proc = gridprune("run", config, "--run-dir", run_dir, "--set", "ga.generations=1", "--set", "ga.population=4")
    assert "never started a generation; replacing it with this config" in proc.stderr
    info = json.loads((run_dir / "run.json").read_text())
    assert info["config"]["settings"]["generations"] == 1 and info["config"]["settings"]["population"] == 4
    assert json.loads((run_dir / "checkpoint.json").read_text())["round"] == 1


def test_cancel_stops_a_local_master_and_status_says_it_stopped(setup, tmp_path, monkeypatch):
    _, config = setup
    # Slurm installed but its controller down: squeue would wait a minute; a local run needs no answer from it
    dead_controller = tmp_path / "slurm.conf"
    dead_controller.write_text("ClusterName=down\nSlurmctldHost=localhost\nSlurmctldPort=6999\nMessageTimeout=60\n")
    monkeypatch.setenv("SLURM_CONF", str(dead_controller))
    run_dir = tmp_path / "run"
    master = subprocess.Popen([sys.executable, "-m", "gridprune.cli", "run", str(config), "--run-dir", str(run_dir)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not (run_dir / "generations" / "0000.json").exists():  # the first generation has started
            assert time.time() < deadline and master.poll() is None
            time.sleep(0.05)
        assert "master: running" in gridprune("status", run_dir).stdout
        proc = gridprune("cancel", run_dir)
        assert f"stopped the master (pid {master.pid}" in proc.stdout
        assert master.wait(timeout=30) != 0
    finally:
        if master.poll() is None:
            os.killpg(master.pid, signal.SIGKILL)
    done = json.loads((run_dir / "checkpoint.json").read_text())["round"]
    table = gridprune("status", run_dir).stdout
    assert f"stopped after generation {done} of {GENERATIONS}; continue with `gridprune resume {run_dir}`" in table
    assert "left" not in table
    assert "nothing of" in gridprune("cancel", run_dir).stdout


@pytest.mark.parametrize("damage", ["cut at a line break", "cut inside a line", "deleted"])
def test_a_damaged_history_is_rebuilt_by_status_and_resume(finished_run, tmp_path, damage):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    history = run_dir / "history.jsonl"
    original = [json.loads(line) for line in history.read_text().splitlines()]
    text = history.read_text()
    if damage == "deleted":
        history.unlink()
    else:
        cut = text.index("\n", len(text) // 3) + 1  # after the first or second of four lines
        history.write_text(text[:cut] if damage == "cut at a line break" else text[:cut + 20])
    status = json.loads(gridprune("status", run_dir, "--json").stdout)
    assert "history.jsonl" in status["history_rebuilt"] and status["finished"]
    assert [row["generation"] for row in status["history"]] == list(range(GENERATIONS))
    assert [row["best"] for row in status["history"]] == [row["best"] for row in original]
    assert status["evaluations"] == len(result_keys(run_dir))
    assert "rebuilt from checkpoint.json" in gridprune("status", run_dir).stdout
    gridprune("resume", run_dir)
    rebuilt = [json.loads(line) for line in history.read_text().splitlines()]
    assert [(row["generation"], row["best"], row["best_so_far"]) for row in rebuilt] == \
        [(row["generation"], row["best"], row["best_so_far"]) for row in original]
    assert json.loads(gridprune("status", run_dir, "--json").stdout)["history_rebuilt"] is None
