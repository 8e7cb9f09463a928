"""Starting, resuming and describing runs: the glue between the CLI, the config, the store and a method."""

from __future__ import annotations

import logging
import platform
import re
import time
from pathlib import Path
from typing import Sequence

from pydantic import ValidationError

from gridprune import __version__
from gridprune.config import ConfigError, RunConfig, describe_validation_error, load_config
from gridprune.methods import METHODS, method_sections
from gridprune.store import RunDir

log = logging.getLogger(__name__)


def read_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """A YAML config, with overrides, whose method settings are checked too."""
    config = load_config(path, overrides, method_sections())
    check_method_settings(config, str(path))
    return config


def check_method_settings(config: RunConfig, source: str) -> None:
    method = METHODS[config.method]
    try:
        method.Settings.model_validate(config.settings)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(source, exc, prefix=method.section)) from None


def default_run_dir(config_path: str | Path) -> Path:
    """`runs/<config name>` under the working directory."""
    return Path("runs") / re.sub(r"[^\w.-]", "_", Path(config_path).stem)


def run_info(config: RunConfig) -> dict:
    """What run.json records: the whole config, versions and the fingerprints of model and data."""
    import torch
    import transformers

    from gridprune.data import read_hrl
    from gridprune.models.loading import check_checkpoint_folder, checkpoint_fingerprint, resolve_model_path

    model_path = resolve_model_path(config.model)
    check_checkpoint_folder(model_path)
    return {
        "config": config.model_dump(mode="json"),
        "method": config.method,
        "seed": config.seed,
        "created_at": time.time(),
        "versions": {"gridprune": __version__, "torch": torch.__version__,
                     "transformers": transformers.__version__, "python": platform.python_version()},
        "model_fingerprint": checkpoint_fingerprint(model_path),
        "dataset_fingerprint": read_hrl(config.data).fingerprint(),
    }


def start_run(config: RunConfig, run_dir: str | Path) -> RunDir:
    """Create the run directory for `config` and run it to the end."""
    run = RunDir.create(run_dir, run_info(config))
    log.info("run directory %s", run.root)
    continue_run(run)
    return run


def run_config(run: RunDir) -> RunConfig:
    """The config a run was started with."""
    config = RunConfig.model_validate(run.run_info["config"])
    check_method_settings(config, str(run.run_json))
    return config


def continue_run(run: RunDir) -> None:
    """Run (or resume) `run` to its last generation, as its one master."""
    config = run_config(run)
    with run.master_lock():
        METHODS[config.method].run(run, config)


def status_of(run: RunDir) -> dict:
    """`gridprune status` of a run."""
    from gridprune.status import run_status

    config = run_config(run)
    return run_status(run, METHODS[config.method].planned_generations(config))


def export_best(run: RunDir, out: str | Path | None = None) -> dict:
    """Export the best individual of `run` (default: into RUN_DIR/best) and return its report."""
    config = run_config(run)
    out = Path(out) if out is not None else run.best_dir
    report = METHODS[config.method].export(run, config, out)
    return {"out": str(out), **report}


def submit_master(config: RunConfig, run_dir: str | Path) -> tuple[str, RunDir]:
    """Create the run directory here and submit its master as a Slurm job; returns the job id."""
    import subprocess
    import sys
    from importlib.resources import files

    from gridprune.errors import GridpruneError

    run = RunDir.create(run_dir, run_info(config))
    slurm = config.slurm
    command = ["sbatch", "--parsable", f"--output={run.jobs_dir / 'master-%j.log'}",
               f"--export=ALL,GRIDPRUNE_PYTHON={sys.executable}",
               f"--time={slurm.master_time_min}", f"--mem={int(slurm.master_mem_gb * 1024)}M"]
    for option, value in (("partition", slurm.master_partition or slurm.partition),
                          ("account", slurm.account), ("qos", slurm.qos)):
        if value:
            command.append(f"--{option}={value}")
    template = files("gridprune.templates") / "master.sbatch"
    proc = subprocess.run([*command, str(template), str(run.root)], capture_output=True, text=True)
    if proc.returncode:
        raise GridpruneError(f"sbatch refused the master job of {run.root}: {proc.stderr.strip()}")
    return proc.stdout.strip().split(";")[0], run
