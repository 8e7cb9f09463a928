"""The pilot backend (`slurm.mode: pilot`): Slurm worker jobs that stay for the whole run, on dask-jobqueue.

The run's task kinds are grouped into pools by the resources they ask for (cpus, mem_gb, gpus); each pool
is one dask `SLURMCluster` whose jobs (`gridprune-pilot-<pool>`, logs under `jobs/slurm/pilots/`) each run
one single-threaded dask worker. A worker builds the run's `TaskRunner` once (`pilot_worker`), so a search
pays the queue, the Python start and the model load once per worker, not once per round. Each task is one
`client.submit`; its result goes to the run directory through the engine, and the future is released as
soon as it is done.

Faults are counted here, not by dask (its `allowed-failures` is 0): a task whose worker was lost or whose
handler raised is resubmitted up to `slurm.max_retries` times; a worker that cannot start (load the model)
counts against `slurm.pilot.start_failures`, past which the run stops. A pool is refilled to its size as
workers leave. A worker retires at its soft walltime (`pilot_worker`). A master that dies takes its
schedulers with it and its workers exit; the next master cancels what is left of them and starts new pools.
"""

from __future__ import annotations

import itertools
import math
import logging
import os
import queue
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import dask
from distributed import Client
from distributed.scheduler import KilledWorker

from gridprune.backends.slurm.pilot_state import JOB_NAME, LOGS, recorded_pilot_jobs, write_pools
from gridprune.backends.slurm.pilot_worker import (
    HANDED_BACK,
    RunnerPlugin,
    WorkerStartError,
    run_task,
    runner_ready,
)
from gridprune.backends.slurm.queue import cancel, jobs_of_run, slurm_available, user_jobs
from gridprune.backends.slurm.settings import FOLDER, PilotSettings, SlurmSettings
from gridprune.engine import BackendError, Retries, Task, TaskFailure, TaskKind, WorkerFactory
from gridprune.store import RunDir

log = logging.getLogger(__name__)

# dask's own settings for a pilot master: faults are counted by gridprune; the master gives a pool no more
# tasks than it has idle workers (nothing to steal, nothing queued on a worker); lost workers given up fast
DASK_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.deploy.lost-worker-timeout": "5s",
    "distributed.scheduler.work-stealing": False,
}


START_SLACK_MIN = 5  # a pool's jobs last at least this much beyond its longest task and the margin (start-up)


@dataclass(frozen=True)
class PoolSpec:
    """Kinds that ask for the same resources, run by one pool of worker jobs of `walltime_min` each."""

    name: str
    cpus: int
    mem_gb: float
    gpus: int
    kinds: tuple[str, ...]
    walltime_min: int


def pools_of(kinds: Mapping[str, TaskKind], pilot: PilotSettings) -> list[PoolSpec]:
    """The run's kinds grouped by (cpus, mem_gb, gpus), one pool each. A pool's jobs last
    `pilot.walltime_min`, or longer where one of its kinds' tasks may take longer (its `time_min`) than that
    leaves after the margin and the worker's start: a fresh worker can always finish the task it is given."""
    groups: dict[tuple[int, float, int], list[str]] = {}
    for name, kind in sorted(kinds.items()):
        resources = kind.resources
        groups.setdefault((resources.cpus, resources.mem_gb, resources.gpus), []).append(name)
    pools = []
    for (cpus, mem_gb, gpus), names in groups.items():
        longest = max(kinds[name].resources.time_min for name in names)
        walltime = max(pilot.walltime_min, longest + math.ceil(pilot.margin_s / 60) + START_SLACK_MIN)
        pools.append(PoolSpec(f"cpus{cpus}-mem{mem_gb:g}g" + (f"-gpus{gpus}" if gpus else ""), cpus, mem_gb, gpus,
                              tuple(names), walltime))
    return pools


ClusterFactory = Callable[[PoolSpec], Any]  # a pool's dask cluster, not scaled yet (tests pass a LocalCluster)


def free_port(first: int, last: int, host: str = "") -> int:
    """The first port in [first, last] that can be bound here."""
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise BackendError(f"slurm.pilot.ports: no free port in {first}-{last} on {socket.gethostname()}")


