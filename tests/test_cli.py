"""`gridprune eval` end to end, and the shipped demo model against its model card."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from factories import make_checkpoint, write_dataset
from gridprune.models import DEMO_MODEL

EXAMPLE = Path(__file__).resolve().parent.parent / "wav_files_example"


def gridprune(*args):
    return subprocess.run([sys.executable, "-m", "gridprune.cli", *map(str, args)], capture_output=True, text=True)


def test_eval_prints_a_table_and_json(tmp_path):
    model = make_checkpoint(tmp_path / "model", stable_layer_norm=False)
    data = write_dataset(tmp_path / "data", ["FIRST ONE", "SECOND"])
    table = gridprune("eval", "--model", model, "--data", data)
    assert table.returncode == 0, table.stderr
    assert "file0.wav" in table.stdout and "file1.wav" in table.stdout
    assert "corpus WER" in table.stdout and "3 words" in table.stdout
    report = json.loads(gridprune("eval", "--model", model, "--data", data, "--json").stdout)
    assert report["n_utterances"] == 2 and report["n_words"] == 3
    assert report["wer"] == pytest.approx(sum(u["errors"] for u in report["utterances"]) / 3)
    assert report["seconds"] > 0


def test_eval_errors_name_the_file_and_exit_2(tmp_path):
    model = make_checkpoint(tmp_path / "model", stable_layer_norm=False)
    bad = tmp_path / "bad.hrl"
    bad.write_text("h\nc\nhead#test\nref#x.wav\n")
    proc = gridprune("eval", "--model", model, "--data", bad)
    assert proc.returncode == 2
    assert "bad.hrl:4" in proc.stderr and "Traceback" not in proc.stderr
    good = write_dataset(tmp_path / "data", ["ONE"])
    proc = gridprune("eval", "--model", tmp_path / "nowhere", "--data", good)
    assert proc.returncode == 2 and "nowhere: no such checkpoint folder" in proc.stderr


def test_the_demo_model_gives_the_wers_of_its_model_card():
    card = json.loads((DEMO_MODEL / "card.json").read_text())
    readme = (DEMO_MODEL / "README.md").read_text()
    for name, key in (("example.hrl", "example_wer"), ("heldout.hrl", "heldout_wer"), ("dev.hrl", "dev_wer")):
        report = json.loads(gridprune("eval", "--model", "demo", "--data", EXAMPLE / name, "--json").stdout)
        assert report["wer"] == pytest.approx(card[key], abs=1e-12)
        assert f"{card[key]:.4f}" in readme
    assert card["example_wer"] <= 0.05 and card["heldout_wer"] <= 0.35
