"""`gridprune eval` end to end, and the shipped demo model against its model card."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from factories import HRL_HEADER, make_checkpoint, write_dataset
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
    bad.write_text(HRL_HEADER + "ref#x.wav\n")
    proc = gridprune("eval", "--model", model, "--data", bad)
    assert proc.returncode == 2
    assert "bad.hrl:4" in proc.stderr and "Traceback" not in proc.stderr
    good = write_dataset(tmp_path / "data", ["ONE"])
    proc = gridprune("eval", "--model", tmp_path / "nowhere", "--data", good)
    assert proc.returncode == 2 and "nowhere: no such checkpoint folder" in proc.stderr


def test_eval_reads_audio_from_the_audio_folder_and_scores_both_ways(tmp_path):
    """Bare names relative to --audio-dir (the shipped wavs); punctuation and a double space in the reference."""
    data = tmp_path / "set.hrl"
    data.write_text(HRL_HEADER + "ref#file0.wav#SPK#Compressing speech  models, for embedded applications.  \n")
    missing = gridprune("eval", "--model", "demo", "--data", data)
    assert missing.returncode == 2 and f"{data}:4: audio file {tmp_path / 'file0.wav'} is missing" in missing.stderr
    normalised = json.loads(gridprune("eval", "--model", "demo", "--data", data, "--audio-dir", EXAMPLE, "--json").stdout)
    # the demo model decodes file0.wav exactly: COMPRESSING SPEECH MODELS FOR EMBEDDED APPLICATIONS
    assert normalised["utterances"][0]["hypothesis"] == "COMPRESSING SPEECH MODELS FOR EMBEDDED APPLICATIONS"
    assert (normalised["n_errors"], normalised["n_words"], normalised["normalise"]) == (0, 6, True)
    assert normalised["utterances"][0]["audio"] == "file0.wav" and normalised["audio_dir"] == str(EXAMPLE)
    original = json.loads(gridprune("eval", "--model", "demo", "--data", data, "--audio-dir", EXAMPLE, "--json",
                                    "--no-normalise").stdout)
    # 7 words (the double space makes an empty one); errors: the empty word, "models,", "applications."
    assert (original["n_errors"], original["n_words"], original["normalise"]) == (3, 7, False)
    assert original["wer"] == pytest.approx(3 / 7) == original["utterance_mean_wer"]


def test_eval_shows_progress_on_a_terminal_only(tmp_path):
    import fcntl
    import os
    import pty
    import struct
    import termios
    import threading

    data = write_dataset(tmp_path / "data", ["ONE", "TWO", "THREE"])
    model = make_checkpoint(tmp_path / "model", stable_layer_norm=False)
    piped = gridprune("eval", "--model", model, "--data", data)
    assert piped.returncode == 0 and "decoding" not in piped.stderr and "/3" not in piped.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal of 100 columns
    chunks: list[bytes] = []

    def read_terminal():
        while True:
            try:
                chunk = os.read(leader, 1 << 16)
            except OSError:  # the terminal closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", "eval", "--model", str(model), "--data", str(data)],
                          stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    reader.join(10)
    os.close(leader)
    terminal = b"".join(chunks)
    assert proc.returncode == 0 and "corpus WER" in proc.stdout
    assert b"decoding:" in terminal and b"/3 [" in terminal


def test_eval_refuses_a_negative_thread_count(tmp_path):
    data = write_dataset(tmp_path / "data", ["ONE"])
    proc = gridprune("eval", "--model", "demo", "--data", data, "--threads", "-1")
    assert proc.returncode == 2 and "--threads -1: give 1 or more" in proc.stderr and "Traceback" not in proc.stderr


def test_the_demo_model_gives_the_wers_of_its_model_card():
    card = json.loads((DEMO_MODEL / "card.json").read_text())
    readme = (DEMO_MODEL / "README.md").read_text()
    for name, key in (("example.hrl", "example_wer"), ("heldout.hrl", "heldout_wer"), ("dev.hrl", "dev_wer")):
        report = json.loads(gridprune("eval", "--model", "demo", "--data", EXAMPLE / name, "--json").stdout)
        assert report["wer"] == pytest.approx(card[key], abs=1e-12)
        assert f"{card[key]:.4f}" in readme
    assert card["example_wer"] <= 0.05 and card["heldout_wer"] <= 0.35
