"""The local backend: persistent worker processes on this machine.

Each worker builds its task handler once (the model load) and then evaluates
one task at a time, handed over its own pipe, so the master always knows which
task a worker holds. A worker that raises gets its task retried; a worker that
dies (killed, out of memory) is replaced and its task retried; past
`max_retries` the task is given up on and returned as a failure.

The workers' pids are recorded in `jobs/local/workers.json`, so that `cancel` finds and stops them
even when the master is gone; a worker also ends when its master dies (Linux: a parent-death
signal), and leaves Ctrl-C to the master, which stops it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import socket
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable, Iterator, Sequence

from pydantic import Field

from gridprune.backends.registry import BackendType, counted
from gridprune.engine import BackendError, Retries, Task, TaskFailure, WorkerFactory
from gridprune.progress_bar import ProgressBar
from gridprune.sections import Section
from gridprune.store import RunDir, atomic_write_json, read_json

log = logging.getLogger(__name__)
WORKERS_FILE = Path("local") / "workers.json"  # under RUN_DIR/jobs
WORKER, WORKERS = "local worker process", "local worker processes"
_PR_SET_PDEATHSIG = 1
_READY, _DONE, _RAISED, _FATAL, _PHASE = "ready", "done", "raised", "fatal", "phase"


class LocalSettings(Section):
    """The `local:` section."""

    workers: int = Field(2, gt=0, description="worker processes, each holding one copy of the model")
    threads_per_worker: int | None = Field(None, gt=0, description="torch threads per worker (default: cores / workers)")
    max_retries: int = Field(2, ge=0, description="retries of a task whose worker died or raised")


class _PhaseHandler(logging.Handler):
    """In a starting worker: sends each gridprune log line (e.g. "loading the model") to the master."""

    def __init__(self, conn: Connection):
        super().__init__(logging.INFO)
        self.conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.conn.send((_PHASE, record.getMessage()))
        except (OSError, ValueError):
            pass


def _peak_rss_mib() -> float:
    """This process's peak resident memory, MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _end_with_master(master: int) -> None:
    """In a worker: end on SIGTERM when the master dies, and leave Ctrl-C to the master (it stops us)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the worker ends when its pipe to the master closes
        pass
    if os.getppid() != master:  # the master died before the signal was asked for
        os._exit(1)


def _build_handler(factory: WorkerFactory, threads: int, conn: Connection):
    logger = logging.getLogger("gridprune")
    phases, level = _PhaseHandler(conn), logger.level
    logger.addHandler(phases)
    logger.setLevel(logging.INFO)
    try:
        return factory(threads)
    finally:
        logger.removeHandler(phases)
        logger.setLevel(level)


def _worker_main(factory: WorkerFactory, threads: int, conn: Connection, master: int) -> None:
    _end_with_master(master)
    try:
        handler = _build_handler(factory, threads, conn)
    except BaseException:
        conn.send((_FATAL, traceback.format_exc()))
        return
    try:
        conn.send((_READY, {"rss_mib": _peak_rss_mib()}))
        while (task := conn.recv()) is not None:
            try:
                handler(task)
                outcome = (_DONE, None)
            except Exception:
                outcome = (_RAISED, traceback.format_exc())
            conn.send(outcome)
    except (EOFError, OSError):
        return  # the master is gone (killed, or cancelled): nothing to report to


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    ready: bool = False
    task: Task | None = None


class LocalBackend:
    """Runs tasks in `workers` processes, each with `threads` torch threads."""

    def __init__(self, factory: WorkerFactory, workers: int, threads: int | None = None, max_retries: int = 2,
                 pid_file: Path | None = None):
        if workers < 1:
            raise ValueError(f"a local backend needs at least one worker, not {workers}")
        self.factory = factory
        self.size = workers
        cpus = len(os.sched_getaffinity(0))  # the CPUs this process may use
        self.threads = threads or max(1, cpus // workers)
        warning = cpu_warning(workers, self.threads, cpus)
        if warning:
            log.warning(warning)
        self.max_retries = max_retries
        self.context = multiprocessing.get_context("spawn")  # forking a process that holds torch threads can hang
        self.workers: list[_Worker] = []
        self.parallelism = workers
        self.counters = {"worker_restarts": 0}
        self.worker_rss_mib: float | None = None  # the first worker's peak memory once started
        self.pid_file = pid_file  # where the workers' pids are recorded for `cancel`

    def _record_pids(self) -> None:
        if self.pid_file is not None:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            pids = [w.process.pid for w in self.workers if w.process.pid is not None]
            atomic_write_json(self.pid_file, {"host": socket.gethostname(), "master": os.getpid(),
                                              "workers": [{"pid": pid, "started": _start_time(pid)} for pid in pids]})

    def _start_worker(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(self.factory, self.threads, child, os.getpid()),
                                       daemon=True)
        with _ctrl_c_ignored():  # inherited through exec: Ctrl-C while the worker starts up is the master's alone
            process.start()
        child.close()
        worker = _Worker(process, parent)
        self.workers.append(worker)
        self._record_pids()
        return worker

    def start(self) -> None:
        """Start the missing workers and wait until each has built its handler (loaded the model).

        Shows each worker's start-up (what it logs: loading, caching; then ready) as
        progress, and warns once, from the first worker's measured memory, if all of
        them would need more memory than the machine has available.
        """
        missing = self.size - len(self.workers)
        if missing <= 0:
            return
        available = available_memory_mib()
        started = time.perf_counter()
        while len(self.workers) < self.size:
            self._start_worker()
        number = {id(w): i for i, w in enumerate(self.workers, start=1)}
        warned = False
        with ProgressBar(missing, "starting workers", unit="worker") as progress:
            while starting := [w for w in self.workers if not w.ready]:
                handles = {w.conn: w for w in starting} | {w.process.sentinel: w for w in starting}
                for ready in wait(list(handles)):
                    worker = handles[ready]
                    if worker.ready or worker not in self.workers:
                        continue  # already handled through its other handle
                    message = self._receive(worker) if worker.conn.poll() else None
                    if message is None:
                        self._replace_dead(worker, lambda task, reason: None)  # raises: it died while starting
                    elif message[0] == _PHASE:
                        progress.note(f"worker {number[id(worker)]}: {message[1]}")
                    elif message[0] == _READY:
                        worker.ready = True
                        rss = (message[1] or {}).get("rss_mib")
                        progress.step(f"worker {number[id(worker)]} ready after {time.perf_counter() - started:.1f} s")
                        if rss and not warned:
                            warned = True
                            self.worker_rss_mib = rss
                            warning = memory_warning(self.size, rss, available)
                            if warning:
                                log.warning(warning)

    def _receive(self, worker: _Worker) -> tuple[str, str | None] | None:
        """The worker's next message; None if its pipe is closed. A worker that could not start ends the backend."""
        try:
            kind, detail = worker.conn.recv()
        except (EOFError, OSError):
            return None
        if kind == _FATAL:
            self.close()
            raise BackendError(f"a worker could not start: {detail.strip().splitlines()[-1]}{self._keep(detail)}",
                               detail)
        return kind, detail

    def _keep(self, traceback_text: str) -> str:
        """Write a worker's start-up traceback beside the pid file; where it is, for the one-line error."""
        if self.pid_file is None:
            return ""
        path = self.pid_file.with_name("worker_start_error.txt")
        path.write_text(traceback_text)
        return f" (the whole traceback: {path})"

    def run(self, tasks: Sequence[Task], on_done: Callable[[Task], None]) -> list[TaskFailure]:
        """Evaluate every task; return those that failed more than `max_retries` times."""
        queue: deque[Task] = deque(tasks)
        retries = Retries(self.max_retries)
        self.start()

        def retry_or_fail(task: Task, reason: str) -> None:
            if retries.again(task, reason):
                queue.appendleft(task)

        while queue or any(w.task is not None for w in self.workers):
            for worker in self.workers:
                if worker.ready and worker.task is None and queue:
                    worker.task = queue.popleft()
                    try:
                        worker.conn.send(worker.task)
                    except OSError:  # it died while idle: its sentinel fires below and the task is retried
                        pass
            busy = {w.conn: w for w in self.workers} | {w.process.sentinel: w for w in self.workers}
            for ready in wait(list(busy)):
                worker = busy[ready]
                if worker not in self.workers:
                    continue  # already handled through its other handle
                if worker.conn.poll():  # read what it sent before looking at whether it died
                    message = self._receive(worker)
                    if message is not None:
                        kind, detail = message
                        if kind == _READY:  # a replacement worker
                            worker.ready = True
                            continue
                        if kind == _PHASE:  # a replacement worker, starting
                            continue
                        task, worker.task = worker.task, None
                        if kind == _DONE:
                            on_done(task)
                        else:
                            retry_or_fail(task, detail)
                        continue
                self._replace_dead(worker, retry_or_fail)
        return retries.failures

    def _replace_dead(self, worker: _Worker, retry_or_fail: Callable[[Task, str], None]) -> None:
        worker.process.join(timeout=5)
        code = worker.process.exitcode
        if not worker.ready:
            self.close()
            raise BackendError(f"a worker died while starting (exit code {code})")
        self.workers.remove(worker)
        worker.conn.close()
        if worker.task is not None:
            retry_or_fail(worker.task, f"worker process {worker.process.pid} died (exit code {code})")
        self._start_worker()
        self.counters["worker_restarts"] += 1

    def close(self) -> None:
        """Stop every worker."""
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in self.workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self.workers.clear()
        self._record_pids()


