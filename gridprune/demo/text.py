"""The texts of the demo: word vocabulary, example, heldout, dev and search sets, training and fine-tuning texts.

The training texts are random word sequences plus the example sentences; the heldout
sentences are built from the same words but never occur in any training text, so
they measure how the demo model copes with sentences it has not heard. The dev
sentences are random word sequences drawn like the training ones from another seed:
a search set the model has not memorised. The search80 and heldout80 sentences are
bigger sets drawn the same way, none heard by the model; the fine-tuning texts are a
labelled training set that says none of the sentences the model is measured on.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>")
WORD_DELIMITER = "|"
CHARACTERS = ("'",) + tuple(chr(code) for code in range(ord("A"), ord("Z") + 1))
# Token id = position: <pad> is 0 and doubles as the CTC blank.
TOKENS = SPECIAL_TOKENS + (WORD_DELIMITER,) + CHARACTERS

_FUNCTION_WORDS = """
THE A AN OF TO IN ON FOR WITH BY FROM AT AS IS ARE WAS WERE BE BEEN AND OR BUT NOT NO SO
IF THEN THAN THAT THIS THESE IT ITS IT'S WE OUR US YOU YOUR THEY THEIR THEM ONE TWO EACH
EVERY ALL SOME MANY MORE MOST LESS FEW OTHER ANOTHER CAN COULD WILL SHOULD MAY MUST DO
DOES DON'T CAN'T ISN'T HAS HAVE HAD WHEN WHILE WHERE WHICH WHAT WHO HOW WHY AFTER BEFORE
INTO OVER UNDER ABOUT WITHOUT AGAIN ALSO ONLY JUST VERY STILL EVEN BOTH HERE THERE NOW
ONCE ALWAYS
"""

_SUBJECT_WORDS = """
SPEECH AUDIO VOICE VOICES SOUND SOUNDS SPEAKER SPEAKERS SPOKEN WORD WORDS SENTENCE
SENTENCES LETTER LETTERS TEXT TRANSCRIPTION LANGUAGE ENGLISH ACOUSTIC PHONEMES
RECOGNITION RECOGNISER RECOGNISE ERROR ERRORS RATE ACCURACY DECODER DECODE DECODING
ENCODER GREEDY BEAM ALIGNMENT FRAME FRAMES SAMPLE SAMPLES SIGNAL NOISE MICROPHONE
RECORDING UTTERANCE UTTERANCES DATASET LABELS

NEURAL NETWORK NETWORKS MODEL MODELS LAYER LAYERS WEIGHT WEIGHTS NEURONS ATTENTION HEAD
HEADS TRANSFORMER FEED FORWARD HIDDEN UNITS PARAMETER PARAMETERS TENSOR TENSORS ROW ROWS
COLUMNS BLOCK BLOCKS GRADIENTS LOSS TRAINING TRAINED TRAIN LEARN LEARNING EPOCHS BATCH
BATCHES FEATURE FEATURES INPUT INPUTS OUTPUT OUTPUTS

PRUNE PRUNING PRUNED CUT CUTS REMOVE REMOVES REMOVED MASK MASKS SPARSE SMALL SMALLER
SMALLEST LARGE LARGER BIG SIZE REDUCE REDUCES REDUCTION COMPRESS COMPRESSING COMPRESSED
COMPRESSION QUANTIZATION DISTILLATION MAGNITUDE

GENETIC ALGORITHM ALGORITHMS POPULATION GENERATION GENERATIONS INDIVIDUAL INDIVIDUALS
CHROMOSOME CHROMOSOMES GENES CROSSOVER MUTATION SELECTION PARENT PARENTS CHILD CHILDREN
FITNESS RANK RANDOM SEED BEST WORST SEARCH SEARCHES

CLUSTER CLUSTERS NODE NODES JOB JOBS QUEUE TASK TASKS WORKER WORKERS MASTER ARRAY
SCHEDULER CORE CORES PROCESSOR PROCESSORS MEMORY FILE FILES FOLDER CHECKPOINT RESUME
RESTART CRASH PARALLEL SHARED LOCAL GRID COMPUTE HOURS MINUTES SECONDS DAY NIGHT TIME

EMBEDDED DEVICE DEVICES PHONE PHONES CHIP BATTERY POWER ENERGY LOW HIGH FAST FASTER SLOW
SLOWER SPEED LATENCY EDGE MOBILE HARDWARE SOFTWARE APPLICATION APPLICATIONS

