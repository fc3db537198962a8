"""The Inception score (paper appendix B) and SSIM (Wang et al. 2004), against known values and scikit-image."""

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


@pytest.fixture
def images():
    gen = torch.Generator().manual_seed(0)
    clean = torch.rand(3, 2, 18, 21, generator=gen)
    noisy = (clean + 0.2 * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    return clean, noisy


def skimage_ssim(prediction: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    """scikit-image's SSIM of each image of a (B, C, H, W) batch, with the settings of Wang et al. 2004.

    Like for like with :func:`ssim`: an 11×11 Gaussian window with σ = 1.5 (skimage's window is 2·⌊3.5σ + 0.5⌋ + 1 = 11
    with ``gaussian_weights=True``), data range 1, population variances, K1 = 0.01 and K2 = 0.03 (skimage's defaults).
    Borders need no adjustment: skimage filters the whole image with reflected edges and then crops (11 − 1) / 2 = 5
    pixels from every side before averaging, which leaves exactly the windows that lie inside the image, the
    'valid' convolution that :func:`ssim` computes. Greyscale images go in as 2-D arrays, colour images with
    ``channel_axis=0`` (skimage averages the per-channel SSIM, as :func:`ssim` does). Computed in float64: skimage
    keeps float32 input in float32.
    """
    from skimage.metrics import structural_similarity  # test-only dependency (requirements.txt)

    values = []
    for x, y in zip(prediction.double().numpy(), target.double().numpy()):
        settings = {"data_range": 1.0, "gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
        if x.shape[0] == 1:
            values.append(structural_similarity(x[0], y[0], **settings))
        else:
            values.append(structural_similarity(x, y, channel_axis=0, **settings))
    return np.array(values)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("height, width", [(11, 11), (18, 21), (64, 64)])
def test_ssim_matches_scikit_image_on_random_images(channels, height, width):
    gen = torch.Generator().manual_seed(height * width + channels)
    clean = torch.rand(4, channels, height, width, generator=gen)
    noise = torch.tensor([0.02, 0.1, 0.3, 1.0]).view(4, 1, 1, 1)
    noisy = (clean + noise * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    values = ssim(noisy, clean)
    assert values.shape == (4,) and values.dtype == torch.float32
    expected = skimage_ssim(noisy, clean)
    assert expected.max() - expected.min() > 0.3  # from nearly equal to unrelated images
    np.testing.assert_allclose(values.numpy(), expected, rtol=0, atol=1e-6)


def _scenes(height: int = 32, width: int = 40) -> torch.Tensor:
    """Greyscale scenes with flat areas, edges and ramps, where the constants C1 and C2 weigh: (6, H, W)."""
    rows, cols = torch.meshgrid(torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64), indexing="ij")
    ramp = cols / (width - 1)
    disc = (((rows - height / 2) ** 2 + (cols - width / 2) ** 2) < (height / 4) ** 2).double()
    checker = ((rows // 4 + cols // 4) % 2).double()
    square = torch.zeros(height, width, dtype=torch.float64)
    square[6:20, 9:25] = 1.0
    black = torch.zeros(height, width, dtype=torch.float64)
    waves = 0.5 + 0.5 * torch.sin(rows / 3) * torch.cos(cols / 5)
    return torch.stack([ramp, disc, checker, square, black, waves])


def _structured_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs of greyscale scenes (N, 1, H, W): a shift, a change of contrast and brightness, a flip, black against a
    scene, and a scene with itself."""
    scenes = _scenes()
    ramp, disc, checker, square, black, waves = scenes
    pairs = [
        (disc, disc.roll(2, dims=1)),
        (square, 0.5 * square + 0.25),
        (ramp, ramp.flip(1)),
        (checker, checker.roll(2, dims=0)),
        (black, square),
        (black, black),
        (waves, 0.8 * waves),
        (square, square.roll((3, -2), dims=(0, 1))),
        (waves, waves),
    ]
    firsts, seconds = zip(*pairs)
    return torch.stack(firsts)[:, None], torch.stack(seconds)[:, None]


def test_ssim_matches_scikit_image_on_structured_greyscale_images():
    first, second = _structured_pairs()
    values = ssim(first, second)
    expected = skimage_ssim(first, second)
    assert expected.min() < 0.1 and expected.max() == pytest.approx(1.0)
    np.testing.assert_allclose(values.numpy(), expected, rtol=0, atol=1e-6)


def test_ssim_matches_scikit_image_on_structured_colour_images():
    """Three channels, each pair of channels a different kind of change, so a wrong per-channel average shows."""
    first, second = _structured_pairs()
    order = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8], [2, 5, 8], [1, 4, 7]])
    first, second = first[order, 0], second[order, 0]  # (5, 3, H, W)
    values = ssim(first, second)
    expected = skimage_ssim(first, second)
    np.testing.assert_allclose(values.numpy(), expected, rtol=0, atol=1e-6)
    channel_by_channel = np.stack([skimage_ssim(first[:, c : c + 1], second[:, c : c + 1]) for c in range(3)], axis=1)
    assert channel_by_channel.std(axis=1).min() > 0.05  # the channels disagree, so the average is tested


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


def test_score_curves_are_stored_by_the_cli_and_read_back_for_the_same_weights(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from drnet_experiments import generation_score as gs
    from drnet_experiments import pretrained

    monkeypatch.setattr(pretrained, "RUNS", tmp_path)
    calls = []

    def probabilities(n_offsets):
        calls.append(n_offsets)
        return torch.softmax(torch.randn(4, n_offsets, 6, generator=torch.Generator().manual_seed(len(calls))), -1)

    monkeypatch.setattr(gs, "clip_probabilities", lambda c, seq, offsets: probabilities(len(offsets)))
    monkeypatch.setattr(gs, "rollout_probabilities", lambda c, p, obs, offsets: probabilities(len(offsets)))
    monkeypatch.setattr(gs, "action_probabilities", lambda c, windows: probabilities(1)[:, 0])
    weights = lambda sha: SimpleNamespace(checkpoint_info={"sha256": sha})  # noqa: E731
    classifier = weights("c" * 64)
    predictors = {"DRNET": SimpleNamespace(checkpoint_info={"sha256": "l" * 64}, drnet=weights("d" * 64))}
    clips = torch.zeros(4, 13, 1, 8, 8)
    measure = lambda store=False: gs.score_curves(classifier, predictors, clips, 2, (0, 1), (0,), "stand-in", "ci", store=store)  # noqa: E731
    first = measure(store=True)
    assert set(first) == {"real clips", "DRNET", "repeat the last frame"} and len(calls) == 3
    again = measure()
    assert len(calls) == 3, "the stored curves are read, not measured"
    assert all(torch.allclose(again[name][part], first[name][part]) for name in first for part in ("score", "low", "high"))
    predictors["DRNET"].drnet = weights("e" * 64)  # another DRNET under the same LSTM is measured afresh
    measure()
    assert len(calls) == 6
