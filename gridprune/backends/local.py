"""The local backend: persistent worker processes on this machine.

Each worker builds its task handler once (the model load) and then evaluates
one task at a time, handed over its own pipe, so the master always knows which
task a worker holds. A worker that raises gets its task retried; a worker that
dies (killed, out of memory) is replaced and its task retried; past
`max_retries` the task is given up on and returned as a failure.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Callable, Sequence

from gridprune.backends.base import BackendError, HandlerFactory, Retries, Task, TaskFailure

log = logging.getLogger(__name__)
_READY, _DONE, _RAISED, _FATAL = "ready", "done", "raised", "fatal"


def _worker_main(factory: HandlerFactory, threads: int, conn: Connection) -> None:
    try:
        handler = factory(threads)
    except BaseException:
        conn.send((_FATAL, traceback.format_exc()))
        return
    conn.send((_READY, None))
    while (task := conn.recv()) is not None:
        try:
            handler(task)
            conn.send((_DONE, None))
        except Exception:
            conn.send((_RAISED, traceback.format_exc()))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    ready: bool = False
    task: Task | None = None


class LocalBackend:
    """Runs tasks in `workers` processes, each with `threads` torch threads."""

    def __init__(self, factory: HandlerFactory, workers: int, threads: int | None = None, max_retries: int = 2):
        self.factory = factory
        self.size = workers
        self.threads = threads or max(1, len(os.sched_getaffinity(0)) // workers)  # the CPUs this process may use
        self.max_retries = max_retries
        self.context = multiprocessing.get_context("spawn")  # forking a process that holds torch threads can hang
        self.workers: list[_Worker] = []
        self.parallelism = workers
        self.counters = {"worker_restarts": 0}

    def _start_worker(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(self.factory, self.threads, child), daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self.workers.append(worker)
        return worker

    def start(self) -> None:
        """Start the missing workers and wait until each has built its handler (loaded the model)."""
        while len(self.workers) < self.size:
            self._start_worker()
        while starting := [w for w in self.workers if not w.ready]:
            handles = {w.conn: w for w in starting} | {w.process.sentinel: w for w in starting}
            for ready in wait(list(handles)):
                worker = handles[ready]
                if worker.ready or worker not in self.workers:
                    continue  # already handled through its other handle
                message = self._receive(worker) if worker.conn.poll() else None
                if message is None:
                    self._replace_dead(worker, lambda task, reason: None)  # raises: it died while starting
                elif message[0] == _READY:
                    worker.ready = True

    def _receive(self, worker: _Worker) -> tuple[str, str | None] | None:
        """The worker's next message; None if its pipe is closed. A worker that could not start ends the backend."""
        try:
            kind, detail = worker.conn.recv()
        except (EOFError, OSError):
            return None
        if kind == _FATAL:
            self.close()
            raise BackendError(f"a worker could not start:\n{detail}")
        return kind, detail

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
