"""The smallNORB reader (LeCun, Huang & Bottou, 2004) and its conversion to turntable videos (paper section 4.2).

smallNORB ships six binary matrix files (not MATLAB files, despite ``.mat``), gzipped or not:
``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and the matching ``5x01235 … testing``.
Each starts with a little-endian header: an int32 magic number giving the element type
(0x1E3D4C55 uint8, 0x1E3D4C54 int32, 0x1E3D4C56 int16, 0x1E3D4C51 float32, 0x1E3D4C53 float64), an int32
``ndim``, then ``max(ndim, 3)`` int32 dimensions, then the data.

* ``dat``: (N, 2, 96, 96) uint8, a stereo pair per sample (we use camera 0);
* ``cat``: (N,) int32 category, 0-4 (animal, human, airplane, truck, car);
* ``info``: (N, 4) int32 = instance (0-9), elevation (0-8), azimuth (0, 2, …, 34: ×10°), lighting (0-5).

Videos walk the azimuth (18 views of 20°, cyclic) with instance, elevation and lighting fixed: 5 × 5 × 9 × 6
= 1,350 clips per split. The split is the official one: training instances 4, 6, 7, 8, 9; test 0, 1, 2, 3, 5.
Point ``$DRNET_NORB_DIR`` at the folder with the files.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from data_utils.paths import DataNotFoundError
from data_utils.turntable import TurntableDataset

MAGIC = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32, 0x1E3D4C56: np.int16, 0x1E3D4C51: np.float32, 0x1E3D4C53: np.float64}
CATEGORIES = ("animal", "human", "airplane", "truck", "car")
FILES = {
    "train": "smallnorb-5x46789x9x18x6x2x96x96-training-{}.mat",
    "test": "smallnorb-5x01235x9x18x6x2x96x96-testing-{}.mat",
}
NORB_HELP = (
    "Download smallNORB's six files (smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat and the "
    "5x01235 testing ones, gzipped or not) from https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ and set "
    "DRNET_NORB_DIR to their folder. Without them the book uses the built-in stand-in."
)


class NORBFormatError(ValueError):
    """A smallNORB file has a bad header or the wrong size."""


def _raw(path: Path) -> bytes:
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    try:
        return gzip.open(path, "rb").read() if gzipped else path.read_bytes()
    except (OSError, EOFError) as err:
        raise NORBFormatError(f"{path}: cannot decompress ({err}); the file is corrupt or truncated") from err


def read_norb_matrix(path: str | Path) -> np.ndarray:
    """Read one NORB binary matrix, validating its magic number, dimensions and size."""
    path = Path(path)
    raw = _raw(path)
    if len(raw) < 20:
        raise NORBFormatError(f"{path}: {len(raw)} bytes is too short for a NORB header")
    magic, ndim = struct.unpack("<iI", raw[:8])
    if magic & 0xFFFFFFFF not in MAGIC:
        raise NORBFormatError(f"{path}: bad magic number 0x{magic & 0xFFFFFFFF:08X}; not a NORB matrix file")
    if not 1 <= ndim <= 16:
        raise NORBFormatError(f"{path}: implausible number of dimensions {ndim}")
    n_stored = max(ndim, 3)
    header = 8 + 4 * n_stored
    dims = struct.unpack(f"<{n_stored}i", raw[8:header])[:ndim]
    if any(d <= 0 for d in dims):
        raise NORBFormatError(f"{path}: bad dimensions {dims}")
    dtype = np.dtype(MAGIC[magic & 0xFFFFFFFF]).newbyteorder("<")
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise NORBFormatError(f"{path}: header says {dims} ({expected} bytes of data) but the file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def write_norb_matrix(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` in the NORB binary format (gzipped if the name ends in .gz). Used by the tests."""
    path = Path(path)
    codes = {np.dtype(v): k for k, v in MAGIC.items()}
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = struct.pack(f"<iI{len(dims)}i", codes[np.dtype(array.dtype)], array.ndim, *dims)
    data = header + np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def find_norb_dir(root: str | Path | None = None) -> Path:
    """The folder named by ``root`` or ``$DRNET_NORB_DIR``; raises with download advice if the files are absent."""
    folder = Path(root or os.environ.get("DRNET_NORB_DIR") or "data/norb")
    names = [FILES[split].format(kind) for split in FILES for kind in ("dat", "cat", "info")]
    missing = [name for name in names if _locate(folder, name) is None]
    if missing:
        raise DataNotFoundError(f"smallNORB not found in {folder} (missing {', '.join(missing)}). {NORB_HELP}")
    return folder


