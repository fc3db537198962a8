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
stops with a clear message on a NaN/Inf loss, keeping the last good checkpoint. The iteration's math is in
:mod:`drnet_core.step`; the loop, its log and the time limit in :mod:`drnet_core.train_loop`; saving, resuming and
warm starts in :mod:`drnet_core.train_state`.

Taught in book/01_losses.ipynb and book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import torch

from drnet_core import step, train_loop, train_state
from drnet_core.config import Experiment, ModelConfig
from drnet_core.distributed import (
    SINGLE,
    DistInfo,
    average_gradients,
    broadcast_parameters,
    convert_sync_batchnorm,
)
from drnet_core.model import DRNet
from drnet_core.runtime import autocast, describe_hardware, resolve_device, resolve_precision
from drnet_core.step import GRADIENT_KEYS, roll_within_groups  # noqa: F401  (roll_within_groups: re-exported)
from drnet_core.train_loop import LOSS_KEYS, ClipSource, NonFiniteLossError, draw_batch, step_generator  # noqa: F401  (re-exported)
from drnet_core.train_state import METRICS_NAME, MODEL_NAME, STATE_NAME  # noqa: F401  (re-exported)


class NetworkSchedule(Protocol):
    """A trainer hook: which network trains each step, and how one network grows into the next.

    The core trains one network throughout (:class:`FixedNetwork`). The book's CPU budget starts narrow and widens
    function-preservingly part-way (:class:`drnet_experiments.widen.Widening`), through this hook.
    """

    def config_at(self, step: int) -> ModelConfig: ...

    def grow(self, model: DRNet, config: ModelConfig) -> DRNet: ...


class FixedNetwork:
    """The paper's schedule: the experiment's network, from the first step to the last."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def config_at(self, step: int) -> ModelConfig:
        return self.config

    def grow(self, model: DRNet, config: ModelConfig) -> DRNet:
        raise ValueError(
            f"cannot turn a network of nf {model.config.nf} into nf {config.nf}: this trainer trains one network; "
            "pass schedule=drnet_experiments.widen.Widening(experiment) to start from a narrower one"
        )


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
        schedule: which network trains each step (default: the experiment's, throughout; see :class:`NetworkSchedule`).

    Saving, resuming and warm starts are in :mod:`drnet_core.train_state`.
    """

    def __init__(
        self,
        experiment: Experiment,
        source: ClipSource,
        out_dir: str | Path | None = None,
        evaluate: Callable[[DRNet], dict] | None = None,
        progress: bool = True,
        dist_info: DistInfo = SINGLE,
        schedule: NetworkSchedule | None = None,
    ) -> None:
        cfg = experiment.train
        if schedule is None and cfg.widen_from_nf:
            raise ValueError(
                f"train.widen_from_nf={cfg.widen_from_nf} asks for the book's widening, which the core trainer takes as a hook: "
                "pass schedule=drnet_experiments.widen.Widening(experiment), or set train.widen_from_nf=0"
            )
        self.schedule = schedule or FixedNetwork(experiment.model)
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
        with torch.random.fork_rng(devices=[]):  # seeded initial weights, and the caller's global RNG left as it was
            torch.manual_seed(cfg.seed)
            initial = DRNet(self.schedule.config_at(0))
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

    # -- the loop: drnet_core.train_loop ---------------------------------------------------------
    def fit(self, steps: int | None = None, time_limit_s: float | None = None) -> list[dict]:
        """Train until ``steps`` (default: the config's) total steps; returns the logged records.

        ``time_limit_s`` stops earlier, at the first log step after that many seconds of this call, with a checkpoint
        written there: a laptop trains in sessions, and the same call resumes (:func:`drnet_core.train_loop.fit`)."""
        return train_loop.fit(self, steps, time_limit_s)

    def learning_rate(self, step: int | None = None) -> float:
        """The learning rate at ``step`` (default: the current one): ``lr``, times ``lr_drop_factor`` once for each
        of ``lr_milestones`` that the step has reached."""
        step = self.step if step is None else step
        cfg = self.cfg
        return cfg.lr * cfg.lr_drop_factor ** sum(1 for at in cfg.lr_milestones if step >= at)

    def _set_learning_rate(self) -> None:
        lr = self.learning_rate()
        for optimiser in (self.opt_main, self.opt_disc):
            for group in optimiser.param_groups:
                group["lr"] = lr

    # -- the network ---------------------------------------------------------------------------
    def model_config_at(self, step: int) -> ModelConfig:
        """The network that trains the next step once ``step`` steps are done (the schedule's). The weights saved
        after ``step`` steps are therefore ``model_config_at(step - 1)``'s."""
        return self.schedule.config_at(step)

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

    def _grow_if_due(self) -> None:
        """When the schedule names another network for this step, grow into it (fresh optimisers)."""
        wanted = self.model_config_at(self.step)
        if wanted != self.model.config:
            training = self.model.training
            self._build(self.schedule.grow(self.model, wanted))
            self.model.train(training)

    # -- state: drnet_core.train_state -------------------------------------------------------------
    def metadata(self) -> dict:
        """What every checkpoint's sidecar records about the run (step, time, hardware, versions)."""
        return train_state.run_metadata(self)

    def save(self) -> None:
        """Write the model checkpoint and the full trainer state (optimisers included), atomically."""
        train_state.save(self)

    def load_state(self, path: str | Path) -> None:
        """Continue from a trainer state written by :meth:`save`; refuses one from another config."""
        train_state.load_state(self, path)

    def warm_start(self, path: str | Path) -> str:
        """Start from a model checkpoint's weights and step count, with fresh optimisers; returns what it did."""
        return train_state.warm_start(self, path)

    def resume_if_possible(self) -> bool:
        """Load ``out_dir/trainer_state`` if it exists; returns whether it did."""
        return train_state.resume_if_possible(self)
