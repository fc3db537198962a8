"""Forward prediction with an LSTM on pose vectors (paper section 3.1, eq. 6–7).

    h̃_p^{t+1} = LSTM(E_p(x^t), h_c^t)        x̃^{t+1} = D(h̃_p^{t+1}, h_c^t)        (eq. 6)
    h̃_p^{t+2} = LSTM(h̃_p^{t+1}, h_c^t)       x̃^{t+2} = D(h̃_p^{t+2}, h_c^t)        (eq. 7)

The content h_c (and, for a U-Net model, the skips) stays fixed from the **last observed** frame;
only the pose is predicted. The LSTM (2 layers of 256 cells, section 4.1) is trained separately
with an L2 loss on the next pose, the DRNet frozen in ``eval()`` mode (the public code leaves its
BatchNorm in train mode, so batch statistics would change the codes). During training the true poses are fed in (teacher forcing);
in generation the predictions are fed back once the observed frames run out.

Public API::

    predictor = Predictor.load("checkpoints/mnist_lstm_cpu.pt")   # embeds its DRNet, or names its checkpoint and sha256
    future = predictor.rollout(frames, n_future)   # (B, T_obs, 3, 64, 64) → (B, n_future, 3, 64, 64)

Taught in book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from drnet_core.checkpoint import CheckpointError, load_checkpoint, read_sidecar, save_checkpoint
from drnet_core.config import ModelConfig
from drnet_core.model import DRNet


@dataclass(frozen=True)
class PredictorConfig:
    hidden: int = 256
    layers: int = 2
    n_observed: int = 5  # MNIST: observe 5, predict 10 (section 4.1); KTH: 10 and 10
    n_predicted: int = 10


class PoseLSTM(nn.Module):
    """cat[h_p, h_c] → Linear → LSTM (``layers`` × ``hidden``) → Linear → the next pose, normalised like the encoder's codes."""

    def __init__(self, pose_dim: int, content_dim: int, hidden: int = 256, layers: int = 2, code_norm: str = "l2") -> None:
        super().__init__()
        self.code_norm = code_norm
        self.embed = nn.Linear(pose_dim + content_dim, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, pose_dim)

    def forward(self, poses: torch.Tensor, content: torch.Tensor, state: tuple | None = None) -> tuple[torch.Tensor, tuple]:
        """``poses`` (B, T, p), ``content`` (B, c) → predicted next poses (B, T, p) and the LSTM state."""
        if poses.ndim != 3 or content.ndim != 2 or poses.shape[0] != content.shape[0]:
            raise ValueError(f"PoseLSTM expects poses (B, T, p) and content (B, c), got {tuple(poses.shape)} and {tuple(content.shape)}")
        x = torch.cat([poses, content[:, None].expand(-1, poses.shape[1], -1)], dim=2)
        y, state = self.lstm(self.embed(x), state)
        pred = self.out(y)
        pred = F.normalize(pred, dim=2) if self.code_norm == "l2" else torch.tanh(pred)
        return pred, state


