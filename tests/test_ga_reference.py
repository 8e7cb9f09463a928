"""`ga_blocks` on the engine against a run recorded before the engine: same generations, fitnesses and best."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gridprune.store import RunDir

REPO = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((Path(__file__).parent / "data" / "ga_blocks_reference.json").read_text())
REFERENCE_CONFIG = Path(__file__).parent / "data" / "ga_blocks_reference.yaml"  # the demo config it was made with


@pytest.fixture(scope="module")
def rerun(tmp_path_factory) -> RunDir:
    """The reference's command (its `made_by`, on the demo config of that time), run again through `gridprune run`."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    sets = [item for override in REFERENCE["overrides"] for item in ("--set", override)]
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", "run", str(REFERENCE_CONFIG), "--run-dir", str(run_dir),
                           *sets, "--workers", "2"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return RunDir.open(run_dir)


def test_the_reference_was_made_by_the_command_rerun_here():
    assert REFERENCE["made_by"].startswith("gridprune run configs/demo.yaml")
    assert all(f"--set {override}" in REFERENCE["made_by"] for override in REFERENCE["overrides"])


def test_every_generation_has_the_same_population_in_slot_order_and_the_same_fitnesses(rerun):
    assert len(REFERENCE["generations"]) == 4
    for expected in REFERENCE["generations"]:
        record = rerun.read_generation(expected["generation"])
        assert record["population"] == expected["population"], f"generation {expected['generation']}"
        values = [rerun.read_result(key)["value"] for key in record["keys"]]
        assert values == expected["fitnesses"], f"generation {expected['generation']}"


def test_the_best_is_the_same_chromosome_with_the_same_fitness(rerun):
    saved = rerun.read_checkpoint()
    assert saved["round"] == 4 and saved["finished"]
    assert saved["strategy"]["search"]["best"] == REFERENCE["best"]
    assert saved["best"]["value"] == REFERENCE["best"]["fitness"]
    blocks = {str(layer): sorted(genes) for layer, genes in enumerate(REFERENCE["best"]["chromosome"])}
    assert saved["best"]["trial"]["params"]["blocks"] == blocks
    assert json.loads((Path(rerun.root) / "best" / "report.json").read_text())["chromosome"] == blocks
