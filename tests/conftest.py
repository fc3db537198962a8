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
