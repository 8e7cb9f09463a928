"""The pilot backend (`slurm.mode: pilot`) against the real single-node test Slurm (see conftest.py): worker
jobs that stay for the run, a cancelled worker, a raising handler, the soft walltime, a killed and resumed
master, submit / status / cancel, two pools."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dask_jobqueue")

from test_pilot_backend import Marking, attempts, kinds_of, tasks_of  # noqa: E402
from test_slurm import ROOT, SMALL_DEMO, _sacct_state, all_keys, gridprune, read_checkpoint, wait_for  # noqa: E402

from gridprune.backends.slurm.attempts import read_attempts  # noqa: E402
from gridprune.backends.slurm.pilot_state import read_pools  # noqa: E402
from gridprune.backends.slurm.pilots import PilotBackend  # noqa: E402
from gridprune.backends.slurm.settings import SlurmSettings  # noqa: E402
from gridprune.engine import Resources, TaskKind, load_outcome  # noqa: E402
from gridprune.store import RunDir  # noqa: E402

TESTS = Path(__file__).resolve().parent
PILOT = ["--set", "slurm.mode=pilot", "--set", "slurm.pilot.interface=lo", "--set", "slurm.pilot.walltime_min=20",
         "--set", "slurm.pilot.workers=2"]


def pilot_jobs(under: Path) -> list[tuple[str, str, str]]:
    """(job id, state, name) of the pilot worker jobs whose logs lie under `under` that Slurm still lists."""
    out = subprocess.run(["squeue", "-h", "-o", "%i|%T|%j|%o"], capture_output=True, text=True).stdout
    jobs = [line.split("|") for line in out.splitlines()]
    return [(job[0], job[1], job[2]) for job in jobs if job[2].startswith("gridprune-pilot-")
            and str(under.resolve()) in job[3] + "|".join(_stdout(job[0]))]


def _stdout(job_id: str) -> list[str]:
    out = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
    return [field.split("=", 1)[1] for field in out.split() if field.startswith("StdOut=")]


def successes(run: RunDir, key: str) -> int:
    return sum(1 for record in read_attempts(run, key) if record["error"] is None)


@pytest.fixture
def slurm_backend(slurm_cluster, tmp_path, monkeypatch):
    """PilotBackend on the test Slurm; the worker jobs find the tests' handlers through PYTHONPATH (sbatch
    passes the environment on). No job of the test may outlive it."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    made = []

    def make(kinds, **pilot) -> tuple[PilotBackend, RunDir]:
        run = RunDir.create(tmp_path / "run", {"seed": 0})
        settings = SlurmSettings.model_validate({
            "mode": "pilot", "max_retries": 1, "poll_interval_s": 0.2, "sacct_interval_s": 2,
            "pilot": {"workers": 2, "walltime_min": 10, "interface": "lo", **pilot}})
        backend = PilotBackend(run, settings, kinds)
        made.append(backend)
        return backend, run

    yield make
    for backend in made:
        backend.close()
    wait_for(lambda: not pilot_jobs(tmp_path), 60, "the test's worker jobs to leave the queue")


def test_pilot_search_equals_the_local_search_on_one_job_per_worker(slurm_cluster, local_reference, tmp_path):
    run_dir = tmp_path / "run"
    gridprune("run", "configs/demo.yaml", "--run-dir", run_dir, "--backend", "slurm", *SMALL_DEMO, *PILOT)
    assert read_checkpoint(run_dir) == read_checkpoint(local_reference)
    for generation in ("0000.json", "0001.json"):
        assert (run_dir / "generations" / generation).read_text() == \
            (local_reference / "generations" / generation).read_text()
    run = RunDir.open(run_dir)
    assert all(successes(run, key) == 1 for key in all_keys(run_dir))
    assert len(read_pools(run)["job_ids"]) == 2  # two workers for both generations, none replaced
    assert len({record["job_id"] for key in all_keys(run_dir) for record in read_attempts(run, key)}) == 2
    assert not pilot_jobs(tmp_path)


def test_a_cancelled_workers_task_is_redone_elsewhere_and_recorded_once(slurm_backend, tmp_path):
    backend, run = slurm_backend(kinds_of(tmp_path))
    tasks = tasks_of(range(6), **{str(x): {"sleep": 3.0} for x in range(6)})
    victims = []

    def cancel_a_busy_worker():
        busy = [worker for pool in read_pools(run).get("pools", []) for worker in pool["workers"] if worker["task"]]
        if busy and not victims:
            victims.append(busy[0])
            subprocess.run(["scancel", busy[0]["job_id"]], check=True)
        return victims

    import threading

    watcher = threading.Thread(target=wait_for, args=(cancel_a_busy_worker, 120, "a busy worker"), daemon=True)
    watcher.start()
    assert backend.run(tasks, lambda task: None) == []
    assert victims and backend.counters["workers_lost"] == 1
    assert all(successes(run, task["key"]) == 1 for task in tasks)
    assert all(load_outcome(run, task["key"]).value == float(x * x) for x, task in enumerate(tasks))
    assert sum(attempts(tmp_path, x) for x in range(6)) == 7  # the cancelled task ran again, elsewhere
    assert len(read_pools(run)["job_ids"]) == 3  # the pool was refilled


