"""Rollout position error (chapter 2): the metric and its two baselines on clips whose motion is known exactly."""

import math

import pytest
import torch

from data_utils import MovingMNIST
from data_utils.moving_mnist import ClipSpecs
from drnet_experiments.mnist_rollouts import RolloutClips, baseline_errors, position_error, rollout_clips

HORIZONS = (1, 3, 6)


@pytest.fixture(scope="module")
def one_digit():
    return MovingMNIST("test", num_digits=1)


def _straight_clip(data, velocity, start=(4, 2), n_observed=3):
    """One digit moving at ``velocity`` px per frame without touching a wall."""
    steps = n_observed + max(HORIZONS)
    positions = torch.tensor(start)[None] + torch.arange(steps)[:, None] * torch.tensor(velocity)[None]
    assert positions.min() >= 0 and positions.max() <= data.limit, "the clip must not bounce"
    specs = ClipSpecs(torch.tensor([[7]]), positions[None, :, None, :], torch.tensor([[0]]))
    observed = data.render(specs.at_times(torch.arange(n_observed)[None]))
    truth = data.render(specs.at_times((n_observed - 1 + torch.tensor(HORIZONS))[None]))
    return RolloutClips(observed, truth, HORIZONS, n_digits=1)


def test_the_true_continuation_scores_zero_pixels():
    clips = rollout_clips(n_clips=8, n_observed=5, horizons=(1, 10))
    for i in range(len(clips.horizons)):
        assert position_error(clips.truth[:, i], clips.truth[:, i], clips.n_digits) == 0.0
    assert position_error(clips.observed[:, -1], clips.truth[:, 1], clips.n_digits) > 1.0


def test_copy_last_scores_the_distance_the_digit_travels(one_digit):
    clips = _straight_clip(one_digit, velocity=(3, 3), start=(1, 0))
    errors = baseline_errors(clips)["copy_last"]
    for h in HORIZONS:
        assert errors[h] == pytest.approx(math.hypot(3, 3) * h, abs=1e-3)


def test_constant_velocity_is_exact_on_a_clip_without_a_bounce(one_digit):
    clips = _straight_clip(one_digit, velocity=(2, -1), start=(5, 30))
    errors = baseline_errors(clips)["constant_velocity"]
    assert all(errors[h] == pytest.approx(0.0, abs=1e-3) for h in HORIZONS)
    assert baseline_errors(clips)["copy_last"][6] == pytest.approx(6 * math.sqrt(5), abs=1e-3)


def test_the_long_clips_begin_as_the_fixed_test_clips():
    data = MovingMNIST("test", seq_len=20)
    fixed = data.fixed_specs(4)
    clips = rollout_clips(n_clips=4, n_observed=5, horizons=(1, 2), data=data)
    torch.testing.assert_close(clips.observed, data.render(fixed.at_times(torch.arange(5).expand(4, -1))))
