"""ResNet-18 encoder for 64×64 frames (paper section 4.1: NORB and SUNCG E_c and E_p; KTH E_p).

"E_c and E_p use a ResNet-18 architecture up until the final pooling layer with |h_p| = 10 and |h_c| = 128."

We follow the public code's 64-pixel ResNet (edenton/drnet-py, models/resnet_64.py), which is not torchvision's
resnet18: a 5×5 stride-2 stem and a 3/2 max pool, four stages of two BasicBlocks (nf, 2nf, 4nf, 8nf channels,
the last three with stride 2), then a 3×3 valid convolution to the code. Sizes at 64²: 64 → 33 → 17 → 17 → 9
→ 5 → 3 → 1. The paper's width is nf = 64 (11.2 M parameters for E_p); the ``cpu`` profile narrows it.

The code is normalised to unit L2 norm as in the paper (``code_norm="l2"``); ``"tanh"`` is the public code's
BatchNorm + tanh. Activations are ReLU, as in ResNet. Taught in book/03_norb_ablation.ipynb.
"""

from __future__ import annotations

import torch
from torch import nn

from drnet_core.nets.dcgan import code_head, normalise_code


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with BN and ReLU, plus the identity (or a 1×1 projection when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ResNetEncoder(nn.Module):
    """x (B, nc, 64, 64) → code (B, dim): ResNet-18 up to the final pooling, then a 3×3 convolution to the code."""

    def __init__(self, dim: int, nc: int = 1, nf: int = 64, code_norm: str = "l2") -> None:
        super().__init__()
        self.code_norm = code_norm
        self.stem = nn.Sequential(nn.Conv2d(nc, nf, 5, 2, 3, bias=False), nn.BatchNorm2d(nf), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        widths = (nf, nf * 2, nf * 4, nf * 8)
        stages, c_in = [], nf
        for i, width in enumerate(widths):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(c_in, width, stride), BasicBlock(width, width)))
            c_in = width
        self.stages = nn.Sequential(*stages)
        self.head = code_head(c_in, dim, 3, code_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[-1] != 64 or x.shape[-2] != 64:
            raise ValueError(f"the 64-pixel ResNet encoder expects (B, C, 64, 64) frames, got {tuple(x.shape)}")
        features = self.stages(self.stem(x))  # (B, 8nf, 3, 3)
        return normalise_code(self.head(features).flatten(1), self.code_norm)
