"""LocalBackend with real spawned worker processes and small picklable handler factories.

The factories live at module level here: spawn pickles them by reference to this
module, and the child finds it because spawn hands the parent's sys.path (which
pytest has prepended with tests/) to the child. No torch is imported, so a worker
starts in well under a second.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from gridprune.engine import BackendError, TaskFailure
from gridprune.backends import local
from gridprune.backends.local import LocalBackend

TIMEOUT_S = 120  # a hung backend fails its test instead of hanging the suite


def write_atomically(path: Path, text: str) -> None:
    """Whole or absent: a worker may still be writing while the test reads (e.g. one still starting)."""
    part = path.with_name(f".part-{path.name}")
    part.write_text(text)
    os.replace(part, path)


@dataclass(frozen=True)
class Recorder:
    """Builds a handler that records, as files in `folder`, which process ran which task.

    `factory.<pid>` is written when a worker builds its handler; `<key>.<pid>.<ns>.attempt`
    when a task starts; `<key>.<pid>.done` (JSON with the pid and threads) when it succeeds.
    What a task does is read from the task itself: `action` is `ok`, `raise`, `die_once`
    (SIGKILL its worker the first time, known by a marker file) or `die_always`.
    """

    folder: str
    startup: str = "ok"  # "ok", "raise" or "die"

    def __call__(self, threads: int):
        folder = Path(self.folder)
        write_atomically(folder / f"factory.{os.getpid()}", str(threads))
        if self.startup == "raise":
            raise RuntimeError("factory exploded on purpose")
        if self.startup == "die":
            os.kill(os.getpid(), signal.SIGKILL)

        def handle(task: dict) -> None:
            key, action, pid = task["key"], task.get("action", "ok"), os.getpid()
            (folder / f"{key}.{pid}.{time.monotonic_ns()}.attempt").touch()
            if action == "raise":
                raise ValueError(f"handler refused {key} on purpose")
            if action == "die_always":
                os.kill(pid, signal.SIGKILL)
            if action == "die_once":
                try:
                    with open(folder / f"{key}.died", "x"):
                        pass
                except FileExistsError:
                    pass
                else:
                    os.kill(pid, signal.SIGKILL)
            time.sleep(task.get("sleep", 0.0))
            write_atomically(folder / f"{key}.{pid}.done", json.dumps({"pid": pid, "threads": threads}))

        return handle


def tasks(*keys: str, **actions: str) -> list[dict]:
    return [{"key": key, "action": actions.get(key, "ok")} for key in keys]


def attempts(folder: Path, key: str) -> list[int]:
    """Pids of every attempt at `key`, one entry per attempt."""
    return [int(p.name.split(".")[1]) for p in folder.glob(f"{key}.*.attempt")]


def done(folder: Path, key: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in folder.glob(f"{key}.*.done")]


def factory_pids(folder: Path) -> list[int]:
    return [int(p.name.split(".")[1]) for p in folder.glob("factory.*")]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(autouse=True)
def time_limit():
    def expire(signum, frame):
        raise TimeoutError(f"test took more than {TIMEOUT_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TIMEOUT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def make_backend(tmp_path):
    """LocalBackend factory; every backend made is closed, and no child may outlive the test."""
    made = []

    def make(startup: str = "ok", workers: int = 2, threads: int = 1, max_retries: int = 2) -> LocalBackend:
        backend = LocalBackend(Recorder(str(tmp_path), startup), workers, threads, max_retries)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()
    assert multiprocessing.active_children() == []


def test_every_task_runs_once_and_workers_are_reused(make_backend, tmp_path):
    backend = make_backend()
    first, second = [f"a{i}" for i in range(5)], [f"b{i}" for i in range(5)]
    finished: list[str] = []

    assert backend.run(tasks(*first), lambda task: finished.append(task["key"])) == []
    assert sorted(finished) == sorted(first)
    assert backend.run(tasks(*second), lambda task: finished.append(task["key"])) == []
    assert sorted(finished) == sorted(first + second)  # on_done once per task

    pids = set()
    for key in first + second:
        assert len(attempts(tmp_path, key)) == 1
        [record] = done(tmp_path, key)
        pids.add(record["pid"])
    assert len(pids) <= 2
    # the handler is built once per worker process, not per task or per run
    factories = factory_pids(tmp_path)
    assert len(factories) == len(set(factories)) <= 2
    assert pids <= set(factories)
    backend.close()
    assert multiprocessing.active_children() == []
    assert not any(alive(pid) for pid in factories)


def test_handler_gets_the_configured_threads(make_backend, tmp_path):
    backend = make_backend(workers=2, threads=3)
    assert backend.run(tasks("t0", "t1", "t2"), lambda task: None) == []
    assert {record["threads"] for key in ("t0", "t1", "t2") for record in done(tmp_path, key)} == {3}
    assert {p.read_text() for p in tmp_path.glob("factory.*")} == {"3"}


def test_threads_default_to_cores_per_worker():
    backend = LocalBackend(Recorder("unused"), workers=2)  # starts no process until `run`
    assert backend.threads == max(1, len(os.sched_getaffinity(0)) // 2)


def test_a_raising_task_is_retried_then_returned_as_failure(make_backend, tmp_path):
    backend = make_backend(max_retries=2)
    finished: list[str] = []
    failures = backend.run(tasks("ok0", "bad", "ok1", "ok2", bad="raise"), lambda task: finished.append(task["key"]))

    assert len(failures) == 1
    [failure] = failures
    assert isinstance(failure, TaskFailure)
    assert failure.task["key"] == "bad"
    assert failure.attempts == 3
    assert "handler refused bad on purpose" in failure.reason
    assert "ValueError" in failure.reason
    assert len(attempts(tmp_path, "bad")) == 3
    assert done(tmp_path, "bad") == []
    assert sorted(finished) == ["ok0", "ok1", "ok2"]
    for key in ("ok0", "ok1", "ok2"):
        assert len(attempts(tmp_path, key)) == len(done(tmp_path, key)) == 1
    # a raising handler does not cost the worker: nobody was replaced
    assert len(factory_pids(tmp_path)) <= 2


def test_max_retries_zero_gives_up_after_one_attempt(make_backend, tmp_path):
    backend = make_backend(max_retries=0)
    [failure] = backend.run(tasks("bad", "ok", bad="raise"), lambda task: None)
    assert (failure.task["key"], failure.attempts) == ("bad", 1)
    assert len(attempts(tmp_path, "bad")) == 1


def test_a_worker_dying_mid_task_is_replaced_and_the_task_retried(make_backend, tmp_path):
    backend = make_backend(max_retries=2)
    assert backend.run([], lambda task: None) == []  # starts the workers
    before = {p.pid for p in multiprocessing.active_children()}
    assert len(before) == 2

    finished: list[str] = []
    keys = ["k0", "victim", "k1", "k2", "k3"]
    failures = backend.run(tasks(*keys, victim="die_once"), lambda task: finished.append(task["key"]))

    assert failures == []
    assert sorted(finished) == sorted(keys)
    victim_attempts = attempts(tmp_path, "victim")
    assert len(victim_attempts) == 2
    [victim_done] = done(tmp_path, "victim")
    dead = [pid for pid in victim_attempts if pid != victim_done["pid"]]
    assert len(dead) == 1 and dead[0] in before
    after = {p.pid for p in multiprocessing.active_children()}
    assert len(after) == 2
    assert dead[0] not in after and not alive(dead[0])
    assert after - before  # a new worker took the dead one's place
    for key in ("k0", "k1", "k2", "k3"):
        assert len(attempts(tmp_path, key)) == 1


def test_a_task_that_always_kills_its_worker_fails_for_good(make_backend, tmp_path):
    backend = make_backend(max_retries=1)
    finished: list[str] = []
    failures = backend.run(tasks("k0", "killer", "k1", "k2", killer="die_always"), lambda task: finished.append(task["key"]))

    [failure] = failures
    assert failure.task["key"] == "killer"
    assert failure.attempts == 2
    assert f"exit code {-signal.SIGKILL}" in failure.reason
    assert "died" in failure.reason
    assert len(attempts(tmp_path, "killer")) == 2
    assert sorted(finished) == ["k0", "k1", "k2"]
    # the backend is still whole: the dead workers were replaced, and it can run more
    assert backend.run(tasks("k3"), lambda task: finished.append(task["key"])) == []
    assert finished[-1] == "k3"
    assert len(multiprocessing.active_children()) == 2


def test_start_returns_once_every_worker_has_built_its_handler(make_backend, tmp_path):
    backend = make_backend(workers=2)
    backend.start()
    pids = sorted(factory_pids(tmp_path))
    assert len(pids) == 2 and all(w.ready for w in backend.workers)
    assert backend.run(tasks("k0", "k1", "k2"), lambda task: None) == []
    assert sorted({d["pid"] for k in ("k0", "k1", "k2") for d in done(tmp_path, k)}) <= pids
    assert sorted(factory_pids(tmp_path)) == pids  # run() started no further worker


def test_start_raises_with_the_traceback_of_a_factory_that_raises(make_backend, tmp_path):
    with pytest.raises(BackendError, match="factory exploded on purpose"):
        make_backend(startup="raise").start()
    assert multiprocessing.active_children() == []


def test_a_factory_that_raises_makes_run_raise_with_its_traceback(make_backend, tmp_path):
    backend = make_backend(startup="raise")
    with pytest.raises(BackendError) as caught:
        backend.run(tasks("k0", "k1"), lambda task: None)
    message = str(caught.value)
    assert message.startswith("a worker could not start: RuntimeError: factory exploded on purpose")
    assert "\n" not in message and "Traceback" in caught.value.detail
    assert list(tmp_path.glob("*.attempt")) == []
    assert multiprocessing.active_children() == []
    assert not any(alive(pid) for pid in factory_pids(tmp_path))


def test_a_worker_dying_while_starting_makes_run_raise(make_backend, tmp_path):
    backend = make_backend(startup="die")
    with pytest.raises(BackendError, match="died while starting"):
        backend.run(tasks("k0"), lambda task: None)
    assert multiprocessing.active_children() == []


def test_close_leaves_no_live_child(make_backend, tmp_path):
    backend = make_backend()
    assert backend.run(tasks("k0", "k1", "k2"), lambda task: None) == []
    children = multiprocessing.active_children()
    assert len(children) == 2
    backend.close()
    assert multiprocessing.active_children() == []
    assert not any(alive(child.pid) for child in children)
    assert all(child.exitcode == 0 for child in children)  # told to stop, not killed
    backend.close()  # closing twice is harmless


@dataclass(frozen=True)
class Talker:
    """Builds a handler after logging its start-up steps, as a worker that loads a model does;
    `megabytes` of memory are held, so that the worker's size is known."""

    megabytes: int = 0

    def __call__(self, threads: int):
        import logging

        log = logging.getLogger("gridprune.talker")
        log.info("loading the model")
        ballast = bytearray(self.megabytes * 2**20)
        log.info("caching the front end")
        return lambda task: len(ballast)


