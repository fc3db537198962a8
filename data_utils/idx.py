"""Reading and validating IDX files, the format of MNIST (LeCun et al., 1998).

An IDX file is: two zero bytes, a type code, the number of dimensions, one big-endian
uint32 per dimension, then the data in C order. Files may be gzipped. Every check
failure raises :class:`IDXFormatError` naming the file and the problem.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IDXFormatError(ValueError):
    """A file is not a valid IDX file (bad magic, truncated, wrong shape)."""


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        head = handle.read(2)
    try:
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise IDXFormatError(f"{path}: cannot decompress ({err}); the file is corrupt or truncated, download it again") from err


def read_idx(path: str | Path, expect_ndim: int | None = None, expect_shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Read one IDX file into a numpy array, validating magic number, counts and sizes.

    ``expect_shape`` may hold ``None`` for a free dimension, e.g. ``(None, 28, 28)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXFormatError(f"{path}: only {len(raw)} bytes, too short for an IDX header")
    zero1, zero2, type_code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero1 != 0 or zero2 != 0 or type_code not in _DTYPES or ndim == 0:
        magic = int.from_bytes(raw[:4], "big")
        raise IDXFormatError(f"{path}: bad magic number 0x{magic:08x} (expected 0x0000TTNN with a known type code TT); not an IDX file")
    if expect_ndim is not None and ndim != expect_ndim:
        raise IDXFormatError(f"{path}: has {ndim} dimensions, expected {expect_ndim}")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise IDXFormatError(f"{path}: truncated header ({len(raw)} bytes, need {header_len})")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    if expect_shape is not None:
        for axis, (got, want) in enumerate(zip(shape, expect_shape)):
            if want is not None and got != want:
                raise IDXFormatError(f"{path}: dimension {axis} is {got}, expected {want}")
    dtype = _DTYPES[type_code]
    expected_bytes = int(np.prod(shape)) * dtype.itemsize
    payload = len(raw) - header_len
    if payload != expected_bytes:
        kind = "truncated" if payload < expected_bytes else "has trailing bytes"
        raise IDXFormatError(f"{path}: {kind}: header says shape {shape} ({expected_bytes} bytes of data) but the file holds {payload}")
    array = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzipped when the name ends in .gz). Used by the tests."""
    path = Path(path)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}
    native = np.dtype(array.dtype).newbyteorder("=")
    if native not in codes:
        raise ValueError(f"dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, codes[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array).astype(_DTYPES[codes[native]]).tobytes()
    compress = path.suffix == ".gz" if compress is None else compress
    path.write_bytes(gzip.compress(data) if compress else data)
    return path
