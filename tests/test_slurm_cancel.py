"""`gridprune cancel` and `gridprune status` of a submitted run, against the real test cluster (see conftest.py)."""

import json
import subprocess
import sys
import time
from pathlib import Path

from gridprune.backends.slurm.queue import user_jobs

ROOT = Path(__file__).resolve().parent.parent
SMALL_DEMO = ["--set", "data=wav_files_example/example.hrl", "--set", "heldout=wav_files_example/heldout.hrl",
              "--set", "ga.population=6", "--set", "ga.generations=3", "--set", "slurm.cpus_per_task=1",
              "--set", "slurm.chunk_size=1", "--set", "slurm.mem_gb=1", "--set", "slurm.master_mem_gb=1",
              "--set", "slurm.poll_interval_s=0.2", "--set", "slurm.sacct_interval_s=2", "--set", "slurm.time_min=10"]


def gridprune(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    if check and proc.returncode:
        raise AssertionError(f"gridprune {args} failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
    return proc


def wait_for(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def jobs_under(folder: Path) -> list:
    root = str(folder.resolve())
    return [job for job in user_jobs() if job.stdout.startswith(root + "/")]


def test_cancel_stops_the_master_and_every_job_of_the_run_and_no_other(slurm_cluster, tmp_path):
    # Another job of the same user, even named like ours: cancel must leave it alone. It also holds
    # one of the node's two CPUs, so that the run's evaluation jobs stay queued while it is cancelled.
    decoy = subprocess.run(["sbatch", "--parsable", "--job-name=gridprune-ffn_eval", "--cpus-per-task=1", "--mem=100M",
                            f"--output={tmp_path}/decoy-%j.log", "--wrap", "sleep 600"],
                           capture_output=True, text=True, check=True).stdout.strip()
    run_dir = tmp_path / "run"
    try:
        out = gridprune("submit", "configs/demo.yaml", "--run-dir", run_dir, "--backend", "slurm", *SMALL_DEMO).stdout
        master = out.split("submitted master job ")[1].split()[0]
        assert f"gridprune cancel {run_dir}" in out
        assert json.loads((run_dir / "jobs" / "master_jobs.json").read_text())["jobs"][0]["job_id"] == master
        evaluations = wait_for(lambda: [j for j in jobs_under(run_dir) if j.name == "gridprune-ffn_eval"], 300,
                               "the run's first job array")
        assert "master: running" in gridprune("status", run_dir).stdout

        proc = gridprune("cancel", run_dir)
        assert f"cancelled master job {master}" in proc.stdout
        assert f"({evaluations[0].array_id})" in proc.stdout
        assert "stopped after generation 0 of 3; continue with `gridprune resume" in proc.stdout
        wait_for(lambda: not jobs_under(run_dir), 60, "every job of the run to leave the queue")
        assert decoy in {job.id for job in user_jobs()}
        table = gridprune("status", run_dir).stdout
        assert f"stopped after generation 0 of 3; continue with `gridprune resume {run_dir}`" in table
        assert "left" not in table
        assert json.loads((run_dir / "jobs" / "slurm" / "in_flight.json").read_text()) == {"jobs": []}
        assert "nothing of" in gridprune("cancel", run_dir).stdout
    finally:
        subprocess.run(["scancel", decoy], check=False)
        for job in jobs_under(run_dir) if run_dir.exists() else []:
            subprocess.run(["scancel", job.array_id], check=False)
