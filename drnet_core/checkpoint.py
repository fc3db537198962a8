"""Checkpoints: a ``state_dict`` file, a JSON sidecar with the config, and the file's sha256.

Nothing is pickled: weights load with ``torch.load(..., weights_only=True)``, which
refuses code. Every write is atomic (a temporary file, then ``os.replace``), so a
crash mid-write leaves the previous checkpoint intact. A wrong hash, a missing
sidecar or a config that differs from the expected one raises
:class:`CheckpointError` with what to do.

Layout of a checkpoint ``NAME``: ``NAME.pt`` (tensors) and ``NAME.json``::

    {"format": "drnet-checkpoint/1", "weights": "NAME.pt", "sha256": "…",
     "storage_dtype": "float32" | "float16" | "int8", "config": {...}, ...metadata}

``int8`` storage is weight-only quantization for committed weights: every floating tensor with at least two
dimensions and :data:`INT8_MIN_NUMEL` elements (convolution and linear weights) is stored as int8 with one float16
scale per slice along its first dimension (symmetric, absmax / 127, round to nearest), the rest as float16. It
is a plain dict of tensors, ``{"int8": q, "scale": s}``, so it still loads with ``weights_only=True``; loading
returns ``q · s`` in float32. Half the bytes of float16; what it costs a model is measured before committing
(``python -m drnet_core export --storage int8`` evaluates the model as stored).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from data_utils.files import atomic_write_bytes  # noqa: F401  (re-exported: drnet_core.checkpoint.atomic_write_bytes)

FORMAT = "drnet-checkpoint/1"

class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, or belongs to another configuration."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def paths_for(path: str | Path) -> tuple[Path, Path]:
    """``(weights.pt, sidecar.json)`` for a path given with .pt, .json or no suffix."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".pt", ".json") else path
    # append rather than with_suffix: a stem may hold dots of its own ("norb_beta0.1_cpu")
    return stem.with_name(stem.name + ".pt"), stem.with_name(stem.name + ".json")


STORAGE_DTYPES = ("float32", "float16", "int8")

#: Smallest weight tensor that int8 storage quantizes; smaller ones (and 1-D ones) stay float16.
INT8_MIN_NUMEL = 1024


def _quantize_int8(tensor: torch.Tensor) -> dict[str, torch.Tensor]:
    """Symmetric per-slice int8: q = round(w / s), s = max|w| / 127 over each slice along dim 0."""
    w = tensor.float()
    scale = w.abs().flatten(1).amax(1).clamp_min(1e-12) / 127.0
    scale = scale.half().float().clamp_min(6e-8)  # the stored (float16) scale is the one to divide by
    shape = (-1,) + (1,) * (w.ndim - 1)
    q = torch.round(w / scale.view(shape)).clamp_(-127, 127).to(torch.int8)
    return {"int8": q.contiguous(), "scale": scale.half().view(shape).contiguous()}


def _to_storage(obj: Any, storage: str) -> Any:
    if isinstance(obj, torch.Tensor):
        tensor = obj.detach().cpu()
        if not tensor.is_floating_point() or storage == "float32":
            return tensor.contiguous()
        if storage == "int8" and tensor.ndim >= 2 and tensor.numel() >= INT8_MIN_NUMEL:
            return _quantize_int8(tensor)
        return tensor.half().contiguous()
    if isinstance(obj, dict):
        return {k: _to_storage(v, storage) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_storage(v, storage) for v in obj)
    return obj


def _storage_name(half: bool, storage: str | None) -> str:
    storage = storage or ("float16" if half else "float32")
    if storage not in STORAGE_DTYPES:
        raise ValueError(f"storage must be one of {STORAGE_DTYPES}, got {storage!r}")
    return storage


def as_stored(state: Any, storage: str) -> Any:
    """What loading ``state`` back gives after saving it with ``storage``: evaluate a model as it will be committed."""
    return _to_float32(_to_storage(state, _storage_name(False, storage)))


