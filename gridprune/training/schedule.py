"""Learning-rate schedules of the training kind, as a factor of the peak lr at each update.

`constant`: the peak throughout. `tri_stage`: the schedule of wav2vec2 fine-tuning in fairseq,
which PARP's original runs: a linear warm-up from 1% of the peak over the first 10% of the
updates, the peak for the next 40%, then an exponential decay to 5% of the peak at the last.
The factor follows from (update, updates) alone, so a resumed run sets the same lr as an
uninterrupted one without any saved scheduler state.
"""

from __future__ import annotations

from typing import Literal, get_args

Schedule = Literal["constant", "tri_stage"]
SCHEDULES: tuple[str, ...] = get_args(Schedule)
TRI_STAGE_WARMUP, TRI_STAGE_HOLD = 0.1, 0.4  # fractions of the updates; the decay takes the rest
TRI_STAGE_INIT_SCALE = 0.01
TRI_STAGE_FINAL_SCALE = 0.05


def lr_factor(schedule: str, update: int, updates: int) -> float:
    """The factor of the peak lr for update `update` (0-based) of `updates`."""
    if schedule == "constant":
        return 1.0
    if schedule != "tri_stage":
        raise ValueError(f"unknown lr schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
    warm, hold = round(TRI_STAGE_WARMUP * updates), round(TRI_STAGE_HOLD * updates)
    if update < warm:
        return TRI_STAGE_INIT_SCALE + (1 - TRI_STAGE_INIT_SCALE) * update / warm
    if update < warm + hold:
        return 1.0
    decayed = (update - warm - hold) / max(1, updates - warm - hold - 1)  # 0 at the first decay update, 1 at the last
    return TRI_STAGE_FINAL_SCALE ** min(1.0, decayed)
