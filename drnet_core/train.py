"""The DRNET trainer: one C step, then one E_c/E_p/D step, per iteration (paper section 3, eq. 1–5).

Per iteration, on a batch of B clips with per-sample t and k ~ U{0..K}:

1. Pose codes a_i = E_p(x_i^t), b_i = E_p(x_i^{t+k}), computed once and reused by both steps
   (the C step does not change E_p, so the codes are the same ones a separate pass would give).
2. **C step** (E_p frozen: the codes are detached), eq. 3: same-clip pairs (a_i, b_i) labelled 1,
   different-clip pairs (a_i, b_{i-1 mod B}) labelled 0. Rolling the batch by one never pairs a
   row with itself, as ``randperm`` would about once per batch (batches are drawn with replacement,
   so two rows can still show the same clip). Loss β·L_adv(C).
3. **E/D step** (C frozen: no gradient reaches C's weights), eq. 5: L_rec (eq. 1) + α·L_sim (eq. 2) +
   β·L_adv(E_p) (eq. 4). The similarity target E_c(x^{t+k}) is computed without gradient. The
   adversarial gradient reaches E_p through both codes of the pair (the public code detaches the second).

Adam with lr 0.002 for both optimisers. Runs on CPU or CUDA with optional autocast and
channels_last, writes a JSONL metrics log, checkpoints atomically, resumes exactly on a CPU (on a GPU,
``cudnn.benchmark`` may choose other kernels after a restart, so a resumed run matches to rounding), and
stops with a clear message on a NaN/Inf loss, keeping the last good checkpoint.

Taught in book/01_losses.ipynb and book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import torch
from tqdm.auto import tqdm

from data_utils.pairs import pick_pairs
from drnet_core import step
from drnet_core.checkpoint import CheckpointError, atomic_write_bytes, config_differences, load_checkpoint, read_sidecar, save_checkpoint
from drnet_core.config import Experiment, ModelConfig, comparable_config
from drnet_core.distributed import (
    SINGLE,
    DistInfo,
    all_finite_over_ranks,
    average_gradients,
    broadcast_parameters,
    convert_sync_batchnorm,
    mean_over_ranks,
    rank_slice,
)
from drnet_core.model import DRNet
from drnet_core.runtime import autocast, describe_hardware, resolve_device, resolve_precision, versions
from drnet_core.step import GRADIENT_KEYS, roll_within_groups  # noqa: F401  (roll_within_groups: re-exported)
from drnet_core.widen import widen_drnet


class ClipSource(Protocol):
    """What the trainer needs from a dataset: seeded batches of clips (B, T, C, H, W) in [0, 1]."""

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor: ...


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or Inf; training stopped and the last good checkpoint was kept."""


STATE_NAME = "trainer_state"
MODEL_NAME = "model"
METRICS_NAME = "metrics.jsonl"
LOSS_KEYS = ("rec", "sim", "adv_pose", "disc", "disc_acc")


def step_generator(seed: int, step: int) -> torch.Generator:
    """The RNG of one step: data and offsets depend only on (seed, step), so a resumed run replays exactly."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


def draw_batch(source: ClipSource, batch_size: int, max_offset: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(x^t, x^{t+k}) for a batch; uses the source's fast ``sample_pairs`` when it has one."""
    if hasattr(source, "sample_pairs"):
        return source.sample_pairs(batch_size, max_offset, generator)
    return pick_pairs(source.sample(batch_size, generator), max_offset, generator)


