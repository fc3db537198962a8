"""Where rendered and prepared data is cached, and atomic writes: a reader sees the old file or the new one,
never half of one (a temporary file in the same folder, then ``os.replace``). Used by every writer in the
project, the checkpoints included."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """Where rendered datasets are kept: ``$DRNET_CACHE_DIR``, else ``~/.cache/drnet``."""
    return Path(os.environ.get("DRNET_CACHE_DIR") or Path.home() / ".cache" / "drnet")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (creating its folder), flushed to disk before the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    """``np.save`` atomically."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """``np.savez`` atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
