"""VGG16-style content encoder with U-Net skips and its mirrored decoder (paper section 4.1, KTH).

"E_c uses the same architecture as VGG16 up until the final pooling layer with |h_c| = 128. The decoder is a
mirrored version of the content encoder with pooling layers replaced with spatial up-sampling. In the style of
U-Net, we add skip connections from the content encoder to the decoder, enabling the model to easily generate
static background features."

At 64×64 we follow the public code (edenton/drnet-py, models/vgg_unet_64.py): four VGG stages, 2×nf at 64²,
2×2nf at 32², 3×4nf at 16² and 3×8nf at 8², each 3×3 convolution followed by BN and LeakyReLU(0.2), max pooling
between stages, then a max pool to 4² and a 4×4 valid convolution to the code. Every stage output is a skip. The
decoder mirrors it with nearest-neighbour up-sampling and concatenates the matching skip at each scale; it ends
with a 3×3 convolution and a sigmoid. The paper's width is nf = 64; the ``cpu`` profile narrows it.

Taught in book/04_kth_prediction.ipynb.
"""

from __future__ import annotations

import torch
from torch import nn

from drnet_core.nets.dcgan import code_head, normalise_code


def vgg_layer(c_in: int, c_out: int) -> nn.Sequential:
    """Conv 3×3 (same size) → BN → LeakyReLU(0.2)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True))


def _stage(widths: list[int]) -> nn.Sequential:
    return nn.Sequential(*[vgg_layer(a, b) for a, b in zip(widths[:-1], widths[1:])])


class VGGEncoder(nn.Module):
    """x (B, nc, 64, 64) → (code (B, dim), [skips at 64², 32², 16², 8²])."""

    def __init__(self, dim: int, nc: int = 1, nf: int = 64, code_norm: str = "l2") -> None:
        super().__init__()
        self.code_norm = code_norm
        self.stages = nn.ModuleList(
            [_stage([nc, nf, nf]), _stage([nf, 2 * nf, 2 * nf]), _stage([2 * nf, 4 * nf, 4 * nf, 4 * nf]), _stage([4 * nf, 8 * nf, 8 * nf, 8 * nf])]
        )
        self.pool = nn.MaxPool2d(2)
        self.head = code_head(8 * nf, dim, 4, code_norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if x.ndim != 4 or x.shape[-1] != 64 or x.shape[-2] != 64:
            raise ValueError(f"the 64-pixel VGG encoder expects (B, C, 64, 64) frames, got {tuple(x.shape)}")
        skips = []
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else self.pool(x))
            skips.append(x)
        code = normalise_code(self.head(self.pool(x)).flatten(1), self.code_norm)
        return code, skips


class VGGDecoder(nn.Module):
    """(h_c, h_p, skips) → frame (B, nc, 64, 64) in [0, 1]: the mirror of :class:`VGGEncoder`, with U-Net skips."""

    def __init__(self, content_dim: int, pose_dim: int, nc: int = 1, nf: int = 64) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.ConvTranspose2d(content_dim + pose_dim, 8 * nf, 4, 1, 0, bias=False), nn.BatchNorm2d(8 * nf), nn.LeakyReLU(0.2, inplace=True)
        )
        self.stages = nn.ModuleList(
            [
                _stage([16 * nf, 8 * nf, 8 * nf, 4 * nf]),  # 8²: after the 8nf skip
                _stage([8 * nf, 4 * nf, 4 * nf, 2 * nf]),  # 16²
                _stage([4 * nf, 2 * nf, nf]),  # 32²
                _stage([2 * nf, nf]),  # 64²
            ]
        )
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.out = nn.ConvTranspose2d(nf, nc, 3, 1, 1)

    def forward(self, content: torch.Tensor, pose: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        if skips is None or len(skips) != 4:
            raise ValueError("the VGG decoder needs the content encoder's four skips (U-Net)")
        if content.ndim != 2 or pose.ndim != 2 or content.shape[0] != pose.shape[0]:
            raise ValueError(f"decoder expects content (B, c) and pose (B, p), got {tuple(content.shape)} and {tuple(pose.shape)}")
        x = self.stem(torch.cat([content, pose.to(content.dtype)], dim=1)[:, :, None, None])  # 4²
        for stage, skip in zip(self.stages, reversed(skips)):
            x = stage(torch.cat([self.up(x), skip], dim=1))
        return torch.sigmoid(self.out(x))
