"""The test cluster: a real single-node Slurm started by slurm/testcluster.sh for the Slurm tests."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = ROOT / "slurm" / "testcluster.sh"


def _why_no_cluster() -> str | None:
    if os.geteuid() != 0:
        return "starting the test cluster needs root"
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        return "neither apt-get nor Slurm is installed"
    return None


@pytest.fixture(scope="session")
def slurm_cluster():
    """Start the test cluster (installing it from Debian's packages if needed); skip, or fail in CI, if it can't."""
    in_ci = os.environ.get("CI") == "true"
    reason = _why_no_cluster()
    if reason is None:
        proc = subprocess.run(["bash", str(CLUSTER_SCRIPT), "start"], capture_output=True, text=True, timeout=900)
        if proc.returncode:
            reason = f"slurm/testcluster.sh start failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    if reason is not None:
        if in_ci:
            pytest.fail(f"the Slurm test cluster is required in CI: {reason}")
        pytest.skip(f"Slurm tests skipped: {reason}")
    yield CLUSTER_SCRIPT


@pytest.fixture(scope="session")
def local_reference(tmp_path_factory):
    """The small demo search on the local backend, which both Slurm modes' runs are compared with."""
    from test_slurm import SMALL_DEMO, gridprune

    run_dir = tmp_path_factory.mktemp("local") / "run"
    gridprune("run", "configs/demo.yaml", "--run-dir", run_dir, "--backend", "local", *SMALL_DEMO)
    return run_dir
