"""Word error rate with jiwer, after one documented text normalisation.

Normalisation, applied to references and hypotheses alike:
upper-case; every character that is not a letter, digit or apostrophe becomes a
space (so "pre-trained," scores as "PRE TRAINED"); runs of whitespace collapse to
one space; leading and trailing spaces go.

The corpus WER is the total of word errors (substitutions + deletions +
insertions) over all utterances divided by the total number of reference words,
not the mean of per-utterance WERs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import jiwer

_NOT_WORD_CHAR = re.compile(r"[^\w']|_")


def normalize(text: str) -> str:
    """The form in which texts are compared (see the module docstring)."""
    return " ".join(_NOT_WORD_CHAR.sub(" ", text.upper()).split())


@dataclass(frozen=True)
class UtteranceScore:
    """Word errors of one utterance."""

    reference: str
    hypothesis: str
    words: int
    errors: int

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else float(self.errors > 0)


@dataclass(frozen=True)
class WerResult:
    """Corpus WER and its per-utterance parts."""

    utterances: tuple[UtteranceScore, ...]

    @property
    def words(self) -> int:
        return sum(u.words for u in self.utterances)

    @property
    def errors(self) -> int:
        return sum(u.errors for u in self.utterances)

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0


def score_utterance(reference: str, hypothesis: str) -> UtteranceScore:
    """Word errors of one hypothesis against its reference, both normalised."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        raise ValueError(f"reference {reference!r} has no words after normalisation")
    if hyp:
        out = jiwer.process_words(ref, hyp)
        errors = out.substitutions + out.deletions + out.insertions
    else:
        errors = len(ref.split())
    return UtteranceScore(reference=ref, hypothesis=hyp, words=len(ref.split()), errors=errors)


def score(references: Sequence[str], hypotheses: Sequence[str]) -> WerResult:
    """Corpus WER of paired references and hypotheses."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    return WerResult(tuple(score_utterance(r, h) for r, h in zip(references, hypotheses)))
