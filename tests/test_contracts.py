"""The contracts the methods and backends plug into: the backend registry (config, CLI, a run on the
in-process backend), method-owned config sections (`ga.fitness`, and the older top-level `fitness:`),
settings validated once per command, a run directory of an older gridprune, `gridprune methods`."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from gridprune import cli
from gridprune.backends import BACKENDS
from gridprune.config import ConfigError
from gridprune.engine import Trial, trial_key
from gridprune.methods import METHODS
from gridprune.methods.ga_blocks import GaSettings
from gridprune.run_setup import canonical_config, read_setup, stored_setup
from gridprune.store import RunDir

REPO = Path(__file__).resolve().parent.parent
TINY_GA = (f"method: ga_blocks\nmodel: demo\ndata: {REPO / 'wav_files_example' / 'dev.hrl'}\nseed: 1\n"
           "backend: inprocess\nga: {population: 3, generations: 2, granularity: 8, pruned_blocks: 2, layers: [3]}\n")


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_backends_the_config_and_the_cli_accept_are_the_registered_ones(tmp_path, capsys):
    assert list(BACKENDS) == ["inprocess", "local", "slurm"]
    run = cli.build_parser()._subparsers._group_actions[0].choices["run"]
    backend = next(action for action in run._actions if action.dest == "backend")
    assert backend.choices == list(BACKENDS)
    with pytest.raises(ConfigError, match=r"--set backend: must be one of inprocess, local, slurm, not 'cloud'"):
        read_setup(write(tmp_path, TINY_GA), ["backend=cloud"])
    setup = read_setup(write(tmp_path, TINY_GA), ["inprocess.threads=2"])
    assert setup.config.backend_settings() == BACKENDS["inprocess"].Settings(threads=2)


@pytest.fixture(scope="module")
def inprocess_run(tmp_path_factory):
    """A tiny ga_blocks search on the in-process backend, counting how often the GA's settings are validated."""
    root = tmp_path_factory.mktemp("inprocess")
    config = write(root, TINY_GA)
    calls = []
    original = GaSettings.model_validate.__func__

    def counting(cls, *args, **kwargs):
        calls.append(1)
        return original(cls, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GaSettings, "model_validate", classmethod(counting))
        assert cli.main(["run", str(config), "--run-dir", str(root / "run"), "--set", "ga.generations=1"]) == 0
        run_validations = len(calls)
        calls.clear()
        assert cli.main(["resume", str(root / "run"), "--set", "ga.generations=2"]) == 0
        resume_validations = len(calls)
    return RunDir.open(root / "run"), run_validations, resume_validations


def test_a_run_on_the_inprocess_backend_goes_to_its_end_and_exports(inprocess_run):
    run, _, _ = inprocess_run
    saved = run.read_checkpoint()
    assert saved["round"] == 2 and saved["finished"]
    assert (run.best_dir / "report.json").is_file() and (run.best_dir / "config.json").is_file()
    assert not (run.jobs_dir / "local").exists()  # no worker process was started


def test_settings_are_validated_once_per_command(inprocess_run):
    _, run_validations, resume_validations = inprocess_run
    assert (run_validations, resume_validations) == (1, 1)


def test_fitness_belongs_to_ga_blocks_and_the_old_top_level_place_still_runs_with_a_warning(tmp_path, caplog):
    old = TINY_GA + "fitness: {subset: 5}\n"
    with caplog.at_level(logging.WARNING, logger="gridprune.config"):
        setup = read_setup(write(tmp_path, old))
    assert setup.settings.fitness.subset == 5
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'run.yaml'}: fitness: a top-level `fitness:` is read as ga.fitness, its place from now on; "
        "move it there"]
    assert read_setup(write(tmp_path, TINY_GA), ["ga.fitness.subset=5"]).settings == setup.settings
    comflp = TINY_GA.replace("method: ga_blocks", "method: comflp").split("ga:")[0] + "comflp: {drop: 1}\n"
    with pytest.raises(ConfigError, match=r"fitness: belongs to ga_blocks \(as ga.fitness\); comflp has no such"):
        read_setup(write(tmp_path, comflp + "fitness: {subset: 5}\n"))


def test_a_run_directory_of_the_previous_gridprune_resumes_with_the_same_keys(inprocess_run, tmp_path, capsys):
    """Its run.json has `fitness:` at the top level, its GA state is version 3 (no re-seeding)."""
    run, _, _ = inprocess_run
    copy = RunDir.open(shutil.copytree(run.root, tmp_path / "old"))
    info = copy.run_info
    old = {**info["config"], "fitness": GaSettings().fitness.model_dump(mode="json")}
    assert canonical_config(old) == canonical_config(info["config"])
    copy.replace_run_info({**info, "config": old})
    saved = copy.read_checkpoint()
    search = {key: value for key, value in saved["strategy"]["search"].items() if key != "reseed_generation"}
    copy.write_checkpoint({**saved, "strategy": {**saved["strategy"], "search": {**search, "version": 3}}})
    keys = set(copy.read_generation(1)["keys"])
    code, _, err = run_cli(capsys, "resume", copy.root, "--set", "ga.generations=3")
    assert code == 0, err
    assert copy.read_checkpoint()["round"] == 3
    setup = stored_setup(copy)
    context = setup.method.key_context(copy, setup.config, setup.settings)
    assert keys == {trial_key(Trial.from_json(t), context) for t in copy.read_generation(1)["trials"]}


def test_methods_lists_every_method_and_one_methods_settings_from_the_settings(capsys):
    code, out, _ = run_cli(capsys, "methods")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[:len(METHODS)]] == list(METHODS)
    code, out, _ = run_cli(capsys, "methods", "parp")
    assert code == 0
    assert all(f"  {name}:" in out for name in METHODS["parp"].Settings.model_fields)
    assert "  steps: 1000  # fine-tuning updates" in out and "  train: (required)" in out
    assert all(f"  {name} " in cli.build_parser().format_help() for name in METHODS)


def test_status_names_the_methods_value(inprocess_run, capsys):
    run, _, _ = inprocess_run
    code, out, _ = run_cli(capsys, "status", run.root)
    assert code == 0 and "best WER " in out.splitlines()[-2] + out.splitlines()[-1]