def next_pose_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L2 loss on the next pose: squared error summed over pose dimensions and time steps, averaged over the batch."""
    if predicted.shape != target.shape:
        raise ValueError(f"next_pose_loss: predicted {tuple(predicted.shape)} vs target {tuple(target.shape)} (shapes must match)")
    return (predicted - target).pow(2).flatten(1).sum(1).mean()


def free_running_loss(lstm: PoseLSTM, poses: torch.Tensor, content: torch.Tensor, n_observed: int) -> torch.Tensor:
    """The loss of a rollout as generation runs it (eq. 6–7): true poses while frames are observed, then the LSTM's
    own predictions fed back, each predicted pose scored against the true one (:func:`next_pose_loss`).

    Teacher forcing alone (:meth:`Predictor.teacher_forced_loss`) never shows the LSTM its own errors, so a small
    error at one step becomes a drift at the next; training on its own predictions teaches it to correct them.
    ``poses`` (B, T, p) holds the observed and the future poses; the loss covers steps 2 … T.
    """
    if not 1 <= n_observed < poses.shape[1]:
        raise ValueError(f"n_observed must lie in [1, {poses.shape[1] - 1}] for clips of {poses.shape[1]} poses, got {n_observed}")
    observed, state = lstm(poses[:, :n_observed], content)
    pose, predicted = observed[:, -1:], [observed]
    for _ in range(poses.shape[1] - n_observed - 1):
        pose, state = lstm(pose, content, state)
        predicted.append(pose)
    return next_pose_loss(torch.cat(predicted, dim=1), poses[:, 1:])


class Predictor(nn.Module):
    """A frozen DRNet plus a :class:`PoseLSTM`: observes frames, predicts the future."""

    def __init__(self, drnet: DRNet, config: PredictorConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or PredictorConfig()
        self.drnet = drnet.eval()  # frozen: its codes are computed without gradient, and only the LSTM is optimised
        mc = drnet.config
        self.lstm = PoseLSTM(mc.pose_dim, mc.content_dim, config.hidden, config.layers, mc.code_norm)
        self.checkpoint_info: dict = {}

    def train(self, mode: bool = True) -> Predictor:
        super().train(mode)
        self.drnet.eval()  # the DRNet is never trained here, and its BatchNorm stays in eval mode
        return self

    @torch.no_grad()
    def encode_clips(self, clips: torch.Tensor, content_index: int) -> tuple[torch.Tensor, torch.Tensor, list | None]:
        """Pose codes of every frame (B, T, p) and content (+ skips) of frame ``content_index``."""
        if clips.ndim != 5:
            raise ValueError(f"expected clips (B, T, C, H, W) in [0, 1], got {tuple(clips.shape)}")
        b, t = clips.shape[:2]
        poses = self.drnet.encode_pose(clips.flatten(0, 1)).reshape(b, t, -1)
        content, skips = self.drnet.encode_content(clips[:, content_index], return_skips=True)
        return poses, content, skips

    def teacher_forced_loss(self, clips: torch.Tensor) -> torch.Tensor:
        """The training loss on clips of n_observed + n_predicted frames: predict each next true pose."""
        n_obs = self.config.n_observed
        poses, content, _ = self.encode_clips(clips, n_obs - 1)
        predicted, _ = self.lstm(poses[:, :-1], content)
        return next_pose_loss(predicted, poses[:, 1:])

    @torch.no_grad()
    def predict_poses(self, frames: torch.Tensor, n_future: int) -> tuple[torch.Tensor, torch.Tensor, list | None]:
        """Observe ``frames`` (B, T_obs, C, H, W); return the next ``n_future`` poses (eq. 6–7) and the content used."""
        if n_future < 1:
            raise ValueError(f"n_future must be >= 1, got {n_future}")
        poses, content, skips = self.encode_clips(frames, frames.shape[1] - 1)
        predicted, state = self.lstm(poses, content)  # true poses while frames are observed
        pose = predicted[:, -1:]
        future = [pose]
        for _ in range(n_future - 1):  # then feed back the predictions
            pose, state = self.lstm(pose, content, state)
            future.append(pose)
        return torch.cat(future, dim=1), content, skips

    @torch.no_grad()
    def rollout(self, frames: torch.Tensor, n_future: int, chunk: int = 64) -> torch.Tensor:
        """Predict ``n_future`` frames after the observed ``frames``: (B, T_obs, C, 64, 64) → (B, n_future, C, 64, 64)."""
        self.eval()
        return self.decode_poses(*self.predict_poses(frames, n_future), chunk=chunk)

    @torch.no_grad()
    def decode_poses(self, future_poses: torch.Tensor, content: torch.Tensor, skips: list | None, chunk: int = 64) -> torch.Tensor:
        """Decode predicted poses (B, n, |h_p|) with the fixed content (and skips): (B, n, C, 64, 64), ``chunk`` steps at a time."""
        b = future_poses.shape[0]
        out = []
        for start in range(0, future_poses.shape[1], chunk):
            poses = future_poses[:, start : start + chunk]
            n = poses.shape[1]
            rep_content = content[:, None].expand(-1, n, -1).flatten(0, 1)
            rep_skips = [s[:, None].expand(-1, n, *s.shape[1:]).flatten(0, 1) for s in skips] if skips else None
            decoded = self.drnet.decode(rep_content, poses.flatten(0, 1), rep_skips)
            out.append(decoded.reshape(b, n, *decoded.shape[1:]))
        return torch.cat(out, dim=1)

    # -- checkpoints ----------------------------------------------------------------------------
    def save(self, path: str | Path, metadata: dict | None = None, half: bool = False, drnet_checkpoint: str | Path | None = None) -> Path:
        """One checkpoint that loads on its own: the LSTM plus its DRNet.

        The DRNet is embedded, or, with ``drnet_checkpoint``, referenced by its path (relative to this file)
        and sha256, so that committed weights are not stored twice.
        """
        path = Path(path)
        config: dict = {"model": dataclasses.asdict(self.drnet.config), "predictor": dataclasses.asdict(self.config)}
        state: dict = {"lstm": self.lstm.state_dict()}
        if drnet_checkpoint is None:
            state["drnet"] = self.drnet.state_dict()
        else:
            reference = Path(drnet_checkpoint).with_suffix(".pt")
            config["drnet_checkpoint"] = {"path": os.path.relpath(reference, path.parent), "sha256": read_sidecar(reference)["sha256"]}
        return save_checkpoint(path, state, config, metadata, half=half)

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> Predictor:
        """Rebuild the predictor (and its DRNet, embedded or referenced) from a checkpoint; returned in eval mode."""
        path = Path(path)
        state, sidecar = load_checkpoint(path, map_location=map_location)
        config = sidecar["config"]
        if "predictor" not in config or "lstm" not in state:
            raise CheckpointError(f"{path}: not a Predictor checkpoint (it needs a DRNet and an LSTM); load a DRNet with DRNet.load")
        if "drnet" in state:
            drnet = DRNet(ModelConfig(**config["model"]))
            drnet.load_state_dict(state["drnet"])
        else:
            reference = config["drnet_checkpoint"]
            drnet = DRNet.load(path.parent / reference["path"], map_location=map_location)
            if drnet.checkpoint_info.get("sha256") != reference["sha256"]:
                raise CheckpointError(f"{path}: its DRNet {reference['path']} has changed since the LSTM was trained; retrain the LSTM")
        predictor = cls(drnet, PredictorConfig(**config["predictor"]))
        predictor.lstm.load_state_dict(state["lstm"])
        predictor.checkpoint_info = {k: v for k, v in sidecar.items() if k != "config"}
        # channels_last convolutions decode rollouts 2× faster on CPU (measured on the KTH VGG decoder); same values
        predictor.drnet.to(memory_format=torch.channels_last)
        return predictor.eval()


@torch.no_grad()
def encode_pool(predictor: Predictor, source: object, n_clips: int, seed: int = 0, chunk: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode ``n_clips`` clips once: pose codes (N, T, p) and the content of the last observed frame (N, c).

    The DRNet is frozen, so its codes never change: encoding once and sampling batches from the pool makes
    each LSTM step about 10× cheaper than re-encoding every frame at every step.
    """
    cfg = predictor.config
    length = cfg.n_observed + cfg.n_predicted
    device = next(predictor.lstm.parameters()).device
    poses, contents = [], []
    for start in range(0, n_clips, chunk):
        clips = source.sample(min(chunk, n_clips - start), seed * 1_000_003 + start)[:, :length].to(device)
        if clips.shape[1] < length:
            raise ValueError(f"clips have {clips.shape[1]} frames; the predictor trains on {length}")
        pose, content, _ = predictor.encode_clips(clips, cfg.n_observed - 1)
        poses.append(pose)
        contents.append(content)
    return torch.cat(poses), torch.cat(contents)