RUN RUNS RUNNING SEND SENDS READ WRITE WRITES SAVE SAVES LOAD LOADS KEEP KEEPS FOUND
GIVES MAKES USES USED TEST TESTS MEASURE MEASURED SCORE SCORES CHOOSE EVALUATE EVALUATES
LISTEN LISTENS HEAR SPEAK START STARTS STOP STOPS FINISH FINISHED SHRINK LOSE LOSES
LOSING GROW GROWS IMPROVE IMPROVES BUILD CREATE CREATES NEED NEEDS LAST LASTS

GOOD BETTER NEW OLD SAME DIFFERENT PART PARTS HALF FIRST NEXT QUIET CLEAR SIMPLE HARD
HARDER ACCURATE ROBUST RESULT RESULTS QUALITY COST BUDGET LIST SET SETS NUMBER VALUE
VALUES PAPER RESEARCH RESEARCHER RESEARCHERS USER USERS TOOL TOOLS PYTHON CODE
EXPERIMENT EXPERIMENTS
"""

WORDS: tuple[str, ...] = tuple((_FUNCTION_WORDS + _SUBJECT_WORDS).split())

# Random sequences draw words with these weights so that, as in real sentences, the
# commonest function words are heard often and in many contexts; drawn uniformly, THE
# would be as rare as CHROMOSOME and the model would stumble on it in unseen sentences.
COMMON_WORD_WEIGHTS = {"THE": 24, "A": 8, "OF": 8, "TO": 8, "AND": 8, "IN": 8, "IS": 8}
FUNCTION_WORD_WEIGHT = 2
SUBJECT_WORD_WEIGHT = 1

EXAMPLE_SENTENCES: tuple[str, ...] = (
    "COMPRESSING SPEECH MODELS FOR EMBEDDED APPLICATIONS",
    "A GENETIC ALGORITHM SEARCHES FOR THE BEST PRUNING MASK",
    "THE WORD ERROR RATE IS THE FITNESS OF EACH INDIVIDUAL",
    "PRUNING REMOVES ROWS FROM THE FEED FORWARD LAYERS",
    "EVERY GENERATION RUNS AS ONE JOB ARRAY ON THE CLUSTER",
    "SMALLER NETWORKS RUN FASTER ON MOBILE DEVICES",
    "THE MASTER WRITES A CHECKPOINT AFTER EACH GENERATION",
    "WORKERS DECODE EVERY UTTERANCE ONE AT A TIME",
    "CROSSOVER AND MUTATION CREATE NEW CHROMOSOMES",
    "A PRUNED MODEL NEEDS LESS MEMORY AND LESS POWER",
    "THE SEARCH CAN RESUME AFTER A CRASH WITHOUT LOSING RESULTS",
    "NEURAL NETWORKS LEARN TO RECOGNISE SPOKEN WORDS",
    "THE SCHEDULER SENDS TASKS TO MANY NODES IN PARALLEL",
    "MAGNITUDE PRUNING GIVES A GOOD FIRST CHROMOSOME",
    "SPEECH RECOGNITION ON A SMALL CHIP SAVES ENERGY",
)

HELDOUT_SENTENCES: tuple[str, ...] = (
    "THE CLUSTER SAVES EVERY RESULT IN A SHARED FOLDER",
    "A FAST DECODER LISTENS TO THE MICROPHONE",
    "RESEARCHERS MEASURE THE LATENCY OF EACH LAYER",
    "THE POPULATION GROWS BETTER WITH EVERY GENERATION",
    "WE KEEP THE ATTENTION HEADS AND CUT THE HIDDEN UNITS",
    "A QUIET VOICE IS HARDER TO RECOGNISE",
    "THE BATTERY OF THE PHONE LASTS ALL DAY",
    "EACH WORKER LOADS THE MODEL ONCE",
    "SPARSE WEIGHTS DO NOT ALWAYS RUN FASTER",
    "THE PARENTS WITH THE BEST FITNESS HAVE MORE CHILDREN",
)

MIN_WORDS, MAX_WORDS = 3, 7
EXAMPLE_SHARE = 0.2  # of the training texts that are example sentences
MODEL_UTTERANCES, MODEL_SEED = 8000, 0  # training_texts(MODEL_UTTERANCES, MODEL_SEED): the shipped model's
DEV_SENTENCES, DEV_SEED = 20, 2026
SEARCH80_SEED, HELDOUT80_SEED, BIG_SET_SENTENCES = 2027, 2028, 80
FINETUNE_TEXTS, FINETUNE_SEED = 280, 2029


def vocabulary() -> dict[str, int]:
    """The character vocabulary of the CTC tokenizer: token -> id."""
    return {token: index for index, token in enumerate(TOKENS)}


def word_probabilities() -> np.ndarray:
    """The probability of each of WORDS in a random sequence."""
    function_words = set(_FUNCTION_WORDS.split())
    weights = np.array([
        COMMON_WORD_WEIGHTS.get(word, FUNCTION_WORD_WEIGHT if word in function_words else SUBJECT_WORD_WEIGHT)
        for word in WORDS
    ], dtype=float)
    return weights / weights.sum()


def random_sequence(rng: np.random.Generator, probabilities: np.ndarray) -> str:
    """A random sequence of 3 to 7 vocabulary words drawn with `probabilities` (see word_probabilities)."""
    length = int(rng.integers(MIN_WORDS, MAX_WORDS + 1))
    return " ".join(WORDS[i] for i in rng.choice(len(WORDS), size=length, p=probabilities))


def training_texts(count: int, seed: int, example_share: float = EXAMPLE_SHARE) -> list[str]:
    """`count` training texts: random sequences, plus the example sentences for `example_share` of them.

    The example sentences are repeated in turn so each is heard about equally often;
    the order is shuffled. Raises ValueError if a heldout sentence slipped in.
    """
    rng = np.random.default_rng(seed)
    examples = round(count * example_share)
    texts = [EXAMPLE_SENTENCES[i % len(EXAMPLE_SENTENCES)] for i in range(examples)]
    probabilities = word_probabilities()
    texts += [random_sequence(rng, probabilities) for _ in range(count - examples)]
    rng.shuffle(texts)
    check_no_heldout(texts)
    return texts


def dev_sentences(count: int = DEV_SENTENCES, seed: int = DEV_SEED) -> tuple[str, ...]:
    """Random word sequences drawn as the training ones are, from a seed training does not use."""
    rng = np.random.default_rng(seed)
    probabilities = word_probabilities()
    return tuple(random_sequence(rng, probabilities) for _ in range(count))


def distinct_sequences(count: int, seed: int, reject: Callable[[str], bool]) -> tuple[str, ...]:
    """`count` distinct random sequences drawn as dev_sentences draws them, skipping those `reject` refuses."""
    rng = np.random.default_rng(seed)
    probabilities = word_probabilities()
    chosen: dict[str, None] = {}  # insertion-ordered set
    while len(chosen) < count:
        sequence = random_sequence(rng, probabilities)
        if sequence not in chosen and not reject(sequence):
            chosen[sequence] = None
    return tuple(chosen)


def word_runs(text: str) -> set[str]:
    """Every run of consecutive whole words of `text`, `text` itself included."""
    words = text.split()
    return {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


@functools.cache
def heard_by_model() -> frozenset[str]:
    """Every word run the shipped demo model heard in training: a sentence in here is not unseen."""
    return frozenset().union(*map(word_runs, set(training_texts(MODEL_UTTERANCES, MODEL_SEED))))


def search80_sentences() -> tuple[str, ...]:
    """80 random sequences the demo model never heard, none an example, heldout or dev sentence: a search set."""
    others = set(EXAMPLE_SENTENCES) | set(HELDOUT_SENTENCES) | set(dev_sentences())
    return distinct_sequences(BIG_SET_SENTENCES, SEARCH80_SEED, lambda s: s in others or s in heard_by_model())


def heldout80_sentences() -> tuple[str, ...]:
    """80 random sequences drawn as search80_sentences are and none of them: a held-out set for searches."""
    others = set(EXAMPLE_SENTENCES) | set(HELDOUT_SENTENCES) | set(dev_sentences()) | set(search80_sentences())
    return distinct_sequences(BIG_SET_SENTENCES, HELDOUT80_SEED, lambda s: s in others or s in heard_by_model())


def evaluation_sentences() -> frozenset[str]:
    """Every sentence the demo model is measured on: example, heldout, dev, search80 and heldout80."""
    return frozenset(
        EXAMPLE_SENTENCES + HELDOUT_SENTENCES + dev_sentences() + search80_sentences() + heldout80_sentences()
    )


def finetune_texts(count: int = FINETUNE_TEXTS, seed: int = FINETUNE_SEED) -> tuple[str, ...]:
    """Random sequences to fine-tune the demo model on: none says any evaluation sentence, even within it."""
    evaluation = evaluation_sentences()
    return distinct_sequences(count, seed, lambda s: not evaluation.isdisjoint(word_runs(s)))


def contains_sentence(text: str, sentence: str) -> bool:
    """Whether `sentence` occurs in `text` as a run of whole words."""
    return f" {sentence} " in f" {text} "


def check_no_heldout(texts: list[str]) -> None:
    """Raise ValueError if any heldout sentence occurs in any of `texts`."""
    for text in texts:
        for sentence in HELDOUT_SENTENCES:
            if contains_sentence(text, sentence):
                raise ValueError(f"training text {text!r} contains the heldout sentence {sentence!r}")
