"""The pilot backend's own logic (retries, lost workers, start failures, the soft walltime, pools, the state
file `status` reads) on a local dask cluster: real worker processes, no Slurm. The same backend against the
real test Slurm is in test_pilot_slurm.py."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("dask_jobqueue")

from distributed import LocalCluster  # noqa: E402

from gridprune.backends.slurm.pilot_state import describe_pools, read_pools  # noqa: E402
from gridprune.backends.slurm.pilots import PilotBackend, pools_of  # noqa: E402
from gridprune.backends.slurm.settings import SlurmSettings  # noqa: E402
from gridprune.engine import BackendError, Resources, TaskKind, Trial, load_outcome, make_task, trial_key  # noqa: E402
from gridprune.store import RunDir  # noqa: E402


@dataclass(frozen=True)
class Marking:
    """A handler factory whose handler squares `x`, recording each attempt as a file in `folder`; a task's
    `action` makes it raise, kill its worker once, or sleep. `startup="raise"` makes every worker fail to
    start."""

    folder: str
    startup: str = "ok"

    def __call__(self, threads: int):
        if self.startup == "raise":
            raise RuntimeError("cannot load the model, on purpose")
        Path(self.folder, f"factory.{os.getpid()}").touch()
        return MarkingHandler(self.folder)


class MarkingHandler:
    def __init__(self, folder: str):
        self.folder = Path(folder)

    def __call__(self, task: dict, context) -> dict:
        params = task["params"]
        (self.folder / f"{params['x']}.{os.getpid()}.{time.monotonic_ns()}.attempt").touch()
        action = params.get("action", "ok")
        if action == "raise":
            raise ValueError(f"x = {params['x']} refused on purpose")
        if action == "die_once":
            try:
                with open(self.folder / f"{params['x']}.died", "x"):
                    pass
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(params.get("sleep", 0.0))
        return {"value": float(params["x"]) ** 2}


def kinds_of(folder: Path, startup: str = "ok", **resources: Resources) -> dict[str, TaskKind]:
    resources = resources or {"square": Resources(cpus=1, mem_gb=1, time_min=1)}
    return {name: TaskKind(name, Marking(str(folder), startup), given, at_start=True)
            for name, given in resources.items()}


def tasks_of(xs, kind: str = "square", **actions) -> list[dict]:
    trials = [Trial(kind, {"x": x, **actions.get(str(x), {})}, label=f"x={x}") for x in xs]
    return [make_task(trial, trial_key(trial, {})) for trial in trials]


def attempts(folder: Path, x: int) -> int:
    return len(list(folder.glob(f"{x}.*.attempt")))


def local_cluster(spec) -> LocalCluster:
    return LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=":0",
                        silence_logs=logging.ERROR)


@pytest.fixture
def make_backend(tmp_path):
    made = []

    def make(kinds, **pilot) -> tuple[PilotBackend, RunDir]:
        run = RunDir.create(tmp_path / "run", {"seed": 0})
        settings = SlurmSettings.model_validate({"mode": "pilot", "max_retries": 1, "poll_interval_s": 0.2,
                                                 "pilot": {"workers": 2, "walltime_min": 5, "margin_s": 0,
                                                           **pilot}})
        backend = PilotBackend(run, settings, kinds, cluster_factory=local_cluster)
        made.append(backend)
        return backend, run

    yield make
    for backend in made:
        backend.close()


def test_kinds_with_the_same_resources_share_a_pool():
    kinds = {"a": TaskKind("a", Marking("x"), Resources(cpus=1, mem_gb=2)),
             "b": TaskKind("b", Marking("x"), Resources(cpus=1, mem_gb=2)),
             "c": TaskKind("c", Marking("x"), Resources(cpus=2, mem_gb=2, gpus=1))}
    pools = pools_of(kinds, SlurmSettings().pilot)
    assert [(pool.name, pool.kinds) for pool in pools] == [("cpus1-mem2g", ("a", "b")),
                                                            ("cpus2-mem2g-gpus1", ("c",))]


def test_every_task_runs_once_on_workers_that_stay(make_backend, tmp_path):
    backend, run = make_backend(kinds_of(tmp_path))
    first, second = tasks_of(range(6)), tasks_of(range(6, 12))
    finished = []
    assert backend.run(first, lambda task: finished.append(task["key"])) == []
    assert backend.run(second, lambda task: finished.append(task["key"])) == []
    assert sorted(finished) == sorted(task["key"] for task in first + second)
    assert [attempts(tmp_path, x) for x in range(12)] == [1] * 12
    assert [load_outcome(run, task["key"]).value for task in first] == [float(x * x) for x in range(6)]
    builders = {path.suffix[1:] for path in tmp_path.glob("factory.*")}
    runners = {path.name.split(".")[1] for path in tmp_path.glob("*.attempt")}
    assert runners <= builders and len(builders) <= 2  # at most two workers, each built its runner once


def test_a_raising_task_is_retried_then_returned_as_failure(make_backend, tmp_path):
    backend, run = make_backend(kinds_of(tmp_path))
    tasks = tasks_of(range(3), **{"1": {"action": "raise"}})
    failures = backend.run(tasks, lambda task: None)
    assert [failure.task["key"] for failure in failures] == [tasks[1]["key"]]
    assert failures[0].attempts == 2 and "refused on purpose" in failures[0].reason
    assert attempts(tmp_path, 1) == 2 and attempts(tmp_path, 0) == attempts(tmp_path, 2) == 1


def test_a_lost_worker_is_replaced_and_its_task_redone_once(make_backend, tmp_path):
    backend, run = make_backend(kinds_of(tmp_path))
    tasks = tasks_of(range(4), **{"2": {"action": "die_once"}})
    finished = []
    assert backend.run(tasks, lambda task: finished.append(task["key"])) == []
    assert sorted(finished) == sorted(task["key"] for task in tasks)
    assert attempts(tmp_path, 2) == 2 and backend.counters["workers_lost"] == 1
    assert load_outcome(run, tasks[2]["key"]).attempts == 2
    # the pool is back to its size
    deadline = time.time() + 30
    while len(backend.pools["cpus1-mem1g"].client.scheduler_info()["workers"]) < 2 and time.time() < deadline:
        backend._maintain()
        time.sleep(0.2)
    assert len(backend.pools["cpus1-mem1g"].client.scheduler_info()["workers"]) == 2


def test_workers_that_cannot_start_stop_the_run_with_the_reason(make_backend, tmp_path):
    backend, run = make_backend(kinds_of(tmp_path, startup="raise"), start_failures=2)
    with pytest.raises(BackendError, match="2 pilot workers failed to start.*cannot load the model, on purpose"):
        backend.start()


def test_a_worker_at_its_soft_walltime_hands_its_task_back_and_retires(make_backend, tmp_path):
    """A worker that may work 12 s (the test's own lifetime) and whose tasks take 3 s (their limit) takes
    four, hands the next back and retires; a replacement runs it. No task is cut, each runs once, and a
    retiring worker is given no task after the one it handed back."""
    backend, run = make_backend(kinds_of(tmp_path), workers=1)
    backend.lifetime_s, backend.limits_s = {"cpus1-mem1g": 12.0}, {"square": 3.0}
    tasks = tasks_of(range(6), **{str(x): {"sleep": 2.0} for x in range(6)})
    finished = []
    assert backend.run(tasks, lambda task: finished.append(task["key"])) == []
    assert [attempts(tmp_path, x) for x in range(6)] == [1] * 6
    workers = len(list(tmp_path.glob("factory.*")))
    assert workers >= 2  # a replacement worker took over
    assert 1 <= backend.counters["handed_back"] <= workers - 1  # one per retired worker


def test_a_retiring_worker_that_alone_holds_a_wanted_result_stays_until_it_is_released(tmp_path):
    """The only worker, past its soft walltime, holds a result the client still wants: the scheduler refuses to
    retire it (the result would be lost), so it stays; a task sent to it meanwhile is handed back, not lost;
    once the results are released, it leaves."""
    import dask
    from distributed import Client

    from gridprune.backends.slurm.pilot_worker import HANDED_BACK, RunnerPlugin, run_task

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                         silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        client.register_plugin(RunnerPlugin(Marking(str(tmp_path)), 1.0, {"square": 3.0}))
        held = client.submit(pow, 3, 2, pure=False)
        assert held.result(timeout=30) == 9
        time.sleep(3.0)  # two seconds past its deadline: several looks, each retirement refused
        [address] = client.scheduler_info()["workers"]
        sent = client.submit(run_task, tasks_of([4])[0], pure=False)
        assert sent.result(timeout=30) == (HANDED_BACK, address)
        assert held.result(timeout=5) == 9 and attempts(tmp_path, 4) == 0
        held.release()
        sent.release()
        deadline = time.time() + 20
        while client.scheduler_info()["workers"] and time.time() < deadline:
            time.sleep(0.2)
        assert not client.scheduler_info()["workers"]


def test_the_state_file_says_what_each_worker_holds(make_backend, tmp_path):
    backend, run = make_backend(kinds_of(tmp_path))
    seen: list[list[str]] = []

    def watch():  # what `status` reads, while the master runs
        while not seen and watching:
            lines = describe_pools(run)
            if lines and "(2 busy, 0 idle)" in lines[0]:
                seen.append(lines)
            time.sleep(0.05)

    watching = True
    watcher = threading.Thread(target=watch, daemon=True)
    with run.master_lock():  # status shows the pools of the live master only
        watcher.start()
        backend.run(tasks_of(range(6), **{str(x): {"sleep": 2.0} for x in range(6)}), lambda task: None)
        watching = False
        watcher.join()
    assert describe_pools(run) == []  # written by a master that is gone
    state = read_pools(run)
    assert state["master"] == os.getpid()
    assert state["pools"][0]["name"] == "cpus1-mem1g" and state["pools"][0]["kinds"] == ["square"]
    lines = seen[0]
    assert lines[0] == "pool cpus1-mem1g (square): 2 of 2 worker jobs, 0 pending, 2 running (2 busy, 0 idle)"
    assert len(lines) == 3 and all(line.split(": ", 1)[1].startswith("x=") for line in lines[1:])
    backend.close()
    assert read_pools(run)["pools"] == []


def test_two_pools_run_their_own_kinds(make_backend, tmp_path):
    kinds = kinds_of(tmp_path, square=Resources(cpus=1, mem_gb=1, time_min=1),
                     cube=Resources(cpus=1, mem_gb=2, time_min=1))
    backend, run = make_backend(kinds, workers=1)
    tasks = tasks_of(range(3)) + tasks_of(range(10, 13), kind="cube")
    assert backend.run(tasks, lambda task: None) == []
    assert set(backend.pools) == {"cpus1-mem1g", "cpus1-mem2g"}
    assert all(load_outcome(run, task["key"]) is not None for task in tasks)
    # a round without a pool's kinds gives that pool's workers back
    assert backend.run(tasks_of(range(20, 22)), lambda task: None) == []
    assert backend.pools["cpus1-mem2g"].target == 0 and backend.pools["cpus1-mem1g"].target == 1
    # so does a pool done with its part of a round while another still works
    slow = tasks_of(range(30, 32), **{"30": {"sleep": 3.0}, "31": {"sleep": 3.0}})
    assert backend.run(slow + tasks_of([40], kind="cube"), lambda task: None) == []
    assert backend.pools["cpus1-mem2g"].target == 0


def test_a_pool_whose_tasks_may_outlast_the_walltime_gets_longer_jobs():
    """A fresh worker can always finish its first task: a 45-minute kind's jobs last 45 min plus the margin
    plus 5 min for the worker's start."""
    pilot = SlurmSettings.model_validate({"pilot": {"walltime_min": 30, "margin_s": 90}}).pilot
    kinds = {"train": TaskKind("train", Marking("x"), Resources(cpus=2, time_min=45)),
             "evaluate": TaskKind("evaluate", Marking("x"), Resources(cpus=1, time_min=10))}
    assert {pool.name: pool.walltime_min for pool in pools_of(kinds, pilot)} == {"cpus1-mem4g": 30, "cpus2-mem4g": 52}


def test_bad_port_ranges_are_refused_naming_the_value():
    with pytest.raises(ValueError, match="'START-END'.*'80-90'"):
        SlurmSettings.model_validate({"pilot": {"ports": "80-90"}})
    assert SlurmSettings.model_validate({"pilot": {"ports": "50000-50010"}}).pilot.port_range() == (50000, 50010)


def test_json_state_is_plain(make_backend, tmp_path):
    backend, run = make_backend(kinds_of(tmp_path))
    backend.run(tasks_of(range(2)), lambda task: None)
    json.loads((run.jobs_dir / "slurm" / "pilots.json").read_text())


def test_resume_may_resize_the_pools():
    from gridprune.run_changes import refusal

    assert refusal("slurm.pilot.workers", "ga_blocks") is None and refusal("slurm.mode", "layer_ga") is None
    assert refusal("seed", "ga_blocks") is not None
