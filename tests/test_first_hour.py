"""A new user's first hour: every message true and one line, progress shown, everything a run started stopped
by `cancel`, results readable by others."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factories import make_checkpoint
from gridprune.backends.inprocess import InProcessBackend
from gridprune.backends.local import WORKERS_FILE, _start_time, live_workers, stop_workers
from gridprune.engine import run_method
from gridprune.run_progress import TrainingRates
from gridprune.runs import export_best, prepare_run, status_of
from gridprune.status import format_status
from gridprune.store import RunDir, atomic_write_json
from gridprune.training.status import format_training

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
SLOW_GA = (f"method: ga_blocks\nmodel: demo\ndata: {REPO / 'wav_files_example' / 'search80.hrl'}\nseed: 0\n"
           "local: {workers: 1, threads_per_worker: 1}\n"
           "ga: {population: 40, generations: 5, granularity: 8, pruned_blocks: 2}\n")


def gridprune(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridprune.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=600, **kwargs)


@contextlib.contextmanager
def slow_run(tmp_path: Path):
    """A local search started as a user would, in its own process group; yields the master once its workers
    run its first generation (and their pids), and kills what is left at the end."""
    config = tmp_path / "slow.yaml"
    config.write_text(SLOW_GA)
    run_dir = tmp_path / "run"
    master = subprocess.Popen([sys.executable, "-m", "gridprune.cli", "run", str(config), "--run-dir", str(run_dir)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        deadline = time.time() + 300
        while not (run_dir / "generations" / "0000.json").exists():
            assert time.time() < deadline and master.poll() is None, master.stderr.read() if master.poll() else ""
            time.sleep(0.1)
        workers = live_workers(RunDir.open(run_dir))
        assert workers
        yield master, workers
    finally:
        if master.poll() is None:
            os.killpg(master.pid, signal.SIGKILL)


def test_ctrl_c_stops_the_run_with_one_line_and_no_worker_left(tmp_path):
    with slow_run(tmp_path) as (master, workers):
        os.killpg(master.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground process group
        _, err = master.communicate(timeout=60)
    assert master.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-1] == ("gridprune: interrupted; what was done is kept "
                                            "(`gridprune resume RUN_DIR` continues a run)")
    assert not [pid for pid in workers if _start_time(pid) is not None]


def test_cancel_leaves_no_worker_process_of_the_run(tmp_path):
    with slow_run(tmp_path) as (master, workers):
        proc = gridprune("cancel", tmp_path / "run")
        assert proc.returncode == 0 and f"stopped the master (pid {master.pid}" in proc.stdout
        master.wait(timeout=30)
    assert not [pid for pid in workers if _start_time(pid) is not None]
    assert live_workers(RunDir.open(tmp_path / "run")) == []


def test_cancel_stops_workers_left_by_a_master_that_is_gone(tmp_path):
    """A worker whose master died without taking it along (not Linux, or killed in between) is found and stopped."""
    run = RunDir.create(tmp_path / "run", {"method": "ga_blocks"})
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        (run.jobs_dir / WORKERS_FILE).parent.mkdir(parents=True)
        atomic_write_json(run.jobs_dir / WORKERS_FILE, {"host": socket.gethostname(), "master": 1, "workers": [
            {"pid": orphan.pid, "started": _start_time(orphan.pid)}]})
        assert live_workers(run) == [orphan.pid]
        assert stop_workers(run) == ["stopped 1 local worker process of the run"]
        assert orphan.wait(timeout=5) == -signal.SIGTERM
        assert live_workers(run) == [] and stop_workers(run) == []
    finally:
        orphan.kill()


def test_status_piped_into_head_ends_quietly(tmp_path):
    proc = subprocess.run(f"{sys.executable} -m gridprune.cli methods parp | head -1", shell=True, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("parp:") and proc.stderr == ""


def test_a_plot_without_matplotlib_is_one_line(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from gridprune.cli import main\n"
            f"sys.exit(main(['status', {str(tmp_path / 'run')!r}, '--plot', 'x.png']))")
    run = RunDir.create(tmp_path / "run", prepare_run(CONFIGS / "parp_demo.yaml")[1])
    run.make_folders()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "gridprune: error: plots need matplotlib: pip install 'gridprune[plot]'"


@pytest.mark.parametrize("config", ["comflp_demo.yaml", "parp_demo.yaml", "demo.yaml"])
def test_a_checkpoint_naming_more_layers_than_it_holds_is_one_line_before_the_run(tmp_path, config):
    model = make_checkpoint(tmp_path / "model", stable_layer_norm=False, layers=2)
    settings = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**settings, "num_hidden_layers": 4}))
    proc = gridprune("run", CONFIGS / config, "--run-dir", tmp_path / "run", "--set", f"model={model}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (f"gridprune: error: {model}: config.json names 4 encoder layers "
                                   "(num_hidden_layers) but model.safetensors holds weights for 2")
    assert not (tmp_path / "run").exists()


def test_training_lines_say_stopped_in_a_stopped_run_and_time_left_in_a_running_one():
    entry = {"key": "k" * 64, "label": "parp s=0.50", "step": 120, "steps": 200, "loss": 0.4123, "updated_at": 100.0}
    assert format_training([entry], now=105.0) == ["training parp s=0.50: step 120/200, loss 0.412 (5 s ago)"]
    assert format_training([entry], stopped=True) == [
        "training parp s=0.50: stopped at step 120/200, loss 0.412; resume continues it from its last save"]
    rates = TrainingRates()
    assert rates.describe([entry]) == ["parp s=0.50: step 120/200, loss 0.412"]
    later = {**entry, "step": 140, "updated_at": 110.0}  # 2 steps a second: 60 left
    assert rates.describe([later]) == ["parp s=0.50: step 140/200, loss 0.412, about 30 s left"]


@pytest.fixture(scope="module")
def analysed_comflp(tmp_path_factory):
    """A comflp run stopped after its analysis round: no candidate has a WER yet."""
    root = tmp_path_factory.mktemp("comflp")
    setup, info = prepare_run(CONFIGS / "comflp_demo.yaml")
    run = RunDir.create(root / "run", info)
    run.make_folders()
    backend = InProcessBackend(run, setup.kinds(), max_retries=0)
    run_method(setup.method, run, setup.config, setup.settings, backend, max_rounds=1)
    return run


def test_a_run_before_its_first_value_says_so_not_that_everything_failed(analysed_comflp):
    status = status_of(analysed_comflp)
    assert status["rounds_completed"] == 1 and not status["all_failed"]
    text = format_status(status)
    assert "every evaluation failed" not in text
    assert text.splitlines()[-1] == ("nothing to export yet: no model chosen so far; continue it with "
                                     f"`gridprune resume {analysed_comflp.root}`")
    with pytest.raises(Exception, match=r"nothing to export yet after 1 rounds \(no model chosen so far\); "):
        export_best(analysed_comflp)
    assert not analysed_comflp.best_dir.exists()


def test_an_export_is_readable_by_others_as_the_umask_says(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(SLOW_GA.replace("population: 40, generations: 5", "population: 3, generations: 1")
                      + "backend: inprocess\n")
    proc = gridprune("run", config, "--run-dir", tmp_path / "run")
    assert proc.returncode == 0, proc.stderr
    weights = tmp_path / "run" / "best" / "model.safetensors"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(weights.stat().st_mode) == 0o666 & ~umask


def test_a_run_that_never_started_is_told_to_run_again_with_a_corrected_config(tmp_path):
    _, info = prepare_run(CONFIGS / "demo.yaml")
    run = RunDir.create(tmp_path / "run", info)
    run.make_folders()
    text = gridprune("status", run.root).stdout
    assert f"`gridprune run CONFIG --run-dir {run.root}` with the corrected config" in text


@pytest.mark.parametrize("override, message", [
    ("parp.sparsity=half", "--set parp.sparsity: Input should be a valid number or a valid list, not 'half'"),
    ("parp.sparsity=[1.5]", "--set parp.sparsity: each sparsity must lie in (0, 1) (the fraction of weights pruned), "
                            "not [1.5]"),
    ("parp.progressive.start=0.9", "--set parp.progressive.start: progressive.start 0.9 must lie below each target "
                                   "it rises to, not at or above [0.3, 0.5, 0.7]"),
    ("resources.trian.cpus=2", "--set resources.trian.cpus: parp has no task kind 'trian'; its kinds: evaluate, train"),
    ("ga.population=30", "--set ga.population: this section belongs to ga_blocks, not to parp"),
])
def test_a_bad_value_is_one_line_naming_the_override_that_set_it(override, message):
    from gridprune.errors import GridpruneError

    with pytest.raises(GridpruneError) as caught:
        prepare_run(CONFIGS / "parp_demo.yaml", [override])
    assert str(caught.value) == message


def test_a_config_without_a_method_says_what_to_name(tmp_path):
    from gridprune.config import ConfigError
    from gridprune.run_setup import read_setup

    config = tmp_path / "x.yaml"
    config.write_text("model: demo\ndata: wav_files_example/dev.hrl\n")
    with pytest.raises(ConfigError) as caught:
        read_setup(config)
    assert str(caught.value) == (f"{config}: method: missing; name the job type, one of ga_blocks, comflp, parp, "
                                 "srp, layer_ga (`gridprune methods` lists them)")


def test_a_run_directory_of_another_method_says_so_instead_of_listing_keys(tmp_path):
    from gridprune.runs import start_run
    from gridprune.store import StoreError

    _, comflp = prepare_run(CONFIGS / "comflp_demo.yaml")
    run = RunDir.create(tmp_path / "run", comflp)
    run.make_folders()
    run.write_generation(0, {"round": 0, "keys": [], "trials": []})  # it has started
    setup, parp = prepare_run(CONFIGS / "parp_demo.yaml")
    with pytest.raises(StoreError, match=r"which differs from this one: it is a comflp run, this config runs parp\. "):
        start_run(setup, run.root, parp)


def test_a_rounds_line_says_best_only_where_the_method_has_one(tmp_path, caplog):
    import logging

    from gridprune.methods import METHODS
    from gridprune.run_progress import RoundProgress

    row = {"rounds_done": 2, "planned_rounds": 15, "best": 0.25, "best_so_far": 0.2, "trials": 24, "evaluated": 23,
           "cache_hits": 1, "failed": 0, "seconds": 8.04}
    run = RunDir.create(tmp_path / "run", {})
    with caplog.at_level(logging.INFO, logger="gridprune.run_progress"):
        RoundProgress(run, METHODS["ga_blocks"]).round_ended(row)
        RoundProgress(run, METHODS["parp"]).round_ended({**row, "planned_rounds": 2})
    assert [r.getMessage() for r in caplog.records] == [
        "generation 2/15 done: best WER 0.2500 (so far 0.2000), 24 trials, 23 evaluated, 1 cache hits, 0 failed, 8.0 s",
        "round 2/2 done: 24 trials, 23 evaluated, 1 cache hits, 0 failed, 8.0 s"]