def free_running_validation(lstm: PoseLSTM, pool: tuple[torch.Tensor, torch.Tensor], n_observed: int, chunk: int = 500) -> float:
    """:func:`free_running_loss` on a held-out pool of encoded clips (no gradient): the number to watch for overfitting."""
    poses, content = pool
    with torch.no_grad():
        total = sum(free_running_loss(lstm, poses[i : i + chunk], content[i : i + chunk], n_observed).item() * len(poses[i : i + chunk])
                    for i in range(0, len(poses), chunk))
    return total / len(poses)


def _save_training_state(path: Path, predictor: Predictor, opt: torch.optim.Optimizer, settings: dict, step: int, history: list) -> None:
    config = {"predictor": dataclasses.asdict(predictor.config), "training": settings}
    save_checkpoint(path, {"lstm": predictor.lstm.state_dict(), "opt": opt.state_dict()}, config, {"step": step, "history": history})


def _resume_training_state(path: Path, predictor: Predictor, opt: torch.optim.Optimizer, settings: dict) -> tuple[int, list]:
    """Load an interrupted run's LSTM and Adam state from ``path``; refuses one trained with other settings."""
    found = read_sidecar(path)["config"]
    expected = {"predictor": dataclasses.asdict(predictor.config), "training": settings}
    if found != expected:
        raise CheckpointError(f"cannot resume the LSTM run at {path}: it was trained with other settings ({found} against {expected}); "
                              "delete it to start afresh")
    state, sidecar = load_checkpoint(path)
    predictor.lstm.load_state_dict(state["lstm"])
    opt.load_state_dict(state["opt"])
    return int(sidecar["step"]), list(sidecar["history"])


