"""The training kind's learning-rate schedules: the original's tri-stage shape and constant."""

from __future__ import annotations

import pytest

from gridprune.training.schedule import (
    TRI_STAGE_FINAL_SCALE,
    TRI_STAGE_HOLD,
    TRI_STAGE_INIT_SCALE,
    TRI_STAGE_WARMUP,
    lr_factor,
)


@pytest.mark.parametrize("updates", [1, 2, 7, 20, 120, 1001])
def test_tri_stage_warms_up_holds_and_decays_to_its_final_scale(updates):
    factors = [lr_factor("tri_stage", u, updates) for u in range(updates)]
    assert all(TRI_STAGE_INIT_SCALE <= f <= 1 for f in factors)
    if updates < 10:
        return  # too few updates for three phases to tell apart
    warm, hold = round(TRI_STAGE_WARMUP * updates), round(TRI_STAGE_HOLD * updates)
    assert factors[0] == pytest.approx(TRI_STAGE_INIT_SCALE)
    assert all(a < b for a, b in zip(factors[:warm], factors[1:warm + 1]))  # rising through the warm-up
    assert factors[warm:warm + hold] == [1.0] * hold
    decay = factors[warm + hold:]
    assert all(a > b for a, b in zip(decay, decay[1:]))  # falling through the decay
    assert decay[-1] == pytest.approx(TRI_STAGE_FINAL_SCALE)


def test_constant_is_the_peak_and_an_unknown_schedule_is_named():
    assert {lr_factor("constant", u, 50) for u in range(50)} == {1.0}
    with pytest.raises(ValueError, match="'cosine'.*constant, tri_stage"):
        lr_factor("cosine", 0, 10)