def _locate(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def load_smallnorb(split: str, root: str | Path | None = None) -> dict[str, np.ndarray]:
    """The ``split`` ('train' or 'test') as arrays: images (N, 2, H, W), category (N,), info (N, 4)."""
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = find_norb_dir(root)
    dat, cat, info = (read_norb_matrix(_locate(folder, FILES[split].format(kind))) for kind in ("dat", "cat", "info"))
    if dat.ndim != 4 or cat.ndim != 1 or info.ndim != 2 or info.shape[1] != 4:
        raise NORBFormatError(f"{folder}: unexpected shapes dat {dat.shape}, cat {cat.shape}, info {info.shape}")
    if not len(dat) == len(cat) == len(info):
        raise NORBFormatError(f"{folder}: {split} files disagree on the sample count ({len(dat)}, {len(cat)}, {len(info)})")
    return {"images": dat, "category": cat, "info": info}


def smallnorb_turntable(split: str, root: str | Path | None = None, seq_len: int = 10, image_size: int = 64, camera: int = 0) -> TurntableDataset:
    """smallNORB as azimuth videos: objects = (category, instance), conditions = (elevation, lighting), views = azimuth."""
    data = load_smallnorb(split, root)
    category, info = data["category"], data["info"]
    instance, elevation, azimuth, lighting = info.T
    instances = np.unique(instance)
    elevations, azimuths, lightings = np.unique(elevation), np.unique(azimuth), np.unique(lighting)
    n_obj = len(np.unique(category)) * len(instances)
    grid = np.zeros((n_obj, len(elevations), len(lightings), len(azimuths), *data["images"].shape[-2:]), np.uint8)
    filled = np.zeros(grid.shape[:4], bool)
    obj = np.searchsorted(np.unique(category), category) * len(instances) + np.searchsorted(instances, instance)
    idx = (obj, np.searchsorted(elevations, elevation), np.searchsorted(lightings, lighting), np.searchsorted(azimuths, azimuth))
    grid[idx] = data["images"][:, camera]
    filled[idx] = True
    if not filled.all():
        raise NORBFormatError(f"smallNORB {split}: {int((~filled).sum())} (object, elevation, lighting, azimuth) cells have no image")
    labels = np.repeat(np.unique(category), len(instances))
    return TurntableDataset(grid, labels, seq_len=seq_len, image_size=image_size)


def norb_available(root: str | Path | None = None) -> bool:
    """Whether the six smallNORB files can be found (``root``, else ``$DRNET_NORB_DIR``)."""
    try:
        folder = find_norb_dir(root)
    except DataNotFoundError:
        return False
    return all(_locate(folder, FILES[split].format(kind)) for split in FILES for kind in ("dat", "cat", "info"))


def load_norb(
    split: str,
    seq_len: int = 18,
    image_size: int = 64,
    elevations: tuple[int, ...] | None = None,
    lightings: tuple[int, ...] | None = None,
    root: str | Path | None = None,
) -> TurntableDataset:
    """The real smallNORB when its files are found, else the built-in SynthNORB stand-in (announced on stdout).

    ``elevations`` and ``lightings`` (indices) restrict the stand-in to fewer conditions, which renders faster
    (the ``ci`` profile uses this); the real data is always used whole. The dataset's ``source`` says which it is.
    """
    from data_utils.synth_norb import synth_norb

    if norb_available(root):
        dataset = smallnorb_turntable(split, root, seq_len=seq_len, image_size=image_size)
        dataset.source = f"smallNORB ({find_norb_dir(root)})"
        return dataset
    kwargs = {k: v for k, v in (("elevations", elevations), ("lightings", lightings)) if v is not None}
    dataset = synth_norb(split, seq_len=seq_len, image_size=image_size, **kwargs)
    dataset.source = "SynthNORB stand-in"
    return dataset
