"""A small CNN on scikit-learn's 8x8 handwritten digits: a second kind of model for gridprune.

    python -m gridprune.examples.digits [--splits] [--steps N] [--seed S]

It needs no network: the 1797 digits are read straight from the CSV that the
scikit-learn wheel ships (`sklearn/datasets/data/digits.csv.gz`: 64 pixel columns
with values 0..16, then the label), without importing scikit-learn's loaders.
The splits are index files shipped beside this module in `digits/` (`train.txt`,
`search.txt`, `heldout.txt`, one image index per line), and so are the trained
weights (`digits/digits_cnn.pt`, a state dict).

The functions a model factory needs are `build()`, `accuracy(model, data_path)`
and `train_loss(model, data_path, step, seed)`. Running the module writes the
split files if they are missing (`--splits` rewrites them), trains a fresh model
and saves its weights, and prints its search and heldout accuracy.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import importlib.util
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

DATA_DIR = Path(__file__).resolve().parent / "digits"
WEIGHTS = DATA_DIR / "digits_cnn.pt"
TRAIN = DATA_DIR / "train.txt"
SEARCH = DATA_DIR / "search.txt"
HELDOUT = DATA_DIR / "heldout.txt"
CSV_IN_SKLEARN = ("datasets", "data", "digits.csv.gz")
N_IMAGES = 1797
N_SEARCH = 300
N_HELDOUT = 300
SPLIT_SEED = 0
BATCH_SIZE = 64
STEPS = 1500
LEARNING_RATE = 1e-3
PIXEL_MAX = 16.0
INSTALL_HINT = "pip install 'gridprune[examples]'"


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions, a 2x2 max-pool and two linear layers: (N, 1, 8, 8) pixels in [0, 1] -> 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 4 * 4, 32),
            nn.ReLU(),
            nn.Linear(32, 10),
        )

    def forward(self, x: Tensor) -> Tensor:
        """The logits of a batch of images."""
        return self.classifier(self.features(x))


def digits_csv() -> Path:
    """The digits CSV inside the installed scikit-learn package; a clear error if it is not installed."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the digits example reads its images from the scikit-learn package, which is not installed: {INSTALL_HINT}"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder).joinpath(*CSV_IN_SKLEARN)
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"no {'/'.join(CSV_IN_SKLEARN)} in the installed scikit-learn "
        f"({', '.join(spec.submodule_search_locations)}); reinstall it: {INSTALL_HINT}"
    )


@functools.lru_cache(maxsize=1)
def load_images() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits: images, float32 (N, 1, 8, 8) scaled to [0, 1], and labels, int64 (N,).

    Read once and cached; the arrays are read-only (index them to get a copy).
    """
    path = digits_csv()
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 65:
        raise ValueError(f"{path}: expected 64 pixel columns and a label column, got shape {table.shape}")
    images = (table[:, :64] / PIXEL_MAX).astype(np.float32).reshape(-1, 1, 8, 8)
    labels = table[:, 64].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def read_indices(path: str | Path) -> np.ndarray:
    """The image indices in a split file, one non-negative integer per line; ValueError naming the file and line."""
    path = Path(path)
    indices = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        try:
            index = int(text)
        except ValueError:
            raise ValueError(f"{path}, line {number}: expected one image index, got {line!r}") from None
        if index < 0:
            raise ValueError(f"{path}, line {number}: image index {index} is negative")
        indices.append(index)
    if not indices:
        raise ValueError(f"{path}: no image indices")
    return np.asarray(indices, dtype=np.int64)


def read_split(path: str | Path) -> tuple[Tensor, Tensor]:
    """The images (N, 1, 8, 8) and labels (N,) of the split file at `path`."""
    indices = read_indices(path)
    images, labels = load_images()
    if indices.max() >= len(images):
        number = int(np.argmax(indices >= len(images))) + 1
        raise ValueError(f"{path}, line {number}: image index {indices[number - 1]} is past the last ({len(images) - 1})")
    return torch.from_numpy(images[indices]), torch.from_numpy(labels[indices])


def split_indices(n_images: int = N_IMAGES, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """The three splits of a seeded permutation, each sorted: 300 search, 300 heldout, the rest train."""
    order = np.random.default_rng(seed).permutation(n_images)
    return {
        "search": np.sort(order[:N_SEARCH]),
        "heldout": np.sort(order[N_SEARCH : N_SEARCH + N_HELDOUT]),
        "train": np.sort(order[N_SEARCH + N_HELDOUT :]),
    }


def write_splits(folder: Path = DATA_DIR, rewrite: bool = False) -> list[Path]:
    """Write `train.txt`, `search.txt` and `heldout.txt` into `folder` (only missing ones unless `rewrite`)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, indices in split_indices(len(load_images()[0])).items():
        path = folder / f"{name}.txt"
        if rewrite or not path.exists():
            path.write_text("".join(f"{i}\n" for i in indices))
            written.append(path)
    return written