def sbatch_options(settings: SlurmSettings, spec: PoolSpec) -> list[str]:
    """The `#SBATCH` options of a pool's jobs beyond what dask-jobqueue writes itself."""
    options = ["--no-requeue"]  # a requeued worker would come back to a scheduler that gave its task away
    options += [f"--qos={settings.qos}"] if settings.qos else []
    options += [f"--gpus-per-node={spec.gpus}"] if spec.gpus else []
    for key, value in settings.extra_sbatch.items():
        if value is True:
            options.append(f"--{key}")
        elif value is not False:
            options.append(f"--{key}={value}")
    return options


def slurm_cluster(run: RunDir, settings: SlurmSettings, spec: PoolSpec) -> Any:
    """The `SLURMCluster` of a pool: one single-threaded worker per job, with the pool's CPUs for torch."""
    from dask_jobqueue import SLURMCluster

    pilot = settings.pilot
    ports = pilot.port_range()
    scheduler: dict[str, Any] = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}  # no fixed port
    worker_args = ["--memory-limit", "0"]  # Slurm's --mem is the limit; dask's memory manager stays out
    if ports:
        scheduler["port"] = free_port(*ports)
        worker_args += ["--worker-port", f"{ports[0]}:{ports[1]}", "--nanny-port", f"{ports[0]}:{ports[1]}"]
    hours, minutes = divmod(spec.walltime_min, 60)
    logs = run.jobs_dir / FOLDER / LOGS
    logs.mkdir(parents=True, exist_ok=True)
    return SLURMCluster(
        job_name=JOB_NAME + spec.name, cores=1, processes=1, job_cpu=spec.cpus,
        memory=f"{spec.mem_gb}GB", job_mem=f"{int(spec.mem_gb * 1024)}M", walltime=f"{hours:02d}:{minutes:02d}:00",
        queue=settings.partition, account=settings.account, job_extra_directives=sbatch_options(settings, spec),
        job_script_prologue=[f"export OMP_NUM_THREADS={spec.cpus}"], python=settings.python or sys.executable,
        interface=pilot.interface, death_timeout=pilot.death_timeout_s, worker_extra_args=worker_args,
        log_directory=str(logs), scheduler_options=scheduler, silence_logs="error",
    )