def test_a_raising_handler_is_retried_then_given_up_on(slurm_backend, tmp_path):
    backend, run = slurm_backend(kinds_of(tmp_path), workers=1)
    tasks = tasks_of(range(2), **{"1": {"action": "raise"}})
    failures = backend.run(tasks, lambda task: None)
    assert [failure.task["key"] for failure in failures] == [tasks[1]["key"]]
    records = read_attempts(run, tasks[1]["key"])
    assert len(records) == 2 and all("refused on purpose" in record["error"] for record in records)
    assert successes(run, tasks[0]["key"]) == 1


def test_a_worker_at_its_soft_walltime_retires_and_is_replaced(slurm_backend, tmp_path):
    backend, run = slurm_backend(kinds_of(tmp_path), workers=1)
    backend.lifetime_s, backend.limits_s = {"cpus1-mem1g": 12.0}, {"square": 3.0}
    tasks = tasks_of(range(6), **{str(x): {"sleep": 2.0} for x in range(6)})
    assert backend.run(tasks, lambda task: None) == []
    assert all(successes(run, task["key"]) == 1 for task in tasks)
    assert backend.counters["handed_back"] >= 1
    first = read_pools(run)["job_ids"][0]
    assert len(read_pools(run)["job_ids"]) >= 2
    state = wait_for(lambda: _sacct_state(first) if _sacct_state(first) not in ("", "RUNNING") else None, 60,
                     "the retired worker's job to end")
    assert state == "COMPLETED"  # it left on its own: nothing was cut


def _network_interface() -> tuple[str, str] | None:
    """(name, IPv4 address) of an interface that is up and not the loopback one; None if the machine has none."""
    import socket

    import psutil

    stats = psutil.net_if_stats()
    for name, addresses in sorted(psutil.net_if_addrs().items()):
        ipv4 = [a.address for a in addresses if a.family == socket.AF_INET and not a.address.startswith("127.")]
        if ipv4 and name in stats and stats[name].isup:
            return name, ipv4[0]
    return None


def test_master_and_workers_talk_over_the_interface_and_ports_given(slurm_backend, tmp_path):
    """As behind a firewall: the master's scheduler and every worker listen on the named interface's address,
    on ports of the range given (the machine's own network interface, not the loopback one)."""
    interface = _network_interface()
    if interface is None:
        pytest.skip("no network interface but the loopback one")
    name, address = interface
    first, last = 41230, 41269
    backend, run = slurm_backend(kinds_of(tmp_path), workers=2, interface=name, ports=f"{first}-{last}")
    seen: set[str] = set()
    tasks = tasks_of(range(4), **{str(x): {"sleep": 1.0} for x in range(4)})
    assert backend.run(tasks, lambda task: seen.update(backend.pools["cpus1-mem1g"].addresses)) == []
    assert all(successes(run, task["key"]) == 1 for task in tasks)
    listening = [backend.pools["cpus1-mem1g"].cluster.scheduler_address, *seen]
    assert len(listening) >= 2  # the scheduler and at least one worker
    for url in listening:
        host, port = url.removeprefix("tcp://").rsplit(":", 1)
        assert host == address and first <= int(port) <= last, url


def test_two_pools_with_different_resources_run_in_one_run(slurm_backend, tmp_path):
    kinds = {"square": TaskKind("square", Marking(str(tmp_path)), Resources(cpus=1, mem_gb=1, time_min=5),
                                at_start=True),
             "cube": TaskKind("cube", Marking(str(tmp_path)), Resources(cpus=1, mem_gb=1.5, time_min=5))}
    backend, run = slurm_backend(kinds, workers=1)
    tasks = tasks_of(range(3)) + tasks_of(range(10, 13), kind="cube")
    assert backend.run(tasks, lambda task: None) == []
    assert all(successes(run, task["key"]) == 1 for task in tasks)
    logs = {path.name.rsplit("-", 1)[0] for path in (run.jobs_dir / "slurm" / "pilots").glob("*.out")}
    assert logs == {"gridprune-pilot-cpus1-mem1g", "gridprune-pilot-cpus1-mem1.5g"}
    script = backend.pools["cpus1-mem1.5g"].cluster.job_script()
    assert "--mem=1536M" in script and "#SBATCH -J gridprune-pilot-cpus1-mem1.5g" in script