def test_start_up_shows_each_workers_steps_and_when_it_is_ready(caplog):
    caplog.set_level(logging.INFO, logger="gridprune")
    backend = LocalBackend(Talker(), 2, 1)
    try:
        backend.start()
    finally:
        backend.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "gridprune.progress"]
    assert "starting workers: 2 workers" in lines
    for number in (1, 2):
        assert f"starting workers: worker {number}: loading the model" in lines
        assert f"starting workers: worker {number}: caching the front end" in lines
    assert any(line.startswith("starting workers: 2/2, worker ") and " ready after " in line for line in lines)


def test_more_workers_than_cpus_are_warned_of_with_the_numbers(caplog):
    cpus = len(os.sched_getaffinity(0))
    caplog.set_level(logging.WARNING, logger="gridprune")
    LocalBackend(Talker(), cpus + 1, 1).close()
    assert f"local.workers={cpus + 1} is more than the {cpus} CPUs available here" in caplog.text
    caplog.clear()
    LocalBackend(Talker(), 1, cpus + 1).close()
    assert f"local.workers=1 x local.threads_per_worker={cpus + 1} = {cpus + 1} threads on {cpus} CPUs" in caplog.text
    caplog.clear()
    LocalBackend(Talker(), 1, 1).close()
    assert caplog.text == ""


