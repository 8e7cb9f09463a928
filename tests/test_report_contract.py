"""The report contract of every export: checked on hand-made reports, kept by each method's real export
(every model it lists loads), read by `gridprune eval --model EXPORT_DIR` and by the printed summary."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from transformers import Wav2Vec2ForCTC

import gridprune
from gridprune.cli import _print_export, main
from gridprune.engine import ProtocolError, check_report, headline_model, model_entry, single_model_report
from gridprune.runs import export_best, prepare_run, start_run

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "wav_files_example"
# The tiniest run of each method on the demo model: a few utterances, one round (PARP: one step).
SECTIONS = {
    "ga_blocks": "ga: {population: 3, generations: 1, granularity: 32, pruned_blocks: 8}",
    "comflp": "comflp: {drop: 1, measure: dc, search: beam, beam: 2, candidates: 2}",
    "parp": "parp: {sparsity: [0.7], steps: 1, reprune_every: 1, batch_size: 2, train: {path: TRAIN}}",
}


def subset(folder: Path, source: str, count: int) -> Path:
    """The first `count` utterances of a shipped set, as a new .hrl file in `folder`."""
    lines = (EXAMPLES / source).read_text().splitlines()
    path = folder / f"{Path(source).stem}_{count}.hrl"
    path.write_text("\n".join(lines[: 3 + count]) + "\n")
    return path


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sets")
    return {"data": subset(folder, "dev.hrl", 4), "heldout": subset(folder, "heldout.hrl", 2),
            "train": subset(folder, "train.hrl", 2)}


@pytest.fixture(scope="module", params=list(SECTIONS))
def export(request, sets, tmp_path_factory) -> tuple[dict, Path]:
    """A finished run of the method exported with one timing round: its report (as returned) and folder."""
    root = tmp_path_factory.mktemp(request.param)
    config = root / "config.yaml"
    config.write_text(
        f"method: {request.param}\nmodel: demo\nseed: 0\nbackend: inprocess\n"
        f"data: {{path: {sets['data']}, audio_dir: {EXAMPLES}}}\n"
        f"heldout: {{path: {sets['heldout']}, audio_dir: {EXAMPLES}}}\n"
        + SECTIONS[request.param].replace("{path: TRAIN}", f"{{path: {sets['train']}, audio_dir: {EXAMPLES}}}") + "\n")
    checked, info = prepare_run(config)
    run, _ = start_run(checked, root / "run", info)
    return export_best(run, root / "export", threads=1, rounds=1), root / "export"


def entry(label: str, folder: str | None = ".", **fields) -> dict:
    return model_entry(folder, label, params=10, nonzero_params=8, bytes=40, **fields)


def valid_report() -> dict:
    return {"method": "parp", "summary": "one line\nanother",
            "baseline": entry("unpruned", "demo", wer_search=0.2, decode_seconds=1.0),
            "models": [entry("a", "a/model", wer_search=0.3),
                       entry("b", "b/model", wer_search=0.25, speedup=1.1, speedup_min=1.0, speedup_max=1.2,
                             predicted_speedup=1.3, speed_uncertain=False)],
            "headline": "b"}


def test_a_report_keeping_the_contract_passes_and_names_its_headline():
    report = valid_report()
    check_report(report)
    assert headline_model(report) is report["models"][1]
    check_report({**report, "baseline": {**report["baseline"], "folder": None}})  # the baseline may have none
    assert list(report["models"][0]) == ["folder", "label", "params", "nonzero_params", "bytes", "sparse_bytes",
                                         "wer_search", "wer_heldout", "decode_seconds", "speedup", "speedup_min",
                                         "speedup_max", "predicted_speedup", "speed_uncertain"]
    assert report["models"][0]["wer_heldout"] is None  # not measured: present, null
    single = single_model_report("pruned", {"params": 8, "nonzero_params": 8, "bytes": 32, "speedup": 1.2}, "demo",
                                 {"params": 10, "nonzero_params": 10, "bytes": 40})
    check_report({"method": "ga_blocks", "summary": "kept 80%", **single})
    assert headline_model({"method": "ga_blocks", "summary": "", **single})["folder"] == "."
    assert single["baseline"]["label"] == "unpruned" and single["baseline"]["speedup"] is None


@pytest.mark.parametrize("change, message", [
    (lambda r: r["models"][1].pop("params"), r"^report\.models\[1\]\.params: missing$"),
    (lambda r: r["models"][0].update(params="10"), r"^report\.models\[0\]\.params: expected an integer, got '10'"),
    (lambda r: r["models"][0].update(params=True), r"^report\.models\[0\]\.params: expected an integer"),
    (lambda r: r["models"][0].update(bytes=None), r"^report\.models\[0\]\.bytes: expected an integer, got None"),
    (lambda r: r["models"][1].update(speedup="fast"), r"^report\.models\[1\]\.speedup: expected a number or null"),
    (lambda r: r["models"][0].update(folder="/abs/model"), r"^report\.models\[0\]\.folder: '/abs/model' is not"),
    (lambda r: r["models"][0].update(folder="../model"), r"^report\.models\[0\]\.folder: '\.\./model' is not"),
    (lambda r: r["baseline"].pop("wer_heldout"), r"^report\.baseline\.wer_heldout: missing$"),
    (lambda r: r.pop("baseline"), r"^report\.baseline: missing$"),
    (lambda r: r.pop("method"), r"^report\.method: missing$"),
    (lambda r: r.update(summary=["a"]), r"^report\.summary: expected a string"),
    (lambda r: r.update(models=[]), r"^report\.models: expected a non-empty list$"),
    (lambda r: r["models"][0].update(label="b"), r"^report\.models: the label 'b' is given to more than one"),
    (lambda r: r.update(headline="best"), r"^report\.headline: 'best' is not the label of any of report\.models "
                                          r"\('a', 'b'\)$"),
])
def test_a_report_breaking_the_contract_is_refused_naming_the_key(change, message):
    report = copy.deepcopy(valid_report())
    change(report)
    with pytest.raises(ProtocolError, match=message):
        check_report(report)


def test_each_methods_export_keeps_the_contract_and_every_model_it_lists_loads(export):
    report, out = export
    check_report(report)
    written = json.loads((out / "report.json").read_text())
    check_report(written)
    headline, baseline = headline_model(written), written["baseline"]
    assert (headline["wer_search"], baseline["wer_search"]) == (written["wer_after"], written["wer_before"])
    assert (headline["wer_heldout"], baseline["wer_heldout"]) == (written["heldout_wer_after"],
                                                                   written["heldout_wer_before"])
    assert (headline["speedup"], headline["decode_seconds"]) == (written["speedup"], written["decode_seconds_after"])
    assert baseline["folder"] == "demo" and baseline["params"] >= headline["params"]
    for model in written["models"]:
        folder = out / model["folder"]
        loaded = gridprune.load_pruned(folder)
        assert sum(p.numel() for p in loaded.parameters()) == model["params"]
        if "gridprune" not in json.loads((folder / "config.json").read_text()):  # a plain shape
            Wav2Vec2ForCTC.from_pretrained(folder)


def test_one_model_is_the_export_folder_and_a_sweep_lists_each_point_timing_the_most_sparse(export):
    report, out = export
    if report["method"] != "parp":
        assert [m["folder"] for m in report["models"]] == ["."] and report["baseline"]["sparse_bytes"] is None
        return
    assert [m["label"] for m in report["models"]] == ["one-shot s=0.70", "parp s=0.70"]
    assert report["headline"] == report["speed_model"] == "parp s=0.70"
    for model, point in zip(report["models"], report["points"]):
        assert model["folder"] == f"{point['folder']}/model"
        assert model["sparse_bytes"] == (out / point["folder"] / "sparse.pt").stat().st_size
        assert model["nonzero_params"] < model["params"] == report["baseline"]["params"]
    assert report["models"][0]["speedup"] is report["models"][0]["decode_seconds"] is None  # not timed
    assert report["baseline"]["sparse_bytes"] == report["points"][0]["sparse_bytes_unpruned"]


def test_the_printed_export_is_a_table_with_the_baseline_first_and_the_headline_marked(export, capsys):
    report, out = export
    _print_export(report)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"export: {out}  (report: {out}/report.json; model folders are relative to it)"
    assert lines[1:1 + len(report["summary"].splitlines())] == report["summary"].splitlines()
    header = lines.index(next(line for line in lines if line.startswith("  model ")))
    rows = lines[header + 1: header + 2 + len(report["models"])]
    assert rows[0].split()[0] == "unpruned" and "100.0%" in rows[0]
    marked = [row for row in rows if row.startswith("* ")]
    assert len(marked) == 1 and marked[0][2:].startswith(report["headline"])
    assert f"* headline: the model `gridprune eval --model {out}` evaluates" in lines
    assert ("sparse" in lines[header]) == (report["method"] == "parp")


def test_a_busy_timing_is_flagged_on_its_row(capsys):
    report = valid_report()
    report["models"][1]["speed_uncertain"] = True
    _print_export({**report, "out": "x"})
    out = capsys.readouterr().out
    assert "1.10x (1.00-1.20x)!" in out and "! the machine was busy while timing" in out
    assert "sparse" not in out and "WER held-out" not in out  # columns no row has a figure in are left out


def test_eval_of_an_export_decodes_its_headline_and_says_which(export, sets, capsys):
    report, out = export
    model = out / headline_model(report)["folder"]  # PARP: the export folder itself is no model
    args = ["eval", "--model", str(out), "--data", str(sets["data"]), "--audio-dir", str(EXAMPLES)]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"evaluating the headline model of the export {out}: {report['headline']} ({model})"
    assert f"corpus WER {report['wer_after']:.4f}" in lines[-1]  # the search set: the headline's recorded WER
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["model"] == str(model) and report["headline"] in captured.err
