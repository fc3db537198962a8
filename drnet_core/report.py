"""Provenance: the line every run and every chapter prints (profile, device, versions, source hash)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import torch

from drnet_core.config import current_profile
from drnet_core.runtime import describe_hardware, resolve_device, versions

_PACKAGES = ("drnet_core", "drnet_experiments", "data_utils")


def source_hash() -> str:
    """A short sha256 over the library's .py files, so a printed number can be traced to the code that made it."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in _PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def run_info(profile: str | None = None, device: str | torch.device = "auto") -> str:
    """One line: profile, device (with CPU/GPU name and threads), and the versions of everything that matters."""
    v = versions()
    hw = describe_hardware(resolve_device(device))
    return (
        f"profile={profile or current_profile()} | device={hw} | python {v['python']} | torch {v['torch']} | "
        f"numpy {v['numpy']} | drnet_core {v['drnet_core']} (source {source_hash()})"
    )


_first_printed: float | None = None  # when this process (one chapter's kernel) first printed its provenance line


def print_run_info(profile: str | None = None) -> None:
    """Print the provenance line. Called again later in the same process (a chapter's last cell), it also prints
    how long the chapter took to execute since the first call: every chapter shows its own execution time."""
    global _first_printed
    where, _, versions_part = run_info(profile).partition(" | python ")
    print(where, "python " + versions_part, sep="\n", flush=True)  # two lines that fit the page
    now = time.perf_counter()
    if _first_printed is None:
        _first_printed = now
    else:
        minutes, seconds = divmod(round(now - _first_printed), 60)
        print(f"this chapter executed in {minutes} min {seconds:02d} s (first cell to last)", flush=True)


def run_banner(profile: str, device: torch.device) -> str:
    """The first line every command prints: profile, device and versions."""
    v = versions()
    return f"DRNET profile={profile} device={describe_hardware(device)} torch={v['torch']} drnet_core={v['drnet_core']}"
