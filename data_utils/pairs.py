"""Drawing the frame pairs (x^t, x^{t+k}) that one DRNET step trains on (paper section 3).

Each sample gets its own offset k ~ U{0..K} and its own start t ~ U{0..T-1-k}, as
in the paper (the public PyTorch code uses the fixed frames x[0..3]).
"""

from __future__ import annotations

import torch


def draw_offsets(batch_size: int, seq_len: int, max_offset: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(t, k)``, two int64 tensors of shape (B,), with 0 <= t and t + k < seq_len."""
    if max_offset < 0:
        raise ValueError(f"max_offset K must be >= 0, got {max_offset}")
    if seq_len < max_offset + 1:
        raise ValueError(f"clips of {seq_len} frames are too short for offsets up to K={max_offset}; use seq_len >= K + 1")
    k = torch.randint(0, max_offset + 1, (batch_size,), generator=generator)
    t = (torch.rand(batch_size, generator=generator) * (seq_len - k)).long()
    return t, k


def pick_pairs(clips: torch.Tensor, max_offset: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """From clips (B, T, C, H, W), pick x^t and x^{t+k} per sample."""
    if clips.ndim != 5:
        raise ValueError(f"clips must be (B, T, C, H, W), got shape {tuple(clips.shape)}")
    batch = torch.arange(clips.shape[0])
    t, k = draw_offsets(clips.shape[0], clips.shape[1], max_offset, generator)
    return clips[batch, t.to(clips.device)], clips[batch, (t + k).to(clips.device)]
