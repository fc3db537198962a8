"""Does the pose LSTM follow the motion? Rollout position error on held-out Moving MNIST clips (paper section 3.1,
eq. 6–7, Fig. 3 right, Figs. 6–7), against two predictors that know nothing about the digits.

Observe ``n_observed`` frames of a held-out test clip; the generator renders the true continuation exactly. At
each horizon h (frames after the last observed one) the **position error** is the distance in pixels between the
intensity centroid of each colour channel (one digit per channel) in the predicted frame and in the true frame,
averaged over the channels where the true digit is visible. Beside the LSTM:

* **copy last**: the last observed frame, repeated (a model that does not move);
* **constant velocity**: each digit's centroid moved on by its last observed step, h times (no bounces);
* **true pose decoded**: the content of the last observed frame with the *true* pose of the frame at h, which is
  the floor that a perfect pose predictor would reach with this DRNET's decoder.

Taught in book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from data_utils import MovingMNIST
from data_utils.moving_mnist import TEST_SEED
from drnet_core.metrics import channel_centroids

HORIZONS = (1, 5, 10, 20, 100)


@dataclass
class RolloutClips:
    """Held-out clips for rollouts: the observed frames, and the true frames at each horizon."""

    observed: torch.Tensor  # (B, n_observed, C, H, W)
    truth: torch.Tensor  # (B, len(horizons), C, H, W)
    horizons: tuple[int, ...]
    n_digits: int


def rollout_clips(n_clips: int = 200, n_observed: int = 5, horizons: tuple[int, ...] = HORIZONS, data: MovingMNIST | None = None) -> RolloutClips:
    """The fixed held-out clips (the test set's seeded clips, followed for as long as the horizons need), rendering
    only the observed frames and the frames at the horizons."""
    if min(horizons) < 1:
        raise ValueError(f"horizons count frames after the last observed one and start at 1, got {horizons}")
    data = data or MovingMNIST("test")
    specs = data.specs(n_clips, TEST_SEED, seq_len=n_observed + max(horizons))
    observed_times = torch.arange(n_observed).expand(n_clips, -1)
    future_times = (n_observed - 1 + torch.tensor(horizons)).expand(n_clips, -1)
    return RolloutClips(
        observed=data.render(specs.at_times(observed_times)),
        truth=data.render(specs.at_times(future_times)),
        horizons=tuple(horizons),
        n_digits=specs.digit_ids.shape[1],
    )


def position_error(frames: torch.Tensor, truth: torch.Tensor, n_digits: int) -> float:
    """Mean centroid distance (px) between ``frames`` and ``truth`` (B, C, H, W), over the digit channels that are
    visible in the truth (more than one pixel's worth of ink)."""
    return _centroid_error(channel_centroids(frames[:, :n_digits].float())[0], truth, n_digits)


def _centroid_error(centroids: torch.Tensor, truth: torch.Tensor, n_digits: int) -> float:
    """Mean distance (px) from ``centroids`` (B, D, 2) to the truth's, over the digit channels visible in the truth."""
    true, mass = channel_centroids(truth[:, :n_digits].float())
    distances = (centroids - true).norm(dim=-1)[mass > 1.0]
    return distances.mean().item() if distances.numel() else float("nan")


def baseline_errors(clips: RolloutClips) -> dict[str, dict[int, float]]:
    """Position error of copy-last and of constant-velocity extrapolation of the observed centroids, by horizon."""
    if clips.observed.shape[1] < 2:
        raise ValueError("constant-velocity extrapolation needs at least two observed frames")
    last, _ = channel_centroids(clips.observed[:, -1, : clips.n_digits].float())
    previous, _ = channel_centroids(clips.observed[:, -2, : clips.n_digits].float())
    velocity = last - previous
    out: dict[str, dict[int, float]] = {"copy_last": {}, "constant_velocity": {}}
    for i, h in enumerate(clips.horizons):
        out["copy_last"][h] = _centroid_error(last, clips.truth[:, i], clips.n_digits)
        out["constant_velocity"][h] = _centroid_error(last + h * velocity, clips.truth[:, i], clips.n_digits)
    return out


@torch.no_grad()
def rollout_position_error(predictor: torch.nn.Module, clips: RolloutClips | None = None) -> dict[str, dict[int, float]]:
    """Position error by horizon of the LSTM rollout (``lstm``), of decoding the true poses (``true_pose``), and of
    the two baselines (``copy_last``, ``constant_velocity``). Needs ``clips.observed`` to hold ``n_observed`` frames."""
    clips = clips or rollout_clips(n_observed=predictor.config.n_observed)
    drnet = predictor.drnet
    poses, content, skips = predictor.predict_poses(clips.observed, max(clips.horizons))
    out: dict[str, dict[int, float]] = {"lstm": {}, "true_pose": {}}
    for i, h in enumerate(clips.horizons):
        truth = clips.truth[:, i]
        out["lstm"][h] = position_error(drnet.decode(content, poses[:, h - 1], skips), truth, clips.n_digits)
        out["true_pose"][h] = position_error(drnet.decode(content, drnet.encode_pose(truth), skips), truth, clips.n_digits)
    return {**out, **baseline_errors(clips)}


def format_errors(errors: dict[str, dict[int, float]]) -> str:
    """The table ``eval mnist`` prints: one line per predictor, one column per horizon."""
    horizons = list(next(iter(errors.values())))
    lines = [f"{'steps ahead':22s}" + "".join(f"{h:>9d}" for h in horizons)]
    names = {"lstm": "LSTM rollout", "true_pose": "true pose decoded", "copy_last": "copy last frame", "constant_velocity": "constant velocity"}
    for key, label in names.items():
        if key in errors:
            lines.append(f"{label:22s}" + "".join(f"{errors[key][h]:7.2f}px" for h in horizons))
    return "\n".join(lines)