class Trainer:
    """Trains a :class:`DRNet` on a :class:`ClipSource` following an :class:`Experiment`.

    Args:
        experiment: model, data and training settings.
        source: the training clips.
        out_dir: where ``model.pt/.json``, ``trainer_state.pt/.json`` and ``metrics.jsonl`` go
            (None: nothing is written).
        evaluate: optional ``f(model) -> dict`` called every ``train.eval_every`` steps; its
            numbers go into the metrics log (e.g. swap accuracy over training time).
        progress: show a tqdm progress bar.
        dist_info: this process's rank and world size when launched by torchrun (see :mod:`drnet_core.distributed`);
            each rank trains on its slice of the global batch, gradients are averaged, rank 0 logs and saves.
    """

    def __init__(
        self,
        experiment: Experiment,
        source: ClipSource,
        out_dir: str | Path | None = None,
        evaluate: Callable[[DRNet], dict] | None = None,
        progress: bool = True,
        dist_info: DistInfo = SINGLE,
    ) -> None:
        cfg = experiment.train
        self.experiment, self.cfg, self.source = experiment, cfg, source
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.evaluate, self.progress = evaluate, progress and dist_info.is_main
        self.dist = dist_info
        if cfg.batch_size % dist_info.world_size:
            raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the number of processes ({dist_info.world_size})")
        # C's different-clip pairs come from within each of this many equal slices of the (local) batch. Under
        # torchrun each rank rolls its own slice (1 group); one process reproduces N ranks with N groups.
        self.negative_groups = 1
        self.device = resolve_device(cfg.device)
        self.precision = resolve_precision(cfg.precision, self.device)
        if cfg.batch_size < 2:
            raise ValueError("batch_size must be >= 2: C's different-clip pairs come from other clips of the batch")
        if cfg.widen_from_nf and not (0 < cfg.widen_from_nf < experiment.model.nf and cfg.widen_at > 0):
            raise ValueError(f"widen_from_nf={cfg.widen_from_nf} must lie below model.nf={experiment.model.nf}, with widen_at > 0 (got {cfg.widen_at})")
        with torch.random.fork_rng(devices=[]):  # seeded initial weights, and the caller's global RNG left as it was
            torch.manual_seed(cfg.seed)
            initial = DRNet(self.model_config_at(0))
        self._build(initial)
        # With β = 0 the paper has no adversary; we still train C (at weight 1) as a probe of how much
        # clip identity the pose carries. Its loss never reaches E_p then.
        self.disc_weight = cfg.beta if cfg.beta > 0 else 1.0
        self.step = 0
        self.wall_time = 0.0
        self.started_from: dict | None = None  # the checkpoint a warm start began from (recorded in every sidecar)
        self.hardware = describe_hardware(self.device)

    # -- one iteration --------------------------------------------------------------------------
    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        fmt = torch.channels_last if self.cfg.channels_last else torch.contiguous_format
        return x.to(self.device, non_blocking=True).contiguous(memory_format=fmt)

    def pose_codes(self, x_t: torch.Tensor, x_tk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h_p^t and h_p^{t+k} with gradient, computed once per iteration and shared by both steps."""
        return step.pose_codes(self.model, x_t, x_tk, self.cfg.beta, self._cast)

    def _cast(self):
        return autocast(self.device, self.precision)

    def discriminator_step(self, pose_t: torch.Tensor, pose_tk: torch.Tensor) -> dict[str, torch.Tensor]:
        """Update C alone on eq. 3, weighted by β (eq. 5). E_p is frozen: C sees detached codes."""
        loss, accuracy = step.discriminator_terms(self.model, pose_t, pose_tk, self.negative_groups, self._cast)
        self.opt_disc.zero_grad(set_to_none=True)
        self.scaler_disc.scale(self.disc_weight * loss).backward()
        average_gradients(self.disc_params, self.dist)
        self.scaler_disc.step(self.opt_disc)
        self.scaler_disc.update()
        return {"disc": loss.detach(), "disc_acc": accuracy}

    def encoder_losses(self, x_t: torch.Tensor, x_tk: torch.Tensor, pose_t: torch.Tensor, pose_tk: torch.Tensor) -> dict[str, torch.Tensor]:
        """The terms of eq. 5 minimised by E_c, E_p and D, with their graphs (C must be frozen by the caller)."""
        return step.encoder_terms(self.model, x_t, x_tk, pose_t, pose_tk, self.cfg, self._cast)

    def encoder_step(self, x_t: torch.Tensor, x_tk: torch.Tensor, pose_t: torch.Tensor, pose_tk: torch.Tensor) -> dict[str, torch.Tensor]:
        """Update E_c, E_p and D on eq. 5 with C frozen (no gradient reaches C)."""
        m = self.model
        m.discriminator.requires_grad_(False)
        try:
            terms = self.encoder_losses(x_t, x_tk, pose_t, pose_tk)
            self.opt_main.zero_grad(set_to_none=True)
            self.scaler_main.scale(terms["total"]).backward()
            average_gradients(self.main_params, self.dist)
            self.scaler_main.step(self.opt_main)
            self.scaler_main.update()
        finally:
            m.discriminator.requires_grad_(True)
        return {k: v.detach() for k, v in terms.items() if k != "total"}

    def train_step(self, x_t: torch.Tensor, x_tk: torch.Tensor) -> dict[str, torch.Tensor]:
        """One iteration: the C step, then the E_c/E_p/D step, on the same batch. Returns detached terms."""
        x_t, x_tk = self._prepare(x_t), self._prepare(x_tk)
        pose_t, pose_tk = self.pose_codes(x_t, x_tk)
        terms = self.discriminator_step(pose_t, pose_tk)
        terms.update(self.encoder_step(x_t, x_tk, pose_t, pose_tk))
        return terms

    # -- the loop -------------------------------------------------------------------------------
    def fit(self, steps: int | None = None, time_limit_s: float | None = None) -> list[dict]:
        """Train until ``steps`` (default: the config's) total steps; returns the logged records.

        ``time_limit_s`` stops earlier, at the first log step (every ``log_every`` steps) after that many seconds of
        this call, with a checkpoint written there: a laptop trains in sessions, and the same call resumes. Under
        torchrun every rank stops at the same step (a rank out of time stops them all)."""
        cfg = self.cfg
        target = cfg.steps if steps is None else steps
        fit_start = time.perf_counter()
        check_every_step = self.device.type == "cpu"  # on a GPU, checking every step would sync
        records: list[dict] = []
        sums = {k: torch.zeros((), device=self.device) for k in LOSS_KEYS}
        window_steps, window_start = 0, time.perf_counter()
        bar = tqdm(total=target, initial=self.step, disable=not self.progress, desc="DRNET", dynamic_ncols=True)
        self.model.train()
        try:
            while self.step < target:
                self._widen_if_due()
                self._set_learning_rate()
                x_t, x_tk = draw_batch(self.source, cfg.batch_size, cfg.max_offset, step_generator(cfg.seed, self.step))
                x_t, x_tk = rank_slice(x_t, self.dist), rank_slice(x_tk, self.dist)
                terms = self.train_step(x_t, x_tk)
                self.step += 1
                window_steps += 1
                for key in LOSS_KEYS:
                    sums[key] += terms[key]
                if check_every_step and not all_finite_over_ranks(terms, self.dist):
                    self._check_finite(terms)  # names the term (on the rank that has it) and stops every rank
                    raise NonFiniteLossError(f"a loss term became NaN or Inf on another rank at step {self.step}; training stopped")
                log_now = self.step % cfg.log_every == 0 or self.step == target
                ckpt_now = self.out_dir is not None and (self.step % cfg.checkpoint_every == 0 or self.step == target)
                if log_now or ckpt_now:
                    out_of_time = time_limit_s is not None and time.perf_counter() - fit_start >= time_limit_s
                    reduced = mean_over_ranks({**sums, "_stop": torch.tensor(float(out_of_time), device=self.device)}, self.dist)
                    stop = reduced.pop("_stop").item() > 0
                    means = {k: (v / window_steps).item() for k, v in reduced.items()}
                    self._check_finite(means)
                    elapsed = time.perf_counter() - window_start
                    self.wall_time += elapsed
                    record = {"step": self.step, "wall_time": round(self.wall_time, 3), "samples_per_s": round(window_steps * cfg.batch_size / elapsed, 2)}
                    record.update({k: round(v, 6) for k, v in means.items()})
                    if cfg.log_gradients:  # one extra pass on this step's batch: how hard each term pulls
                        grads = step.term_gradient_norms(self.model, self._prepare(x_t), self._prepare(x_tk), cfg)
                        record.update({k: round(v, 6) for k, v in grads.items()})
                    if self.evaluate and self.dist.is_main and cfg.eval_every and (self.step % cfg.eval_every == 0 or self.step == target):
                        record.update(self._run_evaluation())
                    records.append(record)
                    self._log(record)
                    bar.set_postfix(rec=f"{means['rec']:.2f}", adv=f"{means['adv_pose']:.3f}", C_acc=f"{means['disc_acc']:.2f}")
                    sums = {k: torch.zeros((), device=self.device) for k in LOSS_KEYS}
                    window_steps, window_start = 0, time.perf_counter()
                    if ckpt_now or (stop and self.out_dir is not None):
                        self.save()
                    if stop:
                        break
                bar.update(1)
        finally:
            bar.close()
        return records

    def learning_rate(self, step: int | None = None) -> float:
        """The learning rate at ``step`` (default: the current one): ``lr``, times ``lr_drop_factor`` once for each
        of ``lr_drop_at`` and ``lr_drop2_at`` that the step has reached (0 turns a drop off)."""
        step = self.step if step is None else step
        cfg = self.cfg
        drops = sum(1 for at in (cfg.lr_drop_at, cfg.lr_drop2_at) if at and step >= at)
        return cfg.lr * cfg.lr_drop_factor**drops

    def _set_learning_rate(self) -> None:
        lr = self.learning_rate()
        for optimiser in (self.opt_main, self.opt_disc):
            for group in optimiser.param_groups:
                group["lr"] = lr

    def _run_evaluation(self) -> dict:
        self.model.eval()
        try:
            with torch.no_grad():
                result = self.evaluate(self.model)
        finally:
            self.model.train()
        return {f"eval_{k}": v for k, v in result.items()}

    def _check_finite(self, terms: dict) -> None:
        for name, value in terms.items():
            number = float(value)
            if not math.isfinite(number):
                where = f"; the last good checkpoint is kept in {self.out_dir}" if self.out_dir else ""
                raise NonFiniteLossError(
                    f"loss term '{name}' is {number} at step {self.step}: training stopped{where}. "
                    "Try a lower learning rate, precision='fp32', or check the input data for NaNs."
                )

    def _log(self, record: dict) -> None:
        if self.out_dir is None or not self.dist.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / METRICS_NAME, "a") as handle:
            handle.write(json.dumps(record) + "\n")

    # -- checkpoints ----------------------------------------------------------------------------
    def model_config_at(self, step: int) -> ModelConfig:
        """The network that trains the next step once ``step`` steps are done: ``model``, or its narrower start
        while ``step < widen_at``. The weights saved after ``step`` steps are therefore ``model_config_at(step - 1)``'s."""
        cfg, model = self.cfg, self.experiment.model
        return dataclasses.replace(model, nf=cfg.widen_from_nf) if cfg.widen_from_nf and step < cfg.widen_at else model

    def _build(self, model: DRNet) -> None:
        """Place ``model`` on the device (memory format, SyncBatchNorm, compile) and give it fresh optimisers."""
        cfg, dist_info = self.cfg, self.dist
        if cfg.sync_bn and dist_info.active:
            convert_sync_batchnorm(model)
        model = model.to(self.device)
        broadcast_parameters(model, dist_info)
        if cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels once
        if cfg.compile:  # compile the networks in place; parameters and state_dict keys are unchanged
            for net in model.children():
                net.compile()
        self.model = m = model
        # E_c, E_p and D (or the AE baseline's single encoder and D), in registration order
        main_params = [p for name, p in m.named_parameters() if not name.startswith("discriminator.")]
        self.main_params, self.disc_params = main_params, list(m.discriminator.parameters())
        self.opt_main = torch.optim.Adam(main_params, lr=cfg.lr, betas=cfg.betas)
        self.opt_disc = torch.optim.Adam(m.discriminator.parameters(), lr=cfg.lr, betas=cfg.betas)
        use_scaler = self.precision == "fp16"
        self.scaler_main = torch.amp.GradScaler("cuda", enabled=use_scaler)
        self.scaler_disc = torch.amp.GradScaler("cuda", enabled=use_scaler)

    def _widen_if_due(self) -> None:
        """At ``widen_at``, grow the network to ``model.nf`` without changing its function (fresh optimisers)."""
        wanted = self.model_config_at(self.step)
        if wanted.nf != self.model.config.nf:
            training = self.model.training
            self._build(widen_drnet(self.model, wanted.nf, seed=self.cfg.seed))
            self.model.train(training)

    def metadata(self) -> dict:
        return {
            "step": self.step,
            "wall_time_s": round(self.wall_time, 1),
            "hardware": str(self.hardware),
            "precision": self.precision,
            "versions": versions(),
            **({"started_from": self.started_from} if self.started_from else {}),
            **({"peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated(self.device) / 2**30, 2)} if self.device.type == "cuda" else {}),
        }

    def save(self) -> None:
        """Write the model checkpoint and the full trainer state (optimisers included), atomically."""
        if self.out_dir is None:
            raise ValueError("this trainer has no out_dir")
        if not self.dist.is_main:
            return
        config = self.experiment.to_dict()
        state = {
            "model": self.model.state_dict(),
            "opt_main": self.opt_main.state_dict(),
            "opt_disc": self.opt_disc.state_dict(),
            "scaler_main": self.scaler_main.state_dict(),
            "scaler_disc": self.scaler_disc.state_dict(),
        }
        save_checkpoint(self.out_dir / STATE_NAME, state, config, self.metadata())
        # before widen_at the network is narrower than the experiment's: its own config lets DRNet.load rebuild it
        model_config = {**config, "model": dataclasses.asdict(self.model.config)}
        save_checkpoint(self.out_dir / MODEL_NAME, self.model.state_dict(), model_config, self.metadata())

    def load_state(self, path: str | Path) -> None:
        """Continue from a trainer state written by :meth:`save`; refuses one from another config.

        Settings that do not change the learning (steps, logging and checkpoint intervals, device)
        may differ, so a run can be extended or moved to another machine.
        """
        sidecar = read_sidecar(path)
        diffs = config_differences(_resume_relevant(self.experiment.to_dict()), _resume_relevant(sidecar["config"]))
        if diffs:
            raise CheckpointError(f"cannot resume from {path}: it was trained with another config:\n  " + "\n  ".join(diffs))
        state, sidecar = load_checkpoint(path, map_location=self.device)
        network = self.model_config_at(max(int(sidecar["step"]) - 1, 0))  # the network that trained its last step
        if network != self.model.config:  # a state saved after the widening
            self._build(DRNet(network))
        self.model.load_state_dict(state["model"])
        self.opt_main.load_state_dict(state["opt_main"])
        self.opt_disc.load_state_dict(state["opt_disc"])
        self.scaler_main.load_state_dict(state["scaler_main"])
        self.scaler_disc.load_state_dict(state["scaler_disc"])
        self.step = int(sidecar["step"])
        self.wall_time = float(sidecar.get("wall_time_s", 0.0))
        self.started_from = sidecar.get("started_from")

    def warm_start(self, path: str | Path) -> str:
        """Start from a model checkpoint's weights and step count, with fresh optimisers; returns what it did.

        Not an exact resume (Adam's moments are lost): use it to continue from committed fp16 weights
        when the full trainer state is not at hand. The model config must match, except that a DCGAN model
        may start from a narrower one (smaller ``nf``): it is widened function-preservingly first
        (:func:`drnet_core.widen.widen_drnet`, Net2WiderNet).
        """
        sidecar = read_sidecar(path)
        target = self.model_config_at(int(sidecar.get("step", 0)))
        wanted, found = dataclasses.asdict(target), dict(sidecar["config"].get("model", {}))
        narrower = isinstance(found.get("nf"), int) and found["nf"] < wanted["nf"]
        diffs = config_differences({"model": wanted}, {"model": {**found, "nf": wanted["nf"]} if narrower else found})
        if diffs:
            raise CheckpointError(f"cannot start from {path}: another model config:\n  " + "\n  ".join(diffs))
        if narrower:
            state = widen_drnet(DRNet.load(path), wanted["nf"], seed=self.cfg.seed).state_dict()
        else:
            state, _ = load_checkpoint(path, map_location=self.device)
            state = state.get("model", state)
        if target.nf != self.model.config.nf:  # a checkpoint from after widen_at
            self._build(DRNet(target))
        self.model.load_state_dict(state)
        self.step = int(sidecar.get("step", 0))
        self.wall_time = float(sidecar.get("wall_time_s", 0.0))
        self.started_from = {"checkpoint": str(path), "sha256": sidecar["sha256"], "step": self.step, "nf": found.get("nf"), "widened": narrower}
        if sidecar.get("started_from"):
            self.started_from["which_started_from"] = sidecar["started_from"]
        widened = f", widened from nf {found['nf']} to {wanted['nf']} (Net2WiderNet)" if narrower else ""
        return f"started from the weights of {path} at step {self.step} (fresh optimisers{widened})"

    def resume_if_possible(self) -> bool:
        """Load ``out_dir/trainer_state`` if it exists; returns whether it did."""
        if self.out_dir is None or not (self.out_dir / f"{STATE_NAME}.json").is_file():
            return False
        self.load_state(self.out_dir / STATE_NAME)
        if self.dist.is_main:
            self._drop_log_records_after(self.step)
        return True

    def _drop_log_records_after(self, step: int) -> None:
        """Cut the metrics log back to the checkpoint: the steps after it are trained (and logged) again.

        Without this a run stopped between two checkpoints logs those steps twice, and a line cut short by
        the stop would break every reader of the log. Rewritten atomically.
        """
        log = self.out_dir / METRICS_NAME
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


# The learning-rate drop may be set or moved when a run is extended: it acts on the steps still to come.
_FREE_TRAIN_KEYS = (
    "steps", "log_every", "log_gradients", "checkpoint_every", "eval_every", "eval_swaps", "device", "compile",
    "lr_drop_at", "lr_drop_factor", "lr_drop2_at",
)


def _resume_relevant(config: dict) -> dict:
    """The parts of an experiment config that must match for a resume to continue the same run."""
    return comparable_config(config, _FREE_TRAIN_KEYS)
