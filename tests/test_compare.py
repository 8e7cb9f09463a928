"""`gridprune compare`: a compare config's entries run as ordinary runs, then every exported model is measured
together with the unpruned one into report.json, table.md and plots; the Pareto marking; a compare of finished
run directories and its refusals; kill and resume; status and config errors. Tiny real wav2vec2 models, the
in-process backend."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from factories import make_checkpoint, write_dataset

from gridprune.compare.pareto import front, mark_fronts
from gridprune.config import ConfigError
from gridprune.compare.config import read_compare

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["HELLO WORLD", "GOOD MORNING", "YES NO", "ONE TWO THREE", "SPEECH MODEL"]


def gridprune(*args, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    if check and proc.returncode:
        raise AssertionError(f"gridprune {args} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A tiny checkpoint, a second one with other weights, a search set and two held-out sets."""
    root = tmp_path_factory.mktemp("compare_inputs")
    return {"model": make_checkpoint(root / "model", stable_layer_norm=False),
            "other_model": make_checkpoint(root / "other", stable_layer_norm=False, seed=1),
            "data": write_dataset(root / "search", WORDS[:4]),
            "heldout": write_dataset(root / "heldout", WORDS[1:]),
            "other_heldout": write_dataset(root / "other_heldout", WORDS[:2])}


GA = {"label": "ga quarter", "method": "ga_blocks",
      "ga": {"population": 4, "generations": 2, "granularity": 8, "pruned_blocks": 2}}
COMFLP = {"label": "comflp drop 1", "method": "comflp", "comflp": {"drop": 1, "candidates": 2}}
PARP = {"label": "parp", "method": "parp",  # a sweep: its export holds two models (PARP and one-shot at 50%)
        "parp": {"sparsity": [0.5], "steps": 2, "reprune_every": 1, "batch_size": 2, "save_every": 1}}


