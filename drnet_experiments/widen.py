"""Grow a trained DCGAN DRNet to a larger width ``nf`` without changing what it computes (Net2WiderNet).

Width is what moved the Moving MNIST content-swap accuracy (benchmarks/RESULTS.md, chapter 2), but training a wider model from
scratch on a CPU costs hours before it draws digits at all. Chen, Goodfellow & Shlens (2016, "Net2Net") widen a
trained network *function-preservingly*: every new channel copies an existing one, and the next layer splits the
copied channel's outgoing weights among its copies, so the wider network starts from the narrow one's solution and
training only has to use the new capacity.

For a layer whose C output channels grow to C' with a map g: {0..C'-1} → {0..C-1} (g(j) = j for the first C,
random old channels for the rest):

    W'_out[j]    = W_out[g(j)]                     (convolution weights, BatchNorm γ, β, running mean and variance)
    W'_next[:, j] = W_next[:, g(j)] · r_j           with Σ_{j: g(j)=c} r_j = 1

so each old activation a_c reappears as copies whose contributions to the next layer sum to a_c. BatchNorm after a
convolution sees identical statistics in every copy, and LeakyReLU acts per channel, so the output is unchanged in
train and eval mode. Copies would receive identical gradients forever; unequal shares r_j (a random split instead
of 1/n) and a little noise on the copies' incoming weights break the symmetry. With ``noise=0`` the wider model
computes exactly (to float rounding) what the narrow one did: ``tests/test_widen.py`` checks it.

Only the DCGAN model without U-Net skips (the MNIST model of section 4.1) is supported; the scene discriminator C
acts on pose codes, whose size does not change, and is copied as it is.
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from drnet_core.config import Experiment, ModelConfig
from drnet_core.model import DRNet


def _channel_map(old: int, new: int, generator: torch.Generator) -> torch.Tensor:
    """g: the first ``old`` channels map to themselves, the other ``new - old`` to random old channels."""
    return torch.cat([torch.arange(old), torch.randint(0, old, (new - old,), generator=generator)])


def _split_shares(mapping: torch.Tensor, old: int, generator: torch.Generator, unequal: bool) -> torch.Tensor:
    """r_j ≥ 0 with Σ_{j: g(j)=c} r_j = 1 for every old channel c: equal 1/n, or a random split of 1."""
    raw = torch.rand(len(mapping), generator=generator) + 0.5 if unequal else torch.ones(len(mapping))
    totals = torch.zeros(old).index_add_(0, mapping, raw)
    return raw / totals[mapping]


def _widen_out(weight: torch.Tensor, dim: int, mapping: torch.Tensor) -> torch.Tensor:
    return weight.index_select(dim, mapping).clone()


def _widen_in(weight: torch.Tensor, dim: int, mapping: torch.Tensor, shares: torch.Tensor) -> torch.Tensor:
    shape = [1] * weight.ndim
    shape[dim] = -1
    return weight.index_select(dim, mapping) * shares.view(shape).to(weight.dtype)


def _copy_batchnorm(old: nn.BatchNorm2d, new: nn.BatchNorm2d, mapping: torch.Tensor) -> None:
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(new, name).data.copy_(getattr(old, name).data.index_select(0, mapping))
    new.num_batches_tracked.data.copy_(old.num_batches_tracked.data)


def _add_noise(weight: torch.Tensor, dim: int, old: int, noise: float, generator: torch.Generator) -> None:
    """Perturb the incoming weights of the new copies (channels ``old:`` along ``dim``) by ``noise`` × their std."""
    if noise <= 0 or weight.shape[dim] == old:
        return
    part = weight.narrow(dim, old, weight.shape[dim] - old)
    part.add_(torch.randn(part.shape, generator=generator).to(part.dtype) * noise * weight.std())


def widen_drnet(model: DRNet, nf: int, noise: float = 0.01, seed: int = 0) -> DRNet:
    """A copy of the DCGAN ``model`` at base width ``nf`` (≥ its own) that computes the same function.

    ``noise`` (relative to each weight tensor's std) perturbs the new channels' incoming weights and, with
    ``noise > 0``, the outgoing weights are split unequally: both break the copies' symmetry so that training
    can use them. ``noise=0`` gives an exact, equal-split copy. The result is in the mode ``model`` was in.
    """
    cfg = model.config
    if cfg.architecture != "dcgan" or cfg.skips:
        raise ValueError(f"widening supports the DCGAN model without U-Net skips, not architecture={cfg.architecture!r} skips={cfg.skips}")
    if nf < cfg.nf:
        raise ValueError(f"can only widen: the model has nf={cfg.nf}, asked for nf={nf}")
    generator = torch.Generator().manual_seed(seed)
    wide = DRNet(dataclasses.replace(cfg, nf=nf))
    wide.discriminator.load_state_dict(model.discriminator.state_dict())
    for name in ("content_encoder", "pose_encoder"):
        _widen_encoder(getattr(model, name), getattr(wide, name), cfg.nf, nf, noise, generator)
    _widen_decoder(model.decoder, wide.decoder, cfg.nf, nf, noise, generator)
    wide.train(model.training)
    wide.checkpoint_info = copy.deepcopy(model.checkpoint_info)
    return wide


@torch.no_grad()
def _widen_encoder(old: nn.Module, new: nn.Module, old_nf: int, nf: int, noise: float, generator: torch.Generator) -> None:
    """Four down blocks (Conv2d weight: out, in, kh, kw) and the code head, widened in a chain."""
    prev_map = prev_shares = None
    for i, (block_old, block_new) in enumerate(zip(old.blocks, new.blocks)):
        mapping = _channel_map(old_nf * 2**i, nf * 2**i, generator)
        weight = _widen_out(block_old[0].weight, 0, mapping)
        if prev_map is not None:
            weight = _widen_in(weight, 1, prev_map, prev_shares)
        _add_noise(weight, 0, old_nf * 2**i, noise, generator)
        block_new[0].weight.copy_(weight)
        _copy_batchnorm(block_old[1], block_new[1], mapping)
        prev_map, prev_shares = mapping, _split_shares(mapping, old_nf * 2**i, generator, unequal=noise > 0)
    head_old, head_new = old.head[0], new.head[0]
    head_new.weight.copy_(_widen_in(head_old.weight, 1, prev_map, prev_shares))
    head_new.bias.copy_(head_old.bias)
    for layer_old, layer_new in zip(old.head[1:], new.head[1:]):  # the tanh variant's BatchNorm on the code
        layer_new.load_state_dict(layer_old.state_dict())


@torch.no_grad()
def _widen_decoder(old: nn.Module, new: nn.Module, old_nf: int, nf: int, noise: float, generator: torch.Generator) -> None:
    """Stem and three up blocks (ConvTranspose2d weight: in, out, kh, kw) and the output layer, widened in a chain."""
    layers = [(old.stem, new.stem, 8)] + [(o, n, 4 // 2**i) for i, (o, n) in enumerate(zip(old.blocks, new.blocks))]
    prev_map = prev_shares = None
    for seq_old, seq_new, factor in layers:
        mapping = _channel_map(old_nf * factor, nf * factor, generator)
        weight = _widen_out(seq_old[0].weight, 1, mapping)
        if prev_map is not None:
            weight = _widen_in(weight, 0, prev_map, prev_shares)
        _add_noise(weight, 1, old_nf * factor, noise, generator)
        seq_new[0].weight.copy_(weight)
        _copy_batchnorm(seq_old[1], seq_new[1], mapping)
        prev_map, prev_shares = mapping, _split_shares(mapping, old_nf * factor, generator, unequal=noise > 0)
    new.out.weight.copy_(_widen_in(old.out.weight, 0, prev_map, prev_shares))
    new.out.bias.copy_(old.out.bias)


class Widening:
    """The CPU budget's schedule as a trainer hook (:class:`drnet_core.train.NetworkSchedule`): train at
    ``train.widen_from_nf`` until step ``train.widen_at``, then widen to ``model.nf`` (:func:`widen_drnet`).

    A narrower checkpoint handed to :meth:`Trainer.warm_start <drnet_core.train.Trainer.warm_start>` is widened the
    same way. Chapter "Training on a CPU budget" (book/06_cpu_budget.ipynb).
    """

    def __init__(self, experiment: Experiment) -> None:
        cfg, model = experiment.train, experiment.model
        if cfg.widen_from_nf and not (0 < cfg.widen_from_nf < model.nf and cfg.widen_at > 0):
            raise ValueError(f"widen_from_nf={cfg.widen_from_nf} must lie below model.nf={model.nf}, with widen_at > 0 (got {cfg.widen_at})")
        self.model, self.widen_from_nf, self.widen_at, self.seed = model, cfg.widen_from_nf, cfg.widen_at, cfg.seed

    def config_at(self, step: int) -> ModelConfig:
        """``model``, or its narrower start while ``step < widen_at``."""
        if self.widen_from_nf and step < self.widen_at:
            return dataclasses.replace(self.model, nf=self.widen_from_nf)
        return self.model

    def grow(self, model: DRNet, config: ModelConfig) -> DRNet:
        return widen_drnet(model, config.nf, seed=self.seed)


def schedule_for(experiment: Experiment) -> Widening | None:
    """The hook that ``experiment`` needs: :class:`Widening` when it widens, else None (the trainer's own)."""
    return Widening(experiment) if experiment.train.widen_from_nf else None
