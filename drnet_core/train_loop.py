"""The training loop: batches, both steps, a log record every ``log_every`` steps, checkpoints and the time limit.

Every step's data depends only on (seed, step) (:func:`drnet_core.train.step_generator`), so a run that stops at a
checkpoint and resumes trains exactly what an uninterrupted run would (on a CPU; on a GPU ``cudnn.benchmark`` may
choose other kernels after a restart, so a resumed run matches to rounding). A NaN or Inf loss stops the run with
a clear message and keeps the last good checkpoint. Used by :meth:`drnet_core.train.Trainer.fit`.
"""

from __future__ import annotations

import inspect
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import torch
from tqdm.auto import tqdm

from data_utils.pairs import pick_pairs
from drnet_core import step
from drnet_core.distributed import all_finite_over_ranks, mean_over_ranks, rank_rows
from drnet_core.train_state import METRICS_NAME

if TYPE_CHECKING:
    from drnet_core.train import Trainer

LOSS_KEYS = ("rec", "sim", "adv_pose", "disc", "disc_acc")


class ClipSource(Protocol):
    """What the trainer needs from a dataset: seeded batches of clips (B, T, C, H, W) in [0, 1]."""

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor: ...




def step_generator(seed: int, step: int) -> torch.Generator:
    """The RNG of one step: data and offsets depend only on (seed, step), so a resumed run replays exactly."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def draw_batch(
    source: ClipSource, batch_size: int, max_offset: int, generator: torch.Generator, rows: slice | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x^t, x^{t+k}) for a batch, or for its ``rows`` only (one rank's share): uses the source's fast
    ``sample_pairs`` when it has one, and lets a source that can (Moving MNIST) draw only those rows."""
    if hasattr(source, "sample_pairs"):
        if rows is not None and "rows" in inspect.signature(source.sample_pairs).parameters:
            return source.sample_pairs(batch_size, max_offset, generator, rows=rows)
        x_t, x_tk = source.sample_pairs(batch_size, max_offset, generator)
    else:
        x_t, x_tk = pick_pairs(source.sample(batch_size, generator), max_offset, generator)
    return (x_t, x_tk) if rows is None else (x_t[rows], x_tk[rows])


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or Inf; training stopped and the last good checkpoint was kept."""


def fit(trainer: Trainer, steps: int | None = None, time_limit_s: float | None = None) -> list[dict]:
    """Train ``trainer`` until ``steps`` (default: the config's) total steps; returns the logged records.

    ``time_limit_s`` stops earlier, at the first log step (every ``log_every`` steps) after that many seconds of
    this call, with a checkpoint written there. Under torchrun every rank stops at the same step (a rank out of time
    stops them all)."""
    cfg = trainer.cfg
    target = cfg.steps if steps is None else steps
    fit_start = time.perf_counter()
    check_every_step = trainer.device.type == "cpu"  # on a GPU, checking every step would sync
    records: list[dict] = []
    sums = {k: torch.zeros((), device=trainer.device) for k in LOSS_KEYS}
    window_steps, window_start = 0, time.perf_counter()
    bar = tqdm(total=target, initial=trainer.step, disable=not trainer.progress, desc="DRNET", dynamic_ncols=True)
    trainer.model.train()
    try:
        while trainer.step < target:
            trainer._grow_if_due()
            trainer._set_learning_rate()
            generator = step_generator(cfg.seed, trainer.step)
            x_t, x_tk = draw_batch(trainer.source, cfg.batch_size, cfg.max_offset, generator, rank_rows(cfg.batch_size, trainer.dist))
            terms = trainer.train_step(x_t, x_tk)
            trainer.step += 1
            window_steps += 1
            for key in LOSS_KEYS:
                sums[key] += terms[key]
            if check_every_step and not all_finite_over_ranks(terms, trainer.dist):
                check_finite(terms, trainer.step, trainer.out_dir)  # names the term (on the rank that has it) and stops every rank
                raise NonFiniteLossError(f"a loss term became NaN or Inf on another rank at step {trainer.step}; training stopped")
            log_now = trainer.step % cfg.log_every == 0 or trainer.step == target
            ckpt_now = trainer.out_dir is not None and (trainer.step % cfg.checkpoint_every == 0 or trainer.step == target)
            if log_now or ckpt_now:
                out_of_time = time_limit_s is not None and time.perf_counter() - fit_start >= time_limit_s
                reduced = mean_over_ranks({**sums, "_stop": torch.tensor(float(out_of_time), device=trainer.device)}, trainer.dist)
                stop = reduced.pop("_stop").item() > 0
                means = {k: (v / window_steps).item() for k, v in reduced.items()}
                check_finite(means, trainer.step, trainer.out_dir)
                elapsed = time.perf_counter() - window_start
                trainer.wall_time += elapsed
                record = {"step": trainer.step, "wall_time": round(trainer.wall_time, 3), "samples_per_s": round(window_steps * cfg.batch_size / elapsed, 2)}
                record.update({k: round(v, 6) for k, v in means.items()})
                if cfg.log_gradients:  # one extra pass on this step's batch: how hard each term pulls
                    grads = step.term_gradient_norms(trainer.model, trainer._prepare(x_t), trainer._prepare(x_tk), cfg)
                    record.update({k: round(v, 6) for k, v in grads.items()})
                if trainer.evaluate and trainer.dist.is_main and cfg.eval_every and (trainer.step % cfg.eval_every == 0 or trainer.step == target):
                    record.update(run_evaluation(trainer))
                records.append(record)
                write_log(trainer, record)
                bar.set_postfix(rec=f"{means['rec']:.2f}", adv=f"{means['adv_pose']:.3f}", C_acc=f"{means['disc_acc']:.2f}")
                sums = {k: torch.zeros((), device=trainer.device) for k in LOSS_KEYS}
                window_steps, window_start = 0, time.perf_counter()
                if ckpt_now or (stop and trainer.out_dir is not None):
                    trainer.save()
                if stop:
                    break
            bar.update(1)
    finally:
        bar.close()
    return records


def run_evaluation(trainer: Trainer) -> dict:
    """The trainer's ``evaluate`` on its model in eval mode, its keys prefixed ``eval_``."""
    trainer.model.eval()
    try:
        with torch.no_grad():
            result = trainer.evaluate(trainer.model)
    finally:
        trainer.model.train()
    return {f"eval_{k}": v for k, v in result.items()}


def check_finite(terms: dict, at_step: int, out_dir: Path | None) -> None:
    """Stop with :class:`NonFiniteLossError`, naming the term, when any value is NaN or Inf."""
    for name, value in terms.items():
        number = float(value)
        if not math.isfinite(number):
            where = f"; the last good checkpoint is kept in {out_dir}" if out_dir else ""
            raise NonFiniteLossError(
                f"loss term '{name}' is {number} at step {at_step}: training stopped{where}. "
                "Try a lower learning rate, precision='fp32', or check the input data for NaNs."
            )


def write_log(trainer: Trainer, record: dict) -> None:
    """Append one record to ``metrics.jsonl`` (rank 0 only)."""
    if trainer.out_dir is None or not trainer.dist.is_main:
        return
    trainer.out_dir.mkdir(parents=True, exist_ok=True)
    with open(trainer.out_dir / METRICS_NAME, "a") as handle:
        handle.write(json.dumps(record) + "\n")
