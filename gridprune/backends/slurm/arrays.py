"""The Slurm backend: each round's tasks as chunks in job arrays, one array per task kind, through submitit.

Each task kind has its own executor with that kind's resources (CPUs, memory, time
limit, GPUs), job name (`gridprune-<kind>`) and chunk size (`tasks_per_job`, else
`slurm.chunk_size`).

Workers write their results straight into the run directory; the master watches
the store for results and asks Slurm (one `sacct` for all its jobs, at a bounded
rate) only to learn which jobs ended without delivering. Their missing tasks
are resubmitted up to `max_retries` times, then given up on. The jobs in flight
are recorded in `jobs/slurm/in_flight.json`, so a master that was killed and
started again waits for them instead of submitting their work twice. Nothing
the master reads back is a pickle: results, errors and bookkeeping are JSON.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import submitit
from submitit.helpers import Checkpointable

from gridprune.backends.slurm.attempts import last_error, logged_attempt
from gridprune.backends.slurm.settings import FOLDER, IN_FLIGHT, SlurmSettings
from gridprune.engine import (
    BackendError,
    Retries,
    Task,
    TaskFailure,
    TaskKind,
    WorkerFactory,
)
from gridprune.store import RunDir, atomic_write_json, read_json

log = logging.getLogger(__name__)

# sacct states after which a job will not deliver anything more
ENDED_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE")


def max_array_size() -> int:
    """The cluster's MaxArraySize: an array's indexes must stay below it."""
    try:
        text = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BackendError(f"cannot read the Slurm configuration (scontrol show config): {exc}") from None
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else 1001


def chunked(items: Sequence[Task], size: int) -> list[list[Task]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


class ChunkJob(Checkpointable):
    """One array task: evaluate a chunk of tasks, skipping those whose result already exists.

    Being `Checkpointable`, submitit requeues it when it hits its time limit or is
    preempted; the rerun skips the tasks finished before.
    """

    def __init__(self, factory: WorkerFactory, tasks: list[Task], run_dir: str):
        self.factory = factory
        self.tasks = tasks
        self.run_dir = run_dir

    def __call__(self) -> None:
        run = RunDir.open(self.run_dir)
        todo = [task for task in self.tasks if not run.has_result(task["key"])]
        if not todo:
            return
        handler = self.factory(int(os.environ.get("SLURM_CPUS_PER_TASK", "1")))
        for task in todo:
            with contextlib.suppress(Exception), logged_attempt(run, task["key"]):
                handler(task)  # one that raises is logged and resubmitted by the master


@dataclass
class _Chunk:
    job: submitit.SlurmJob
    tasks: list[Task]
    submitted_at: float
    delivered: set[str] = field(default_factory=set)


class SlurmBackend:
    """Runs tasks as Slurm job arrays; `settings` is the config's `slurm:` section, `kinds` the run's task kinds."""

    def __init__(self, run: RunDir, settings: SlurmSettings, kinds: Mapping[str, TaskKind]):
        self.kinds = dict(kinds)
        self.settings = settings
        self.run_dir = run
        self.folder = run.jobs_dir / FOLDER
        self.in_flight_file = self.folder / IN_FLIGHT
        self.parallelism = settings.array_parallelism
        self.array_limit = max_array_size()
        self.chunks: list[_Chunk] = []
        self.counters = {"sbatch_calls": 0, "sacct_calls": 0}
        self.executors: dict[str, submitit.SlurmExecutor] = {}
        self._reattach()

    def executor(self, kind: str) -> submitit.SlurmExecutor:
        """The executor of `kind`'s jobs: its resources, its job name; made on first use."""
        if kind not in self.executors:
            if kind not in self.kinds:
                raise BackendError(f"no task kind {kind!r} in this run; known: {', '.join(sorted(self.kinds))}")
            settings, resources = self.settings, self.kinds[kind].resources
            executor = submitit.SlurmExecutor(folder=self.folder / "%j", max_num_timeout=settings.max_num_timeout,
                                              python=settings.python)
            gpus = {"gpus_per_node": resources.gpus} if resources.gpus else {}  # --gpus-per-node
            executor.update_parameters(
                **gpus,
                job_name=f"gridprune-{kind}",
                partition=settings.partition, account=settings.account, qos=settings.qos,
                time=resources.time_min, cpus_per_task=resources.cpus, mem=f"{int(resources.mem_gb * 1024)}M",
                array_parallelism=settings.array_parallelism or 256, signal_delay_s=settings.signal_delay_s,
                additional_parameters=dict(settings.extra_sbatch),
                stderr_to_stdout=True,
            )
            self.executors[kind] = executor
        return self.executors[kind]

    def factory(self, kind: str) -> WorkerFactory:
        """What a job of `kind` builds its handler with: only that kind's, so it loads only what it needs."""
        return WorkerFactory(str(self.run_dir.root), {kind: self.kinds[kind]})

    # bookkeeping that survives the master -------------------------------------------------------

    def _save_in_flight(self) -> None:
        atomic_write_json(self.in_flight_file, {
            "jobs": [{"job_id": c.job.job_id, "submitted_at": c.submitted_at, "tasks": c.tasks} for c in self.chunks],
        })

    def _reattach(self) -> None:
        """Adopt the jobs a previous master left running."""
        if not self.in_flight_file.exists():
            return
        for entry in read_json(self.in_flight_file)["jobs"]:
            job = submitit.SlurmJob(folder=self.folder / "%j", job_id=entry["job_id"])
            self.chunks.append(_Chunk(job, entry["tasks"], entry["submitted_at"]))
        log.info("adopted %d Slurm jobs of an earlier master", len(self.chunks))

    # submission ----------------------------------------------------------------------------------

    def _submit(self, tasks: Sequence[Task]) -> None:
        """Submit tasks by kind, in chunks: one array per MaxArraySize - 1 chunks (indexes start at 0)."""
        by_kind: dict[str, list[Task]] = {}
        for task in tasks:
            by_kind.setdefault(task["kind"], []).append(task)
        for kind, kind_tasks in by_kind.items():
            executor, factory = self.executor(kind), self.factory(kind)
            chunks = chunked(kind_tasks, self.kinds[kind].tasks_per_job or self.settings.chunk_size)
            for group in chunked(chunks, max(self.array_limit - 1, 1)):  # type: ignore[arg-type]
                with executor.batch():
                    jobs = [executor.submit(ChunkJob(factory, chunk, str(self.run_dir.root))) for chunk in group]
                self.counters["sbatch_calls"] += 1
                now = time.time()
                self.chunks.extend(_Chunk(job, chunk, now) for job, chunk in zip(jobs, group))
                log.info("submitted %d chunks of %d %s tasks as Slurm array %s", len(group),
                         sum(map(len, group)), kind, jobs[0].job_id.split("_")[0])
        self._save_in_flight()

    # the loop ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Nothing to start: every round's jobs build their handlers themselves."""

    def run(self, tasks: Sequence[Task], on_done: Callable[[Task], None]) -> list[TaskFailure]:
        """Evaluate every task; return those that failed more than `max_retries` times."""
        wanted = {task["key"] for task in tasks}
        adopted = {task["key"] for chunk in self.chunks for task in chunk.tasks}
        self._submit([task for task in tasks if task["key"] not in adopted])
        retries = Retries(self.settings.max_retries, retry_means="resubmitting")
        last_sacct = time.time()
        try:
            while self.chunks:
                time.sleep(self.settings.poll_interval_s)
                for chunk in self.chunks:
                    for task in chunk.tasks:
                        if task["key"] not in chunk.delivered and self.run_dir.has_result(task["key"]):
                            chunk.delivered.add(task["key"])
                            if task["key"] in wanted:
                                on_done(task)
                finished = [c for c in self.chunks if len(c.delivered) == len(c.tasks)]
                if time.time() - last_sacct >= self.settings.sacct_interval_s:
                    finished += self._ended_chunks(exclude=finished)
                    last_sacct = time.time()
                if not finished:
                    continue
                retry: list[Task] = []
                for chunk in finished:
                    self.chunks.remove(chunk)
                    for task in chunk.tasks:
                        if task["key"] in chunk.delivered or self.run_dir.has_result(task["key"]):
                            continue
                        reason = last_error(self.run_dir, task["key"]) or f"Slurm job {chunk.job.job_id} ended " \
                            f"({chunk.job.watcher.get_state(chunk.job.job_id, mode='cache')}) without a result"
                        if retries.again(task, reason):
                            retry.append(task)
                if retry:
                    self._submit(retry)
                else:
                    self._save_in_flight()
        except BaseException:  # Ctrl-C or an error; a SIGTERM (preemption) ends the process without this
            self.cancel()
            raise
        return retries.failures

    def _ended_chunks(self, exclude: list[_Chunk]) -> list[_Chunk]:
        """Chunks whose job Slurm says has ended, or that Slurm has not known for too long."""
        pending = [c for c in self.chunks if c not in exclude]
        if not pending:
            return []
        watcher = pending[0].job.watcher
        watcher.update()
        self.counters["sacct_calls"] += 1
        ended = []
        for chunk in pending:
            state = watcher.get_state(chunk.job.job_id, mode="cache")
            unknown = state == "UNKNOWN" and time.time() - chunk.submitted_at > self.settings.vanish_s
            if unknown or state.split()[0] in ENDED_STATES:
                ended.append(chunk)
        return ended

    def cancel(self) -> None:
        """Cancel this master's own jobs (never another job of the user)."""
        ids = sorted({c.job.job_id for c in self.chunks})
        if ids:
            subprocess.run(["scancel", *ids], check=False)
            log.info("cancelled %d Slurm jobs", len(ids))
        self.chunks.clear()
        self._save_in_flight()

    def close(self) -> None:
        """Nothing runs between rounds; jobs in flight are left to a resumed master."""
