"""Data for the DRNET book: real-file loaders and built-in generators.

Every dataset hands the trainer the same thing: clips shaped ``(B, T, C, H, W)``,
float in [0, 1]. The data side never knows about losses (see ``drnet_core``).
"""

from data_utils.idx import IDXFormatError, read_idx
from data_utils.mnist import MNISTDigits, load_mnist
from data_utils.moving_mnist import ClipSpecs, MovingMNIST
from data_utils.paths import DataNotFoundError, find_mnist_dir

__all__ = [
    "ClipSpecs",
    "DataNotFoundError",
    "IDXFormatError",
    "MNISTDigits",
    "MovingMNIST",
    "find_mnist_dir",
    "load_mnist",
    "read_idx",
]
