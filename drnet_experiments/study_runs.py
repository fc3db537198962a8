"""What every multi-run experiment shares: its stored rows, one run trained within a time limit, and the seeds' spread.

A study (the weighting study of chapters 1-3, the KTH study of chapter 4, the ablations of chapters 2 and 3) trains
many short runs and keeps one *row* of measured figures per run. Three things are the same in all of them:

* :class:`StudyRows`: the rows live in one JSON file, ``{key: {"config", "data_source", "row"}}``, written atomically
  after each run. A stored row is reused only while the run's settings (:func:`~drnet_core.config.comparable_config`)
  and its data are unchanged, so an interrupted study resumes and a changed setting is trained again.
* :func:`train_run`: train one run in its own folder, resuming from its last checkpoint, and stop at a checkpoint
  when the study's time limit (:class:`Deadline`) is reached; the same command continues it.
* :func:`spread`: the mean, sample standard deviation, min and max of one figure over the seeds.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

from drnet_core.checkpoint import atomic_write_bytes
from drnet_core.config import Experiment, comparable_config


class StudyRows:
    """The rows of one study: ``{key: {"config": ..., "data_source": ..., "row": {...}}}`` in a JSON file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: dict = json.loads(self.path.read_text()) if self.path.is_file() else {}

    @staticmethod
    def as_stored(exp: Experiment) -> dict:
        """``exp``'s settings as the file holds them (tuples become lists)."""
        return json.loads(json.dumps(exp.to_dict()))

    def matching(self, key: str, exp: Experiment, data_source: str | None = None) -> dict | None:
        """The record stored under ``key`` when it was measured with ``exp``'s settings on ``data_source`` (settings
        added to the library since count as their defaults); None otherwise, and the run is to be trained again."""
        known = self.records.get(key)
        if not known or known.get("data_source") != data_source:
            return None
        return known if comparable_config(known["config"]) == comparable_config(self.as_stored(exp)) else None

    def put(self, key: str, exp: Experiment, row: dict, data_source: str | None = None) -> None:
        """Store ``row`` under ``key`` and write the file at once (atomically): nothing measured is lost."""
        record = {"config": self.as_stored(exp), "row": row}
        if data_source is not None:
            record["data_source"] = data_source
        self.records[key] = record
        self.write()

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, json.dumps(self.records, indent=1, sort_keys=True).encode())

    def rows(self) -> list[dict]:
        return [record["row"] for record in self.records.values()]


class Deadline:
    """A study's time limit, shared by its runs (None: no limit)."""

    def __init__(self, limit_s: float | None) -> None:
        self.limit_s = limit_s
        self.started = time.perf_counter()

    def left_s(self) -> float | None:
        return None if self.limit_s is None else self.limit_s - (time.perf_counter() - self.started)


def train_run(
    exp: Experiment,
    data,
    out_dir: Path,
    key: str,
    deadline: Deadline,
    data_source: str,
    progress: bool = False,
    schedule=None,
    say: Callable[..., None] = print,
):
    """Train one run of a study in ``out_dir``, resuming from its last checkpoint there; the trained
    :class:`~drnet_core.train.Trainer`, or None when the time limit stops it first (what to do is said)."""
    from drnet_core.train import Trainer

    left = deadline.left_s()
    if left is not None and left <= 0:
        say(f"time limit reached before {key}; run the same command to continue", flush=True)
        return None
    say(f"training {key} ({exp.train.steps} steps, nf {exp.model.nf}, {data_source})", flush=True)
    trainer = Trainer(exp, data, out_dir=out_dir, progress=progress, schedule=schedule)
    trainer.resume_if_possible()
    trainer.fit(time_limit_s=left)
    if trainer.step < exp.train.steps:
        say(f"stopped {key} at step {trainer.step} of {exp.train.steps} (time limit); run the same command to continue", flush=True)
        return None
    return trainer


def spread(values: list[float]) -> dict:
    """``{"mean", "std", "min", "max", "n"}`` of one figure over the seeds; the sample standard deviation is nan for
    a single seed (no spread to show)."""
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else float("nan")
    return {"mean": mean, "std": std, "min": min(values), "max": max(values), "n": len(values)}
