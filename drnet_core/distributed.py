"""Data-parallel training over several processes: ``torchrun --nproc_per_node=N -m drnet_core train …``.

DRNET does not fit one ``DistributedDataParallel`` wrapper: each iteration runs two optimisers in turn (C, then
E_c/E_p/D), E_p is called on two frames before either backward pass, and C's step must see E_p frozen. So we do
what DDP does, explicitly: every rank holds the same replica, computes gradients on its share of the batch, and
the gradients are averaged across ranks (one ``all_reduce`` per parameter group, bucketed) before each
optimiser step. Both optimisers stay in lock-step on every rank.

* **Data**: the global batch of step s is drawn from (seed, s) as in single-process training, and rank r keeps
  its rows r·B/N … (r+1)·B/N (:func:`rank_rows`). A source that can (Moving MNIST's ``sample_pairs``) draws every
  row's clip and offsets, which is cheap, and renders only its own rows, which is not. Ranks see disjoint samples,
  and a run can resume on another world size and still see the same stream of batches.
* **Negatives** for C come from each rank's own batch (the batch is rolled within the rank's slice).
* **SyncBatchNorm** (``train.sync_bn``): :class:`CrossRankBatchNorm` computes the batch statistics over the
  global batch with an autograd-aware ``all_reduce``; it works with gloo on CPU as well as NCCL on GPUs, and its
  ``state_dict`` is that of ``nn.BatchNorm``, so checkpoints move freely between 1 and N processes.
* **Logging and checkpoints** come from rank 0 alone; the logged losses are averaged over ranks.

With SyncBatchNorm, N processes of batch B/N follow 1 process of batch B that draws its negatives within the
same N groups (``Trainer.negative_groups = N``), up to floating-point rounding; ``tests/test_distributed.py``
checks it with gloo and 2 processes. Taught in the README's "Scaling up" section.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job: rank, world size and local rank (GPU index)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


SINGLE = DistInfo()


def init_from_env(device_type: str = "cpu") -> DistInfo:
    """Join the process group described by torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK).

    Without those variables this is a single process and nothing is initialised. The backend is NCCL for
    CUDA and gloo for CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    if device_type == "cuda":
        torch.cuda.set_device(info.local_rank)
    return info


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_rows(batch_size: int, info: DistInfo) -> slice | None:
    """Rank r's rows of a global batch, r·B/N … (r+1)·B/N (None in one process). B must be divisible by N."""
    if not info.active:
        return None
    if batch_size % info.world_size:
        raise ValueError(f"batch_size {batch_size} must be divisible by the world size {info.world_size}")
    share = batch_size // info.world_size
    return slice(info.rank * share, (info.rank + 1) * share)


def rank_slice(batch: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Rank r's share of a global batch: rows r·B/N … (r+1)·B/N. B must be divisible by N."""
    if not info.active:
        return batch
    if len(batch) % info.world_size:
        raise ValueError(f"batch_size {len(batch)} must be divisible by the world size {info.world_size}")
    share = len(batch) // info.world_size
    return batch[info.rank * share : (info.rank + 1) * share]


def average_gradients(parameters: list[nn.Parameter], info: DistInfo) -> None:
    """Replace each gradient by its mean over ranks (what DDP's backward hooks do), in one flat bucket."""
    if not info.active:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_parameters(module: nn.Module, info: DistInfo) -> None:
    """Make every rank start from rank 0's weights and buffers."""
    if not info.active:
        return
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, src=0)


def mean_over_ranks(values: dict[str, torch.Tensor], info: DistInfo) -> dict[str, torch.Tensor]:
    """Average scalar tensors over ranks (for the log)."""
    if not info.active:
        return values
    keys = sorted(values)
    stacked = torch.stack([values[k].float() for k in keys])
    dist.all_reduce(stacked)
    stacked /= info.world_size
    return dict(zip(keys, stacked))


def all_finite_over_ranks(values: dict[str, torch.Tensor], info: DistInfo) -> bool:
    """Whether every value is finite on every rank: one rank's NaN stops them all at the same step (no rank is left
    waiting in the next all-reduce)."""
    bad = torch.stack([(~torch.isfinite(v.detach().float())).any() for v in values.values()]).any().float()
    if info.active:
        dist.all_reduce(bad, op=dist.ReduceOp.MAX)
    return bad.item() == 0


class CrossRankBatchNorm(nn.BatchNorm2d):
    """BatchNorm whose training statistics span the batches of every rank (SyncBatchNorm that also runs on CPU).

    Per channel: the sums Σx, Σx² and the count are all-reduced with ``torch.distributed.nn.all_reduce``, whose
    backward pass all-reduces the gradients, so the result and its gradient equal BatchNorm over the global batch.
    In eval mode, or in a single process, it is plain BatchNorm. Works for (B, C) and (B, C, H, W) inputs.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (2, 4):
            raise ValueError(f"expected a 2-D or 4-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training, self.momentum, self.eps)
        from torch.distributed.nn import all_reduce

        dims = [0] + list(range(2, x.dim()))
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        packed = all_reduce(torch.cat([x.sum(dims), (x * x).sum(dims), count]))
        channels = x.shape[1]
        total = packed[-1]
        mean = packed[:channels] / total
        var = packed[channels : 2 * channels] / total - mean * mean
        with torch.no_grad():
            self.num_batches_tracked += 1
            momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.mul_(1 - momentum).add_(momentum * mean.detach())
            self.running_var.mul_(1 - momentum).add_(momentum * var.detach() * total / (total - 1))
        shape = [1, channels] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape) if self.affine else y


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``nn.BatchNorm1d/2d`` in ``module`` by a :class:`CrossRankBatchNorm` with the same state."""
    for name, child in module.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)) and not isinstance(child, CrossRankBatchNorm):
            replacement = CrossRankBatchNorm(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            replacement.load_state_dict(child.state_dict())
            replacement.to(device=next(child.buffers()).device)
            setattr(module, name, replacement)
        else:
            convert_sync_batchnorm(child)
    return module
