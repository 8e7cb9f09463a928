"""`gridprune cancel COMPARE_DIR`: stop the running entry (its master, which is the compare's process, and what its
backend runs for it), or the compare's measuring. Everything done stays: `gridprune compare --resume` continues."""

from __future__ import annotations

from gridprune.cancel import cancel_run, stop_local_master
from gridprune.compare.directory import CompareDir
from gridprune.store import RunDir


def cancel_compare(compare: CompareDir, wait_s: float = 60.0) -> list[str]:
    """Stop whatever of `compare` runs; one line per thing done (none: nothing ran)."""
    done = []
    for entry in compare.entries:
        root = compare.entry_dir(entry)
        if entry["config"] is not None and (root / "run.json").exists():
            run = RunDir.open(root)
            if run.master_alive():
                done.extend(f"{entry['label']}: {line}" for line in cancel_run(run, wait_s))
    if compare.master_alive():
        done.append(stop_local_master(compare, compare.master_info() or {}, wait_s))
    return done
