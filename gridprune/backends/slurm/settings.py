"""The `slurm:` section and where the Slurm backend keeps its bookkeeping in a run directory."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from gridprune.sections import Section

FOLDER = "slurm"  # under RUN_DIR/jobs: submitit's job folders and in_flight.json
IN_FLIGHT = "in_flight.json"
_PORTS = re.compile(r"^(\d+)-(\d+)$")


class PilotSettings(Section):
    """The `slurm.pilot:` section: workers that stay for the whole run (`slurm.mode: pilot`)."""

    workers: int = Field(2, gt=0, description="worker jobs per pool (kinds that share cpus, mem_gb and gpus)")
    walltime_min: int = Field(240, gt=0, description="time limit of each worker job")
    margin_s: float = Field(60.0, ge=0, description="a worker takes no task it cannot finish this long before "
                                                     "its time limit: it hands the task back and retires")
    replace_early_s: float = Field(0.0, ge=0, description="start a worker's replacement this long before it "
                                                          "retires (0: when it has left)")
    interface: str | None = Field(None, description="network interface the master and workers talk over "
                                                    "(e.g. ib0); default: the one of the hostname")
    ports: str | None = Field(None, description="'START-END': the ports the master and workers listen on, for "
                                                "clusters behind firewalls; default: any free port")
    start_failures: int = Field(3, gt=0, description="worker jobs that may fail to start before the run stops")
    death_timeout_s: int = Field(60, gt=0, description="a worker that cannot reach the master this long exits")

    @field_validator("ports")
    @classmethod
    def _port_range(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = _PORTS.match(value)
        if not match or not 1024 <= int(match[1]) <= int(match[2]) <= 65535:
            raise ValueError(f"a port range 'START-END' within 1024-65535, not {value!r}")
        return value

    def port_range(self) -> tuple[int, int] | None:
        """(first, last) of `ports`, or None."""
        match = _PORTS.match(self.ports) if self.ports else None
        return (int(match[1]), int(match[2])) if match else None


class SlurmSettings(Section):
    """The `slurm:` section."""

    mode: Literal["array", "pilot"] = Field("array", description="array: one job array per round; pilot: worker "
                                                                  "jobs that stay for the run (needs the pilot extra)")
    pilot: PilotSettings = Field(default_factory=PilotSettings)
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_min: int = Field(60, gt=0)
    cpus_per_task: int = Field(2, gt=0)
    mem_gb: float = Field(4.0, gt=0)
    array_parallelism: int | None = Field(None, gt=0)
    chunk_size: int = Field(8, gt=0, description="tasks per array task")
    max_retries: int = Field(2, ge=0, description="resubmissions of a task whose job ended without its result")
    max_num_timeout: int = Field(3, ge=0, description="requeues of a chunk that hit its time limit")
    signal_delay_s: int = Field(90, ge=0, description="seconds before the time limit that a job is warned")
    extra_sbatch: dict[str, str | int | bool] = Field(default_factory=dict, description="more sbatch options")
    python: str | None = Field(None, description="python command on the nodes, e.g. 'apptainer exec gridprune.sif python'")
    master_partition: str | None = Field(None, description="partition of the master job (default: partition)")
    master_time_min: int = Field(2880, gt=0, description="time limit of the master job")
    master_mem_gb: float = Field(4.0, gt=0)
    poll_interval_s: float = Field(1.0, gt=0, description="how often the run directory is checked for results")
    sacct_interval_s: float = Field(10.0, gt=0, description="how often Slurm is asked for job states (one sacct)")
    vanish_s: float = Field(180.0, gt=0, description="a job sacct does not know after this long is taken as lost")
