"""The master's evaluation step against a real run directory, worker processes and model."""

import pytest

from factories import make_checkpoint, write_dataset
from gridprune.backends.local import LocalBackend
from gridprune.master import evaluate_generation, fitness_of
from gridprune.store import RunDir, result_key
from gridprune.worker import FfnHandlerFactory, FfnWorkerSpec


@pytest.fixture
def run_and_backend(tmp_path):
    model = make_checkpoint(tmp_path / "model", stable_layer_norm=True)
    data = write_dataset(tmp_path / "data", ["ONE", "TWO"])
    run = RunDir.create(tmp_path / "run", {"note": "test"})
    spec = FfnWorkerSpec(run_dir=str(run.root), model=str(model), data=str(data), granularity=8, start_layer=0)
    backend = LocalBackend(FfnHandlerFactory(spec), workers=1, threads=1, max_retries=1)
    yield run, backend
    backend.close()


def task(chromosome: dict) -> dict:
    key = result_key([blocks for blocks in chromosome.values()], "model", "data", {"layers": list(chromosome)})
    return {"key": key, "chromosome": chromosome, "indices": None}


def test_a_corrupt_result_is_recomputed_and_the_others_reused(run_and_backend):
    run, backend = run_and_backend
    tasks = [task({"0": [1, 2], "1": [0, 7]}), task({"0": [3, 4], "1": [5, 6]})]
    assert evaluate_generation(run, backend, tasks, "first")["evaluated"] == 2
    good = run.read_result(tasks[0]["key"])
    run.result_path(tasks[0]["key"]).write_text('{"key": "trunc')

    counts = evaluate_generation(run, backend, tasks, "second")

    assert (counts["evaluated"], counts["cache_hits"], counts["failed"]) == (1, 1, 0)
    assert run.read_result(tasks[0]["key"])["fitness"] == good["fitness"]
    assert len(list(run.corrupt_dir.iterdir())) == 1


def test_duplicates_in_a_generation_are_evaluated_once(run_and_backend):
    run, backend = run_and_backend
    same = task({"0": [1, 2], "1": [0, 7]})
    counts = evaluate_generation(run, backend, [same, dict(same), task({"0": [0, 1], "1": [2, 3]})], "dup")
    assert (counts["evaluated"], counts["cache_hits"]) == (2, 1)


def test_a_task_that_keeps_failing_is_recorded_failed_at_the_worst_fitness(run_and_backend):
    run, backend = run_and_backend
    bad = task({"9": [0, 1]})  # there is no encoder layer 9
    good = task({"0": [1, 2], "1": [0, 7]})
    counts = evaluate_generation(run, backend, [bad, good], "failing")
    record = run.read_result(bad["key"])
    assert counts["failed"] == 1
    assert record["status"] == "failed" and record["attempts"] == 2
    assert "layer 9 does not exist" in record["error"]
    assert fitness_of(record) == float("inf")
    assert fitness_of(run.read_result(good["key"])) < float("inf")
