"""The Slurm backend against a real single-node Slurm cluster (see conftest.py)."""

import json
import subprocess
import sys
import time
from pathlib import Path

from factories import make_checkpoint, write_dataset
from gridprune.backends.slurm import SlurmSettings
from gridprune.backends.slurm.arrays import SlurmBackend
from gridprune.backends.slurm.attempts import read_attempts
from gridprune.engine import Outcome, Resources, TaskKind, Trial, make_task, store_outcome, trial_key
from gridprune.methods.ga_blocks import KIND, FfnHandlerFactory, FfnWorkerSpec
from gridprune.store import RunDir

ROOT = Path(__file__).resolve().parent.parent
# A small demo search; one CPU per worker everywhere, so that both backends compute alike.
SMALL_DEMO = ["--set", "data=wav_files_example/example.hrl", "--set", "heldout=wav_files_example/heldout.hrl",
              "--set", "ga.population=6", "--set", "ga.generations=2", "--set", "local.threads_per_worker=1",
              "--set", "slurm.cpus_per_task=1", "--set", "slurm.chunk_size=2", "--set", "slurm.mem_gb=1",
              "--set", "slurm.poll_interval_s=0.2", "--set", "slurm.sacct_interval_s=2",
              "--set", "slurm.time_min=10", "--set", "slurm.signal_delay_s=30", "--set", "slurm.vanish_s=20"]


