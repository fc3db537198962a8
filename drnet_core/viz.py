"""Figures for the chapters: training curves, frame strips and grids (PNG, nearest-neighbour zoom)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

_LABELS = {
    "rec": "reconstruction (eq. 1)",
    "sim": "similarity (eq. 2)",
    "disc": "discriminator C (eq. 3)",
    "adv_pose": "pose adversarial (eq. 4)",
    "disc_acc": "C accuracy",
    "eval_swap_accuracy": "content-swap digit accuracy",
    "eval_pose_error_px": "swap pose error (px)",
}


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a ``metrics.jsonl`` training log."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_curves(records: Sequence[dict], keys: Sequence[str], x: str = "step", reference: dict[str, float] | None = None, ncols: int = 3) -> plt.Figure:
    """One small panel per metric against ``x`` (step or wall_time); ``reference`` draws dashed target lines."""
    nrows = int(np.ceil(len(keys) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 2.8 * nrows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        pts = [(r[x], r[key]) for r in records if key in r]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="." if len(xs) < 30 else None)
        if reference and key in reference:
            ax.axhline(reference[key], color="grey", ls="--", lw=1)
        ax.set_title(_LABELS.get(key, key), fontsize=10)
        ax.set_xlabel("wall time (s)" if x == "wall_time" else x)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def to_image(frames: torch.Tensor) -> np.ndarray:
    """(C, H, W) or (B, C, H, W) in [0, 1] → H×W×3 (or B×H×W×3) uint8, grey expanded to RGB."""
    x = frames.detach().float().clamp(0, 1).cpu()
    if x.shape[-3] == 1:
        x = x.expand(*x.shape[:-3], 3, *x.shape[-2:])
    return (x.movedim(-3, -1).numpy() * 255).round().astype(np.uint8)


def image_grid(frames: torch.Tensor, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """(R, K, C, H, W) → one uint8 image with R rows and K columns separated by ``pad`` pixels."""
    rows, cols = frames.shape[:2]
    tiles = to_image(frames.reshape(rows * cols, *frames.shape[2:])).reshape(rows, cols, *frames.shape[-2:], 3)
    h, w = frames.shape[-2:]
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), pad_value, np.uint8)
    for r in range(rows):
        for c in range(cols):
            out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = tiles[r, c]
    return out


def show_grid(frames: torch.Tensor, title: str | None = None, scale: float = 1.0) -> plt.Figure:
    """Display (R, K, C, H, W) frames as a grid, pixel-exact."""
    image = image_grid(frames)
    fig = plt.figure(figsize=(scale * image.shape[1] / 50, scale * image.shape[0] / 50))
    ax = fig.add_axes([0, 0, 1, 0.92 if title else 1])
    ax.imshow(image, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


@torch.no_grad()
def swap_grid(model: torch.nn.Module, content_frames: torch.Tensor, pose_frames: torch.Tensor) -> torch.Tensor:
    """The paper's Fig. 3 (left) layout: row i, column j decodes the content of ``content_frames[i]`` with the pose of ``pose_frames[j]``.

    Returns (N + 1, M + 1, C, H, W): the top row holds the pose frames, the first column the content frames,
    and the corner is white.
    """
    n, m = len(content_frames), len(pose_frames)
    content, skips = model.encode_content(content_frames, return_skips=True)
    pose = model.encode_pose(pose_frames)
    rep_content = content.repeat_interleave(m, dim=0)
    rep_skips = [s.repeat_interleave(m, dim=0) for s in skips] if skips else None
    swapped = model.decode(rep_content, pose.repeat(n, 1), rep_skips).reshape(n, m, *content_frames.shape[1:])
    grid = torch.ones(n + 1, m + 1, *content_frames.shape[1:])
    grid[0, 1:] = pose_frames.cpu()
    grid[1:, 0] = content_frames.cpu()
    grid[1:, 1:] = swapped.float().cpu()
    return grid


@torch.no_grad()
def pose_interpolation(model: torch.nn.Module, content_frame: torch.Tensor, pose_from: torch.Tensor, pose_to: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """Decode the content of ``content_frame`` with poses on the line from E_p(pose_from) to E_p(pose_to) (paper Fig. 5, left).

    For unit-norm codes the interpolated pose is renormalised. Returns (steps, C, H, W).
    """
    content, skips = model.encode_content(content_frame[None], return_skips=True)
    ends = model.encode_pose(torch.stack([pose_from, pose_to]))
    weights = torch.linspace(0, 1, steps, device=ends.device)[:, None]
    poses = (1 - weights) * ends[0] + weights * ends[1]
    if model.config.code_norm == "l2":
        poses = torch.nn.functional.normalize(poses, dim=1)
    rep_skips = [s.expand(steps, *s.shape[1:]) for s in skips] if skips else None
    return model.decode(content.expand(steps, -1), poses, rep_skips).float().cpu()
