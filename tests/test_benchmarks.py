"""The benchmark scripts, run as a user runs them, on the demo model with the smallest settings.

They print figures rather than assert targets (timings belong to a quiet machine,
not to a test); these tests check that each one runs end to end and that what
it writes holds together.
"""

import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SMALL_SETS = ["--set", "data=wav_files_example/dev.hrl", "--set", "heldout=wav_files_example/heldout.hrl"]
TINY_SEARCH = ["--set", "ga.generations=2", "--set", "ga.population=4", "--set", "local.workers=1", *SMALL_SETS]


def benchmark(script: str, *args, tmp_path: Path, env: dict[str, str] | None = None, machine: bool = True) -> dict:
    out = tmp_path / f"{script}.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / f"{script}.py"), *map(str, args), "--json", out],
                          capture_output=True, text=True, cwd=REPO,  # configs name their files from the top folder
                          env=None if env is None else {**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(out.read_text())
    if machine:
        assert figures["machine"]["cores"] >= 1 and figures["machine"]["torch"]
    return figures


def test_pruned_speed_counts_fewer_params_and_flops_when_pruned(tmp_path):
    figures = benchmark("pruned_speed", "--models", "demo", "--levels", "0.5", "--utterances", "2", "--repeats", "1",
                        tmp_path=tmp_path)
    unpruned, half = figures["rows"]
    assert (unpruned["pruned"], half["pruned"]) == (0.0, 0.5)
    assert half["params"] < unpruned["params"] and half["gflops"] < unpruned["gflops"]
    assert half["predicted_speedup"] == pytest.approx(unpruned["gflops"] / half["gflops"])
    assert half["seconds"] > 0 and half["masked_seconds"] > 0


def test_throughput_agrees_with_the_fresh_process_on_every_wer(tmp_path):
    figures = benchmark("throughput", "--models", "demo", "--workers", "1", "--evaluations", "3",
                        "--baseline-evaluations", "2", "--utterances", "2", tmp_path=tmp_path)
    [row] = figures["rows"]
    assert row["same_wer"] is True
    assert (row["evaluations"], row["baseline_evaluations"], row["utterances"]) == (3, 2, 2)
    assert row["rate"] > 0 and row["baseline_rate"] > 0 and row["startup_seconds"] > 0
    assert isinstance(row["front_end_share"], float)  # its size is a timing: printed, not asserted


def test_memory_traces_every_evaluation(tmp_path):
    figures = benchmark("memory", "--models", "demo", "--evaluations", "12", "--utterances", "1", tmp_path=tmp_path)
    [row] = figures["rows"]
    assert len(row["rss_trace"]) == 12
    assert row["peak"] >= max(row["rss_trace"]) and row["rss_loaded"] > row["rss_imported"]
    assert row["growth"] == pytest.approx(row["rss_trace"][-1] - row["rss_trace"][9])
    assert row["model_mib"] == pytest.approx(row["params"] * 4 / 2**20)


def test_overhead_reads_every_generation_of_the_run_it_made(tmp_path):
    figures = benchmark("overhead", "--run-dir", tmp_path / "run", *TINY_SEARCH, tmp_path=tmp_path)
    assert [row["generation"] for row in figures["rows"]] == [0, 1]
    assert figures["startup_seconds"] > 0
    for row in figures["rows"]:
        assert row["overhead"] == pytest.approx(row["seconds"] / row["decode_seconds"])  # one worker


def test_search_quality_scores_the_search_and_plots_each_set(tmp_path):
    figures = benchmark("search_quality", "--levels", "0.25", "--out", tmp_path / "quality", "--random", "3",
                        *TINY_SEARCH, tmp_path=tmp_path)
    [level] = figures["levels"]
    assert level["pruned"] == 0.25 and level["random_samples"] == 3
    # the L1 seed is in generation 0, so the GA's best can only be as good or better on the search set
    assert level["ga_best"]["search"] <= level["l1_seed"]["search"]
    assert level["random_best"]["heldout"] <= level["random_median"]["heldout"]
    assert level["random_search"]["search"] == level["random_best"]["search"]
    for name in ("search", "heldout"):
        assert (tmp_path / "quality" / f"search_quality_{name}.png").read_bytes()[:4] == b"\x89PNG"


COMPARED = {"levels": [0.25], "seeds": [0, 1], "methods": ["ga", "random", "l1"], "budget": 8}


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> tuple[dict, Path]:
    """search_compare.py's figures on the small sets (the GA: population 4, so 2 generations of the budget)."""
    folder = tmp_path_factory.mktemp("search_compare")
    figures = benchmark("search_compare", "--levels", *COMPARED["levels"], "--seeds", *COMPARED["seeds"],
                        "--methods", *COMPARED["methods"], "--budget", COMPARED["budget"], "--jobs", 2,
                        "--set", "ga.population=4", *SMALL_SETS, "--plots", folder / "plots", tmp_path=folder)
    return figures, folder


def test_search_compare_gives_a_result_per_level_seed_and_method_and_the_best_it_traced(compared):
    figures, folder = compared
    results = figures["results"]
    assert [(r["level"], r["seed"], r["method"]) for r in results] == [
        (level, seed, method) for level in COMPARED["levels"] for seed in COMPARED["seeds"]
        for method in COMPARED["methods"]]
    for r in results:
        assert len(r["trace"]) == (1 if r["method"] == "l1" else COMPARED["budget"])
        assert all(later <= earlier for earlier, later in zip(r["trace"], r["trace"][1:]))
        assert r["search_wer"] == min(r["trace"])  # the pick is the best the search saw
        assert 1 <= r["evaluations"] <= len(r["trace"])  # a chromosome asked again is a cache hit
        for name in ("search", "heldout"):
            assert r[f"{name}_wer"] == pytest.approx(r[f"{name}_errors"] / r[f"{name}_words"])
    by = {(r["seed"], r["method"]): r for r in results}
    for seed in COMPARED["seeds"]:  # the L1 seed is in the GA's generation 0
        assert by[seed, "ga"]["search_wer"] <= by[seed, "l1"]["search_wer"]
    assert [(row["method"], row["seeds"]) for row in figures["summary"]] == [(m, 2) for m in COMPARED["methods"]]
    for row in figures["summary"]:
        assert row["search_mean"] == pytest.approx(statistics.fmean(by[s, row["method"]]["search_wer"]
                                                                    for s in COMPARED["seeds"]))
    assert len((folder / "search_compare.partial.jsonl").read_text().splitlines()) == len(results)
    assert (folder / "plots" / "search_compare_25.png").read_bytes()[:4] == b"\x89PNG"


def test_search_transfer_gaps_match_the_picks_it_was_given(compared, tmp_path):
    picks, folder = compared
    figures = benchmark("search_transfer", "--level", 0.25, "--samples", 4, "--picks", folder / "search_compare.json",
                        *SMALL_SETS, tmp_path=tmp_path)
    found = figures["transfer"]
    assert found["samples"] == 4 and -1 <= found["pearson"] <= 1 and -1 <= found["spearman"] <= 1
    for name in ("search_range", "heldout_range"):
        assert found[name][0] <= found[name][1]
    by = {(r["seed"], r["method"]): r for r in picks["results"]}
    gaps = figures["gaps"]
    assert [(g["against"], g["seed"]) for g in gaps] == [(m, s) for m in ("random", "l1") for s in ("0", "1", "mean")]
    for g in gaps:
        seeds = COMPARED["seeds"] if g["seed"] == "mean" else [int(g["seed"])]
        held = [by[s, "ga"]["heldout_wer"] - by[s, g["against"]]["heldout_wer"] for s in seeds]
        searched = [by[s, "ga"]["search_wer"] - by[s, g["against"]]["search_wer"] for s in seeds]
        assert g["gap"] == pytest.approx(statistics.fmean(held))
        assert g["search_gap"] == pytest.approx(statistics.fmean(searched))
        assert g["low"] <= g["gap"] <= g["high"]


def test_synthetic_ga_never_beats_the_optimum_and_only_closes_in(tmp_path):
    figures = benchmark("synthetic_ga", "--layers", 3, "--granularity", 8, "--pruned", 2, "--population", 6,
                        "--generations", 35, "--seeds", 0, 1, tmp_path=tmp_path,
                        machine=False)  # numpy only: it writes no machine
    rows = figures["rows"]
    assert len(rows) == 3 * 2 * 2  # slot orders x crossovers x elitisms
    assert len({(r["slot_order"], r["crossover"], r["elitism"]) for r in rows}) == len(rows)
    for row in rows:
        for seed in ("0", "1"):
            gap = row["gap"][seed]
            assert 0 <= gap["35"] <= gap["10"] <= figures["random_gap"][seed]
        assert row["final_mean"] == pytest.approx(statistics.fmean(row["gap"][s]["35"] for s in ("0", "1")))


def test_comflp_coarse_times_every_shape_and_the_demo_collection(tmp_path):
    from gridprune.checkpoint_files import DEMO_MODEL
    from gridprune.data import read_hrl
    from gridprune.search.layer_sets import DEFAULT_EXHAUSTIVE_LIMIT

    data = "wav_files_example/heldout.hrl"
    figures = benchmark("comflp_coarse", "--utterances", 32, "--repeats", 1, "--data", data, tmp_path=tmp_path)
    assert [(r["shape"], r["layers"], r["drop"]) for r in figures["coarse"]] == [("base", 12, 6), ("large", 24, 12)]
    for row in figures["coarse"]:
        assert row["utterances"] == 32 and row["sets"] == math.comb(row["layers"], row["drop"])
        assert (row["exhaustive_seconds"] is None) == (row["sets"] > DEFAULT_EXHAUSTIVE_LIMIT)
    demo = figures["demo_collection"]
    layers = json.loads((DEMO_MODEL / "config.json").read_text())["num_hidden_layers"]
    assert demo["data"] == data and demo["utterances"] == len(read_hrl(REPO / data).utterances)
    assert demo["boundaries"] == layers + 1
    assert demo["seconds_per_utterance"] == pytest.approx(demo["seconds"] / demo["utterances"])


def test_comflp_quality_no_chooser_beats_trying_every_set(tmp_path):
    figures = benchmark("comflp_quality", "--drops", 1, 2, "--rounds", 1, "--skip-coarse", tmp_path=tmp_path)
    layers = figures["layers"]
    assert "coarse" not in figures and sorted(figures["drops"]) == ["1", "2"]
    for drop, found in figures["drops"].items():
        sets = {s["dropped"]: s for s in found["sets"]}
        assert len(sets) == math.comb(layers, int(drop))
        every, *choosers = found["rows"]
        assert every["wer"] == min(s["wer"] for s in sets.values()) and every["evaluations"] == len(sets)
        for row in found["rows"]:
            assert (row["wer"], row["heldout"]) == (sets[row["dropped"]]["wer"], sets[row["dropped"]]["heldout"])
            assert every["wer"] <= row["wer"]
        evaluations = {row["chooser"]: row["evaluations"] for row in choosers}
        assert all(n == 1 for c, n in evaluations.items() if c.endswith("K=1"))
        assert all(n == min(10, len(sets)) for c, n in evaluations.items() if c.endswith("K=10"))
        assert evaluations["GLP"] == sum(layers - i for i in range(int(drop)))  # every layer left, at each step
        export = found["export"]
        assert export["layers_after"] == layers - int(drop) and export["params_after"] < export["params_before"]


def test_export_stability_reports_each_export_within_its_rounds(tmp_path):
    exports = 2
    figures = benchmark("export_stability", "--run-dir", tmp_path / "run", "--exports", exports, "--hogs", 0,
                        *SMALL_SETS, "--set", "ga.population=4", "--set", "ga.generations=1",
                        "--set", "local.workers=1", tmp_path=tmp_path,
                        env={"OMP_NUM_THREADS": "1"})  # torch's default threads crawl on a busy machine
    rows = figures["exports"]
    assert [row["export"] for row in rows] == list(range(1, exports + 1)) and figures["hogs"] == 0
    for row in rows:
        assert row["min"] <= row["speedup"] <= row["max"] and row["rounds"] >= 1
        assert row["predicted"] > 1  # a quarter of the FFN blocks pruned: fewer FLOPs
    medians = [row["speedup"] for row in rows]
    assert figures["max_over_min"] == pytest.approx(max(medians) / min(medians))
    assert len(figures["former_way"]) == exports
    assert figures["former_way_max_over_min"] == pytest.approx(max(figures["former_way"]) / min(figures["former_way"]))


def test_parp_sweep_runs_only_the_parts_asked_and_a_killed_task_redoes_at_most_save_every(tmp_path):
    steps, save_every, kill_after = 10, 3, 4
    figures = benchmark("parp_sweep", "--parts", "sweep", "kill", "--points", 0.5, "--progressive-points", 0.5,
                        "--steps", steps, "--reprune-every", 5, "--batch-size", 1, "--save-every", save_every,
                        "--kill-after", kill_after, "--workers", 1, "--seeds", 0, 1, "--distill", 0.5,
                        "--runs-dir", tmp_path / "runs", tmp_path=tmp_path)
    assert "compare" not in figures and figures["settings"]["steps"] == steps
    assert figures["settings"]["distill"] == 0.5 and figures["settings"]["schedule"] == "constant"
    assert sorted(figures["rows"]) == ["0", "1"]
    for rows in figures["rows"].values():
        assert sorted((r["variant"], r["sparsity"]) for r in rows) == [
            ("one-shot", 0.5), ("parp", 0.5), ("parp-p", 0.5)]
        for row in rows:
            assert row["sparsity_measured"] == pytest.approx(row["sparsity"], abs=0.01)
            assert row["steps"] == (0 if row["variant"] == "one-shot" else steps)
    [point] = figures["table"]
    heldout = [r["heldout_wer"] for rows in figures["rows"].values() for r in rows if r["variant"] == "parp"]
    assert point["parp_heldout"] == pytest.approx(sum(heldout) / 2)
    assert (point["parp_heldout_min"], point["parp_heldout_max"]) == (min(heldout), max(heldout))
    kill = figures["kill"]
    assert kill_after <= kill["killed_at_step"] < steps and kill["steps"] == steps
    assert kill["resumed_from"] % save_every == 0
    assert kill["steps_redone"] == kill["killed_at_step"] - kill["resumed_from"]
    assert 0 <= kill["steps_redone"] <= save_every == kill["save_every"]


def test_layer_ga_compare_gives_each_variant_its_figures_and_magnitude_at_its_sparsity(tmp_path):
    pytest.importorskip("sklearn")
    # gridprune's operators only (the original's have tests of their own): the script's figures are the point
    figures = benchmark("layer_ga_compare", "--units", "neuron", "--seeds", 0, "--evaluations", 9, "--population", 3,
                        "--operators", "gridprune", "--search", "wav_files_example/dev.hrl",
                        "--heldout", "wav_files_example/heldout.hrl", "--digits", "--runs-dir", tmp_path / "runs",
                        "--set", "local.workers=1", tmp_path=tmp_path)
    assert figures["evaluations_per_target"] == 9
    assert [(r["operators"], r["mode"]) for r in figures["rows"]] == [("gridprune", "sequential")]
    for row in figures["rows"]:
        assert 0 <= row["sparsity"] < 1 and set(row["per_target"]) == {f"wav2vec2.encoder.layers.{i}" for i in range(4)}
        assert 0 < row["evaluations"] <= 4 * 9 and row["rejected"] <= row["evaluations"]
        assert 0 <= row["decodes_saved"] < 1 and row["magnitude_per_target"] is not None
        assert row["wer_search"] <= row["wer_before"] + 0.02 + 1e-9  # the ceiling held
    assert {(d["operators"], d["finetuned"]) for d in figures["digits"]} == {("gridprune", True), ("gridprune", False)}
    assert all(0 <= d["magnitude_accuracy"] <= 1 for d in figures["digits"])
