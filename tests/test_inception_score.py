"""The Inception score (paper appendix B) and SSIM (Wang et al. 2004), against known values and a slow reference."""

import numpy as np
import pytest
import torch

from drnet_core.metrics import gaussian_window, inception_score, ssim


def test_uniform_classifier_scores_one():
    assert inception_score(np.full((50, 6), 1 / 6)) == pytest.approx(1.0)


def test_confident_and_balanced_scores_the_number_of_classes():
    probs = np.eye(6)[np.repeat(np.arange(6), 5)]
    assert inception_score(probs) == pytest.approx(6.0)


def test_confident_but_unbalanced_scores_one():
    probs = np.zeros((30, 6))
    probs[:, 2] = 1.0
    assert inception_score(probs) == pytest.approx(1.0)


def test_shuffling_rows_does_not_change_the_score():
    probs = torch.softmax(torch.randn(40, 6, generator=torch.Generator().manual_seed(0)) * 3, dim=1)
    score = inception_score(probs)
    assert 1.0 < score < 6.0
    assert inception_score(probs[torch.randperm(40, generator=torch.Generator().manual_seed(1))]) == pytest.approx(score, rel=1e-12)


def test_numpy_and_torch_agree():
    probs = torch.softmax(torch.randn(20, 6, generator=torch.Generator().manual_seed(2)), dim=1)
    assert inception_score(probs) == pytest.approx(inception_score(probs.numpy()), rel=1e-12)
    assert inception_score(probs.double()) == pytest.approx(inception_score(probs.numpy().astype(np.float64)), rel=1e-12)


def test_matches_the_definition():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    marginal = p.mean(0)
    kl = [sum(pi * np.log(pi / mi) for pi, mi in zip(row, marginal)) for row in p]
    assert inception_score(p) == pytest.approx(np.exp(np.mean(kl)), rel=1e-12)


@pytest.mark.parametrize(
    "probs, message",
    [
        (np.full((4, 6), 0.5), "apply softmax"),
        (np.array([[1.2, -0.2], [0.5, 0.5]]), "negative"),
        (np.array([[np.nan, 1.0]]), "NaN"),
        (np.full(6, 1 / 6), "shape"),
        (np.zeros((0, 6)), "at least one row"),
    ],
)
def test_bad_input_is_refused(probs, message):
    with pytest.raises(ValueError, match=message):
        inception_score(probs)


def reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Slow, loop-based SSIM of two (C, H, W) images, as skimage's structural_similarity with Gaussian weights."""
    radius, sigma = 5, 1.5
    offsets = np.arange(-radius, radius + 1)
    g = np.exp(-(offsets**2) / (2 * sigma**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = 0.01**2, 0.03**2
    per_channel = []
    for xc, yc in zip(x.astype(np.float64), y.astype(np.float64)):
        values = []
        for i in range(radius, xc.shape[0] - radius):
            for j in range(radius, xc.shape[1] - radius):
                px = xc[i - radius : i + radius + 1, j - radius : j + radius + 1]
                py = yc[i - radius : i + radius + 1, j - radius : j + radius + 1]
                mx, my = (w * px).sum(), (w * py).sum()
                vx, vy = (w * (px - mx) ** 2).sum(), (w * (py - my) ** 2).sum()
                cxy = (w * (px - mx) * (py - my)).sum()
                values.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
        per_channel.append(np.mean(values))
    return float(np.mean(per_channel))


@pytest.fixture
def images():
    gen = torch.Generator().manual_seed(0)
    clean = torch.rand(3, 2, 18, 21, generator=gen)
    noisy = (clean + 0.2 * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    return clean, noisy


def test_ssim_matches_the_slow_reference(images):
    clean, noisy = images
    values = ssim(noisy, clean)
    assert values.shape == (3,) and values.dtype == torch.float32
    for b in range(3):
        assert values[b].item() == pytest.approx(reference_ssim(noisy[b].numpy(), clean[b].numpy()), abs=1e-6)


def test_ssim_of_an_image_with_itself_is_one(images):
    clean, _ = images
    assert torch.allclose(ssim(clean, clean), torch.ones(3), atol=1e-6)


def test_ssim_is_symmetric_and_falls_with_noise(images):
    clean, noisy = images
    assert torch.allclose(ssim(clean, noisy), ssim(noisy, clean), atol=1e-7)
    noisier = (clean + 0.5 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    assert (ssim(noisier, clean) < ssim(noisy, clean)).all() and (ssim(noisy, clean) < 1).all()


def test_ssim_window_and_input_checks():
    window = gaussian_window()
    assert window.shape == (11, 11) and window.sum().item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        ssim(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 17))
    with pytest.raises(ValueError, match="11×11"):
        ssim(torch.rand(1, 1, 8, 16), torch.rand(1, 1, 8, 16))
