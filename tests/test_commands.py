"""The `gridprune` command as a user meets it: help with examples, fast one-line errors, all-failed searches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gridprune.cli import EXAMPLES, build_parser
from gridprune.errors import GridpruneError
from gridprune.runs import check_search_succeeded, export_best, prepare_run
from gridprune.search import GeneticSearch, SearchSpace
from gridprune.store import RunDir

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "configs" / "demo.yaml"

# Runs `gridprune` in-process and says whether torch was imported on the way to its answer.
NO_TORCH = """
import sys
from gridprune.cli import main
code = main(sys.argv[1:])
print("torch imported" if "torch" in sys.modules else "no torch", code)
"""


def run_main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_every_subcommand_has_help_with_an_example():
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(commands) == set(EXAMPLES)
    for name, subparser in commands.items():
        text = subparser.format_help()
        assert f"gridprune {name} " in text.split("\nexample")[-1], name
    top = parser.format_help()
    assert "smaller and faster" in top and "gridprune run configs/demo.yaml" in top
    assert "The `gridprune` command" not in top  # not the module's docstring


@pytest.mark.parametrize("args, message", [
    (["run", DEMO, "--set", "ga.pruned_blocks=40"], "--set ga.pruned_blocks: 40: each must be in [1, 32)"),
    (["run", DEMO, "--set", "ga.populaton=6"], "--set ga.populaton: unknown key; did you mean ga.population?"),
    (["run", DEMO, "--set", "model=/nonexistent"], "/nonexistent: no such checkpoint folder"),
    (["run", DEMO, "--set", "ga.granularity=30"], "--set ga.granularity: 30 does not divide"),
    (["run", DEMO, "--workers", "0"], "--workers 0: Input should be greater than 0"),
    (["resume", "/nonexistent"], "/nonexistent: no such run directory"),
    (["status", DEMO], f"{DEMO} is a file, not a run directory"),
])
def test_input_errors_answer_in_one_line_before_torch_is_imported(tmp_path, args, message):
    run_dir = tmp_path / "run"
    proc = run_main(*args, *(["--run-dir", run_dir] if args[0] == "run" else []))
    assert proc.stdout.split() == ["no", "torch", "2"], proc.stderr
    assert proc.stderr == f"gridprune: error: {message}" + proc.stderr.split(message, 1)[1]
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not run_dir.exists()


# ---------------------------------------------------------------- a search in which every evaluation failed

class _NoWords:
    """A task kind's handler that fails as an evaluation on an empty reference would."""

    def __init__(self, threads: int):
        pass

    def __call__(self, task, context):
        raise ValueError("no words in the reference")


def all_failed_run(root: Path) -> RunDir:
    """A run directory as the engine leaves it when every evaluation of two generations failed."""
    from gridprune.backends.inprocess import InProcessBackend
    from gridprune.engine import TaskKind, run_strategy
    from gridprune.methods.ga_blocks import FitnessSettings
    from gridprune.methods.ga_blocks import KIND, GaStrategy

    run = RunDir.create(root, {"config": {}, "method": "ga_blocks", "created_at": 0.0})
    run.make_folders()
    space = SearchSpace((0, 1), 4, (2, 2))
    strategy = GaStrategy(GeneticSearch(space, 4, generations=2, seed=0), FitnessSettings(), 0, 10)
    backend = InProcessBackend(run, {KIND: TaskKind(KIND, _NoWords)}, max_retries=0)
    run_strategy(run, strategy, backend, {"model_fingerprint": "model", "dataset_fingerprint": "data"})
    return run


def test_a_search_in_which_every_evaluation_failed_ends_with_an_error_not_a_best(tmp_path):
    run = all_failed_run(tmp_path / "run")
    with pytest.raises(GridpruneError) as caught:
        check_search_succeeded(run)
    message = str(caught.value)
    distinct = {key for index in range(2) for key in run.read_generation(index)["keys"]}
    assert message.startswith(f"every evaluation of the search in {run.root} failed ({len(distinct)} failed results")
    assert "the last error: ValueError: no words in the reference" in message and "no model to export" in message


def test_status_of_an_all_failed_search_says_so(tmp_path):
    from gridprune.status import format_status, run_status

    run = all_failed_run(tmp_path / "run")
    status = run_status(run, 2, round_name="generation")
    distinct = {key for index in range(2) for key in run.read_generation(index)["keys"]}
    assert status["all_failed"] and status["failed"] == status["evaluations"] == len(distinct) > 4
    assert "every evaluation failed: there is no model to export" in format_status(status)
    assert not (run.best_dir / "report.json").exists()


def test_a_search_with_one_success_is_no_failure(tmp_path):
    run = all_failed_run(tmp_path / "run")
    saved = run.read_checkpoint()
    saved["best"] = {"key": "0" * 64, "trial": saved["strategy"]["best_trial"], "value": 0.5}
    run.write_checkpoint(saved)
    check_search_succeeded(run)  # no error


def test_export_of_an_all_failed_search_is_refused_and_writes_nothing(tmp_path):
    run = all_failed_run(tmp_path / "run")
    setup, _ = prepare_run(DEMO)
    run.replace_run_info({**run.run_info, "config": setup.config.model_dump(mode="json")})
    with pytest.raises(GridpruneError, match="every evaluation of the search .* failed"):
        export_best(run)
    assert not run.best_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no partial export beside it


def _read_only(folder: Path, *command: str) -> subprocess.CompletedProcess:
    """Run `command` with `folder` mounted read-only (a private mount namespace: root needs no chmod)."""
    script = f'mount --bind -o ro "{folder}" "{folder}" && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *command], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def _can_mount_read_only(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    return _read_only(probe, "true").returncode == 0


def test_a_read_only_run_directory_is_one_line_naming_it(tmp_path):
    if not _can_mount_read_only(tmp_path):
        pytest.skip("needs `unshare -m` and `mount --bind -o ro` (root in a mount namespace)")
    run = all_failed_run(tmp_path / "run")
    _, info = prepare_run(DEMO)
    run.replace_run_info({**info, "created_at": 0.0})
    before = {p: p.read_bytes() for p in run.root.rglob("*") if p.is_file()}
    proc = _read_only(run.root, sys.executable, "-m", "gridprune.cli", "resume", str(run.root),
                      "--set", "ga.generations=15")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (f"gridprune: error: cannot lock {run.root / 'master.lock'}: Read-only file system; "
                                   "the run directory must be writable by the master")
    new = _read_only(tmp_path, sys.executable, "-m", "gridprune.cli", "run", str(DEMO),
                     "--run-dir", str(tmp_path / "new"))
    assert new.returncode == 2
    assert f"cannot create the run directory {tmp_path / 'new'}: {tmp_path} is not writable" in new.stderr
    assert {p: p.read_bytes() for p in run.root.rglob("*") if p.is_file()} == before
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------- a run directory of an earlier gridprune

@pytest.mark.parametrize("command", ["resume", "status", "export"])
def test_a_run_of_the_gridprune_before_the_engine_is_refused_in_one_line(tmp_path, command):
    _, info = prepare_run(DEMO)
    run = RunDir.create(tmp_path / "run", info)
    run.write_generation(0, {"generation": 0, "population": [], "keys": []})
    run.write_checkpoint({"completed_generations": 1, "search": {"generation": 1}, "fitnesses": [], "keys": []})
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", command, str(run.root)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"gridprune: error: {run.checkpoint_path}: written by an earlier gridprune (before the engine, 1 generations "
        f"done), which this version cannot resume; start a new run with another --run-dir, or finish this one with "
        f"the gridprune that started it ({info['versions']['gridprune']})"]
