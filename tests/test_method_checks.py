"""The checks `gridprune run` makes of a parp or comflp config before it writes anything: one line naming
the key, exit status 2, no run directory; building PARP's task kinds without torch; what GLP's rounds call
their best."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gridprune.checkpoint_files import DEMO_MODEL
from gridprune.config import load_config
from gridprune.data import read_hrl
from gridprune.engine import Outcome
from gridprune.methods import METHODS
from gridprune.methods.comflp import Comflp
from gridprune.methods.comflp.strategy import ComflpStrategy
from gridprune.methods.parp.settings import ParpSettings, check_batch_size
from gridprune.search.layer_sets import EXHAUSTIVE_SECONDS_PER_SET, exhaustive_seconds, how_long

REPO = Path(__file__).resolve().parents[1]
PARP_DEMO = REPO / "configs" / "parp_demo.yaml"
COMFLP_DEMO = REPO / "configs" / "comflp_demo.yaml"


def refused(config: Path, tmp_path: Path, *overrides: str) -> str:
    """The one line `gridprune run config --set ...` prints as it exits with status 2, writing nothing."""
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "gridprune.cli", "run", str(config), "--run-dir", str(run_dir)]
    for override in overrides:
        command += ["--set", override]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert not run_dir.exists()
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    return proc.stderr.strip()


def deep_model(folder: Path, layers: int) -> Path:
    """A checkpoint folder that passes the torch-free checks with `layers` encoder layers (no real weights)."""
    folder.mkdir()
    for name in ("processor_config.json", "tokenizer_config.json", "vocab.json"):
        shutil.copy(DEMO_MODEL / name, folder / name)
    config = json.loads((DEMO_MODEL / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": layers}))
    (folder / "pytorch_model.bin").touch()
    return folder


# ------------------------------------------------------------------ parp


def test_parp_without_oneshot_or_steps_is_refused(tmp_path):
    line = refused(PARP_DEMO, tmp_path, "parp.oneshot=false", "parp.steps=0")
    assert line == ("gridprune: error: --set parp.oneshot: false leaves out the one-shot trials, but with "
                    "parp.steps: 0 they are all the sweep has (PARP adjusts only with steps > 0); set parp.steps "
                    "above 0 or parp.oneshot: true")


def test_a_parp_batch_larger_than_the_training_set_is_refused(tmp_path):
    train = METHODS["parp"].Settings.model_validate(load_config(PARP_DEMO, [], METHODS).settings).train.path
    utterances = len(read_hrl(train))
    line = refused(PARP_DEMO, tmp_path, f"parp.batch_size={utterances + 1}")
    assert line == (f"gridprune: error: --set parp.batch_size: {utterances + 1} is more than the {utterances} "
                    f"utterances of the training set {train}; use at most {utterances}")


def test_the_batch_size_is_not_checked_when_nothing_trains():
    settings = ParpSettings.model_validate({"steps": 0, "batch_size": 10_000, "train": "train.hrl"})
    check_batch_size(settings, 280)  # one-shot pruning only: no batches


def test_building_parp_kinds_imports_no_torch():
    code = ("import sys\n"
            "from gridprune.run_setup import read_setup\n"
            f"kinds = read_setup({str(PARP_DEMO)!r}).kinds()\n"
            "assert sorted(kinds) == ['evaluate', 'train'], kinds\n"
            "print(sorted(name for name in sys.modules if name.split('.')[0] in ('torch', 'transformers')))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_a_resources_typo_is_answered_without_torch(tmp_path):
    code = ("import runpy, sys\n"
            "try:\n"
            "    runpy.run_module('gridprune.cli', run_name='__main__')\n"
            "finally:\n"
            "    print('torch imported' if 'torch' in sys.modules else 'no torch')\n")
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", code, "run", str(PARP_DEMO), "--run-dir", str(run_dir),
                           "--set", "resources.trian.cpus=2"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 2 and proc.stdout.strip() == "no torch", proc.stdout + proc.stderr
    assert "parp has no task kind 'trian'; its kinds: evaluate, train" in proc.stderr
    assert not run_dir.exists()


# ------------------------------------------------------------------ comflp exhaustive search


def test_exhaustive_over_the_limit_says_how_long_it_would_take(tmp_path):
    model = deep_model(tmp_path / "deep", 48)
    line = refused(COMFLP_DEMO, tmp_path, f"model={model}", "comflp.search=exhaustive", "comflp.drop=24")
    count = math.comb(48, 24)
    assert line == (f"gridprune: error: --set comflp.search: exhaustive over {count:,} sets of 24 of 48 layers "
                    f"exceeds comflp.exhaustive_limit (100,000) and would take "
                    f"{how_long(exhaustive_seconds(count))} ({EXHAUSTIVE_SECONDS_PER_SET * 1e6:.1f} µs a set); "
                    "use beam or greedy")
    assert "years" in line


def test_a_raised_limit_that_lets_exhaustive_run_for_hours_is_refused(tmp_path):
    model = deep_model(tmp_path / "deep", 48)
    line = refused(COMFLP_DEMO, tmp_path, f"model={model}", "comflp.search=exhaustive", "comflp.drop=10",
                   "comflp.exhaustive_limit=100000000000")
    count = math.comb(48, 10)
    assert line == (f"gridprune: error: --set comflp.exhaustive_limit: 100,000,000,000 lets the search rank every "
                    f"set, but exhaustive over {count:,} sets of 10 of 48 layers would take "
                    f"{how_long(exhaustive_seconds(count))} ({EXHAUSTIVE_SECONDS_PER_SET * 1e6:.1f} µs a set), over "
                    "the hour gridprune allows; use beam or greedy")
    assert "hours" in line


def comflp_check(*overrides: str) -> None:
    """Comflp's check of the demo config with `overrides` (ConfigValueError if refused)."""
    config = load_config(COMFLP_DEMO, list(overrides), METHODS)
    method = Comflp()
    method.check(config, method.Settings.model_validate(config.settings))


def test_small_exhaustive_searches_pass_and_a_quick_one_over_the_limit_may_raise_it():
    comflp_check("comflp.search=exhaustive", "comflp.drop=2")  # 6 sets
    with pytest.raises(Exception, match=r"exhaustive over 6 sets .* exceeds comflp.exhaustive_limit \(5\) and would "
                                        r"take under a second .*; use beam or greedy, or raise the limit$"):
        comflp_check("comflp.search=exhaustive", "comflp.drop=2", "comflp.exhaustive_limit=5")


@pytest.mark.parametrize("seconds, said", [(0.2, "under a second"), (40, "about 40 s"), (720, "about 12 min"),
                                           (3.2 * 3600, "about 3.2 hours"), (20 * 3600, "about 20 hours"),
                                           (5.1 * 86400, "about 5.1 days"),
                                           (3.2 * 365.25 * 86400, "about 3.2 years")])
def test_durations_read_as_people_say_them(seconds, said):
    assert how_long(seconds) == said


# ------------------------------------------------------------------ comflp GLP


def test_glp_has_no_best_until_its_last_step_chooses_the_set_it_exports():
    strategy = ComflpStrategy(6, 3, "glp")
    bests = []
    while not strategy.finished:
        trials = strategy.ask()
        strategy.tell_round(trials, [Outcome("ok", 0.1 * len(t.params["dropped"]) + 0.01 * t.params["dropped"][-1])
                                     for t in trials])
        bests.append(strategy.best)
    assert bests[:2] == [None, None]
    trial, wer = bests[2]
    assert trial.params["dropped"] == [0, 1, 2] and wer == pytest.approx(0.32)
