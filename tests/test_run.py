"""A whole search through the `gridprune` command: run, kill, resume, status, export."""

import json
import os
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
        completed = json.loads(checkpoint.read_text())["completed_generations"] if checkpoint.exists() else 0
        if completed == 2 and known_after_gen2 is None:
            known_after_gen2 = len(result_keys(run_dir))
        if known_after_gen2 is not None and len(result_keys(run_dir)) > known_after_gen2:
            os.killpg(master.pid, signal.SIGKILL)  # the master and its workers, mid-generation
            break
        assert master.poll() is None, "the run ended before it could be killed"
        time.sleep(0.005)
    master.wait()
    assert json.loads(checkpoint.read_text())["completed_generations"] == 2, "the kill did not land mid-generation"
    gen2_keys = set(generation_keys(run_dir)[2])
    done_at_kill = result_keys(run_dir)
    assert 0 < len(gen2_keys & done_at_kill) < len(gen2_keys)

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
    assert wer == pytest.approx(checkpoint["search"]["best"]["fitness"], abs=1e-12)
    assert report["wer_after"] == pytest.approx(wer, abs=1e-12)
    for key in ("wer_before", "heldout_wer_before", "heldout_wer_after", "decode_seconds_before", "decode_seconds_after"):
        assert isinstance(report[key], float)


def test_export_to_another_folder(finished_run, tmp_path):
    out = tmp_path / "pruned"
    gridprune("export", finished_run, "--out", out)
    assert json.loads((out / "report.json").read_text())["chromosome"] == \
        json.loads((finished_run / "best" / "report.json").read_text())["chromosome"]