def check_job_script(script: str, pool: str) -> None:
    """`sbatch --test-only` of a pool's job script: a partition, account or resource Slurm refuses stops the
    run before any job is submitted, with Slurm's own words."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as file:
        file.write(script)
    try:
        proc = subprocess.run(["sbatch", "--test-only", file.name], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendError(f"cannot check the pilot job script of pool {pool} with sbatch --test-only: {exc}") from None
    finally:
        os.unlink(file.name)
    if proc.returncode:
        raise BackendError(f"Slurm refuses the worker jobs of pool {pool} (slurm: partition, account, qos, "
                           f"extra_sbatch, or the kinds' resources): {proc.stderr.strip()}", script)


@dataclass
class _Pool:
    spec: PoolSpec
    cluster: Any
    client: Any
    target: int = 0
    addresses: list[str] = field(default_factory=list)  # of the workers ready for tasks at the last look
    connected_at: dict[str, float] = field(default_factory=dict)  # worker address -> when first seen connected
    connected_jobs: set[str] = field(default_factory=set)  # job ids of the workers seen connected
    retiring: set[str] = field(default_factory=set)  # addresses of the workers that handed a task back

    def scale(self, jobs: int) -> None:
        self.target = jobs
        self.cluster.scale(jobs)

    def jobs(self) -> dict[str, str | None]:
        """Worker name -> its Slurm job id (None before sbatch answered, or outside Slurm)."""
        for _ in range(3):
            try:
                return {str(name): getattr(job, "job_id", None) for name, job in list(self.cluster.workers.items())}
            except RuntimeError:  # changed by dask's event loop while copied
                continue
        return {}


@dataclass
class _InFlight:
    task: Task
    attempt: int
    pool: _Pool
    future: Any

    @property
    def label(self) -> str:
        """What `status` says of the task."""
        return f"{self.task.get('label') or self.task['kind']} (task {self.task['key'][:12]})"


class PilotBackend:
    """Runs tasks on pools of pilot workers; `settings` is the config's `slurm:` section."""

    def __init__(self, run: RunDir, settings: SlurmSettings, kinds: Mapping[str, TaskKind],
                 cluster_factory: ClusterFactory | None = None):
        self.run_dir = run
        self.settings = settings
        self.pilot: PilotSettings = settings.pilot
        self.kinds = dict(kinds)
        self.specs = pools_of(self.kinds, self.pilot)
        self.pool_of_kind = {kind: spec.name for spec in self.specs for kind in spec.kinds}
        self.cluster_factory = cluster_factory or (lambda spec: slurm_cluster(run, settings, spec))
        self.on_slurm = cluster_factory is None
        self.pools: dict[str, _Pool] = {}
        self.parallelism = self.pilot.workers
        self.counters = {"pilot_jobs": 0, "workers_lost": 0, "start_failures": 0, "handed_back": 0}
        self.job_ids: list[str] = recorded_pilot_jobs(run)
        self.in_flight: dict[str, _InFlight] = {}  # dask key -> the task submitted under it
        self._keys = itertools.count()
        self._last_queue_check = self._last_maintained = 0.0
        # how long a pool's worker takes tasks: its walltime less the margin
        self.lifetime_s = {spec.name: spec.walltime_min * 60.0 - self.pilot.margin_s for spec in self.specs}
        self.limits_s = {name: kind.resources.time_min * 60.0 for name, kind in self.kinds.items()}

    # pools ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Cancel what an earlier master left, open every pool, start the workers of the kinds every round
        runs (`at_start`) and wait until one of each such pool has loaded the model."""
        if self.pools:
            return
        self._cancel_earlier()
        dask.config.set(DASK_CONFIG)
        for name in ("distributed", "dask_jobqueue"):  # their INFO lines would drown the run's own
            logging.getLogger(name).setLevel(logging.WARNING)
        for spec in self.specs:
            cluster = self.cluster_factory(spec)
            if self.on_slurm:
                check_job_script(cluster.job_script(), spec.name)
            self.pools[spec.name] = _Pool(spec, cluster, Client(cluster, set_as_default=False))
            self._register_plugin(self.pools[spec.name])
        for pool in self.pools.values():
            if any(self.kinds[kind].at_start for kind in pool.spec.kinds):
                pool.scale(self.pilot.workers)
        self._maintain(force=True)
        for pool in self.pools.values():
            if pool.target:
                self._wait_ready(pool)

    def _register_plugin(self, pool: _Pool) -> None:
        factory = WorkerFactory(str(self.run_dir.root), {kind: self.kinds[kind] for kind in pool.spec.kinds})
        pool.client.register_plugin(RunnerPlugin(factory, self.lifetime_s[pool.spec.name], self.limits_s))

    def _wait_ready(self, pool: _Pool) -> None:
        """Until one worker of `pool` has built its runner; a worker that cannot counts as a start failure."""
        while True:
            future = pool.client.submit(runner_ready, pure=False, key=f"gridprune-ready-{next(self._keys)}")
            while not future.done():
                time.sleep(0.2)
                self._maintain()  # at most every poll_interval_s
            error = future.exception() if future.status == "error" else None
            future.release()
            if error is None:
                return
            if isinstance(error, WorkerStartError):
                self._start_failed(pool, str(error))
            # a lost worker: wait for the next one

    def _start_failed(self, pool: _Pool, detail: str) -> None:
        self.counters["start_failures"] += 1
        last = detail.strip().splitlines()[-1] if detail.strip() else "no detail"
        if self.counters["start_failures"] >= self.pilot.start_failures:
            raise BackendError(f"{self.counters['start_failures']} pilot workers failed to start (slurm.pilot."
                               f"start_failures={self.pilot.start_failures}); the last, in pool {pool.spec.name}: "
                               f"{last}", detail)
        log.warning("a pilot worker of pool %s failed to start: %s", pool.spec.name, last)

    def _cancel_earlier(self) -> None:
        """scancel the worker jobs an earlier master of this run left in the queue (no engine adopts workers
        across a master restart)."""
        if not self.job_ids or not slurm_available():
            return
        try:
            left = [job for job in jobs_of_run(user_jobs(), self.run_dir.root, self.job_ids)
                    if job.name.startswith(JOB_NAME)]
            if left:
                log.info("cancelling %d pilot worker jobs an earlier master left: %s", len(left),
                         ", ".join(cancel(left)))
        except (OSError, TimeoutError) as exc:
            log.warning("could not cancel the pilot jobs an earlier master left: %s", exc)

    # the loop ------------------------------------------------------------------------------------

    def run(self, tasks: Sequence[Task], on_done: Callable[[Task], None]) -> list[TaskFailure]:
        """Run every task; return those that failed more than `slurm.max_retries` times."""
        self.start()
        wanted = {self.pool_of_kind[task["kind"]] for task in tasks}
        for pool in self.pools.values():  # idle pools give their resources back; busy ones keep their size
            pool.scale(self.pilot.workers if pool.spec.name in wanted else 0)
        retries = Retries(self.settings.max_retries, retry_means="resubmitting")
        done: queue.Queue = queue.Queue()
        flying = self.in_flight = {}
        waiting = {name: deque() for name in self.pools}  # (task, attempt) per pool, not given out yet
        for task in tasks:
            waiting[self.pool_of_kind[task["kind"]]].append((task, 1))

        def give_out() -> None:
            """As many tasks to each pool as it has workers: no worker holds a task it has not started (a lost
            worker then loses one task, and a retiring one hands back none it holds unstarted)."""
            for name, pool in self.pools.items():
                if waiting[name] and not pool.target:  # released earlier in the round; work came back
                    pool.scale(self.pilot.workers)
                # a retiring worker counts as busy: with only it idle, nothing is given out, and it leaves.
                # (No worker restrictions, not even loose ones: a restricted task that finds no worker it may use
                # waits as "no-worker", and dask gives it to none that joins later.)
                staying = [address for address in pool.addresses if address not in pool.retiring]
                idle = len(staying) - sum(entry.pool is pool for entry in flying.values())
                while waiting[name] and idle > 0:
                    task, attempt = waiting[name].popleft()
                    key = f"gridprune-{task['key'][:16]}-{next(self._keys)}"
                    future = pool.client.submit(run_task, {**task, "attempt": attempt}, key=key, pure=False)
                    flying[key] = _InFlight(task, attempt, pool, future)
                    idle -= 1
                    future.add_done_callback(done.put)

        def release_finished() -> None:
            """A pool done with the round gives its jobs back while others still work (on a full cluster, their
            pending jobs may be waiting for its CPUs)."""
            busy = {name for name in self.pools if waiting[name]} | {entry.pool.spec.name for entry in flying.values()}
            if busy:
                for name, pool in self.pools.items():
                    if name not in busy and pool.target:
                        pool.scale(0)

        def again(task: Task, attempt: int) -> None:
            waiting[self.pool_of_kind[task["kind"]]].appendleft((task, attempt))

        self._maintain(force=True)
        while flying or any(waiting.values()):
            self._maintain()
            give_out()
            try:
                future = done.get(timeout=self.settings.poll_interval_s)
            except queue.Empty:
                continue
            entry = flying.pop(future.key)
            task, status = entry.task, future.status
            error = future.exception() if status == "error" else None
            result = future.result() if status == "finished" else None
            handed_back = isinstance(result, tuple) and result[0] == HANDED_BACK
            tb = future.traceback() if error is not None else None
            future.release()
            lost = isinstance(error, KilledWorker)
            self.counters["workers_lost"] += lost
            if status == "finished" and not handed_back:
                on_done(task)
            elif handed_back:
                self.counters["handed_back"] += 1
                entry.pool.retiring.add(result[1])
                again(task, entry.attempt)
            elif self.run_dir.has_result(task["key"]):
                on_done(task)  # stored before its worker was lost
            elif isinstance(error, WorkerStartError):
                self._start_failed(entry.pool, str(error))
                again(task, entry.attempt)  # not the task's fault
            else:
                reason = (f"its pilot worker was lost ({error})" if lost
                          else "".join(traceback.format_exception(type(error), error, tb)) if error is not None
                          else f"its future was {status}")
                if retries.again(task, reason):
                    again(task, entry.attempt + 1)
            release_finished()
        self._maintain(force=True)
        return retries.failures

    def _maintain(self, force: bool = False) -> None:
        """At most every `poll_interval_s` (unless forced), with one look at each pool's jobs and workers: keep
        the pool at its size (plus the early replacements of workers close to their soft walltime), notice
        worker jobs that ended before they connected (every `sacct_interval_s`), write the state `status`
        reads."""
        now = time.time()
        if not force and now - self._last_maintained < self.settings.poll_interval_s:
            return
        self._last_maintained = now
        looks = [(pool, pool.jobs(), self._connected(pool)) for pool in self.pools.values()]
        queued = None  # listed after the look: a job sbatch answered for by then is listed unless it ended
        if self.on_slurm and now - self._last_queue_check >= self.settings.sacct_interval_s:
            self._last_queue_check = now
            try:
                queued = {job.id for job in user_jobs()}
            except (OSError, TimeoutError) as exc:
                log.warning("cannot list the pilot jobs: %s", exc)
        states = []
        for pool, jobs, connected in looks:
            pool.addresses = [info["address"] for info in connected.values() if info.get("status") == "running"]
            pool.retiring &= {info["address"] for info in connected.values()}
            pool.connected_at = {info["address"]: pool.connected_at.get(info["address"], now)
                                 for info in connected.values()}
            pool.connected_jobs.update(job_id for name, job_id in jobs.items() if job_id and name in connected)
            leaving = sum(1 for since in pool.connected_at.values()
                          if since + self.lifetime_s[pool.spec.name] - now < self.pilot.replace_early_s) \
                if pool.target else 0
            pool.cluster.scale(pool.target + leaving)  # refills what left (dask forgets a lost worker after 5 s)
            for job_id in jobs.values():
                if job_id and job_id not in self.job_ids:
                    self.job_ids.append(job_id)
                    self.counters["pilot_jobs"] += 1
            if queued is not None:
                self._drop_unconnected(pool, jobs, connected, queued)
            states.append(self._pool_state(pool, jobs, connected))
        write_pools(self.run_dir, states, self.job_ids, os.getpid())

    def _connected(self, pool: _Pool) -> dict[str, dict[str, Any]]:
        """Worker name -> the scheduler's info on it (and its "address"), for the pool's connected workers."""
        return {str(info.get("name")): {**info, "address": address}
                for address, info in pool.client.scheduler_info()["workers"].items()}

    def _drop_unconnected(self, pool: _Pool, jobs: dict[str, str | None], connected: dict[str, Any],
                          queued: set[str]) -> None:
        """A worker job Slurm no longer lists that never connected failed to start: drop it so that the pool
        submits another, and count it."""
        for name, job_id in jobs.items():
            if job_id and job_id not in pool.connected_jobs and name not in connected and job_id not in queued:
                pool.cluster.loop.add_callback(pool.cluster.workers.pop, name, None)
                self._start_failed(pool, f"worker job {job_id} ended before it reached the master (its log: "
                                         f"{self.run_dir.jobs_dir / FOLDER / LOGS}/{JOB_NAME}{pool.spec.name}-"
                                         f"{job_id}.err)")

    def _pool_state(self, pool: _Pool, jobs: dict[str, str | None], connected: dict[str, Any]) -> dict[str, Any]:
        """A pool as `status` shows it: its kinds, size, and each worker job with the task it holds."""
        processing = pool.client.processing() if connected else {}
        workers = []
        for name, job_id in jobs.items():
            info = connected.get(name)
            held = [self.in_flight[key].label if key in self.in_flight else key
                    for key in processing.get(info["address"], [])] if info else []
            workers.append({"name": name, "job_id": job_id, "connected": info is not None,
                            "host": info.get("host") if info else None, "task": held[0] if held else None})
        return {"name": pool.spec.name, "kinds": list(pool.spec.kinds), "target": pool.target, "workers": workers}

    def close(self) -> None:
        """Close every pool: its workers' jobs are cancelled (scancel of this run's own jobs only)."""
        for pool in self.pools.values():
            ids = [job_id for job_id in pool.jobs().values() if job_id]
            for closing in (pool.client.close, pool.cluster.close):
                try:
                    closing()
                except Exception as exc:  # a job sbatch never answered for makes dask-jobqueue's close fail
                    log.warning("closing pilot pool %s: %r", pool.spec.name, exc)
            if ids and self.on_slurm:
                subprocess.run(["scancel", *ids], capture_output=True, check=False)
        self.pools.clear()
        self.in_flight = {}
        write_pools(self.run_dir, [], self.job_ids, os.getpid())

