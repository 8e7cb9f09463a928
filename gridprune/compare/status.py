"""`gridprune status COMPARE_DIR`: the compare's state and each entry's (not started, running, stopped after some
rounds, finished and exported), from the entries' own run directories."""

from __future__ import annotations

from typing import Any

from gridprune.compare.directory import CompareDir
from gridprune.engine import figure
from gridprune.store import RunDir


def compare_status(compare: CompareDir) -> dict[str, Any]:
    """A JSON-ready summary: the compare's state and one line's worth of each entry's run status."""
    from gridprune.runs import is_exported, status_of

    entries = []
    for entry in compare.entries:
        root = compare.entry_dir(entry)
        row = {"label": entry["label"], "method": entry["method"], "run_dir": str(root), "state": "not started",
               "rounds_completed": 0, "planned_rounds": None, "round_name": "round", "best_value": None,
               "exported": False}
        if (root / "run.json").exists():
            run = RunDir.open(root)
            status = status_of(run)
            row.update({key: status[key] for key in ("state", "rounds_completed", "planned_rounds", "round_name",
                                                     "best_value")})
            row["exported"] = status["finished"] and is_exported(run)
        entries.append(row)
    measured = compare.report_path.is_file()
    alive = compare.master_alive()
    started = any(row["state"] != "not started" for row in entries)
    state = ("running" if alive else "finished" if measured else "stopped" if started else "not started")
    return {"compare_dir": str(compare.root), "state": state, "master": compare.master_info() if alive else None,
            "entries": entries, "measured": measured,
            "report": str(compare.report_path) if measured else None,
            "table": str(compare.table_path) if measured else None}


def format_compare_status(status: dict[str, Any]) -> str:
    """The human-readable form of `compare_status`."""
    lines = [f"compare {status['compare_dir']}: {status['state']}"]
    if status["master"]:
        lines[0] += f" (pid {status['master'].get('pid')} on {status['master'].get('host')})"
    width = max(len(row["label"]) for row in status["entries"])
    for number, row in enumerate(status["entries"], 1):
        planned = row["planned_rounds"] if row["planned_rounds"] is not None else "?"
        progress = f"{row['rounds_completed']}/{planned} {row['round_name']}s" if row["state"] != "not started" else ""
        done = "exported" if row["exported"] else row["state"]
        lines.append(f"  {number:2d}. {row['label']:<{width}}  {row['method']:<9}  {done:<11}  {progress:<18}  "
                     f"best {figure(row['best_value'])}".rstrip())
    if status["measured"]:
        lines.append(f"measured: {status['table']} (report: {status['report']})")
    elif status["state"] != "running":
        lines.append(f"continue with: gridprune compare --resume {status['compare_dir']}")
    return "\n".join(lines)
