"""Numbers that judge a DRNET: content-swap digit accuracy, swap pose error, PSNR.

Content/pose swap (paper Fig. 3 left, made quantitative): decode the content of
held-out clip i with the pose of held-out clip j (j = i + 1), at a random frame of
each. The ideal result is clip i's digits drawn at clip j's positions, which the
generator renders exactly (:meth:`ClipSpecs.with_positions_of`).

* **content-swap digit accuracy** — a digit classifier trained on MNIST training digits
  reads each colour channel of the swapped frame; correct if it names clip i's digit
  for that channel. Chance is 10 %. The same classifier on the ideal frames gives the
  ceiling (occlusion hides part of some digits), and on the ideal frames without the
  strokes that the one content frame hid, the one-frame ceiling: what a perfect drawing
  of what one content frame shows scores (guessing hidden strokes can add to it).
* **swap pose error** — the distance in pixels between each channel's intensity
  centroid in the swapped frame and in the ideal frame. (Against clip j's own frame the
  distance also contains the different digits' shapes; we report that too.)

Frame-quality metrics: :func:`psnr`, :func:`ssim` (Wang et al. 2004) and, for KTH, the
:func:`inception_score` of an action classifier's predictions (paper appendix B).

Taught in book/02_moving_mnist.ipynb; SSIM and the Inception score in book/05_inception_score.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

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


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> torch.Tensor:
    """The normalised ``size``×``size`` Gaussian window of SSIM (Wang et al. 2004: 11×11, σ = 1.5)."""
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(prediction: torch.Tensor, target: torch.Tensor, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Per-image SSIM (Wang et al. 2004) on [0, 1] images; (B, C, H, W) → (B,).

    An 11×11 Gaussian window with σ = 1.5, 'valid' convolution, K1 = 0.01, K2 = 0.03, data range 1, population
    (not sample) variances; the SSIM map is averaged per channel, then over channels. This equals
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=1.0)`` (implementation notes section 7; paper appendix B on why it misleads at long horizons).
    Computed in float64, returned as float32. Taught in book/05_inception_score.ipynb.
    """
    if prediction.ndim != 4 or prediction.shape != target.shape:
        raise ValueError(f"ssim compares images of the same shape (B, C, H, W), got {tuple(prediction.shape)} and {tuple(target.shape)}")
    batch, channels, height, width = prediction.shape
    if height < 11 or width < 11:
        raise ValueError(f"ssim needs images of at least 11×11 pixels (the Gaussian window), got {height}×{width}")
    x = prediction.double().reshape(batch * channels, 1, height, width)
    y = target.double().reshape(batch * channels, 1, height, width)
    # the 2-D Gaussian is the outer product of a 1-D one: blur rows, then columns (the same numbers, 11× fewer
    # multiplications), and blur the five maps in one call
    profile = gaussian_window(device=x.device).sum(1)
    stacked = torch.cat([x, y, x * x, y * y, x * y])
    blurred = F.conv2d(F.conv2d(stacked, profile.view(1, 1, -1, 1)), profile.view(1, 1, 1, -1))
    mu_x, mu_y, mean_xx, mean_yy, mean_xy = blurred.chunk(5)
    var_x = mean_xx - mu_x**2
    var_y = mean_yy - mu_y**2
    cov = mean_xy - mu_x * mu_y
    c1, c2 = k1**2, k2**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.reshape(batch, channels, -1).mean(-1).mean(-1).float()


def inception_score(probs: np.ndarray | torch.Tensor) -> float:
    """IS = exp(E_x KL(p(y|x) ‖ p(y))) of class probabilities ``probs`` (N, classes); p(y) is the mean row.

    Paper appendix B (Salimans et al. 2016, applied to an action classifier's predictions on 10-frame clips).
    It is 1 for a classifier that says the same thing about every clip and reaches the number of classes when
    every clip is classified confidently and the classes are balanced. Computed in float64, with 0·log 0 = 0.
    Taught in book/05_inception_score.ipynb.
    """
    if isinstance(probs, torch.Tensor):
        probs = probs.detach().cpu().double().numpy()
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"inception_score expects class probabilities of shape (N, classes), got an array of shape {p.shape}")
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"inception_score needs at least one row and one class, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("inception_score got NaN or infinite probabilities; check the classifier's outputs")
    if (p < 0).any():
        raise ValueError("inception_score got negative values: pass probabilities, not logits (apply softmax first)")
    sums = p.sum(1)
    if np.abs(sums - 1).max() > 1e-3:
        raise ValueError(f"inception_score rows must sum to 1 (found sums in [{sums.min():.4g}, {sums.max():.4g}]): apply softmax to the logits first")
    marginal = p.mean(0)
    log_p = np.log(np.where(p > 0, p, 1.0))
    log_marginal = np.log(np.where(marginal > 0, marginal, 1.0))
    kl = (p * (log_p - log_marginal)).sum(1)
    return float(np.exp(kl.mean()))


@dataclass
class SwapBatch:
    """Held-out swap pairs: the content frames, the pose frames, the ideal swaps and the content digits' labels."""

    content_frames: torch.Tensor
    pose_frames: torch.Tensor
    ideal: torch.Tensor
    labels: torch.Tensor
    shown_ideal: torch.Tensor | None = None  # the ideal swaps without the strokes that the content frames hid
    content_clips: torch.Tensor | None = None  # (N, T, C, H, W): the whole content clips, with ``clip_content=True``


