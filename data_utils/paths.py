"""Where the data lives, and the errors when it is missing.

One place decides every data path. Look-up order for MNIST: ``$DRNET_DATA_DIR/mnist``
(or ``$DRNET_DATA_DIR`` itself if it holds the IDX files), then the repository's
``data/mnist/``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The files the loader looks for, per split. The training images may be the full
#: official set or the first 10,000 (the copy this repository ships).
MNIST_FILES = {
    "train": [
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        ("train10k-images-idx3-ubyte", "train10k-labels-idx1-ubyte"),
    ],
    "test": [("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")],
}

MNIST_HELP = (
    "Get the IDX files (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, "
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz) from an official MNIST mirror, "
    "e.g. https://ossci-datasets.s3.amazonaws.com/mnist/ , or run "
    "`python -m data_utils.download_mnist`, and put them in data/mnist/ or in a folder named by "
    "$DRNET_DATA_DIR."
)


class DataNotFoundError(FileNotFoundError):
    """Raised when a dataset's files are not where the look-up order says."""


def candidate_mnist_dirs() -> list[Path]:
    """The folders searched for MNIST, in order."""
    dirs: list[Path] = []
    env = os.environ.get("DRNET_DATA_DIR")
    if env:
        dirs += [Path(env) / "mnist", Path(env)]
    dirs.append(REPO_ROOT / "data" / "mnist")
    return dirs


def _existing(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def find_mnist_files(split: str) -> tuple[Path, Path]:
    """Return ``(images_path, labels_path)`` for ``split`` ('train' or 'test')."""
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    searched = candidate_mnist_dirs()
    for folder in searched:
        for image_stem, label_stem in MNIST_FILES[split]:
            images, labels = _existing(folder, image_stem), _existing(folder, label_stem)
            if images and labels:
                return images, labels
    where = ", ".join(str(d) for d in searched)
    raise DataNotFoundError(f"MNIST {split} files not found (searched {where}). {MNIST_HELP}")


def find_mnist_dir() -> Path:
    """The first folder that holds both MNIST splits."""
    images, _ = find_mnist_files("test")
    find_mnist_files("train")
    return images.parent
