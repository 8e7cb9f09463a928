"""Tests of the run directory store: atomic files, results, the master lock."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from gridprune.store import (
    MasterLockedError,
    RunDir,
    StoreError,
    atomic_write_bytes,
    atomic_write_json,
    read_json,
)

REPO = Path(__file__).resolve().parents[1]
MODEL, DATA, SETTINGS = "model-sha", "data-sha", {"subset": 50, "seed": 0}


def result_key(genes: list[list[int]], model: str, data: str, settings: dict) -> str:
    """A key as the engine makes them: sha256 hex of canonical JSON (the store only checks its form)."""
    canonical = json.dumps({"genes": genes, "model": model, "data": data, "settings": settings}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


KEY = result_key([[1, 3, 5], [0, 2]], MODEL, DATA, SETTINGS)


def ok_record(key: str = KEY, value: float | None = 0.25, **extra: object) -> dict:
    return {"key": key, "status": "ok", "value": value, **extra}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    return RunDir.create(tmp_path / "run", {"seed": 7, "model_fingerprint": MODEL})


# ---------------------------------------------------------------- atomic files


def test_atomic_write_bytes_writes_and_replaces_leaving_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.parametrize("existing", [None, b"old content"])
def test_failed_atomic_write_leaves_no_partial_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bytes | None
) -> None:
    target = tmp_path / "f.json"
    if existing is not None:
        target.write_bytes(existing)

    def crash(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write_json(target, {"new": True})
    assert os.listdir(tmp_path) == ([] if existing is None else ["f.json"])
    if existing is not None:
        assert target.read_bytes() == existing


def test_atomic_write_json_is_sorted_strict_json(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write_json(target, {"b": np.int64(2), "a": np.array([0.5, 1.5]), "c": np.float32(0.25)})
    assert read_json(target) == {"a": [0.5, 1.5], "b": 2, "c": 0.25}
    assert target.read_text().index('"a"') < target.read_text().index('"b"')
    for bad in (math.nan, math.inf, np.float64("nan")):
        with pytest.raises(ValueError):
            atomic_write_json(tmp_path / "bad.json", {"fitness": bad})
    with pytest.raises(TypeError):
        atomic_write_json(tmp_path / "bad.json", {"obj": object()})  # never falls back to pickle
    assert sorted(os.listdir(tmp_path)) == ["f.json"]


@pytest.mark.parametrize("content", [b'{"a": ', b"NaN", b"\xff\xfe"])
def test_read_json_names_the_bad_file(tmp_path: Path, content: bytes) -> None:
    target = tmp_path / "bad.json"
    target.write_bytes(content)
    with pytest.raises(StoreError, match="bad.json"):
        read_json(target)


def test_a_reader_never_sees_half_a_file(tmp_path: Path) -> None:
    target = tmp_path / "big.json"
    versions = [{"version": v, "payload": [v] * 20_000} for v in range(2)]
    atomic_write_json(target, versions[0])
    done = threading.Event()
    seen: list[int] = []
    errors: list[Exception] = []

    def read_repeatedly() -> None:
        while not done.is_set():
            try:
                seen.append(read_json(target)["version"])
            except (StoreError, FileNotFoundError) as err:  # a torn or missing file
                errors.append(err)

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        for i in range(60):
            atomic_write_json(target, versions[i % 2])
    finally:
        done.set()
        reader.join()
    assert errors == []
    assert seen and set(seen) <= {0, 1}
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- results


def test_result_round_trip(run: RunDir) -> None:
    assert run.read_result(KEY) is None and not run.has_result(KEY)
    record = ok_record(chromosome=[[1, 3, 5], [0, 2]], host="node1", seconds=1.5)
    assert run.write_result(KEY, record) is True
    assert run.read_result(KEY) == record and run.has_result(KEY)
    assert run.result_path(KEY) == run.root / "results" / KEY[:2] / f"{KEY}.json"
    failed = {"key": "0" * 64, "status": "failed", "value": None, "error": "Traceback ..."}
    assert run.write_result("0" * 64, failed) is True
    assert run.read_result("0" * 64) == failed
    assert leftovers(run.root) == []


def test_first_write_wins(run: RunDir) -> None:
    assert run.write_result(KEY, ok_record(value=0.25)) is True
    before = run.result_path(KEY).read_bytes()
    assert run.write_result(KEY, ok_record(value=0.75)) is False
    assert run.write_result(KEY, ok_record(value=0.25)) is False
    assert run.result_path(KEY).read_bytes() == before
    assert leftovers(run.root) == []


@pytest.mark.parametrize(
    "record",
    [
        {"key": KEY, "status": "done", "value": 0.1},
        {"key": KEY, "status": "ok", "value": "0.1"},
        {"key": KEY, "status": "ok", "value": True},
        {"key": KEY, "status": "failed", "value": 0.1},
        {"key": KEY, "status": "ok"},
        {"key": "f" * 64, "status": "ok", "value": 0.1},
    ],
)
def test_write_result_rejects_invalid_records(run: RunDir, record: dict) -> None:
    with pytest.raises(ValueError, match="not a valid result record"):
        run.write_result(KEY, record)
    assert not run.result_path(KEY).exists()


@pytest.mark.parametrize("key", ["../../run", "AB" * 32, "ab", "g" * 64])
def test_bad_keys_never_become_paths(run: RunDir, key: str) -> None:
    with pytest.raises(ValueError, match="not a result key"):
        run.result_path(key)


def test_crash_while_writing_a_result_leaves_nothing(run: RunDir, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(fd: int) -> None:
        raise OSError("node preempted")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="preempted"):
        run.write_result(KEY, ok_record())
    monkeypatch.undo()
    assert list(run.result_path(KEY).parent.iterdir()) == []
    assert run.write_result(KEY, ok_record()) is True


CORRUPT_CONTENTS = {
    "truncated": b'{"key": "' + KEY.encode() + b'", "status": "ok", "fit',
    "empty": b"",
    "wrong key": json.dumps(ok_record(key="e" * 64)).encode(),
    "not an object": json.dumps([KEY, "ok", 0.25]).encode(),
    "missing value": json.dumps({"key": KEY, "status": "ok"}).encode(),
    "NaN value": b'{"key": "' + KEY.encode() + b'", "status": "ok", "value": NaN}',
}


@pytest.mark.parametrize("content", CORRUPT_CONTENTS.values(), ids=CORRUPT_CONTENTS.keys())
def test_corrupt_result_is_moved_aside_and_recomputed(
    run: RunDir, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = run.result_path(KEY)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="gridprune.store"):
        assert run.read_result(KEY) is None
    assert str(path) in caplog.text
    assert not path.exists()
    (moved,) = (run.root / "results" / "corrupt").iterdir()
    assert moved.name.startswith(f"{KEY}.json.") and moved.read_bytes() == content
    assert run.write_result(KEY, ok_record()) is True
    assert run.read_result(KEY) == ok_record()


def test_write_result_replaces_a_corrupt_file(run: RunDir) -> None:
    path = run.result_path(KEY)
    path.parent.mkdir(parents=True)
    path.write_bytes(CORRUPT_CONTENTS["truncated"])
    assert run.write_result(KEY, ok_record()) is True
    assert run.read_result(KEY) == ok_record()
    assert len(list((run.root / "results" / "corrupt").iterdir())) == 1


def _write_contended_keys(root: str, keys: list[str], writer: int, barrier, results) -> None:
    store = RunDir(root)
    for key in keys:
        barrier.wait()
        won = store.write_result(key, ok_record(key, value=writer / 10, writer=writer))
        results.put((key, writer, won))


def test_concurrent_writers_of_one_key_exactly_one_wins(run: RunDir) -> None:
    writers, keys = 6, [result_key([[k]], MODEL, DATA, SETTINGS) for k in range(4)]
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(writers), context.Queue()
    processes = [
        context.Process(target=_write_contended_keys, args=(str(run.root), keys, w, barrier, results))
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=30) for _ in range(writers * len(keys))]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    for key in keys:
        winners = [writer for k, writer, won in outcomes if k == key and won]
        assert len(winners) == 1
        assert run.read_result(key) == ok_record(key, value=winners[0] / 10, writer=winners[0])
    assert leftovers(run.root) == []


# ---------------------------------------------------------------- generations, checkpoint, history


def test_generations_checkpoint_history_round_trip(run: RunDir) -> None:
    assert run.read_generation(7) is None and run.read_checkpoint() is None and run.read_history() == []
    generation = {"index": 7, "population": [[[1, 3], [0, 2]]], "keys": [KEY]}
    run.write_generation(7, generation)
    run.write_generation(12345, {"index": 12345})
    assert (run.root / "generations" / "0007.json").is_file()
    assert (run.root / "generations" / "12345.json").is_file()
    assert run.read_generation(7) == generation
    state = {"generation": 7, "fitnesses": [0.5, None], "rng": {"state": 2**127 + 1}, "best": {"key": KEY}}
    run.write_checkpoint(state)
    run.write_checkpoint(state | {"generation": 8})
    assert run.read_checkpoint() == state | {"generation": 8}
    with pytest.raises(ValueError):
        run.write_generation(-1, {})
    assert leftovers(run.root) == []


def test_history_rewrite_leaves_exactly_the_rows_given(run: RunDir) -> None:
    rows = [{"generation": g, "best": 0.5 - g / 100, "mean": 0.6} for g in range(5)]
    run.write_history(rows)
    assert run.read_history() == rows
    assert len(run.history_path.read_text().splitlines()) == 5
    run.write_history(rows[:3])
    assert run.read_history() == rows[:3]
    assert run.history_path.read_text().count("\n") == 3
    run.write_history([])
    assert run.read_history() == []


def test_bad_history_line_is_an_error_naming_file_and_line(run: RunDir) -> None:
    run.history_path.write_text('{"generation": 0}\n{"generation": 1, "be\n')
    with pytest.raises(StoreError, match=r"history\.jsonl line 2"):
        run.read_history()


def test_corrupt_checkpoint_is_an_error_naming_the_file(run: RunDir) -> None:
    run.checkpoint_path.write_text('{"generation": ')
    with pytest.raises(StoreError, match="checkpoint.json"):
        run.read_checkpoint()
    run.checkpoint_path.write_text("[1, 2]")
    with pytest.raises(StoreError, match="checkpoint.json.*not a JSON object"):
        run.read_checkpoint()


# ---------------------------------------------------------------- create, open, move


def test_create_makes_the_layout(run: RunDir) -> None:
    for name in ("results", "generations", "jobs"):
        assert (run.root / name).is_dir()
    assert not run.best_dir.exists()  # made by the first export
    assert run.jobs_dir == run.root / "jobs" and run.best_dir == run.root / "best"
    assert read_json(run.root / "run.json") == {"seed": 7, "model_fingerprint": MODEL}


def test_create_refuses_an_existing_run_unless_identical(run: RunDir) -> None:
    again = RunDir.create(run.root, {"model_fingerprint": MODEL, "seed": 7})
    assert again.run_info == run.run_info
    with pytest.raises(StoreError, match=r"already holds a run; use `gridprune resume .*run`"):
        RunDir.create(run.root, {"seed": 8, "model_fingerprint": MODEL})
    assert read_json(run.root / "run.json")["seed"] == 7


def test_open_reads_run_info_and_names_a_missing_or_bad_run(tmp_path: Path, run: RunDir) -> None:
    assert RunDir.open(run.root).run_info == {"seed": 7, "model_fingerprint": MODEL}
    missing = tmp_path / "nowhere"
    with pytest.raises(StoreError, match=str(missing)):
        RunDir.open(missing)
    (run.root / "run.json").write_text("{not json")
    with pytest.raises(StoreError, match="run.json"):
        RunDir.open(run.root)


def test_a_run_dir_can_be_moved_and_holds_only_json(tmp_path: Path, run: RunDir) -> None:
    run.write_result(KEY, ok_record())
    run.write_generation(0, {"keys": [KEY]})
    run.write_checkpoint({"generation": 0})
    run.write_history([{"generation": 0}])
    with run.master_lock():
        pass
    moved = RunDir.open(shutil.move(str(run.root), str(tmp_path / "elsewhere" / "run")))
    assert moved.read_result(KEY) == ok_record()
    assert moved.read_generation(0) == {"keys": [KEY]}
    assert moved.read_checkpoint() == {"generation": 0}
    assert moved.read_history() == [{"generation": 0}]
    for path in moved.root.rglob("*"):
        if path.is_file() and path.name != "master.lock":
            text = path.read_text()
            assert str(tmp_path) not in text
            documents = text.splitlines() if path.suffix == ".jsonl" else [text]
            assert all(json.loads(document) is not None for document in documents)


# ---------------------------------------------------------------- master lock


CONTENDER = """
import sys
from gridprune.store import MasterLockedError, RunDir
try:
    with RunDir.open(sys.argv[1]).master_lock():
        print("acquired")