def save_checkpoint(path: str | Path, state: dict, config: dict, metadata: dict | None = None, half: bool = False, storage: str | None = None) -> Path:
    """Save ``state`` (a state_dict, or a dict of them) with its config; returns the sidecar path.

    ``half=True`` stores floating tensors as float16, ``storage="int8"`` quantizes the weights (module docstring);
    loading returns float32 either way.
    """
    storage = _storage_name(half, storage)
    weights_path, sidecar_path = paths_for(path)
    buffer = io.BytesIO()
    torch.save(_to_storage(state, storage), buffer)
    atomic_write_bytes(weights_path, buffer.getvalue())
    sidecar = {
        "format": FORMAT,
        "weights": weights_path.name,
        "sha256": sha256_of(weights_path),
        "storage_dtype": storage,
        "config": config,
        **(metadata or {}),
    }
    atomic_write_bytes(sidecar_path, (json.dumps(sidecar, indent=2, sort_keys=True, default=str) + "\n").encode())
    return sidecar_path


def read_sidecar(path: str | Path) -> dict:
    """The JSON sidecar of a checkpoint, checked for format."""
    _, sidecar_path = paths_for(path)
    if not sidecar_path.is_file():
        raise CheckpointError(
            f"{sidecar_path}: checkpoint sidecar not found. A checkpoint is NAME.pt plus NAME.json; train one with `python -m drnet_core train`."
        )
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{sidecar_path}: not valid JSON ({err}); the sidecar is corrupt, restore it from git or retrain") from err
    if sidecar.get("format") != FORMAT or "sha256" not in sidecar or "config" not in sidecar:
        raise CheckpointError(f"{sidecar_path}: not a {FORMAT} sidecar (needs format, sha256 and config keys)")
    return sidecar


def config_differences(expected: dict, found: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested config dicts."""
    diffs = []
    for key in sorted(set(expected) | set(found)):
        name = f"{prefix}{key}"
        a, b = expected.get(key, "<missing>"), found.get(key, "<missing>")
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += config_differences(a, b, name + ".")
        elif (list(a) if isinstance(a, tuple) else a) != (list(b) if isinstance(b, tuple) else b):
            diffs.append(f"{name}: expected {a!r}, checkpoint has {b!r}")
    return diffs


def _to_float32(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.float() if obj.dtype == torch.float16 else obj
    if isinstance(obj, dict) and set(obj) == {"int8", "scale"} and isinstance(obj["int8"], torch.Tensor):
        return obj["int8"].float() * obj["scale"].float()
    if isinstance(obj, dict):
        return {k: _to_float32(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_float32(v) for v in obj)
    return obj


def load_checkpoint(path: str | Path, expected_config: dict | None = None, map_location: str | torch.device = "cpu") -> tuple[dict, dict]:
    """Load ``(state, sidecar)`` after checking the sha256 and, if given, the config.

    Raises :class:`CheckpointError` when a file is missing, the hash is wrong, the
    weights do not unpickle safely, or the config differs (naming each differing key).
    """
    weights_path, sidecar_path = paths_for(path)
    sidecar = read_sidecar(sidecar_path)
    weights_path = sidecar_path.parent / sidecar.get("weights", weights_path.name)
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: weights file not found next to {sidecar_path.name}")
    actual = sha256_of(weights_path)
    if actual != sidecar["sha256"]:
        raise CheckpointError(
            f"{weights_path}: sha256 {actual[:12]}… does not match the sidecar's {sidecar['sha256'][:12]}…; "
            "the file is corrupt or was changed. Restore it (git checkout / re-download) or retrain."
        )
    if expected_config is not None:
        diffs = config_differences(expected_config, sidecar["config"])
        if diffs:
            raise CheckpointError(f"{sidecar_path}: checkpoint was made with another config:\n  " + "\n  ".join(diffs))
    try:
        state = torch.load(weights_path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for bad files
        raise CheckpointError(f"{weights_path}: cannot load safely ({type(err).__name__}: {err})") from err
    return _to_float32(state), sidecar