def swap_pairs(
    count: int = 1000, seq_len: int = 20, seed: int = 0, same_clip: bool = False, clip_content: bool = False, split: str = "test"
) -> SwapBatch:
    """The fixed held-out swap set: content of test clip i, pose of test clip j = i + 1, random frames.

    ``same_clip=True`` takes the pose from clip i itself (another random frame): a reconstruction across time.
    Its digit accuracy is what the decoder can draw when no content has to move between clips; a swap accuracy
    far below it means the pose code carries content (chapter "Moving MNIST"). ``clip_content=True`` also keeps
    the content clips whole, for :func:`swap_metrics` with ``content="clip"`` (the same swaps, the same ideal).

    ``split="train"`` draws the same kind of swaps from the training digits: a model that scores much higher there
    than on the test digits has memorised digits rather than learnt to draw them.

    ``shown_ideal`` is the ideal swap minus every stroke of a digit that its content frame hid (behind the other
    digit): a perfect drawing of what that one frame shows. The classifier on it is the one-frame ceiling.
    """
    test = MovingMNIST(split, seq_len=seq_len)
    specs = test.fixed_specs(count)
    gen = torch.Generator().manual_seed(seed)
    t_content = torch.randint(0, seq_len, (count, 1), generator=gen)
    t_pose = torch.randint(0, seq_len, (count, 1), generator=gen)
    content_specs = specs.at_times(t_content)
    pose_clips = torch.arange(count) if same_clip else torch.arange(count).roll(-1)
    pose_specs = specs[pose_clips].at_times(t_pose)
    ideal_specs = content_specs.with_positions_of(pose_specs)
    ideal = test.render(ideal_specs)[:, 0]
    shown = test.render(ideal_specs, patch_masks=test.visible_patches(content_specs))[:, 0]
    return SwapBatch(
        content_frames=test.render(content_specs)[:, 0],
        pose_frames=test.render(pose_specs)[:, 0],
        ideal=ideal,
        labels=test.digit_labels(content_specs),
        shown_ideal=torch.minimum(ideal, shown),
        content_clips=test.render(specs) if clip_content else None,
    )


@torch.no_grad()
def _reads_correctly(classifier: DigitClassifier, frames: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B·D,) bool: the classifier names digit d's label in colour channel d of each frame."""
    n_digits = labels.shape[1]
    return classifier(frames[:, :n_digits].reshape(-1, 1, *frames.shape[-2:])).argmax(1) == labels.reshape(-1)


@torch.no_grad()
def swap_metrics(
    model: torch.nn.Module, pairs: SwapBatch | None = None, classifier: DigitClassifier | None = None, batch_size: int = 250, content: str = "frame"
) -> dict[str, float]:
    """Content-swap digit accuracy and swap pose error of ``model`` (a DRNet) on held-out swaps.

    ``content="frame"`` takes h_c from one frame of the content clip (the figure the issue's target is set on);
    ``content="clip"`` averages h_c over the whole clip (:meth:`DRNet.encode_clip_content`; needs pairs made with
    ``clip_content=True``), which removes what one frame hides, e.g. a digit behind the other.

    Returns ``swap_accuracy`` (fraction of digit channels read correctly), ``ceiling_accuracy``
    (the classifier on the ideal frames), ``frame_ceiling_accuracy`` (on the ideal frames without what the content
    frame hid, :func:`swap_pairs`; only for pairs that carry ``shown_ideal``), ``pose_error_px`` (centroid distance to the ideal frame,
    over channels where the ideal digit is visible) and ``pose_error_vs_pose_clip_px``.

    It also splits the channels by what the encoder was shown: ``visible_fraction`` is the fraction of digit
    channels that the classifier reads correctly both in the content frame (what E_c saw; the digit behind may be
    partly hidden there) and in the ideal swap (what D must draw), and ``visible_swap_accuracy`` is the swap
    accuracy on those channels alone. A perfect model scores 1.0 on them; the rest of the channels hold what
    one frame hides (chapter "Moving MNIST", "What one frame hides").
    """
    if content not in ("frame", "clip"):
        raise ValueError(f"content must be 'frame' or 'clip', got {content!r}")
    pairs = pairs or swap_pairs(clip_content=content == "clip")
    if content == "clip" and pairs.content_clips is None:
        raise ValueError("content='clip' needs the whole content clips: make the pairs with swap_pairs(..., clip_content=True)")
    classifier = classifier or load_digit_classifier()
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    n_digits = pairs.labels.shape[1]
    correct = ceiling = frame_ceiling = readable_count = readable_correct = 0.0
    errors, errors_pose_clip = [], []
    try:
        for start in range(0, len(pairs.labels), batch_size):
            sl = slice(start, start + batch_size)
            if content == "clip":
                codes = model.encode_clip_content(pairs.content_clips[sl].to(device))
                swapped = model.decode(codes, model.encode_pose(pairs.pose_frames[sl].to(device))).float().cpu()
            else:
                swapped = model.swap(pairs.content_frames[sl].to(device), pairs.pose_frames[sl].to(device)).float().cpu()
            ideal, labels = pairs.ideal[sl], pairs.labels[sl]
            swap_hit, ideal_hit, content_hit = (_reads_correctly(classifier, frames, labels) for frames in (swapped, ideal, pairs.content_frames[sl]))
            readable = ideal_hit & content_hit
            correct += swap_hit.sum().item()
            ceiling += ideal_hit.sum().item()
            if pairs.shown_ideal is not None:
                frame_ceiling += _reads_correctly(classifier, pairs.shown_ideal[sl], labels).sum().item()
            readable_count += readable.sum().item()
            readable_correct += (swap_hit & readable).sum().item()
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
        **({"frame_ceiling_accuracy": frame_ceiling / total} if pairs.shown_ideal is not None else {}),
        "visible_fraction": readable_count / total,
        "visible_swap_accuracy": readable_correct / max(readable_count, 1.0),
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