def train_predictor(
    predictor: Predictor,
    source: object,
    steps: int,
    batch_size: int = 100,
    lr: float = 0.002,
    seed: int = 0,
    log_every: int = 50,
    pool_clips: int | None = None,
    free_running: bool = False,
    lr_milestones: tuple[int, ...] = (),
    on_log: Callable[[dict], None] | None = None,
    val_source: object | None = None,
    val_clips: int = 0,
    state_path: str | Path | None = None,
    checkpoint_every: int = 500,
    time_limit_s: float | None = None,
    run_key: dict | None = None,
) -> list[dict]:
    """Train the LSTM (Adam, lr 0.002: "all our models", section 4.1) on clips of n_observed + n_predicted frames.

    ``source`` gives clips through ``sample(batch, seed)``. With ``pool_clips``, that many clips are encoded
    once and batches are drawn from the pool (much faster on a CPU); otherwise every batch is freshly drawn.
    ``free_running`` trains on the LSTM's own predictions after the observed frames (:func:`free_running_loss`)
    instead of teacher forcing; ``lr_milestones`` divide the learning rate by 4 at each of those steps; ``on_log``
    receives each logged record as it is made. With ``val_source`` and ``val_clips``, every record also holds
    ``val_loss``, the free-running loss on that many held-out clips.

    With ``state_path``, the LSTM and Adam's state are written there (atomically) every ``checkpoint_every`` steps,
    and a run stopped by ``time_limit_s`` (or killed) continues from there, step for step as if never stopped;
    ``run_key`` (for instance the DRNet's sha256) must match too. Returns the log; a run stopped by the time limit
    returns a log whose last step is below ``steps``.
    """
    cfg = predictor.config
    opt = torch.optim.Adam(predictor.lstm.parameters(), lr=lr, betas=(0.9, 0.999))
    # what a resumed run must share with the run it continues (its length and milestones may change)
    settings = {"batch_size": batch_size, "lr": lr, "seed": seed, "log_every": log_every, "pool_clips": pool_clips or 0,
                "free_running": free_running, "val_clips": val_clips if val_source is not None else 0, "run": run_key or {}}
    if state_path is not None and checkpoint_every % log_every:
        raise ValueError(f"checkpoint_every ({checkpoint_every}) must be a multiple of log_every ({log_every}), so a resumed log is exact")
    history: list[dict] = []
    done = 0
    if state_path is not None and Path(state_path).with_suffix(".json").is_file():
        done, history = _resume_training_state(Path(state_path), predictor, opt, settings)
    pool = encode_pool(predictor, source, pool_clips, seed) if pool_clips else None
    val_pool = encode_pool(predictor, val_source, val_clips, seed + 1) if val_source is not None and val_clips else None
    predictor.train()
    running, started, spent = 0.0, time.perf_counter(), history[-1]["time_s"] if history else 0.0
    for step in range(done + 1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr * 0.25 ** sum(step > at for at in lr_milestones)
        gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
        if pool is not None:
            index = torch.randint(0, len(pool[0]), (batch_size,), generator=gen)
            poses, content = pool[0][index], pool[1][index]
            if free_running:
                loss = free_running_loss(predictor.lstm, poses, content, cfg.n_observed)
            else:
                predicted, _ = predictor.lstm(poses[:, :-1], content)
                loss = next_pose_loss(predicted, poses[:, 1:])
        else:
            clips = source.sample(batch_size, gen)[:, : cfg.n_observed + cfg.n_predicted]
            clips = clips.to(next(predictor.lstm.parameters()).device)
            if free_running:
                poses, content, _ = predictor.encode_clips(clips, cfg.n_observed - 1)
                loss = free_running_loss(predictor.lstm, poses, content, cfg.n_observed)
            else:
                loss = predictor.teacher_forced_loss(clips)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running += loss.item()
        if step % log_every == 0 or step == steps:
            n = log_every if step % log_every == 0 else step % log_every
            record = {"step": step, "loss": running / n, "time_s": round(spent + time.perf_counter() - started, 1)}
            if val_pool is not None:
                record["val_loss"] = free_running_validation(predictor.lstm, val_pool, cfg.n_observed)
            history.append(record)
            if on_log is not None:
                on_log(record)
            running = 0.0
            out_of_time = time_limit_s is not None and time.perf_counter() - started >= time_limit_s
            if state_path is not None and (step % checkpoint_every == 0 or out_of_time) and step < steps:
                _save_training_state(Path(state_path), predictor, opt, settings, step, history)
            if out_of_time:
                break
    predictor.eval()
    return history
