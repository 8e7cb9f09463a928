"""The benchmark scripts, run as a user runs them, on the demo model with the smallest settings.

They print figures rather than assert targets (timings belong to a quiet machine,
not to a test); these tests check that each one runs end to end and that what
it writes holds together.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TINY_SEARCH = ["--set", "ga.generations=2", "--set", "ga.population=4", "--set", "local.workers=1"]


def benchmark(script: str, *args, tmp_path: Path) -> dict:
    out = tmp_path / f"{script}.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / f"{script}.py"), *map(str, args), "--json", out],
                          capture_output=True, text=True, cwd=REPO)  # configs name their files from the top folder
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(out.read_text())
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
