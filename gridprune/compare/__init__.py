"""`gridprune compare`: every method on one model, side by side. A compare config's entries run one after another
as ordinary runs inside a compare directory; then every exported model and the unpruned one are measured together
(sizes, WER, speed taken in turns) into report.json, table.md (the Pareto-optimal rows marked) and plots."""

from gridprune.compare.directory import CompareDir, is_compare_dir
from gridprune.compare.running import compare_runs, resume_compare, start_compare

__all__ = ["CompareDir", "compare_runs", "is_compare_dir", "resume_compare", "start_compare"]