def _device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def build() -> DigitsCNN:
    """A fresh model with the shipped trained weights, in eval mode (the same weights every call)."""
    model = DigitsCNN()
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    return model.eval()


def accuracy(model: nn.Module, data_path: str) -> float:
    """The fraction of the split at `data_path` that `model` classifies right, in [0, 1] (model in eval mode)."""
    images, labels = read_split(data_path)
    device = _device(model)
    model.eval()
    with torch.no_grad():
        predicted = model(images.to(device)).argmax(dim=1).cpu()
    return float((predicted == labels).double().mean())


def batch_indices(n: int, step: int, seed: int, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The positions in a split of `n` images of the mini-batch for (seed, step): chosen from those alone."""
    rng = np.random.default_rng((seed, step))
    return rng.choice(n, size=min(batch_size, n), replace=False)


def train_loss(model: nn.Module, data_path: str, step: int, seed: int) -> Tensor:
    """The cross-entropy of one mini-batch of 64 from the split at `data_path` (model in train mode).

    The batch depends on (seed, step) alone, so a resumed fine-tune sees the same batches.
    """
    images, labels = read_split(data_path)
    chosen = torch.from_numpy(batch_indices(len(labels), step, seed))
    device = _device(model)
    model.train()
    return F.cross_entropy(model(images[chosen].to(device)), labels[chosen].to(device))


def train(steps: int = STEPS, seed: int = 0) -> DigitsCNN:
    """A fresh model trained `steps` steps with Adam (lr 1e-3) on `train.txt`, from torch seed `seed`; in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    for step in range(steps):
        optimizer.zero_grad()
        train_loss(model, str(TRAIN), step, seed).backward()
        optimizer.step()
    return model.eval()


def main(argv: Sequence[str] | None = None) -> None:
    """Write the split files (if missing, or all with --splits), train the model, save it, print its accuracy."""
    parser = argparse.ArgumentParser(prog="python -m gridprune.examples.digits", description="Train the digits CNN example.")
    parser.add_argument("--splits", action="store_true", help="rewrite the split files even if they exist")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    parser.add_argument("--seed", type=int, default=0, help="torch seed and batch seed (default 0)")
    args = parser.parse_args(argv)

    for path in write_splits(DATA_DIR, rewrite=args.splits):
        print(f"wrote {path}")
    start = time.perf_counter()
    model = train(args.steps, args.seed)
    seconds = time.perf_counter() - start
    torch.save(model.state_dict(), WEIGHTS)
    print(f"trained {args.steps} steps in {seconds:.1f} s; saved {WEIGHTS} ({WEIGHTS.stat().st_size} bytes)")
    print(f"search accuracy {accuracy(model, str(SEARCH)):.4f}")
    print(f"heldout accuracy {accuracy(model, str(HELDOUT)):.4f}")


if __name__ == "__main__":
    main()
