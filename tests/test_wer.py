import pytest

from gridprune.wer import normalize, original_words, score


def test_normalisation_ignores_case_punctuation_and_spacing():
    assert normalize("  Pre-trained, model's\tWAV2VEC2!  ") == "PRE TRAINED MODEL'S WAV2VEC2"


@pytest.mark.parametrize("text, normalised", [
    # the examples of the module docstring
    ("IT’S a pre‑trained “model” — isn't it?", "IT'S A PRE TRAINED MODEL ISN'T IT"),
    ("  Compressing wav2vec2, for embedded…  ", "COMPRESSING WAV2VEC2 FOR EMBEDDED"),
    ("'Quoted' ﬁne_tuning", "QUOTED FINE TUNING"),
    ("...", ""),
    # typographic apostrophes are the ASCII one
    ("IT’S", "IT'S"), ("it‘s", "IT'S"), ("itʼs", "IT'S"), ("it′s", "IT'S"), ("it´s", "IT'S"), ("it＇s", "IT'S"),
    # dashes, quotes and other punctuation are spaces, as their ASCII forms
    ("a–b—c‐d−e", "A B C D E"), ("«bonjour» „hallo“", "BONJOUR HALLO"), ("one；two。three", "ONE TWO THREE"),
    # compatibility forms, case, letters of other scripts and diacritics
    ("ＷＡＶ２ＶＥＣ２", "WAV2VEC2"), ("x²", "X2"), ("Straße", "STRASSE"), ("café naïve", "CAFÉ NAÏVE"),
    ("cafe\u0301", "CAFÉ"), ("हिंदी भाषा", "हिंदी भाषा"), ("Ελληνικά", "ΕΛΛΗΝΙΚΆ"),
    # invisible characters: soft hyphen and joiners vanish, the zero-width space separates
    ("pro\u00adcess", "PROCESS"), ("a\u200bb", "A B"), ("\ufeffstart", "START"),
])
def test_unicode_normalisation(text, normalised):
    assert normalize(text) == normalised


def test_a_curly_apostrophe_scores_as_the_plain_one():
    reference = "IT’S TIME TO PRUNE THE BIG MODEL"
    result = score([reference], ["IT'S TIME TO PRUNE A BIG MODELS"])
    # 7 reference words, 2 substitutions (THE/A, MODEL/MODELS): 2/7, not 8 words as "IT S"
    assert (result.words, result.errors) == (7, 2)
    assert result.wer == pytest.approx(2 / 7)
    assert score([reference], ["IT'S TIME TO PRUNE THE BIG MODEL"]).wer == 0.0


def test_corpus_wer_is_total_errors_over_total_words():
    result = score(["the cat sat", "a b c d e f g"], ["the cat", "a b c d e f g h"])
    # 1 deletion + 1 insertion over 10 words; the mean of per-utterance WERs would be 0.238
    assert (result.errors, result.words) == (2, 10)
    assert result.wer == pytest.approx(0.2)
    assert [u.wer for u in result.utterances] == pytest.approx([1 / 3, 1 / 7])


def test_utterance_mean_is_the_mean_of_utterance_wers():
    result = score(["the cat sat", "a b c d e f g"], ["the cat", "a b c d e f g h"])
    assert result.utterance_mean == pytest.approx((1 / 3 + 1 / 7) / 2)  # 0.2381, not the corpus 0.2
    assert score(["x y"], ["x y"]).utterance_mean == 0.0


def test_empty_hypothesis_counts_every_word_deleted():
    assert score(["hello world"], [""]).wer == 1.0
    assert score(["hello world"], [""], normalise=False).wer == 1.0


@pytest.mark.parametrize("reference, hypothesis, normalised, original", [
    # punctuation: nothing with normalisation; a word error each in the original's scoring
    ("Hello, world.", "HELLO WORLD", (0, 2), (2, 2)),
    # a double space: an empty reference word the hypothesis lacks (one deletion of 4 words)
    ("the  cat sat", "THE CAT SAT", (0, 3), (1, 4)),
    # trailing spaces: the original strips each line, so they do not count
    ("the cat  ", "THE CAT", (0, 2), (0, 2)),
    # the original compares case-blind
    ("Hello World", "HELLO WORLD", (0, 2), (0, 2)),
    # an empty hypothesis splits as [""], which matches the empty word of the double space
    ("a  b", "", (2, 2), (2, 3)),
    # the curly apostrophe is a different word to the original
    ("IT’S OK", "IT'S OK", (0, 2), (1, 2)),
    # a hyphen joins words for the original, separates them after normalisation
    ("pre-trained model", "PRE TRAINED MODEL", (0, 3), (2, 2)),
])
def test_normalised_and_original_scoring_by_hand(reference, hypothesis, normalised, original):
    for normalise, (errors, words) in ((True, normalised), (False, original)):
        result = score([reference], [hypothesis], normalise=normalise)
        assert (result.errors, result.words) == (errors, words), normalise
        assert result.wer == pytest.approx(errors / words)


def test_original_words_split_on_single_spaces_only():
    assert original_words("The  Cat, sat.  ") == ["the", "", "cat,", "sat."]


def test_mismatched_lengths_and_empty_references_are_errors():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        score(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no words"):
        score(["?!"], ["a"])