def test_a_killed_master_is_resumed_on_a_new_pool_without_evaluating_twice(slurm_cluster, tmp_path):
    run_dir = tmp_path / "run"
    master = subprocess.Popen([sys.executable, "-m", "gridprune.cli", "run", "configs/demo.yaml", "--run-dir",
                               str(run_dir), "--backend", "slurm", *SMALL_DEMO, *PILOT, "--set", "ga.generations=3"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: (read_checkpoint(run_dir) or {}).get("round", 0) >= 1, 300, "generation 0")
    master.send_signal(signal.SIGKILL)
    master.wait()
    old = set(read_pools(RunDir.open(run_dir))["job_ids"])
    gridprune("resume", run_dir)
    assert read_checkpoint(run_dir)["round"] == 3
    run = RunDir.open(run_dir)
    new = set(read_pools(run)["job_ids"]) - old
    assert new and not pilot_jobs(tmp_path)
    twice = [key for key in all_keys(run_dir) if successes(run, key) > 1]
    assert len(twice) <= 2  # at most the tasks the two workers held when the master died
    assert all(successes(run, key) >= 1 for key in all_keys(run_dir))


def test_submit_status_and_cancel_in_pilot_mode(slurm_cluster, tmp_path):
    """The master as a Slurm job takes one of the test cluster's two CPUs: one worker runs, one waits."""
    run_dir = tmp_path / "run"
    gridprune("submit", "configs/demo.yaml", "--run-dir", run_dir, "--backend", "slurm", *SMALL_DEMO, *PILOT,
              "--set", "ga.generations=50")
    try:
        status = wait_for(lambda: (lambda out: out if re.search(r"1 running \((1 busy, 0|0 busy, 1) idle\)", out)
                                   else None)(gridprune("status", run_dir).stdout), 300, "status to show a worker")
        assert "master: running" in status
        assert re.search(r"pool cpus1-mem1g \(ffn_eval\): 2 of 2 worker jobs, 1 pending, 1 running", status)
    finally:
        out = gridprune("cancel", run_dir).stdout
    assert "cancelled" in out
    wait_for(lambda: not pilot_jobs(tmp_path), 60, "the pilot jobs to leave the queue")
    assert json.loads(gridprune("status", run_dir, "--json").stdout)["master"]["state"] != "running"


def test_a_method_with_training_runs_on_pools_that_take_turns(slurm_cluster, tmp_path):
    """layer_ga on the digits CNN: evaluations on a pool of 1-CPU workers, fine-tunes on a 2-CPU pool; on the
    test cluster's two CPUs the pools can only take turns, which they do round by round."""
    run_dir = tmp_path / "run"
    gridprune("run", "configs/layer_ga_digits.yaml", "--run-dir", run_dir, "--backend", "slurm", *PILOT,
              "--set", "layer_ga.generations=2", "--set", "layer_ga.population=4", "--set", "layer_ga.final_steps=20",
              "--set", "layer_ga.layers=['classifier.3.*']", "--set", "slurm.poll_interval_s=0.2")
    run = RunDir.open(run_dir)
    report = json.loads((run_dir / "best" / "report.json").read_text())
    assert report["models"] and report["sparsity"] > 0
    logs = {path.name.rsplit("-", 1)[0] for path in (run.jobs_dir / "slurm" / "pilots").glob("*.out")}
    assert logs == {"gridprune-pilot-cpus1-mem4g", "gridprune-pilot-cpus2-mem8g"}
    results = [json.loads(path.read_text()) for path in run.results_dir.glob("*/*.json")]
    assert {result["trial"]["kind"] for result in results} >= {"evaluate_mask", "train"}
    assert all(result["status"] == "ok" for result in results)
    assert not pilot_jobs(tmp_path)


@pytest.mark.parametrize("config, tiny", [
    ("comflp_demo.yaml", ["comflp.beam=2", "comflp.candidates=2"]),
    ("parp_demo.yaml", ["parp.sparsity=[0.5]", "parp.steps=4", "parp.reprune_every=2", "parp.save_every=2",
                        "parp.batch_size=2"]),
    ("srp_demo.yaml", ["srp.keep=[0.8]", "srp.score_batches=2", "srp.shrink_steps=3", "srp.finetune_steps=2",
                       "srp.save_every=2", "srp.batch_size=2"]),
])
def test_every_methods_task_kinds_run_on_pilot_workers(slurm_cluster, tmp_path, config, tiny):
    """CoMFLP, PARP and SRP (ga_blocks and layer_ga above): each of the method's task kinds runs on the pools'
    workers, trainings included (the master in the test's process; no export: it runs no task)."""
    from gridprune.runs import prepare_run, start_run

    pilot = [item for item in PILOT if item != "--set"]
    setup, info = prepare_run(ROOT / "configs" / config, ["backend=slurm", *pilot, "slurm.poll_interval_s=0.2", *tiny])
    run, _ = start_run(setup, tmp_path / "run", info, export=False)
    results = [json.loads(path.read_text()) for path in run.results_dir.glob("*/*.json")]
    assert results and all(result["status"] == "ok" for result in results)
    assert {result["trial"]["kind"] for result in results} == set(setup.kinds())
    jobs = {record["job_id"] for result in results for record in read_attempts(run, result["key"])}
    assert jobs and jobs <= set(read_pools(run)["job_ids"])  # every task ran on a pilot worker job
    wait_for(lambda: not pilot_jobs(tmp_path), 60, "the pilot jobs to leave the queue")