def cpu_warning(workers: int, threads: int, cpus: int) -> str | None:
    """Why `workers` workers of `threads` threads each oversubscribe `cpus` CPUs, or None if they do not."""
    if workers > cpus:
        return (f"local.workers={workers} is more than the {cpus} CPUs available here: the workers will share "
                f"them and run no faster than {cpus} would, each holding its own copy of the model in memory")
    if workers * threads > cpus:
        return (f"local.workers={workers} x local.threads_per_worker={threads} = {workers * threads} threads "
                f"on {cpus} CPUs: the threads will compete for them")
    return None


def memory_warning(workers: int, rss_mib: float, available_mib: float | None) -> str | None:
    """Why `workers` workers of `rss_mib` each would not fit in `available_mib`, or None if they would."""
    if available_mib is None or workers * rss_mib <= available_mib:
        return None
    fits = max(1, int(available_mib // rss_mib))
    return (f"{workers} workers of about {rss_mib:,.0f} MiB each (measured on the first to start) need about "
            f"{workers * rss_mib / 1024:,.1f} GiB, more than the {available_mib / 1024:,.1f} GiB available on this "
            f"machine: set local.workers to {fits} or fewer")


def available_memory_mib() -> float | None:
    """MemAvailable of /proc/meminfo in MiB (None where there is no such file)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """SIGINT ignored for the duration (where this is the main thread, the only one that may set it)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22): tells it from a later
    process that got the same pid. None where there is no /proc, no such process, or only its zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    try:
        return None if fields[0] == "Z" else int(fields[19])
    except (ValueError, IndexError):
        return None


def _recorded_workers(run: RunDir) -> dict[int, int]:
    """The run's recorded workers on this host: pid -> start time."""
    path = run.jobs_dir / WORKERS_FILE
    record = read_json(path) if path.is_file() else {}
    if record.get("host") != socket.gethostname():
        return {}
    return {w["pid"]: w["started"] for w in record.get("workers", []) if w["started"] is not None}


def _alive(workers: dict[int, int]) -> list[int]:
    """Those of `workers` (pid -> start time) still running: the same pid started at the same time."""
    return [pid for pid, started in workers.items() if _start_time(pid) == started]


def live_workers(run: RunDir) -> list[int]:
    """Pids of this run's recorded worker processes that still run on this host."""
    return _alive(_recorded_workers(run))


def find_workers(run: RunDir) -> list[str]:
    """`status`: the run's worker processes still alive here."""
    pids = live_workers(run)
    return [f"{counted(len(pids), WORKER, WORKERS)} (pid {', '.join(map(str, pids))})"] if pids else []


def stop_workers(run: RunDir, wait_s: float = 10.0) -> list[str]:
    """`cancel`: SIGTERM the run's live workers, SIGKILL what is left after `wait_s`, and wait until all are gone."""
    workers = _recorded_workers(run)
    pids = _alive(workers)
    if not pids:
        return []
    stopped = list(pids)
    for sig, patience in ((signal.SIGTERM, wait_s), (signal.SIGKILL, 30.0)):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + patience
        while (pids := _alive({pid: workers[pid] for pid in pids})) and time.time() < deadline:
            time.sleep(0.1)
        if not pids:
            break
    if pids:
        raise BackendError(f"worker processes {', '.join(map(str, pids))} of {run.root} would not end")
    return [f"stopped {counted(len(stopped), WORKER, WORKERS)} of the run"]


def _make(run: RunDir, settings: LocalSettings, kinds) -> LocalBackend:
    factory = WorkerFactory(str(run.root), dict(kinds))
    return LocalBackend(factory, settings.workers, settings.threads_per_worker, settings.max_retries,
                        pid_file=run.jobs_dir / WORKERS_FILE)


BACKEND = BackendType("local", LocalSettings, "worker processes on this machine", make=_make,
                      find=find_workers, cancel=stop_workers)
