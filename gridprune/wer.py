"""Word error rate, after one documented text normalisation (or the original code's plain split).

Normalisation (`normalise=True`, the default), applied to references and hypotheses alike:

1. typographic apostrophes and primes (’ ‘ ‛ ʼ ʹ ʻ ′ ´ ` ꞌ ＇) become the ASCII
   apostrophe `'`;
2. Unicode NFKC: compatibility forms become their plain letters and digits
   (ligature "ﬁ" -> "fi", full-width "ＷＡＶ２" -> "WAV2", "²" -> "2", "…" -> "...");
3. upper-case with `str.upper` ("straße" -> "STRASSE"); letters of every script
   and their diacritics are kept as they are ("café" -> "CAFÉ", "हिंदी" stays one word);
4. every character that is not a letter, a combining mark, a digit or an
   apostrophe becomes a space: punctuation of any script, dashes (‐ – — −),
   quotes (" “ ” « »), symbols, underscores; invisible format characters (soft
   hyphen, zero-width joiners, BOM) are dropped, the zero-width space is a space;
5. apostrophes at the start or end of a word are dropped (so a quote mark is not
   part of a word, while "IT'S" and "DON'T" keep theirs); runs of whitespace
   collapse to one space.

Examples::

    "IT’S a pre‑trained “model” — isn't it?"  -> "IT'S A PRE TRAINED MODEL ISN'T IT"
    "  Compressing wav2vec2, for embedded…  " -> "COMPRESSING WAV2VEC2 FOR EMBEDDED"
    "'Quoted' ﬁne_tuning"                     -> "QUOTED FINE TUNING"
    "..."                                     -> "" (no words: such a reference is refused)

`normalise=False` scores as the seed paper's original code did: each text loses
its trailing whitespace (the original strips each `.hrl` line), is lower-cased
and split on single spaces, nothing else. Punctuation stays part of its word
("model," differs from "model") and a double space makes an empty word that
counts like any other; "IT’S" and "IT'S" differ.

The corpus WER (`WerResult.wer`) is the total of word errors (substitutions +
deletions + insertions, the word-level Levenshtein distance) over all
utterances divided by the total number of reference words.
`WerResult.utterance_mean` is the mean of the per-utterance WERs, the original's fitness.

`WerCeiling` scores a corpus one utterance at a time against a ceiling on its
corpus WER: errors only grow and the reference words are counted before any
decoding, so once the running errors over all reference words are above the
ceiling, the corpus WER is too, and decoding can stop ("exact early rejection").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import jiwer
from rapidfuzz.distance import Levenshtein  # jiwer's own edit-distance engine

_TRANSLATE = str.maketrans({**{c: "'" for c in "\u2019\u2018\u201b\u02bc\u02b9\u02bb\u2032\u00b4`\ua78c\uff07"},
                            "\u200b": " "})


@lru_cache(maxsize=1 << 16)  # references are normalised again at every evaluation
def normalize(text: str) -> str:
    """The form in which texts are compared (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text.translate(_TRANSLATE)).upper()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char == "'" or category[0] in "LMN":
            kept.append(char)
        elif category != "Cf":
            kept.append(" ")
    words = (word.strip("'") for word in "".join(kept).split())
    return " ".join(word for word in words if word)


def original_words(text: str) -> list[str]:
    """The words of `text` as the original code split them: trailing whitespace dropped, lower-cased, split on ' '."""
    return text.rstrip().lower().split(" ")


@dataclass(frozen=True)
class UtteranceScore:
    """Word errors of one utterance; `reference` and `hypothesis` in the form they were compared."""

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
        """Total word errors over total reference words."""
        return self.errors / self.words if self.words else 0.0

    @property
    def utterance_mean(self) -> float:
        """The mean of the per-utterance WERs (each utterance weighs the same, whatever its length)."""
        return sum(u.wer for u in self.utterances) / len(self.utterances) if self.utterances else 0.0


def score_utterance(reference: str, hypothesis: str, normalise: bool = True) -> UtteranceScore:
    """Word errors of one hypothesis against its reference (see the module docstring for `normalise`)."""
    if normalise:
        ref, hyp = normalize(reference), normalize(hypothesis)
        if not ref:
            raise ValueError(f"reference {reference!r} has no words after normalisation")
        words = len(ref.split())
        if not hyp:
            return UtteranceScore(reference=ref, hypothesis=hyp, words=words, errors=words)
        out = jiwer.process_words(ref, hyp)
        errors = out.substitutions + out.deletions + out.insertions
    else:
        ref, hyp = reference.rstrip().lower(), hypothesis.rstrip().lower()
        ref_words = original_words(reference)
        words = len(ref_words)
        # jiwer drops empty words, which the original's split on single spaces keeps and counts.
        errors = Levenshtein.distance(ref_words, original_words(hypothesis))
    return UtteranceScore(reference=ref, hypothesis=hyp, words=words, errors=errors)


def score(references: Sequence[str], hypotheses: Sequence[str], normalise: bool = True) -> WerResult:
    """Corpus WER of paired references and hypotheses; `normalise=False` splits as the original code did."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    return WerResult(tuple(score_utterance(r, h, normalise) for r, h in zip(references, hypotheses)))


class WerCeiling:
    """The word errors of `references` as their hypotheses are scored in order, against a ceiling on the corpus WER.

    `exceeded` is True as soon as the corpus WER is sure to be above the ceiling,
    whatever the utterances not yet scored give; after the last utterance it is
    exactly `score(references, hypotheses, normalise).wer > ceiling`, so a WER equal
    to the ceiling is accepted.
    """

    def __init__(self, references: Sequence[str], ceiling: float, normalise: bool = True):
        self.references = tuple(references)
        self.ceiling = ceiling
        self.normalise = normalise
        # Scored against an empty hypothesis, a reference counts its words as `score` does (and an
        # empty one is refused alike) without any alignment.
        self.words = sum(score_utterance(r, "", normalise).words for r in self.references)
        self.scores: list[UtteranceScore] = []
        self.errors = 0

    def add(self, hypothesis: str) -> bool:
        """Score the next utterance's hypothesis; return `exceeded`."""
        if len(self.scores) == len(self.references):
            raise ValueError(f"all {len(self.references)} utterances are already scored")
        utterance = score_utterance(self.references[len(self.scores)], hypothesis, self.normalise)
        self.scores.append(utterance)
        self.errors += utterance.errors
        return self.exceeded

    @property
    def exceeded(self) -> bool:
        """Whether the errors so far, over all reference words, are already above the ceiling."""
        # The very division `WerResult.wer` makes at the end (no `errors > ceiling * words`, which rounds
        # differently at a tie); float division is monotone, so no later utterance can bring it back.
        return (self.errors / self.words if self.words else 0.0) > self.ceiling

    @property
    def result(self) -> WerResult:
        """The WER of the utterances scored so far (all of them: exactly `score`'s result)."""
        return WerResult(tuple(self.scores))