def test_workers_that_would_not_fit_in_memory_are_warned_of_from_the_first_ones_size(caplog):
    available = local.available_memory_mib()
    assert available and available > 200
    backend = LocalBackend(Talker(megabytes=50), 1, 1)
    caplog.set_level(logging.WARNING, logger="gridprune")
    try:
        backend.start()
    finally:
        backend.close()
    assert caplog.text == ""  # one worker fits
    size = backend.worker_rss_mib
    assert 50 < size < available
    too_many = int(available // size) + 1
    message = local.memory_warning(too_many, size, available)
    assert message.startswith(f"{too_many} workers of about {size:,.0f} MiB each (measured on the first to start) "
                              f"need about {too_many * size / 1024:,.1f} GiB, more than the "
                              f"{available / 1024:,.1f} GiB available")
    assert message.endswith(f"set local.workers to {too_many - 1} or fewer")
    assert local.memory_warning(too_many - 1, size, available) is None


def test_a_worker_whose_master_is_gone_exits_quietly(tmp_path):
    script = (
        "import sys, time\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from test_local_backend import Talker\n"
        "from gridprune.backends.local import LocalBackend\n"
        "backend = LocalBackend(Talker(), 1, 1)\n"
        "backend.start()\n"
        "print(backend.workers[0].process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    master = subprocess.Popen([sys.executable, "-c", script, str(Path(__file__).parent)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    worker = int(master.stdout.readline())
    master.kill()  # as SIGKILL or `gridprune cancel` would end it
    _, stderr = master.communicate(timeout=30)
    deadline = time.time() + 30
    while alive(worker) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(worker)
    assert "Traceback" not in stderr


# ---------------------------------------------------------------- task kinds through make_backend


@dataclass(frozen=True)
class KindHandlers:
    """A task kind's handler factory that leaves `built.<kind>.<pid>` in `folder` when a worker builds it."""

    folder: str
    kind: str

    def __call__(self, threads: int):
        Path(self.folder, f"built.{self.kind}.{os.getpid()}").touch()
        return lambda task, context: {"value": float(task["params"]["x"]), "metrics": {"kind": self.kind}}


def _kinds_run(tmp_path: Path, names: tuple[str, ...], at_start: tuple[str, ...] = ()):
    from gridprune.backends import make_backend
    from gridprune.config import RunConfig
    from gridprune.engine import TaskKind, Trial, make_task
    from gridprune.store import RunDir

    run = RunDir.create(tmp_path / "run", {"note": "kinds"})
    run.make_folders()
    config = RunConfig.model_validate({"method": "ga_blocks", "model": "demo", "data": "x.hrl",
                                       "local": {"workers": 2, "threads_per_worker": 1}})
    backend = make_backend(config.backend, run, config.backend_settings(), {name: TaskKind(name, KindHandlers(str(tmp_path), name), at_start=name in at_start)
                                         for name in names})
    tasks = [make_task(Trial("a", {"x": x}), f"{x:064x}") for x in range(4)]
    return run, backend, tasks


def test_with_several_kinds_each_worker_builds_only_the_kinds_it_runs_and_once(tmp_path):
    run, backend, tasks = _kinds_run(tmp_path, ("a", "b"))
    try:
        backend.start()
        assert not list(tmp_path.glob("built.*"))  # lazily: nothing is built before a task needs it
        assert backend.run(tasks, lambda task: None) == []
    finally:
        backend.close()
    built = sorted(p.name for p in tmp_path.glob("built.*"))
    assert built and all(name.startswith("built.a.") for name in built) and len(built) <= 2
    records = [run.read_result(task["key"]) for task in tasks]
    assert [r["value"] for r in records] == [0.0, 1.0, 2.0, 3.0] and all(r["metrics"] == {"kind": "a"} for r in records)


def test_each_worker_builds_the_kinds_marked_at_start_when_it_starts(tmp_path):
    _, backend, _ = _kinds_run(tmp_path, ("a", "b"), at_start=("b",))
    try:
        backend.start()
        # the cost of "b" is paid before the first round, apart; "a" waits for a task of its own
        assert sorted(p.name.split(".")[1] for p in tmp_path.glob("built.*")) == ["b", "b"]
    finally:
        backend.close()
