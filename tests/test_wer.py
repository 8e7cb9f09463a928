import pytest

from gridprune.wer import normalize, score


def test_normalisation_ignores_case_punctuation_and_spacing():
    assert normalize("  Pre-trained, model's\tWAV2VEC2!  ") == "PRE TRAINED MODEL'S WAV2VEC2"


def test_corpus_wer_is_total_errors_over_total_words():
    result = score(["the cat sat", "a b c d e f g"], ["the cat", "a b c d e f g h"])
    # 1 deletion + 1 insertion over 10 words; the mean of per-utterance WERs would be 0.238
    assert (result.errors, result.words) == (2, 10)
    assert result.wer == pytest.approx(0.2)
    assert [u.wer for u in result.utterances] == pytest.approx([1 / 3, 1 / 7])


def test_empty_hypothesis_counts_every_word_deleted():
    assert score(["hello world"], [""]).wer == 1.0


def test_mismatched_lengths_and_empty_references_are_errors():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        score(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no words"):
        score(["?!"], ["a"])