def gridprune(*args, check=True, timeout=900):
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)
    if check and proc.returncode:
        raise AssertionError(f"gridprune {args} failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
    return proc


def squeue_ids(name: str) -> list[str]:
    out = subprocess.run(["squeue", "-h", "-r", "-n", name, "-o", "%i %T"], capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()]


def wait_for(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def read_checkpoint(run_dir: Path) -> dict | None:
    path = run_dir / "checkpoint.json"
    return json.loads(path.read_text()) if path.exists() else None


def all_keys(run_dir: Path) -> set[str]:
    keys = set()
    for path in (run_dir / "generations").glob("*.json"):
        keys.update(json.loads(path.read_text())["keys"])
    return keys


def ffn_kind(model: Path, data: Path) -> dict[str, TaskKind]:
    spec = FfnWorkerSpec(model=str(model), data=str(data), granularity=8, start_layer=0)
    return {KIND: TaskKind(KIND, FfnHandlerFactory(spec), Resources(cpus=1, mem_gb=1, time_min=10))}


def run_tasks(run: RunDir, backend: SlurmBackend, blocks: list[dict]) -> list[dict]:
    """Run one `ffn_eval` task per blocks mapping on `backend` and record those given up on, as the engine does."""
    trials = [Trial(KIND, {"blocks": mapping, "indices": None}) for mapping in blocks]
    tasks = [make_task(trial, trial_key(trial, {})) for trial in trials]
    for failure in backend.run(tasks, lambda task: None):
        store_outcome(run, failure.task["key"], Trial.from_json(failure.task),
                      Outcome.failed(failure.reason, failure.attempts))
    return tasks


def assert_each_result_evaluated_once(run_dir: Path):
    run = RunDir.open(run_dir)
    for key in all_keys(run_dir):
        assert run.read_result(key)["status"] == "ok"
        successes = [a for a in read_attempts(run, key) if a["error"] is None]
        assert len(successes) == 1, f"{key} was evaluated {len(successes)} times"


def test_slurm_search_equals_the_local_search(slurm_cluster, local_reference, tmp_path):
    run_dir = tmp_path / "run"
    gridprune("run", "configs/demo.yaml", "--run-dir", run_dir, "--backend", "slurm", *SMALL_DEMO)
    assert read_checkpoint(run_dir) == read_checkpoint(local_reference)
    for generation in ("0000.json", "0001.json"):
        assert (run_dir / "generations" / generation).read_text() == \
            (local_reference / "generations" / generation).read_text()
    slurm_run, local_run = RunDir.open(run_dir), RunDir.open(local_reference)
    for key in all_keys(run_dir):
        assert slurm_run.read_result(key)["value"] == local_run.read_result(key)["value"]
    assert_each_result_evaluated_once(run_dir)


def test_a_cancelled_array_task_is_resubmitted_and_the_run_completes(slurm_cluster, tmp_path):
    run_dir = tmp_path / "run"
    master = subprocess.Popen([sys.executable, "-m", "gridprune.cli", "run", "configs/demo.yaml", "--run-dir",
                               str(run_dir), "--backend", "slurm", *SMALL_DEMO], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tasks = wait_for(lambda: squeue_ids(f"gridprune-{KIND}"), 120, "the first job array")
    victim = sorted(tasks)[-1][0]
    subprocess.run(["scancel", victim], check=True)
    _, stderr = master.communicate(timeout=600)
    assert master.returncode == 0, stderr[-5000:]
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    assert len(history) == 2 and all(row["failed"] == 0 for row in history)
    assert "resubmitting" in stderr
    assert_each_result_evaluated_once(run_dir)


def test_a_chunk_that_raises_is_retried_then_recorded_failed(slurm_cluster, tmp_path):
    model = make_checkpoint(tmp_path / "model", stable_layer_norm=False)
    data = write_dataset(tmp_path / "data", ["ONE", "TWO"])
    run = RunDir.create(tmp_path / "run", {"note": "slurm test"})
    settings = SlurmSettings(chunk_size=1, max_retries=1, poll_interval_s=0.2, sacct_interval_s=2, signal_delay_s=30)
    backend = SlurmBackend(run, settings, ffn_kind(model, data))

    bad, good = run_tasks(run, backend, [{"9": [0, 1]}, {"0": [2, 3]}])

    record = run.read_result(bad["key"])
    assert record["status"] == "failed" and record["attempts"] == 2
    assert "layer 9 does not exist" in record["error"]
    assert len(read_attempts(run, bad["key"])) == 2
    assert run.read_result(good["key"])["status"] == "ok"
    assert backend.counters["sbatch_calls"] == 2  # the first array, then one resubmission


def test_a_generation_above_max_array_size_is_split(slurm_cluster, tmp_path):
    subprocess.run(["bash", str(slurm_cluster), "reconfigure-max-array-size", "3"], check=True, capture_output=True)
    try:
        model = make_checkpoint(tmp_path / "model", stable_layer_norm=True)
        data = write_dataset(tmp_path / "data", ["ONE"])
        run = RunDir.create(tmp_path / "run", {"note": "slurm test"})
        settings = SlurmSettings(chunk_size=1, poll_interval_s=0.2, sacct_interval_s=2, signal_delay_s=30)
        backend = SlurmBackend(run, settings, ffn_kind(model, data))
        assert backend.array_limit == 3
        tasks = run_tasks(run, backend, [{"0": [i, i + 1]} for i in range(5)])
        assert all(run.read_result(task["key"])["status"] == "ok" for task in tasks)
        assert backend.counters["sbatch_calls"] == 3  # arrays of at most 2 tasks (indexes 0 and 1 < MaxArraySize 3)
    finally:
        subprocess.run(["bash", str(slurm_cluster), "reconfigure-max-array-size", "1001"], check=True,
                       capture_output=True)


def test_submit_runs_the_master_as_a_slurm_job(slurm_cluster, tmp_path):
    run_dir = tmp_path / "run"
    out = gridprune("submit", "configs/demo.yaml", "--run-dir", run_dir, "--backend", "slurm", *SMALL_DEMO).stdout
    assert f"gridprune status {run_dir}" in out
    job_id = out.split("submitted master job ")[1].split()[0]
    wait_for(lambda: (run_dir / "best" / "report.json").exists(), 600, "the master job to finish")
    status = json.loads(gridprune("status", run_dir, "--json").stdout)
    assert status["finished"] and status["completed_generations"] == 2 and status["failed"] == 0
    state = wait_for(lambda: _sacct_state(job_id) if _sacct_state(job_id) in ("COMPLETED", "FAILED") else None,
                     60, "sacct to see the master end")
    assert state == "COMPLETED"


def _sacct_state(job_id: str) -> str:
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"], capture_output=True, text=True)
    return out.stdout.strip().split("\n")[0].split()[0] if out.stdout.strip() else ""


def test_a_cancelled_master_submitted_again_reuses_every_result(slurm_cluster, tmp_path):
    run_dir = tmp_path / "run"
    out = gridprune("submit", "configs/demo.yaml", "--run-dir", run_dir, "--backend", "slurm", *SMALL_DEMO,
                    "--set", "ga.generations=3").stdout
    job_id = out.split("submitted master job ")[1].split()[0]
    wait_for(lambda: (read_checkpoint(run_dir) or {}).get("round", 0) >= 1, 600, "generation 0")
    subprocess.run(["scancel", job_id], check=True)
    wait_for(lambda: _sacct_state(job_id) == "CANCELLED", 60, "the master to be cancelled")
    done_before = {p.name for p in (run_dir / "results").glob("*/*.json")}

    again = subprocess.run(["sbatch", "--parsable", f"--output={run_dir}/jobs/master-again-%j.log",
                            f"--export=ALL,GRIDPRUNE_PYTHON={sys.executable}", str(ROOT / "slurm" / "master.sbatch"),
                            str(run_dir)], capture_output=True, text=True, check=True, cwd=ROOT)
    assert again.stdout.strip()
    wait_for(lambda: (read_checkpoint(run_dir) or {}).get("round") == 3, 600, "the resumed run")
    assert done_before <= {p.name for p in (run_dir / "results").glob("*/*.json")}
    assert_each_result_evaluated_once(run_dir)


def test_each_task_kind_gets_its_own_executor_with_its_resources(slurm_cluster, tmp_path):
    run = RunDir.create(tmp_path / "run", {"note": "slurm test"})
    factory = FfnHandlerFactory(FfnWorkerSpec(model="demo", data="unused.hrl", granularity=8, start_layer=0))
    kinds = {"ffn_eval": TaskKind("ffn_eval", factory, Resources(cpus=1, mem_gb=1.5, time_min=7)),
             "analysis": TaskKind("analysis", factory, Resources(cpus=2, mem_gb=3, time_min=90, gpus=1))}
    backend = SlurmBackend(run, SlurmSettings(extra_sbatch={"nice": 5}), kinds)
    evaluation, analysis = backend.executor("ffn_eval").parameters, backend.executor("analysis").parameters
    assert (evaluation["job_name"], evaluation["cpus_per_task"], evaluation["mem"], evaluation["time"]) == \
        ("gridprune-ffn_eval", 1, "1536M", 7)
    assert "gpus_per_node" not in evaluation and evaluation["additional_parameters"] == {"nice": 5}
    assert (analysis["job_name"], analysis["cpus_per_task"], analysis["mem"], analysis["time"],
            analysis["gpus_per_node"]) == ("gridprune-analysis", 2, "3072M", 90, 1)
    assert backend.executor("ffn_eval") is backend.executor("ffn_eval")
    assert backend.factory("analysis").kinds == {"analysis": kinds["analysis"]}  # a job loads only its kind
