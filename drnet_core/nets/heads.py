"""Small heads: the scene discriminator C (paper sections 3 and 4.1).

"In all experiments the scene discriminator C is a fully connected neural network
with 2 hidden layers of 100 units." It reads a pair of pose vectors and says whether
they come from the same clip. It emits a logit; the losses apply the sigmoid
(``BCEWithLogits``), which is stabler than the public code's Sigmoid + BCELoss.

Taught in book/01_losses.ipynb.
"""

from __future__ import annotations

import torch
from torch import nn


class SceneDiscriminator(nn.Module):
    """C(h_p^a, h_p^b) → logit of "same clip": Linear(2p, 100) → ReLU → Linear(100, 100) → ReLU → Linear(100, 1)."""

    def __init__(self, pose_dim: int, hidden: int = 100) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * pose_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, pose_a: torch.Tensor, pose_b: torch.Tensor) -> torch.Tensor:
        if pose_a.shape != pose_b.shape or pose_a.ndim != 2:
            raise ValueError(f"C expects two (B, pose_dim) tensors, got {tuple(pose_a.shape)} and {tuple(pose_b.shape)}")
        return self.net(torch.cat([pose_a, pose_b], dim=1)).squeeze(1)
