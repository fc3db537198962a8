"""Figures measured on committed weights, kept next to them and read back instead of being measured again.

A chapter that probes a committed model (a classifier on its codes, say) would spend minutes re-measuring what a
CLI command already measured on the very same weights. The command stores each figure under a *key*: the
weights' sha256 plus everything else the figure depends on (data source, probe settings). A reader gets the
stored figure only when the whole key matches, and measures afresh otherwise. Weights that were not loaded from a
file have no sha256, and their figures are never stored or read.

Used by the NORB probe of chapter 3 and the few-shot action accuracy of chapter 4.
"""

from __future__ import annotations

import json
from pathlib import Path

from drnet_core.checkpoint import atomic_write_bytes


def weights_sha256(*weights: object) -> str | None:
    """The sha256 of one or several loaded networks (``checkpoint_info["sha256"]``), joined with "+"; None as soon
    as one of them was not loaded from a file, so that its figures are never stored or read."""
    shas = [getattr(w, "checkpoint_info", {}).get("sha256") for w in weights]
    return None if None in shas else "+".join(shas)


class ResultStore:
    """A JSON file of ``{name: {"key": {...}, "scores": {...}}}``, written atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def get(self, name: str, key: dict) -> dict | None:
        """The scores stored for ``name`` under exactly ``key``; None if absent, or if ``key`` has no sha256."""
        if key.get("sha256") is None:
            return None
        known = self._read().get(name)
        return known["scores"] if known and known["key"] == key else None

    def put(self, name: str, key: dict, scores: dict) -> None:
        """Keep ``scores`` (JSON-ready) under ``key``; a key without a sha256 is not stored."""
        if key.get("sha256") is None:
            return
        stored = self._read()
        stored[name] = {"key": key, "scores": scores}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, (json.dumps(dict(sorted(stored.items())), indent=1) + "\n").encode())
