"""The `slurm:` section and where the Slurm backend keeps its bookkeeping in a run directory."""

from __future__ import annotations

from pydantic import Field

from gridprune.sections import Section

FOLDER = "slurm"  # under RUN_DIR/jobs: submitit's job folders and in_flight.json
IN_FLIGHT = "in_flight.json"


class SlurmSettings(Section):
    """The `slurm:` section."""

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
