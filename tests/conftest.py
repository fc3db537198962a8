"""Shared fixtures: tiny experiments that run in a second on 2 cores."""

from __future__ import annotations

import pytest
import torch

from drnet_core.config import experiment


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)
    yield


@pytest.fixture
def tiny_experiment():
    """A 'ci'-sized MNIST experiment with very small networks."""
    sizes = {"model.nf": 4, "train.batch_size": 6, "train.max_offset": 3, "data.seq_len": 6}
    return experiment("mnist", "ci", **sizes, **{"train.log_every": 2, "train.checkpoint_every": 2})


@pytest.fixture(scope="session")
def train_digits():
    from data_utils import MovingMNIST

    return MovingMNIST("train", seq_len=6)


@pytest.fixture
def lively():
    """Redraw a model's weights (every matrix and kernel, N(0, gain² / fan)) so that its frames vary.

    With the reference init (N(0, 0.02)) and eval-mode BatchNorm, a fresh DRNet's decoder draws 0.5 ± 1e-6 at
    every pixel, whatever its inputs: a comparison of two such frames at atol 1e-5 holds for any wiring.
    """

    def redraw(model: torch.nn.Module, gain: float = 3.0, seed: int = 0) -> torch.nn.Module:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in model.parameters():
                if p.ndim > 1:
                    p.copy_(torch.randn(p.shape, generator=gen) * gain / p[0].numel() ** 0.5)
        return model

    return redraw
