"""The digits example: a small CNN on scikit-learn's 8x8 digits, with shipped splits and weights."""

import sys

import numpy as np
import pytest
import torch

from gridprune.examples import digits

SPLITS = {"train": digits.TRAIN, "search": digits.SEARCH, "heldout": digits.HELDOUT}


@pytest.fixture
def sklearn_data():
    """Skip where scikit-learn (whose wheel holds the digits CSV) is not installed."""
    pytest.importorskip("sklearn")


def test_split_files_are_disjoint_and_cover_every_image():
    indices = {name: digits.read_indices(path) for name, path in SPLITS.items()}
    assert {name: len(ix) for name, ix in indices.items()} == {"train": 1197, "search": 300, "heldout": 300}
    sets = {name: set(ix.tolist()) for name, ix in indices.items()}
    assert sum(len(s) for s in sets.values()) == 1797  # no index twice within a split
    assert not sets["train"] & sets["search"]
    assert not sets["train"] & sets["heldout"]
    assert not sets["search"] & sets["heldout"]
    assert sets["train"] | sets["search"] | sets["heldout"] == set(range(1797))
    # the shipped files are the seed-0 permutation that `python -m gridprune.examples.digits --splits` writes
    for name, expected in digits.split_indices().items():
        np.testing.assert_array_equal(indices[name], expected)


def test_images_are_read_from_the_csv_in_sklearns_package(sklearn_data):
    images, labels = digits.load_images()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert 0.0 <= images.min() and images.max() == 1.0
    assert set(labels.tolist()) == set(range(10))
    assert digits.load_images() is digits.load_images()  # cached


def test_build_gives_the_same_weights_every_call():
    first, second = digits.build(), digits.build()
    assert first is not second and not first.training and not second.training
    a, b = first.state_dict(), second.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert digits.WEIGHTS.stat().st_size < 100_000


def test_heldout_accuracy_of_the_shipped_model(sklearn_data):
    model = digits.build()
    assert digits.accuracy(model, str(digits.HELDOUT)) > 0.9
    assert digits.accuracy(model, str(digits.SEARCH)) > 0.9


def test_accuracy_drops_when_the_conv_weights_are_zeroed(sklearn_data):
    model = digits.build()
    model.train()
    before = digits.accuracy(model, str(digits.SEARCH))
    assert not model.training
    assert 0.0 <= before <= 1.0
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.zero_()
    after = digits.accuracy(model, str(digits.SEARCH))
    assert 0.0 <= after <= 1.0
    assert after < 0.5 < before


def test_train_loss_depends_on_seed_and_step_alone(sklearn_data):
    model = digits.build()
    path = str(digits.TRAIN)
    first = digits.train_loss(model, path, step=3, seed=7)
    assert model.training
    assert first.shape == () and first.requires_grad
    again = digits.train_loss(digits.build(), path, step=3, seed=7)
    assert torch.equal(first.detach(), again.detach())

    n = len(digits.read_indices(path))
    batch = digits.batch_indices(n, step=3, seed=7)
    assert len(batch) == 64 and len(set(batch.tolist())) == 64
    np.testing.assert_array_equal(batch, digits.batch_indices(n, step=3, seed=7))
    assert set(batch.tolist()) != set(digits.batch_indices(n, step=4, seed=7).tolist())
    assert set(batch.tolist()) != set(digits.batch_indices(n, step=3, seed=8).tolist())
    other_step = digits.train_loss(model, path, step=4, seed=7)
    assert not torch.equal(first.detach(), other_step.detach())


def test_training_is_deterministic(sklearn_data):
    a, b = digits.train(steps=3, seed=1).state_dict(), digits.train(steps=3, seed=1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_read_split_names_the_file_and_line_of_a_bad_line(tmp_path):
    path = tmp_path / "bad_split.txt"
    path.write_text("0\n5\nseven\n9\n")
    with pytest.raises(ValueError, match=r"bad_split\.txt, line 3\b.*'seven'"):
        digits.read_split(path)
    path.write_text("0\n-2\n")
    with pytest.raises(ValueError, match=r"bad_split\.txt, line 2\b.*negative"):
        digits.read_split(path)


def test_read_split_names_an_index_past_the_last_image(tmp_path, sklearn_data):
    path = tmp_path / "split.txt"
    path.write_text("0\n1\n1797\n")
    with pytest.raises(ValueError, match=r"split\.txt, line 3\b.*1797"):
        digits.read_split(path)
    path.write_text("1796\n0\n")
    images, labels = digits.read_split(path)
    assert images.shape == (2, 1, 8, 8) and labels.shape == (2,)


def test_without_sklearn_the_error_says_how_to_install_it(monkeypatch):
    digits.load_images.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn", None)  # how Python marks a package as not importable
    try:
        with pytest.raises(ModuleNotFoundError, match=r"pip install 'gridprune\[examples\]'"):
            digits.load_images()
    finally:
        digits.load_images.cache_clear()
