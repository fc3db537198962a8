"""MNIST digits for Moving MNIST and for the digit classifier used in evaluation.

Credit: MNIST by Y. LeCun and C. Cortes, CC BY-SA 3.0 (see data/mnist/SOURCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from data_utils.idx import IDXFormatError, read_idx
from data_utils.paths import find_mnist_files


@dataclass(frozen=True)
class MNISTDigits:
    """Digits of one split: ``images`` uint8 (N, S, S) and ``labels`` int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor
    split: str

    def __len__(self) -> int:
        return len(self.labels)


def _load_raw(split: str) -> tuple[np.ndarray, np.ndarray]:
    image_path, label_path = find_mnist_files(split)
    images = read_idx(image_path, expect_ndim=3, expect_shape=(None, 28, 28))
    labels = read_idx(label_path, expect_ndim=1)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise IDXFormatError(f"{image_path}: MNIST images and labels must be uint8")
    if len(labels) > len(images):
        # The shipped training labels may cover all 60,000 digits while the images cover 10,000.
        labels = labels[: len(images)]
    if len(labels) != len(images):
        raise IDXFormatError(f"{label_path}: {len(labels)} labels for {len(images)} images in {image_path}")
    if labels.max(initial=0) > 9:
        raise IDXFormatError(f"{label_path}: label {labels.max()} is not a digit 0-9")
    return images, labels


@lru_cache(maxsize=8)
def load_mnist(split: str, size: int = 28) -> MNISTDigits:
    """Load a split, resized to ``size``×``size`` with bilinear filtering (cached)."""
    images, labels = _load_raw(split)
    tensor = torch.from_numpy(images)
    if size != 28:
        resized = F.interpolate(tensor[:, None].float(), size=(size, size), mode="bilinear", align_corners=False)
        tensor = resized[:, 0].round().clamp(0, 255).to(torch.uint8)
    return MNISTDigits(images=tensor, labels=torch.from_numpy(labels.astype(np.int64)), split=split)
