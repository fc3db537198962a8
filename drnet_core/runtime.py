"""Device, precision and the one-line run description that every run prints.

One place decides the device (``"auto"`` = CUDA when present, else CPU) and the
autocast dtype. On a GPU, ``precision="auto"`` is bf16 where supported and fp16 (with a
gradient scaler) elsewhere; on a CPU it is fp32. bf16 on a CPU is an explicit choice:
it is about 2× faster on CPUs with native bf16 (AVX512_BF16, AMX) and slower elsewhere.
"""

from __future__ import annotations

import contextlib
import platform
import warnings
from dataclasses import dataclass

import numpy as np
import torch

_PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA if available, else CPU. Asking for CUDA without a GPU is an error, not a silent fallback."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for but no CUDA GPU is visible; use device='auto' or 'cpu'")
    return dev


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX): there bf16 autocast is fast, elsewhere
    PyTorch falls back to slow convolutions (measured: 4 samples/s instead of 75 on an AVX2-only EPYC)."""
    # oneDNN's own probe (torch.ops.mkldnn._is_mkldnn_bf16_supported) also says yes for AVX512-BW/VL/DQ CPUs,
    # where bf16 is converted, not computed: ask for the instructions themselves
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """The effective precision: fp32, bf16 or fp16."""
    if precision not in _PRECISIONS:
        raise ValueError(f"precision must be one of {_PRECISIONS}, got {precision!r}")
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("fp16 autocast needs a CUDA GPU; on a CPU use precision='bf16' (fast on CPUs with native bf16) or 'fp32'")
    if precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(
            "bf16 on this CPU is emulated (no native bf16 instructions) and many times slower than fp32; "
            "use precision='fp32' here", RuntimeWarning, stacklevel=2,
        )
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context for a resolved precision (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass(frozen=True)
class Hardware:
    device: str
    name: str
    threads: int

    def __str__(self) -> str:
        return f"{self.device} ({self.name}, {self.threads} threads)"


def describe_hardware(device: torch.device | None = None) -> Hardware:
    device = device or resolve_device("auto")
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
        with contextlib.suppress(OSError):
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    return Hardware(device.type, name, torch.get_num_threads())


def versions() -> dict[str, str]:
    from drnet_core import __version__

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__, "drnet_core": __version__}


def peak_rss_gib() -> float:
    """This process's peak resident memory in GiB.

    On Linux it reads ``VmHWM`` from ``/proc/self/status``: ``getrusage``'s ``ru_maxrss`` survives
    ``fork`` + ``exec``, so a child started by a large parent reports the parent's peak instead of its own.
    Elsewhere it falls back to ``ru_maxrss`` (kilobytes on Linux/BSD, bytes on macOS).
    """
    with contextlib.suppress(OSError):
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20  # kB
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**30 if platform.system() == "Darwin" else peak / 2**20
