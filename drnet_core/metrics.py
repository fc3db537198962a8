"""Numbers that judge a DRNET: content-swap digit accuracy, swap pose error, PSNR.

Content/pose swap (paper Fig. 3 left, made quantitative): decode the content of
held-out clip i with the pose of held-out clip j (j = i + 1), at a random frame of
each. The ideal result is clip i's digits drawn at clip j's positions, which the
generator renders exactly (:meth:`ClipSpecs.with_positions_of`).

* **content-swap digit accuracy** — a digit classifier trained on MNIST training digits
  reads each colour channel of the swapped frame; correct if it names clip i's digit
  for that channel. Chance is 10 %. The same classifier on the ideal frames gives the
  ceiling (occlusion hides part of some digits).
* **swap pose error** — the distance in pixels between each channel's intensity
  centroid in the swapped frame and in the ideal frame. (Against clip j's own frame the
  distance also contains the different digits' shapes; we report that too.)

Taught in book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from data_utils import MovingMNIST
from drnet_core.classifiers import DigitClassifier, load_digit_classifier


def channel_centroids(frames: torch.Tensor, eps: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """Intensity centroid (row, col) of each channel: ``frames`` (B, C, H, W) → (B, C, 2), plus the mass (B, C).

    A channel with no ink gets the canvas centre.
    """
    height, width = frames.shape[-2:]
    mass = frames.sum(dim=(-2, -1))
    rows = torch.arange(height, dtype=frames.dtype, device=frames.device)
    cols = torch.arange(width, dtype=frames.dtype, device=frames.device)
    r = (frames.sum(-1) * rows).sum(-1) / mass.clamp_min(eps)
    c = (frames.sum(-2) * cols).sum(-1) / mass.clamp_min(eps)
    centre = torch.tensor([(height - 1) / 2, (width - 1) / 2], dtype=frames.dtype, device=frames.device)
    centroids = torch.where((mass > eps)[..., None], torch.stack([r, c], -1), centre)
    return centroids, mass


def psnr(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR = 10·log10(1 / MSE) on [0, 1] images; (B, ...) → (B,)."""
    mse = (prediction.float() - target.float()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


@dataclass
class SwapBatch:
    """Held-out swap pairs: the content frames, the pose frames, the ideal swaps and the content digits' labels."""

    content_frames: torch.Tensor
    pose_frames: torch.Tensor
    ideal: torch.Tensor
    labels: torch.Tensor


def swap_pairs(count: int = 1000, seq_len: int = 20, seed: int = 0) -> SwapBatch:
    """The fixed held-out swap set: content of test clip i, pose of test clip j = i + 1, random frames."""
    test = MovingMNIST("test", seq_len=seq_len)
    specs = test.fixed_specs(count)
    gen = torch.Generator().manual_seed(seed)
    t_content = torch.randint(0, seq_len, (count, 1), generator=gen)
    t_pose = torch.randint(0, seq_len, (count, 1), generator=gen)
    content_specs = specs.at_times(t_content)
    pose_specs = specs[torch.arange(count).roll(-1)].at_times(t_pose)
    return SwapBatch(
        content_frames=test.render(content_specs)[:, 0],
        pose_frames=test.render(pose_specs)[:, 0],
        ideal=test.render(content_specs.with_positions_of(pose_specs))[:, 0],
        labels=test.digit_labels(content_specs),
    )


@torch.no_grad()
def swap_metrics(model: torch.nn.Module, pairs: SwapBatch | None = None, classifier: DigitClassifier | None = None, batch_size: int = 250) -> dict[str, float]:
    """Content-swap digit accuracy and swap pose error of ``model`` (a DRNet) on held-out swaps.

    Returns ``swap_accuracy`` (fraction of digit channels read correctly), ``ceiling_accuracy``
    (the classifier on the ideal frames), ``pose_error_px`` (centroid distance to the ideal frame,
    over channels where the ideal digit is visible) and ``pose_error_vs_pose_clip_px``.
    """
    pairs = pairs or swap_pairs()
    classifier = classifier or load_digit_classifier()
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    n_digits = pairs.labels.shape[1]
    correct = ceiling = 0.0
    errors, errors_pose_clip = [], []
    try:
        for start in range(0, len(pairs.labels), batch_size):
            sl = slice(start, start + batch_size)
            swapped = model.swap(pairs.content_frames[sl].to(device), pairs.pose_frames[sl].to(device)).float().cpu()
            ideal, labels = pairs.ideal[sl], pairs.labels[sl]
            for frames, counter in ((swapped, "swap"), (ideal, "ideal")):
                logits = classifier(frames[:, :n_digits].reshape(-1, 1, *frames.shape[-2:]))
                hits = (logits.argmax(1) == labels.reshape(-1)).float().sum().item()
                if counter == "swap":
                    correct += hits
                else:
                    ceiling += hits
            c_swap, _ = channel_centroids(swapped[:, :n_digits])
            c_ideal, m_ideal = channel_centroids(ideal[:, :n_digits])
            c_pose, m_pose = channel_centroids(pairs.pose_frames[sl][:, :n_digits])
            visible = m_ideal > 1.0
            errors.append((c_swap - c_ideal).norm(dim=-1)[visible])
            errors_pose_clip.append((c_swap - c_pose).norm(dim=-1)[m_pose > 1.0])
    finally:
        model.train(was_training)
    total = pairs.labels.numel()
    return {
        "swap_accuracy": correct / total,
        "ceiling_accuracy": ceiling / total,
        "pose_error_px": torch.cat(errors).mean().item(),
        "pose_error_vs_pose_clip_px": torch.cat(errors_pose_clip).mean().item(),
    }


@torch.no_grad()
def rollout_digit_accuracy(
    predictor: torch.nn.Module,
    horizons: tuple[int, ...] = (10, 100, 500),
    n_clips: int = 100,
    classifier: DigitClassifier | None = None,
) -> dict[int, float]:
    """Digit accuracy of generated frames ``h`` steps after the last observed one (paper Fig. 3 right, made quantitative).

    Observes ``n_observed`` frames of held-out test clips, predicts ``max(horizons)`` poses, decodes only
    the frames at the horizons, and reads each colour channel with the digit classifier. A crisp,
    content-preserving rollout keeps the accuracy near the classifier's ceiling at every horizon.
    """
    classifier = classifier or load_digit_classifier()
    n_obs = predictor.config.n_observed
    test = MovingMNIST("test", seq_len=n_obs)
    specs = test.fixed_specs(n_clips)
    frames = test.render(specs)
    labels = test.digit_labels(specs)
    device = next(predictor.parameters()).device
    poses, content, skips = predictor.predict_poses(frames.to(device), max(horizons))
    result = {}
    for h in horizons:
        decoded = predictor.drnet.decode(content, poses[:, h - 1], skips).float().cpu()
        logits = classifier(decoded[:, : labels.shape[1]].reshape(-1, 1, *decoded.shape[-2:]))
        result[h] = (logits.argmax(1) == labels.reshape(-1)).float().mean().item()
    return result