except MasterLockedError as err:
    print(err)
    sys.exit(3)
"""

HOLDER = """
import sys, time
from gridprune.store import RunDir
with RunDir.open(sys.argv[1]).master_lock():
    print("locked", flush=True)
    time.sleep(60)
"""


def _python(script: str, root: Path, **kwargs) -> subprocess.Popen:
    paths = [str(REPO), os.environ.get("PYTHONPATH")]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, paths))}
    return subprocess.Popen([sys.executable, "-c", script, str(root)], env=env, text=True, **kwargs)


def _contend(root: Path) -> subprocess.CompletedProcess:
    process = _python(CONTENDER, root, stdout=subprocess.PIPE)
    out, _ = process.communicate(timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, out)


def test_a_second_master_process_is_refused_with_who_holds_the_lock(run: RunDir) -> None:
    with run.master_lock():
        info = run.master_info()
        assert info["pid"] == os.getpid() and info["host"]
        refused = _contend(run.root)
        assert refused.returncode == 3, refused.stdout
        assert f"a master is already running on {run.root}" in refused.stdout
        assert f"pid {os.getpid()}" in refused.stdout and info["host"] in refused.stdout
        with pytest.raises(MasterLockedError):  # a second lock in the same process is refused too
            with RunDir.open(run.root).master_lock():
                pass
    assert run.master_info() is None
    assert _contend(run.root).stdout.strip() == "acquired"


def test_a_master_killed_with_sigkill_frees_the_lock(run: RunDir) -> None:
    holder = _python(HOLDER, run.root, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "locked"
        refused = _contend(run.root)
        assert refused.returncode == 3 and f"pid {holder.pid}" in refused.stdout
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()
    assert run.master_info()["pid"] == holder.pid  # stale: the killed master could not clean up
    with run.master_lock():
        assert run.master_info()["pid"] == os.getpid()


def test_the_lock_probe_tells_a_live_master_from_a_killed_one(run: RunDir) -> None:
    assert not run.master_alive()  # no lock file yet
    holder = _python(HOLDER, run.root, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert run.master_alive()
        assert _contend(run.root).returncode == 3  # probing never let a second master in
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()
    assert run.master_info()["pid"] == holder.pid and not run.master_alive()
    with run.master_lock():
        assert run.master_alive()  # a lock held in this very process counts too


def test_a_probe_during_acquisition_does_not_refuse_the_master(run: RunDir) -> None:
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            run.master_alive()

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        for _ in range(20):
            with run.master_lock():
                pass
    finally:
        stop.set()
        prober.join()


def test_a_file_or_unwritable_place_is_no_run_directory(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    with pytest.raises(StoreError, match=f"^{afile} is a file, not a run directory"):
        RunDir.create(afile, {"seed": 1})
    with pytest.raises(StoreError, match=f"^cannot create the run directory {afile / 'run'}: {afile} is a file"):
        RunDir.create(afile / "run", {"seed": 1})
    with pytest.raises(StoreError, match=f"^{afile} is a file, not a run directory"):
        RunDir.open(afile)
    assert afile.read_text() == "mine" and sorted(os.listdir(tmp_path)) == ["afile"]


# ---------------------------------------------------------------- history against the truth

def _three_generations(run: RunDir) -> list[dict]:
    """Three generations as a master writes them; generation 1 repeats one chromosome of generation 0,
    and one evaluation of generation 2 failed."""
    keys = [result_key([[g]], MODEL, DATA, SETTINGS) for g in range(6)]
    fitness = {keys[0]: 0.5, keys[1]: 0.4, keys[2]: 0.3, keys[3]: 0.35, keys[4]: 0.2}
    for key, value in fitness.items():
        run.write_result(key, ok_record(key, value, seconds=1.0))
    run.write_result(keys[5], {"key": keys[5], "status": "failed", "value": None, "error": "boom"})
    populations = [[keys[0], keys[1]], [keys[1], keys[2]], [keys[3], keys[4], keys[5]]]
    rows = []
    for generation, population in enumerate(populations):
        run.write_generation(generation, {"round": generation, "keys": population})
        rows.append({"round": generation, "seconds": 10.0 + generation, "evaluated": 99})
    run.write_checkpoint({"round": 3})
    run.write_history(rows)
    return rows


@pytest.mark.parametrize("damage, problem", [
    (lambda text: text[: text.rindex("\n", 0, -1) + 1], "ends early"),           # cut at a line break
    (lambda text: text[: text.rindex("\n", 0, -1) + 9], "line 3 is cut or corrupt"),  # cut inside the last line
    (None, "is missing"),                                                           # deleted
])
def test_a_damaged_history_is_detected_and_rebuilt_from_the_store(run: RunDir, damage, problem) -> None:
    from gridprune.store.history import history_problem, read_history_rows, rebuild_history

    written = _three_generations(run)
    if damage is None:
        run.history_path.unlink()
    else:
        run.history_path.write_text(damage(run.history_path.read_text()))
    rows, read_problem = read_history_rows(run)
    found = history_problem(run, rows, read_problem, 3)
    assert str(run.history_path) in found and problem in found and f"holds {len(rows)} of the 3" in found
    rebuilt = rebuild_history(run, 3, kept=rows, round_name="generation")
    assert [row["round"] for row in rebuilt] == [0, 1, 2] and rebuilt[2]["generation"] == 2
    assert rebuilt[: len(rows)] == written[: len(rows)]  # what the history still had is kept as it was
    last = rebuilt[2]
    assert last["rebuilt"] and last["seconds"] is None
    assert (last["best"], last["worst"], last["best_so_far"]) == (0.2, 0.35, 0.2)
    assert (last["evaluated"], last["cache_hits"], last["failed"], last["trials"]) == (3, 0, 1, 3)


def test_counts_are_the_results_stored_whichever_master_made_them(run: RunDir) -> None:
    from gridprune.store.history import round_counts

    _three_generations(run)
    counts = round_counts(run, 3)
    assert [c["evaluated"] for c in counts] == [2, 1, 3]  # the repeat in generation 1 is a cache hit
    assert [c["cache_hits"] for c in counts] == [0, 1, 0]
    assert sum(c["evaluated"] for c in counts) == len(list(run.results_dir.glob("*/*.json")))


def test_a_history_longer_than_the_checkpoint_is_fine_and_a_missing_generation_is_named(run: RunDir) -> None:
    from gridprune.store.history import round_counts, history_problem, read_history_rows

    _three_generations(run)
    rows, problem = read_history_rows(run)
    assert history_problem(run, rows, problem, 2) is None  # killed between history and checkpoint
    run.generation_path(1).unlink()
    with pytest.raises(StoreError, match=r"generations/0001.json is missing, but checkpoint.json counts 3 completed rounds"):
        round_counts(run, 3)
