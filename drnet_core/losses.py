"""The DRNET loss terms, one function per equation of the paper (section 3).

Reduction. The paper writes squared L2 norms, ‖·‖²: a sum over pixels (eq. 1) and
over code dimensions (eq. 2). We sum over those and average over the batch
(``reduction="sum"``, the default). Both public codes use ``nn.MSELoss``, which averages
over every element (``reduction="mean"``); that shrinks the reconstruction term by the
number of pixels (12,288 at 3×64×64) and the similarity term by |h_c|, and so changes
how strongly each term pulls against the adversary. In a measured run on Moving MNIST
the mean left content swaps at chance where the sum disentangled.

Taught in book/01_losses.ipynb.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

REDUCTIONS = ("sum", "mean")

#: The pose encoder's best adversarial loss: C outputs 1/2, cross-entropy log 2 (eq. 4).
ADVERSARIAL_MINIMUM = math.log(2.0)


def _squared_error(a: torch.Tensor, b: torch.Tensor, reduction: str, what: str) -> torch.Tensor:
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    sq = (a.float() - b.float()).pow(2)
    if reduction == "mean":
        return sq.mean()
    return sq.flatten(1).sum(dim=1).mean()


def reconstruction_loss(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Eq. 1: ‖D(E_c(x^t), E_p(x^{t+k})) − x^{t+k}‖², summed over pixels, averaged over the batch."""
    return _squared_error(prediction, target, reduction, "reconstruction_loss (eq. 1)")


def similarity_loss(content_t: torch.Tensor, content_tk: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Eq. 2: ‖E_c(x^t) − E_c(x^{t+k})‖², summed over code dimensions, averaged over the batch.

    The trainer passes ``content_tk`` detached, as the public code does (the paper does not say).
    """
    return _squared_error(content_t, content_tk, reduction, "similarity_loss (eq. 2)")


def discriminator_loss(logits_same: torch.Tensor, logits_different: torch.Tensor) -> torch.Tensor:
    """Eq. 3: −[log C(same-clip pair) + log(1 − C(different-clip pair))], averaged over pairs.

    Label 1 means "same clip", as in the paper and the Lua code (the PyTorch code flips it).
    """
    if logits_same.shape != logits_different.shape:
        raise ValueError(f"discriminator_loss (eq. 3): {tuple(logits_same.shape)} same-clip vs {tuple(logits_different.shape)} different-clip logits")
    same = F.binary_cross_entropy_with_logits(logits_same.float(), torch.ones_like(logits_same, dtype=torch.float32))
    different = F.binary_cross_entropy_with_logits(logits_different.float(), torch.zeros_like(logits_different, dtype=torch.float32))
    return same + different


def pose_adversarial_loss(logits_same: torch.Tensor) -> torch.Tensor:
    """Eq. 4: −[½ log C + ½ log(1 − C)] on same-clip pairs: cross-entropy against the target ½.

    Its minimum, log 2, is reached when C cannot tell (C = ½): maximum entropy.
    """
    return F.binary_cross_entropy_with_logits(logits_same.float(), torch.full_like(logits_same, 0.5, dtype=torch.float32))


def total_loss(reconstruction: torch.Tensor, similarity: torch.Tensor, adversarial_pose: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """Eq. 5, the part minimised by E_c, E_p and D: L_rec + α·L_sim + β·L_adv(E_p).

    The remaining term of eq. 5, β·L_adv(C), is minimised by C alone in its own step.
    """
    return reconstruction + alpha * similarity + beta * adversarial_pose
