"""A trainer's state on disk: save, resume exactly, or warm-start from a model's weights.

A run folder holds ``model.pt/.json`` (the weights, loadable with :meth:`DRNet.load`), ``trainer_state.pt/.json`` (the
weights plus both optimisers and scalers) and ``metrics.jsonl``. Every file is written atomically, so a run stopped
at any moment keeps its last checkpoint; :func:`resume_if_possible` continues it where it stopped.

Used by :class:`drnet_core.train.Trainer` (its ``save``, ``load_state``, ``warm_start`` and ``resume_if_possible``).
Taught in book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from drnet_core.checkpoint import CheckpointError, atomic_write_bytes, config_differences, load_checkpoint, read_sidecar, save_checkpoint
from drnet_core.config import comparable_config
from drnet_core.model import DRNet
from drnet_core.runtime import versions

if TYPE_CHECKING:
    from drnet_core.train import Trainer

STATE_NAME = "trainer_state"
MODEL_NAME = "model"
METRICS_NAME = "metrics.jsonl"

# Settings that may change when a run is extended or moved: they do not change the steps already trained.
# The learning-rate milestones may be set or moved too: they act on the steps still to come.
FREE_TRAIN_KEYS = (
    "steps", "log_every", "log_gradients", "checkpoint_every", "eval_every", "eval_swaps", "device", "compile",
    "lr_milestones", "lr_drop_factor",
)


def resume_relevant(config: dict) -> dict:
    """The parts of an experiment config that must match for a resume to continue the same run."""
    return comparable_config(config, FREE_TRAIN_KEYS)


def run_metadata(trainer: Trainer) -> dict:
    """Step, wall time, hardware, precision, versions (and the warm start's origin) for a checkpoint's sidecar."""
    device = trainer.device
    return {
        "step": trainer.step,
        "wall_time_s": round(trainer.wall_time, 1),
        "hardware": str(trainer.hardware),
        "precision": trainer.precision,
        "versions": versions(),
        **({"started_from": trainer.started_from} if trainer.started_from else {}),
        **({"peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 2)} if device.type == "cuda" else {}),
    }


def save(trainer: Trainer) -> None:
    """Write the model checkpoint and the full trainer state (optimisers included), atomically (rank 0 only)."""
    if trainer.out_dir is None:
        raise ValueError("this trainer has no out_dir")
    if not trainer.dist.is_main:
        return
    config = trainer.experiment.to_dict()
    state = {
        "model": trainer.model.state_dict(),
        "opt_main": trainer.opt_main.state_dict(),
        "opt_disc": trainer.opt_disc.state_dict(),
        "scaler_main": trainer.scaler_main.state_dict(),
        "scaler_disc": trainer.scaler_disc.state_dict(),
    }
    metadata = run_metadata(trainer)
    save_checkpoint(trainer.out_dir / STATE_NAME, state, config, metadata)
    # a scheduled network may be narrower than the experiment's: its own config lets DRNet.load rebuild it
    model_config = {**config, "model": dataclasses.asdict(trainer.model.config)}
    save_checkpoint(trainer.out_dir / MODEL_NAME, trainer.model.state_dict(), model_config, metadata)


def load_state(trainer: Trainer, path: str | Path) -> None:
    """Continue from a trainer state written by :func:`save`; refuses one from another config.

    Settings that do not change the learning (steps, logging and checkpoint intervals, device, the learning-rate
    milestones still to come) may differ, so a run can be extended or moved to another machine.
    """
    sidecar = read_sidecar(path)
    diffs = config_differences(resume_relevant(trainer.experiment.to_dict()), resume_relevant(sidecar["config"]))
    if diffs:
        raise CheckpointError(f"cannot resume from {path}: it was trained with another config:\n  " + "\n  ".join(diffs))
    state, sidecar = load_checkpoint(path, map_location=trainer.device)
    network = trainer.model_config_at(max(int(sidecar["step"]) - 1, 0))  # the network that trained its last step
    if network != trainer.model.config:  # a state saved after the schedule changed the network
        trainer._build(DRNet(network))
    trainer.model.load_state_dict(state["model"])
    for name in ("opt_main", "opt_disc", "scaler_main", "scaler_disc"):
        getattr(trainer, name).load_state_dict(state[name])
    trainer.step = int(sidecar["step"])
    trainer.wall_time = float(sidecar.get("wall_time_s", 0.0))
    trainer.started_from = sidecar.get("started_from")


def warm_start(trainer: Trainer, path: str | Path) -> str:
    """Start from a model checkpoint's weights and step count, with fresh optimisers; returns what it did.

    Not an exact resume (Adam's moments are lost): use it to continue from committed fp16 weights when the full
    trainer state is not at hand. The model config must match, except that a narrower DCGAN model (smaller ``nf``)
    is grown first by the trainer's schedule (:class:`drnet_experiments.widen.Widening` widens it, Net2WiderNet).
    """
    sidecar = read_sidecar(path)
    target = trainer.model_config_at(int(sidecar.get("step", 0)))
    wanted, found = dataclasses.asdict(target), dict(sidecar["config"].get("model", {}))
    narrower = isinstance(found.get("nf"), int) and found["nf"] < wanted["nf"]
    diffs = config_differences({"model": wanted}, {"model": {**found, "nf": wanted["nf"]} if narrower else found})
    if diffs:
        raise CheckpointError(f"cannot start from {path}: another model config:\n  " + "\n  ".join(diffs))
    if narrower:
        state = trainer.schedule.grow(DRNet.load(path), target).state_dict()
    else:
        state, _ = load_checkpoint(path, map_location=trainer.device)
        state = state.get("model", state)
    if target != trainer.model.config:  # a checkpoint from after the schedule changed the network
        trainer._build(DRNet(target))
    trainer.model.load_state_dict(state)
    trainer.step = int(sidecar.get("step", 0))
    trainer.wall_time = float(sidecar.get("wall_time_s", 0.0))
    trainer.started_from = {"checkpoint": str(path), "sha256": sidecar["sha256"], "step": trainer.step, "nf": found.get("nf"), "widened": narrower}
    if sidecar.get("started_from"):
        trainer.started_from["which_started_from"] = sidecar["started_from"]
    widened = f", widened from nf {found['nf']} to {wanted['nf']} (Net2WiderNet)" if narrower else ""
    return f"started from the weights of {path} at step {trainer.step} (fresh optimisers{widened})"


def resume_if_possible(trainer: Trainer) -> bool:
    """Load ``out_dir/trainer_state`` if it exists, and cut the metrics log back to it; returns whether it did."""
    if trainer.out_dir is None or not (trainer.out_dir / f"{STATE_NAME}.json").is_file():
        return False
    load_state(trainer, trainer.out_dir / STATE_NAME)
    if trainer.dist.is_main:
        drop_log_records_after(trainer.out_dir / METRICS_NAME, trainer.step)
    return True


def drop_log_records_after(log: Path, step: int) -> None:
    """Cut the metrics log back to the checkpoint: the steps after it are trained (and logged) again.

    Without this a run stopped between two checkpoints logs those steps twice, and a line cut short by
    the stop would break every reader of the log. Rewritten atomically.
    """
    if not log.is_file():
        return
    kept = []
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short when the run was stopped
        if isinstance(record, dict) and record.get("step", 0) <= step:
            kept.append(line)
    atomic_write_bytes(log, "".join(f"{line}\n" for line in kept).encode())
