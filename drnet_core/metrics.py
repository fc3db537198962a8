"""Generic numbers that judge generated frames: PSNR, SSIM (Wang et al. 2004), the Inception score (paper appendix B),
and the intensity centroid of each channel (where a drawn object is).

The Moving MNIST swap and rollout measures built on them live in :mod:`drnet_experiments.mnist_swaps`.
Taught in book/04_kth_prediction.ipynb and book/05_inception_score.ipynb.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


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
    data_range=1.0)`` (``tests/test_inception_score.py`` checks it; paper appendix B on why it misleads at long horizons).
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
