"""CoMFLP on the engine: its settings and their errors, the strategy's rounds and state, and whole runs
on the demo model (and tiny models of both encoder styles) on the in-process backend and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from gridprune.checkpoint_files import checkpoint_fingerprint, resolve_model_path
from gridprune.config import ConfigError, ConfigValueError, describe_validation_error, load_config
from gridprune.data import read_hrl
from gridprune.backends.inprocess import InProcessBackend
from gridprune.engine import EngineError, Outcome, TaskKind, Trial, read_checkpoint, run_method
from gridprune.methods import METHODS
from gridprune.methods.comflp import Comflp
from gridprune.methods.comflp.strategy import ANALYSIS, EVALUATION, ComflpStrategy, drop_trial
from gridprune.search.layer_sets import GreedyLayerRemoval, beam_search, exhaustive_search
from gridprune.store import RunDir

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO / "configs" / "comflp_demo.yaml"


def demo_config(*overrides: str, path: Path = DEMO_CONFIG):
    return load_config(path, list(overrides), METHODS)


def settings_problem(*overrides: str) -> str:
    """The one-line error a config with `overrides` gets before any run directory exists."""
    config = demo_config(*overrides)
    method = Comflp()
    try:
        settings = method.Settings.model_validate(config.settings)
    except ValidationError as exc:
        return describe_validation_error(str(DEMO_CONFIG), exc, prefix=method.section, model=method.Settings)
    try:
        method.check(config, settings)
    except ConfigValueError as exc:
        return str(exc)
    return ""


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize("override, key, words", [
    ("comflp.drop=4", "comflp.drop", "below the model's 4 encoder layers"),
    ("comflp.drop=7", "comflp.drop", "below the model's 4 encoder layers"),
    ("comflp.drop=0", "comflp.drop", "greater than or equal to 1"),
    ("comflp.measure=cka", "comflp.measure", "'dc' or 'svcca'"),
    ("comflp.search=random", "comflp.search", "'beam', 'greedy', 'exhaustive' or 'glp'"),
    ("comflp.candidates=0", "comflp.candidates", "greater than or equal to 1"),
    ("comflp.beam=0", "comflp.beam", "greater than or equal to 1"),
    ("comflp.drop=yes", "comflp.drop", "integer"),
    ("comflp.dorp=1", "comflp.dorp", "did you mean comflp.drop"),
])
def test_bad_settings_get_one_line_naming_the_key(override, key, words):
    problem = settings_problem(override)
    assert problem.count("\n") == 0 and key in problem and words in problem, problem


def test_exhaustive_over_more_sets_than_the_limit_is_refused_naming_the_key():
    assert settings_problem("comflp.search=exhaustive", "comflp.drop=2") == ""  # 6 sets
    problem = settings_problem("comflp.search=exhaustive", "comflp.drop=2", "comflp.exhaustive_limit=5")
    assert problem.startswith("comflp.search: exhaustive over 6 sets of 2 of 4 layers exceeds comflp.exhaustive_limit (5)")


def test_defaults_are_the_papers_and_the_analysis_trial_names_what_makes_the_matrix():
    settings = Comflp().Settings.model_validate({"drop": 1})
    assert (settings.measure, settings.search, settings.beam, settings.candidates) == ("dc", "beam", 10, 10)
    config = demo_config()
    strategy = Comflp().new_strategy(None, config, settings)
    (trial,) = strategy.ask()
    assert trial.kind == ANALYSIS and trial.params == {
        "measure": "dc", "after_final_norm": False, "bias_corrected": True, "batch_size": 32, "batches": 10, "seed": 0}
    svcca = Comflp().new_strategy(None, config, Comflp().Settings.model_validate({"drop": 1, "measure": "svcca"}))
    assert svcca.ask()[0].params == {"measure": "svcca", "after_final_norm": False, "threshold": 0.99}


# ------------------------------------------------------------------ the strategy (no model)


def ok(value: float | None, key: str | None = None) -> Outcome:
    return Outcome("ok", value, key=key)


def random_matrix(layers: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(0, 1, (layers + 1, layers + 1))
    matrix = (matrix + matrix.T) / 2
    np.fill_diagonal(matrix, 1.0)
    return matrix


def restored(strategy: ComflpStrategy, matrix: np.ndarray) -> ComflpStrategy:
    state = json.loads(json.dumps(strategy.state_dict()))
    return ComflpStrategy.from_state(state, lambda key: matrix)


@pytest.mark.parametrize("search", ["beam", "greedy", "exhaustive"])
def test_the_coarse_strategy_asks_one_analysis_then_its_top_candidates_and_keeps_the_lowest_wer(search):
    matrix = random_matrix(8)
    read = []
    strategy = ComflpStrategy(8, 3, search, beam=4, candidates=5, analysis={"measure": "dc"},
                              read_matrix=lambda key: read.append(key) or matrix)
    assert (strategy.planned_rounds, strategy.best, strategy.finished) == (2, None, False)
    (analysis,) = strategy.ask()
    assert analysis == Trial(ANALYSIS, {"measure": "dc"}, label="dc matrix")
    strategy.tell_round([analysis], [ok(None, key="a" * 64)])
    assert read == ["a" * 64] and strategy.round == 1 and strategy.best is None
    expected = {"beam": beam_search(matrix, 3, beam=4, candidates=5),
                "greedy": beam_search(matrix, 3, beam=1, candidates=5),
                "exhaustive": exhaustive_search(matrix, 3, candidates=5)}[search]
    trials = strategy.ask()
    assert [t.params["dropped"] for t in trials] == [list(c.layers) for c in expected]
    assert all(t.kind == EVALUATION for t in trials) and len(trials) == 5
    again = restored(strategy, matrix)
    assert again.ask() == trials and again.state_dict() == strategy.state_dict()
    # the first and fourth candidate tie on WER: the one the coarse search ranked higher wins
    wers = [0.30, 0.50, 0.40, 0.30, None]
    outcomes = [ok(w) if w is not None else Outcome.failed("worker died", 3) for w in wers]
    strategy.tell_round(trials, outcomes)
    assert strategy.finished and strategy.round == 2 and strategy.ask() == []
    assert strategy.best == (drop_trial(trials[0].params["dropped"]), 0.30)
    assert strategy.evaluations == 5
    final = restored(strategy, matrix)
    assert final.best == strategy.best and final.finished


def test_told_other_trials_than_asked_or_a_failed_analysis_are_refused():
    strategy = ComflpStrategy(4, 1, "beam", analysis={"measure": "dc"}, read_matrix=lambda key: random_matrix(4))
    with pytest.raises(EngineError, match="analysis failed .*out of memory"):
        strategy.tell_round(strategy.ask(), [Outcome.failed("out of memory", 3)])
    with pytest.raises(Exception, match="told other trials"):
        strategy.tell_round([drop_trial([1])], [ok(0.2)])
    with pytest.raises(EngineError, match="no gridprune.methods.comflp.strategy"):
        ComflpStrategy.from_state({"format": "gridprune.search.GeneticSearch"})


def test_glp_asks_every_remaining_layer_each_round_and_uses_the_expected_evaluations():
    layers, drop = 6, 3

    def cost(dropped):
        return sum((i + 1) * 0.1 for i in dropped) + (0.5 if 2 in dropped else 0)
    strategy = ComflpStrategy(layers, drop, "glp")
    reference = GreedyLayerRemoval(layers, drop)
    asked = 0
    while not strategy.finished:
        trials = strategy.ask()
        assert [tuple(t.params["dropped"]) for t in trials] == reference.ask()
        asked += len(trials)
        values = [cost(t.params["dropped"]) for t in trials]
        reference.tell([t.params["dropped"] for t in trials], values)
        strategy.tell_round(trials, [ok(v) for v in values])
        strategy = restored(strategy, np.eye(2))  # kill and resume after every round
    assert asked == strategy.evaluations == 6 + 5 + 4 and strategy.round == strategy.planned_rounds == 3
    assert strategy.best[0].params["dropped"] == list(reference.removed) == [0, 1, 3]


# ------------------------------------------------------------------ whole runs on a model


@dataclass(frozen=True)
class Logged:
    """A kind's handler factory that logs each task's key and stops the run (as a killed master) at call `stop_at`."""

    inner: object
    log: str
    stop_at: int | None = None

    def __call__(self, threads: int):
        inner, calls = self.inner(threads), []

        def handler(task, context):
            calls.append(task["key"])
            if len(calls) == self.stop_at:
                raise KeyboardInterrupt
            with open(self.log, "a") as file:
                file.write(f"{task['kind']} {task['key']}\n")
            return inner(task, context)
        return handler


def new_run(root: Path, config) -> RunDir:
    """A run directory as `gridprune run` makes it (run.json with the config and the fingerprints)."""
    return RunDir.create(root, {
        "config": config.model_dump(mode="json"), "method": config.method, "seed": config.seed, "created_at": 0.0,
        "model_fingerprint": checkpoint_fingerprint(resolve_model_path(config.model)),
        "dataset_fingerprint": read_hrl(config.data.path, config.data.audio_dir).fingerprint()})


def run_in_process(run: RunDir, config, log: Path, stop_at: int | None = None):
    method = Comflp()
    settings = method.Settings.model_validate(config.settings)
    kinds = {name: TaskKind(name, Logged(kind.factory, str(log), stop_at), kind.resources)
             for name, kind in method.kinds(config, settings).items()}
    return run_method(method, run, config, settings, InProcessBackend(run, kinds, max_retries=0))


def exported_wer(folder: Path, data: Path) -> float:
    """Decode `data` with the exported model loaded by plain transformers alone."""
    from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor

    from gridprune.models.evaluator import decode_dataset

    model = Wav2Vec2ForCTC.from_pretrained(folder, local_files_only=True).eval()
    processor = Wav2Vec2Processor.from_pretrained(folder, local_files_only=True)
    return decode_dataset(model, processor, read_hrl(data)).result.wer


def test_demo_run_killed_mid_round_resumes_without_repeating_work_and_exports_the_recorded_best(tmp_path):
    config = demo_config()
    run, log = new_run(tmp_path / "run", config), tmp_path / "calls.log"
    with pytest.raises(KeyboardInterrupt):
        run_in_process(run, config, log, stop_at=3)  # the analysis, two candidates, then the master dies
    assert read_checkpoint(run)["round"] == 1
    strategy = run_in_process(run, config, log)
    calls = log.read_text().split("\n")[:-1]
    assert len(calls) == len(set(calls)) == 1 + 4  # nothing done twice; drop 1 of 4: every layer a candidate
    assert [c.split()[0] for c in calls] == [ANALYSIS] + [EVALUATION] * 4
    assert strategy.finished and strategy.evaluations == 4
    saved = read_checkpoint(run)
    dropped, recorded = saved["best"]["trial"]["params"]["dropped"], saved["best"]["value"]
    assert recorded == min(w["wer"] for w in saved["strategy"]["wers"])

    matrix_file = next((run.root / "artifacts").glob(f"*/{saved['strategy']['matrix_key']}/matrix.json"))
    matrix = json.loads(matrix_file.read_text())
    assert matrix["params"]["measure"] == "dc" and np.allclose(np.diag(matrix["matrix"]), 1)
    assert matrix["utterances"] == 20 and matrix["matrix_seconds"] >= 0
    history = run.read_history()
    assert [row["phase"] for row in history] == ["analysis", "candidates"] and history[0]["coarse_seconds"] < 0.1

    method, out = Comflp(), tmp_path / "best"
    report = method.export(run, config, method.Settings.model_validate(config.settings), out, rounds=1)
    assert json.loads((out / "config.json").read_text())["num_hidden_layers"] == 3
    assert report["dropped_layers"] == dropped and report["wer_after"] == recorded == report["wer_recorded"]
    assert exported_wer(out, Path(config.data.path)) == recorded
    assert report["params_after"] < report["params_before"] and report["layers_after"] == 3
    assert {"heldout_wer_before", "heldout_wer_after", "decode_seconds_before", "decode_seconds_after",
            "speedup"} <= set(report)
    assert report["matrix_path"] == str(matrix_file.relative_to(run.root))
    assert sorted(c["dropped"][0] for c in report["candidates"]) == [0, 1, 2, 3]


def test_glp_on_the_demo_model_uses_the_expected_evaluations_and_resumes_between_steps(tmp_path):
    config = demo_config("comflp.search=glp", "comflp.drop=2")
    run, log = new_run(tmp_path / "run", config), tmp_path / "calls.log"
    with pytest.raises(KeyboardInterrupt):
        run_in_process(run, config, log, stop_at=6)  # within the second step
    strategy = run_in_process(run, config, log)
    calls = log.read_text().split("\n")[:-1]
    assert len(calls) == len(set(calls)) == 4 + 3 and strategy.evaluations == 7
    history = strategy.glp.history
    assert len(history[1][0]) == 2 and set(history[0][0]) < set(history[1][0])
    assert strategy.best == (drop_trial(history[1][0]), history[1][1])


@pytest.mark.parametrize("stable", [False, True], ids=["post-norm", "stable-layer-norm"])
def test_both_encoder_styles_export_a_plain_checkpoint_whose_wer_is_the_recorded_one(tmp_path, stable):
    from tests.factories import make_checkpoint, write_dataset

    model = make_checkpoint(tmp_path / "model", stable, layers=4)
    data = write_dataset(tmp_path / "data", ["a b", "b c", "c a", "a", "b", "ab c"])
    yaml = tmp_path / "c.yaml"
    yaml.write_text(f"method: comflp\nmodel: {model}\ndata: {data}\ncomflp: {{drop: 2, measure: svcca, "
                    "search: exhaustive, candidates: 3}\n")
    config = demo_config(path=yaml)
    run = new_run(tmp_path / "run", config)
    strategy = run_in_process(run, config, tmp_path / "calls.log")
    assert strategy.evaluations == 3
    method, out = Comflp(), tmp_path / "best"
    report = method.export(run, config, method.Settings.model_validate(config.settings), out, rounds=1)
    saved = json.loads((out / "config.json").read_text())
    assert saved["num_hidden_layers"] == 2 and saved["do_stable_layer_norm"] is stable
    assert exported_wer(out, data) == report["wer_after"] == strategy.best[1]


# ------------------------------------------------------------------ the CLI


def _cli(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridprune.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False, **kwargs)


def test_cli_refuses_bad_settings_before_making_the_run_directory(tmp_path):
    proc = _cli("run", str(DEMO_CONFIG), "--run-dir", str(tmp_path / "run"), "--set", "comflp.drop=4", cwd=REPO)
    assert proc.returncode == 2, proc.stderr
    assert "comflp.drop" in proc.stderr and "below the model's 4 encoder layers" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_cli_run_killed_then_resumed_status_and_export(tmp_path):
    run_dir = tmp_path / "run"
    master = subprocess.Popen([sys.executable, "-m", "gridprune.cli", "run", str(DEMO_CONFIG), "--run-dir", str(run_dir)],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not list((run_dir / "results").glob("*/*.json"))[1:]:
            time.sleep(0.2)  # the analysis and at least one evaluation stored
        assert master.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(master.pid, signal.SIGKILL)
        master.wait()
    stored = {p.name for p in (run_dir / "results").glob("*/*.json")}
    assert len(stored) >= 2
    resumed = _cli("resume", str(run_dir), cwd=REPO)
    assert resumed.returncode == 0, resumed.stderr
    status = json.loads(_cli("status", str(run_dir), "--json", cwd=REPO).stdout)
    assert status["finished"] and status["method"] == "comflp" and status["evaluations"] == 5
    assert stored <= {p.name for p in (run_dir / "results").glob("*/*.json")}
    text = _cli("status", str(run_dir), cwd=REPO)
    assert text.returncode == 0 and "candidates" in text.stdout
    out = tmp_path / "best"
    exported = _cli("export", str(run_dir), "--out", str(out), "--rounds", "1", "--force", cwd=REPO)
    assert exported.returncode == 0, exported.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["wer_after"] == status["best_value"] == exported_wer(out, REPO / "wav_files_example" / "dev.hrl")


def test_a_fitness_section_which_comflp_would_ignore_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"^--set fitness.subset: belongs to ga_blocks \(as ga.fitness\); "
                                          "comflp has no such settings"):
        demo_config("fitness.subset=5")
