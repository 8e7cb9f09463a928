"""The `comflp:` config section and the checks of it against the model's `config.json` (no torch)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gridprune.sections import ConfigValueError, Section
from gridprune.search.layer_sets import (DEFAULT_EXHAUSTIVE_LIMIT, EXHAUSTIVE_SECONDS_PER_SET,
                                         exhaustive_seconds, how_long, layer_set_count)

SECTION = "comflp"
EXHAUSTIVE_MAX_SECONDS = 3600  # refused above, whatever the limit: beam and greedy take milliseconds


class ComflpSettings(Section):
    """What CoMFLP removes and how it chooses.

    `bias_corrected` defaults to true: a search set holds tens of utterances in hundreds of
    dimensions, where the original's V-statistic scores even unrelated layers near 1 and the
    ranking of layer runs is mostly noise; the U-statistic stays near 0 for unrelated states.
    `bias_corrected: false` is the original's estimator.
    """

    drop: int = Field(..., ge=1, description="encoder layers to remove")
    measure: Literal["dc", "svcca"] = Field("dc", description="layer correlation: distance correlation or SVCCA")
    search: Literal["beam", "greedy", "exhaustive", "glp"] = Field(
        "beam", description="coarse search over the matrix (beam, greedy, exhaustive), or glp: greedy removal by WER")
    beam: int = Field(10, ge=1, description="beam width of search: beam")
    candidates: int = Field(10, ge=1, description="top sets of the coarse search scored by WER")
    exhaustive_limit: int = Field(DEFAULT_EXHAUSTIVE_LIMIT, ge=1, description="most sets search: exhaustive may rank")
    bias_corrected: bool = Field(True, description="DC: the U-centred (bias-corrected) estimator")
    batch_size: int = Field(32, ge=4, description="DC: utterances per batch (the whole set if it has fewer)")
    batches: int = Field(10, ge=1, description="DC: batches averaged")
    threshold: float = Field(0.99, gt=0, le=1, description="SVCCA: share of the singular-value sum kept")
    cache_gb: float = Field(
        2.0, gt=0, description="hidden states an evaluation worker keeps; beyond it fewer layers are cached evenly "
                               "spaced, and a set is decoded from the nearest one before its first dropped layer")
    after_final_norm: bool = Field(
        False, description="take the last boundary after the final layer norm (stable-layer-norm models)")


def check_settings(settings: ComflpSettings, layers: int) -> None:
    """ConfigValueError naming the key unless `settings` fit a model of `layers` encoder layers."""
    key = SECTION
    if settings.drop >= layers:
        raise ConfigValueError(f"{key}.drop", f"{settings.drop} must be below the model's {layers} encoder layers "
                                              "(at least one layer is kept)")
    if settings.search == "exhaustive":
        check_exhaustive(settings, layers)


def check_exhaustive(settings: ComflpSettings, layers: int) -> None:
    """ConfigValueError if the exhaustive search ranks more sets than the limit, or would take over an hour."""
    count = layer_set_count(layers, settings.drop)
    seconds = exhaustive_seconds(count)
    sets = f"exhaustive over {count:,} sets of {settings.drop} of {layers} layers"
    estimate = f"would take {how_long(seconds)} ({EXHAUSTIVE_SECONDS_PER_SET * 1e6:.1f} µs a set)"
    too_long = seconds > EXHAUSTIVE_MAX_SECONDS
    if count > settings.exhaustive_limit:
        advice = "use beam or greedy" if too_long else "use beam or greedy, or raise the limit"
        raise ConfigValueError(f"{SECTION}.search", f"{sets} exceeds {SECTION}.exhaustive_limit "
                                                    f"({settings.exhaustive_limit:,}) and {estimate}; {advice}")
    if too_long:
        raise ConfigValueError(f"{SECTION}.exhaustive_limit", f"{settings.exhaustive_limit:,} lets the search rank "
                                                              f"every set, but {sets} {estimate}, over the hour "
                                                              "gridprune allows; use beam or greedy")


def analysis_params(settings: ComflpSettings, seed: int) -> dict:
    """The parameters of the analysis trial: everything that changes the matrix (and so names it)."""
    params: dict = {"measure": settings.measure, "after_final_norm": settings.after_final_norm}
    if settings.measure == "dc":
        params.update(bias_corrected=settings.bias_corrected, batch_size=settings.batch_size,
                      batches=settings.batches, seed=seed)
    else:
        params.update(threshold=settings.threshold)
    return params
