"""A compare directory: compare.json (its entries and how they are measured), the entries' run directories under
`entries/` (ordinary runs: `gridprune status`, `export` and `resume` work on each), and once every entry is done,
report.json, table.md and plots/. One compare master at a time holds its lock."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from gridprune.store import StoreError, atomic_write_json, lock
from gridprune.store.files import read_json_object
from gridprune.store.rundir import check_can_create

RECORD = "compare.json"
ENTRY_KEYS = {"label", "method", "run", "config"}


def path_under(path: Path, root: Path) -> str:
    """`path` relative to `root` where it lies inside it (as report.json names its folders), else absolute."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def is_compare_dir(path: str | Path) -> bool:
    """Whether `path` is a compare directory (holds compare.json)."""
    return (Path(path) / RECORD).is_file()


class CompareDir:
    """A compare directory (module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.record_path = self.root / RECORD
        self.report_path = self.root / "report.json"
        self.table_path = self.root / "table.md"
        self.plots_dir = self.root / "plots"
        self._record: dict[str, Any] | None = None

    @classmethod
    def create(cls, root: str | Path, record: dict[str, Any]) -> CompareDir:
        """A new compare directory holding `record`; StoreError (nothing written) if it holds a compare already."""
        compare = cls(root)
        check_can_create(compare.root, "compare directory", "--run-dir")
        if compare.record_path.exists():
            raise StoreError(f"{compare.root} already holds a compare; continue it with `gridprune compare --resume "
                             f"{compare.root}`, or choose another --run-dir")
        if compare.root.is_dir() and any(compare.root.iterdir()):
            raise StoreError(f"{compare.root} is not empty and holds no compare; choose another --run-dir")
        try:
            compare.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the compare directory {compare.root}: {err.strerror or err}") from None
        atomic_write_json(compare.record_path, record)
        return compare

    @classmethod
    def open(cls, root: str | Path) -> CompareDir:
        """An existing compare directory; StoreError naming the path if it is none."""
        compare = cls(root)
        if not compare.record_path.is_file():
            raise StoreError(f"{compare.root}: not a compare directory ({RECORD} is missing)")
        compare.record  # read now: a damaged record is reported before anything runs
        return compare

    @property
    def record(self) -> dict[str, Any]:
        """compare.json: its entries, how they are measured, the config file it was made from."""
        if self._record is None:
            record = read_json_object(self.record_path)
            entries = record.get("entries") if isinstance(record, dict) else None
            if not isinstance(record.get("measure") if record else None, dict) or not isinstance(entries, list) \
                    or not entries or not all(isinstance(e, dict) and ENTRY_KEYS <= set(e) for e in entries):
                raise StoreError(f"{self.record_path}: not a compare record this gridprune reads")
            self._record = record
        return self._record

    def replace_record(self, record: dict[str, Any]) -> None:
        """Rewrite compare.json (a resume that changes where tasks run)."""
        atomic_write_json(self.record_path, record)
        self._record = None

    @property
    def entries(self) -> list[dict[str, Any]]:
        """{label, method, run, config}: `run` relative to the compare directory (its own entries) or absolute
        (finished runs it compares); `config` the raw run config of its own entries, None for the others."""
        return self.record["entries"]

    def entry_dir(self, entry: dict[str, Any]) -> Path:
        """The entry's run directory."""
        return self.root / entry["run"]

    def master_lock(self) -> AbstractContextManager[None]:
        """Held while the compare runs its entries and measures them."""
        return lock.master_lock(self.root)

    def master_alive(self) -> bool:
        """Whether a live process runs the compare (holds its lock)."""
        return lock.lock_is_held(self.root)

    def master_info(self) -> dict | None:
        """Host and pid of the process that runs (or last ran) the compare."""
        return lock.read_master_info(self.root)