def write_config(path: Path, inputs: dict[str, Path], **changes) -> Path:
    config = {
        "model": str(inputs["model"]), "data": str(inputs["data"]), "heldout": str(inputs["heldout"]),
        "train": str(inputs["data"]), "backend": "inprocess", "measure": {"rounds": 2, "utterances": 2},
        "entries": [GA, COMFLP],
        **changes,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def finished(inputs, tmp_path_factory) -> Path:
    """A finished compare of the two small entries."""
    root = tmp_path_factory.mktemp("compare")
    config = write_config(root / "compare.yaml", inputs, entries=[GA, COMFLP, PARP])
    out = gridprune("compare", config, "--run-dir", root / "cmp")
    assert "ga quarter" in out.stdout and "report:" in out.stdout
    return root / "cmp"


def test_a_compare_writes_report_table_and_plots_that_agree(finished):
    report = json.loads((finished / "report.json").read_text())
    exports = {entry["label"]: json.loads((finished / entry["export"] / "report.json").read_text())
               for entry in report["entries"]}
    parp_models = [model["label"] for model in exports["parp"]["models"]]
    assert len(parp_models) == 2  # every point of the sweep, each a row named by its entry and its label
    assert [row["label"] for row in report["models"]] == \
        ["ga quarter", "comflp drop 1", *(f"parp: {label}" for label in parp_models)]
    baseline = report["baseline"]
    assert baseline["label"] == "unpruned" and baseline["params"] == exports["comflp drop 1"]["baseline"]["params"]
    for row in report["models"]:
        export = exports[row["entry"]]
        model = next(m for m in export["models"] if row["label"] in (row["entry"], f"{row['entry']}: {m['label']}"))
        assert (finished / row["folder"] / "config.json").is_file()  # the entry's exported model
        # measured again from the same folder, on the same sets: the same figures as the entry's export
        for field in ("params", "nonzero_params", "bytes", "sparse_bytes", "wer_search", "wer_heldout"):
            assert row[field] == model[field], (row["label"], field)
        assert row["headline"] == (model["label"] == export["headline"])
        assert row["predicted_speedup"] == pytest.approx(baseline["flops"] / row["flops"])
    assert report["models"][1]["predicted_speedup"] > 1  # a layer fewer: fewer FLOPs
    table = (finished / "table.md").read_text()
    for row in [baseline, *report["models"]]:
        line = next(line for line in table.splitlines() if f"| {row['label']} |" in line
                    or f"| **{row['label']}** |" in line)
        assert line.rstrip(" |").endswith(", ".join(row["front"]) or "-")
        assert (f"**{row['label']}**" in line) == bool(row["front"])
    assert sorted(report["plots"]) == ["plots/wer_vs_params.png", "plots/wer_vs_size.png", "plots/wer_vs_speedup.png"]
    for plot in report["plots"]:
        assert (finished / plot).read_bytes()[:4] == b"\x89PNG"


def test_status_of_a_finished_compare_lists_every_entry(finished):
    summary = json.loads(gridprune("status", finished, "--json").stdout)
    assert summary["state"] == "finished" and summary["measured"]
    assert [(row["label"], row["exported"]) for row in summary["entries"]] == [
        ("ga quarter", True), ("comflp drop 1", True), ("parp", True)]
    text = gridprune("status", finished).stdout
    assert "ga quarter" in text and "exported" in text and "table.md" in text


def test_resume_of_a_finished_compare_keeps_its_report(finished):
    before = (finished / "report.json").stat().st_mtime_ns
    gridprune("compare", "--resume", finished)
    assert (finished / "report.json").stat().st_mtime_ns == before


def test_pareto_front_on_hand_made_points():
    points = [(1.0, 0.5), (2.0, 0.3), (3.0, 0.3), (1.5, 0.6), (0.5, 0.9), None, (2.0, 0.3)]
    assert front(points) == [True, True, False, False, True, False, True]


def test_mark_fronts_uses_held_out_wer_the_smaller_file_and_higher_speedup():
    def row(label, nonzero, size, sparse, speedup, wer):
        return {"label": label, "nonzero_params": nonzero, "bytes": size, "sparse_bytes": sparse,
                "speedup": speedup, "wer_heldout": wer, "wer_search": 0.0}

    rows = [row("base", 100, 400, None, 1.0, 0.20), row("sparse", 40, 400, 150, 1.0, 0.25),
            row("narrow", 70, 280, None, 1.4, 0.22), row("worse", 80, 320, None, 1.2, 0.30)]
    mark_fronts(rows)
    assert {r["label"]: r["front"] for r in rows} == {
        "base": ["params", "size", "speed"], "sparse": ["params", "size"],
        "narrow": ["params", "size", "speed"], "worse": []}


def test_compare_of_finished_runs_measures_their_exports(finished, tmp_path):
    runs = sorted((finished / "entries").iterdir())
    gridprune("compare", *runs, "--run-dir", tmp_path / "again", "--rounds", "2", "--utterances", "2")
    report = json.loads((tmp_path / "again" / "report.json").read_text())
    first = json.loads((finished / "report.json").read_text())
    assert len(report["models"]) == len(first["models"])
    assert {row["entry"] for row in report["models"]} == {run.name for run in runs}  # labelled by their folders
    for mine, theirs in zip(report["models"], first["models"]):
        assert mine["params"] == theirs["params"] and mine["wer_heldout"] == theirs["wer_heldout"]
        assert Path(mine["folder"]).is_absolute()  # outside the compare directory


def test_compare_of_runs_of_other_models_or_held_out_sets_is_refused(finished, inputs, tmp_path):
    ours = sorted((finished / "entries").iterdir())[1]  # the comflp entry
    for name, model, heldout, what in (("model", "other_model", "heldout", "models"),
                                       ("heldout", "model", "other_heldout", "held-out sets")):
        config = tmp_path / f"{name}.yaml"
        config.write_text(yaml.safe_dump({
            "method": "comflp", "model": str(inputs[model]), "data": str(inputs["data"]),
            "heldout": str(inputs[heldout]), "backend": "inprocess", "comflp": {"drop": 1, "candidates": 2}}))
        gridprune("run", config, "--run-dir", tmp_path / name)
        proc = gridprune("compare", ours, tmp_path / name, "--run-dir", tmp_path / "no", check=False)
        assert proc.returncode == 2 and f"differ in their {what}" in proc.stderr
        assert str(ours) in proc.stderr and str(tmp_path / name) in proc.stderr
        assert not (tmp_path / "no").exists()


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gridprune.cli", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_for_file(path: Path, process: subprocess.Popen) -> None:
    deadline = time.time() + 300
    while not path.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert path.exists(), f"{path} never appeared"


def test_a_cancelled_then_killed_compare_resumes_without_redoing_a_finished_entry(inputs, tmp_path):
    slow_ga = {**GA, "ga": {**GA["ga"], "generations": 150}}  # long enough to be cancelled in
    config = write_config(tmp_path / "compare.yaml", inputs, entries=[slow_ga, COMFLP])
    compare = tmp_path / "cmp"
    first, second = compare / "entries" / "01-ga_quarter", compare / "entries" / "02-comflp_drop_1"
    master = start("compare", config, "--run-dir", compare)
    wait_for_file(first / "generations" / "0001.json", master)
    cancelled = gridprune("cancel", compare)
    assert master.wait(timeout=60) != 0 and "ga quarter: stopped the master" in cancelled.stdout
    summary = json.loads(gridprune("status", compare, "--json").stdout)
    assert summary["state"] == "stopped" and summary["entries"][0]["state"] == "stopped"
    assert summary["entries"][1]["state"] == "not started"

    master = start("compare", "--resume", compare)
    wait_for_file(second / "run.json", master)  # the first entry has finished
    os.killpg(master.pid, signal.SIGKILL)
    master.wait()
    kept = {path: path.stat().st_mtime_ns for path in [*first.glob("results/*/*.json"), first / "best" / "report.json"]}
    assert json.loads(gridprune("status", compare, "--json").stdout)["entries"][0]["exported"]
    gridprune("resume", compare)  # `resume` of a compare directory continues the compare
    assert {path: path.stat().st_mtime_ns for path in kept} == kept
    report = json.loads((compare / "report.json").read_text())
    assert [row["label"] for row in report["models"]] == ["ga quarter", "comflp drop 1"]
    assert json.loads(gridprune("status", compare, "--json").stdout)["state"] == "finished"


@pytest.mark.parametrize("change, message", [
    ({"entries": [{"label": "a", "method": "ga_blocks", "gaa": {}}]}, "entries[0].gaa: not a key of a ga_blocks entry"),
    ({"entries": [{"label": "a", "method": "comflp", "comflp": {"drop": 1}}, {"label": "a", "method": "comflp"}]},
     "entries[1].label: 'a' is the label of entries[0] too"),
    ({"entries": [{"label": "a", "method": "ga_blocks", "ga": {"population": -1}}]},
     "entries[0] (a): ga.population"),
    ({"ga": {"population": 4}}, "ga: belongs in an entry"),
    ({"entries": []}, "entries: give a list of entries"),
    ({"measure": {"rounds": 0}}, "measure.rounds"),
])
def test_a_bad_compare_config_names_the_entry_and_key(inputs, tmp_path, change, message):
    with pytest.raises(ConfigError) as caught:
        read_compare(write_config(tmp_path / "bad.yaml", inputs, **change))
    assert message in str(caught.value)


def test_resume_may_change_where_tasks_run_only(finished):
    proc = gridprune("compare", "--resume", finished, "--set", "seed=3", check=False)
    assert proc.returncode == 2 and "only backend and the backends' sections" in proc.stderr


def test_a_compare_set_changes_only_the_keys_its_entries_share(inputs, tmp_path):
    with pytest.raises(ConfigError, match=r"--set ga.population: a compare's --set changes the keys its entries share"):
        read_compare(write_config(tmp_path / "c.yaml", inputs), ["ga.population=3"])


def test_remeasure_measures_a_finished_compare_again(finished):
    before = json.loads((finished / "report.json").read_text())
    gridprune("compare", "--resume", finished, "--remeasure")
    after = json.loads((finished / "report.json").read_text())
    assert [row["label"] for row in after["models"]] == [row["label"] for row in before["models"]]
    assert [row["decode_seconds"] for row in after["models"]] != [row["decode_seconds"] for row in before["models"]]


def test_the_demo_compare_config_holds_every_method_and_passes_the_checks_of_a_run(monkeypatch):
    from gridprune.methods import METHODS
    from gridprune.runs import check_inputs

    monkeypatch.chdir(ROOT)
    plan = read_compare(ROOT / "configs" / "compare_demo.yaml")
    assert {entry.method for entry in plan.entries} == set(METHODS)
    for entry in plan.entries:
        check_inputs(entry.setup)
