"""DCGAN-64 encoders and the mirrored decoder (paper section 4.1, MNIST model).

"The encoders consist of 5 convolutional layers with subsampling. Batch normalization
and Leaky ReLU's follow each convolutional layer except the final layer which
normalizes the pose/content vectors to have unit norm. The decoder is a mirrored
version of the encoder with 5 deconvolutional layers and a sigmoid output layer."

Code normalisation: the paper's unit L2 norm is the default (``code_norm="l2"``).
The public code (edenton/drnet-py) ends each encoder with BatchNorm + tanh instead;
``code_norm="tanh"`` reproduces that.

Optional U-Net skips (``skips=True``): the content encoder also returns its four
down-block outputs, and the decoder concatenates them at each scale. The paper uses
skips for KTH only; the public MNIST code uses them by default.

Taught in book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def init_weights(module: nn.Module) -> None:
    """The reference code's init: conv/linear weights N(0, 0.02), BN weights N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def down_block(c_in: int, c_out: int) -> nn.Sequential:
    """Conv 4×4 stride 2 → BN → LeakyReLU(0.2): halves the resolution."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True))


def up_block(c_in: int, c_out: int) -> nn.Sequential:
    """ConvTranspose 4×4 stride 2 → BN → LeakyReLU(0.2): doubles the resolution."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True))


def normalise_code(h: torch.Tensor, code_norm: str) -> torch.Tensor:
    """Unit L2 norm over the code dimension (paper), or tanh (public code, after its BN)."""
    if code_norm == "l2":
        return F.normalize(h.float(), dim=1).to(h.dtype)
    return torch.tanh(h)


def code_head(c_in: int, dim: int, kernel: int, code_norm: str) -> nn.Sequential:
    """The last layer of every encoder: a valid convolution to a 1×1 code, plus BN when the code goes through tanh.

    Checks ``code_norm`` ('l2', the paper, or 'tanh', the public code); :func:`normalise_code` applies it.
    """
    if code_norm not in ("l2", "tanh"):
        raise ValueError(f"code_norm must be 'l2' (paper) or 'tanh' (public code), got {code_norm!r}")
    head: list[nn.Module] = [nn.Conv2d(c_in, dim, kernel, 1, 0)]
    if code_norm == "tanh":
        head.append(nn.BatchNorm2d(dim))
    return nn.Sequential(*head)


class DCGANEncoder(nn.Module):
    """x (B, nc, 64, 64) → code (B, dim); with ``return_skips`` also the 4 down-block outputs.

    Five convolutions: four down blocks (64→32→16→8→4) and a 4×4 valid convolution to 1×1.
    """

    def __init__(self, dim: int, nc: int = 3, nf: int = 64, code_norm: str = "l2", return_skips: bool = False) -> None:
        super().__init__()
        self.code_norm, self.return_skips = code_norm, return_skips
        self.blocks = nn.ModuleList([down_block(nc, nf), down_block(nf, nf * 2), down_block(nf * 2, nf * 4), down_block(nf * 4, nf * 8)])
        self.head = code_head(nf * 8, dim, 4, code_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        if x.ndim != 4 or x.shape[-1] != 64 or x.shape[-2] != 64:
            raise ValueError(f"DCGAN-64 encoder expects (B, C, 64, 64) frames, got {tuple(x.shape)}")
        skips = []
        for block in self.blocks:
            x = block(x)
            skips.append(x)
        code = normalise_code(self.head(x).flatten(1), self.code_norm)
        return (code, skips) if self.return_skips else code


class DCGANDecoder(nn.Module):
    """(h_c, h_p[, skips]) → frame (B, nc, 64, 64) in [0, 1]; the mirror of :class:`DCGANEncoder`."""

    def __init__(self, content_dim: int, pose_dim: int, nc: int = 3, nf: int = 64, skips: bool = False) -> None:
        super().__init__()
        self.skips = skips
        k = 2 if skips else 1  # a skip doubles each block's input channels
        self.stem = nn.Sequential(
            nn.ConvTranspose2d(content_dim + pose_dim, nf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(nf * 8), nn.LeakyReLU(0.2, inplace=True)
        )
        self.blocks = nn.ModuleList([up_block(nf * 8 * k, nf * 4), up_block(nf * 4 * k, nf * 2), up_block(nf * 2 * k, nf)])
        self.out = nn.ConvTranspose2d(nf * k, nc, 4, 2, 1)

    def forward(self, content: torch.Tensor, pose: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        if content.ndim != 2 or pose.ndim != 2 or content.shape[0] != pose.shape[0]:
            raise ValueError(f"decoder expects content (B, c) and pose (B, p), got {tuple(content.shape)} and {tuple(pose.shape)}")
        if self.skips and skips is None:
            raise ValueError("this decoder has U-Net skips: pass the content encoder's skips")
        x = self.stem(torch.cat([content, pose.to(content.dtype)], dim=1)[:, :, None, None])
        if self.skips:
            x = torch.cat([x, skips[3]], dim=1)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if self.skips:
                x = torch.cat([x, skips[2 - i]], dim=1)
        return torch.sigmoid(self.out(x))
