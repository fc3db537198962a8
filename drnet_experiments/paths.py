"""Where the book keeps what its experiments make: the committed weights and result rows, and the local runs."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The committed weights, their sidecars and the stored result rows of the ``cpu`` profile.
REPO_CHECKPOINTS = REPO_ROOT / "checkpoints"
#: Local training runs (never committed): resumable trainer states, and the ``ci`` profile's weights.
RUNS = REPO_ROOT / "runs"
