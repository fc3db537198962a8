"""One DRNET iteration as plain functions (paper section 3, eq. 1–5), and how hard each term pulls.

An iteration on a batch of pairs (x^t, x^{t+k}) of the same clips:

1. pose codes a = E_p(x^t), b = E_p(x^{t+k}), computed once and shared by both steps;
2. the **C step** (eq. 3), E_p frozen: C sees the detached codes; same-clip pairs (a_i, b_i) are labelled 1,
   different-clip pairs (a_i, b_{i-1}) are labelled 0;
3. the **encoder step** (eq. 5), C frozen: L_rec (eq. 1) + α·L_sim (eq. 2) + β·L_adv(E_p) (eq. 4), where the
   similarity target E_c(x^{t+k}) carries no gradient.

The :class:`~drnet_core.train.Trainer` owns the optimisers and calls these functions; chapter 1
(book/01_losses.ipynb) writes the same iteration out by hand and checks it against them.

:func:`term_gradient_norms` measures, on one batch, the gradient norm that each weighted term sends into each
encoder: ‖∇_{E_p} L_rec‖ against ‖∇_{E_p} β·L_adv‖, and ‖∇_{E_c} L_rec‖ against ‖∇_{E_c} α·L_sim‖. Those
ratios, not β alone, say whether the adversary acts: they depend on the reduction of the squared errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

import torch
from torch import nn

from drnet_core import losses
from drnet_core.config import TrainConfig

Cast = Callable[[], AbstractContextManager]

GRADIENT_KEYS = ("grad_ep_rec", "grad_ep_adv", "grad_ec_rec", "grad_ec_sim")


def roll_within_groups(codes: torch.Tensor, groups: int) -> torch.Tensor:
    """Pair sample i with sample i-1 of the same group (the batch is ``groups`` equal slices, one per rank).

    Within a batch drawn with replacement two rows can show the same clip (likely on a small dataset), so an
    occasional "different-clip" pair is in fact the same clip; the roll only guarantees a different *row*.
    """
    if groups == 1:
        return codes.roll(1, dims=0)
    return codes.reshape(groups, -1, *codes.shape[1:]).roll(1, dims=1).reshape(codes.shape)


def pose_codes(model: nn.Module, x_t: torch.Tensor, x_tk: torch.Tensor, beta: float, cast: Cast = contextlib.nullcontext) -> tuple[torch.Tensor, torch.Tensor]:
    """h_p^t and h_p^{t+k}, with gradient. At β = 0, h_p^t feeds only C (detached) and a term of weight 0,
    so it is computed without gradient: no adversarial gradient can reach E_p through it."""
    with cast():
        if beta == 0:
            with torch.no_grad():
                pose_t = model.pose_encoder(x_t)
        else:
            pose_t = model.pose_encoder(x_t)
        return pose_t, model.pose_encoder(x_tk)


def discriminator_terms(
    model: nn.Module, pose_t: torch.Tensor, pose_tk: torch.Tensor, groups: int = 1, cast: Cast = contextlib.nullcontext
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 3 on detached codes (E_p frozen): C's loss and its accuracy on the same/different-clip pairs."""
    a, b = pose_t.detach().float(), pose_tk.detach().float()
    with cast():
        logits_same = model.discriminator(a, b)
        logits_different = model.discriminator(a, roll_within_groups(b, groups))
    loss = losses.discriminator_loss(logits_same, logits_different)
    accuracy = 0.5 * ((logits_same.detach() > 0).float().mean() + (logits_different.detach() < 0).float().mean())
    return loss, accuracy


def encoder_terms(
    model: nn.Module, x_t: torch.Tensor, x_tk: torch.Tensor, pose_t: torch.Tensor, pose_tk: torch.Tensor, cfg: TrainConfig, cast: Cast = contextlib.nullcontext
) -> dict[str, torch.Tensor]:
    """The terms of eq. 5 minimised by E_c, E_p and D, with their graphs (the caller keeps C frozen).

    The decoder reconstructs x^{t+k} from the content of x^t and the pose of x^{t+k} (eq. 1); the similarity
    target E_c(x^{t+k}) is computed without gradient (eq. 2); the adversarial term asks C for ½ on the
    same-clip pair (eq. 4). Returns ``rec``, ``sim``, ``adv_pose`` and ``total``.
    """
    with cast():
        content_t = model.content_encoder(x_t)
        skips = None
        if model.config.skips:
            content_t, skips = content_t
        if model.config.content_dim == 0:  # the AE baseline: no content code, no similarity term
            content_tk = content_t
        else:
            with torch.no_grad():  # the similarity target carries no gradient
                content_tk = model.content_encoder(x_tk)
                if model.config.skips:
                    content_tk = content_tk[0]
        prediction = model.decoder(content_t, pose_tk, skips)
        logits_same = model.discriminator(pose_t.float(), pose_tk.float())
    rec = losses.reconstruction_loss(prediction, x_tk, cfg.reduction)
    sim = losses.similarity_loss(content_t, content_tk, cfg.reduction)
    adv = losses.pose_adversarial_loss(logits_same)
    return {"rec": rec, "sim": sim, "adv_pose": adv, "total": losses.total_loss(rec, sim, adv, cfg.alpha, cfg.beta)}


def _norm(grads: tuple[torch.Tensor | None, ...]) -> float:
    squares = [g.float().pow(2).sum() for g in grads if g is not None]
    return torch.stack(squares).sum().sqrt().item() if squares else 0.0


def _parameters(module: object) -> list[nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad] if isinstance(module, nn.Module) else []


def term_gradient_norms(model: nn.Module, x_t: torch.Tensor, x_tk: torch.Tensor, cfg: TrainConfig) -> dict[str, float]:
    """How hard each weighted term of eq. 5 pulls on each encoder, on one batch: the gradient norms

    * ``grad_ep_rec`` = ‖∇_{θ_p} L_rec‖ and ``grad_ep_adv`` = ‖∇_{θ_p} β·L_adv‖ (into the pose encoder E_p),
    * ``grad_ec_rec`` = ‖∇_{θ_c} L_rec‖ and ``grad_ec_sim`` = ‖∇_{θ_c} α·L_sim‖ (into the content encoder E_c).

    One extra forward pass in float32 and three backward passes; nothing is updated. BatchNorm's running
    statistics are restored afterwards, so measuring does not change training. The AE baseline (one shared
    encoder, no E_c) returns an empty dict.
    """
    pose_params, content_params = _parameters(model.pose_encoder), _parameters(model.content_encoder)
    if not pose_params or not content_params:
        return {}
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    try:
        with torch.enable_grad():
            pose_t, pose_tk = model.pose_encoder(x_t), model.pose_encoder(x_tk)
            terms = encoder_terms(model, x_t, x_tk, pose_t, pose_tk, cfg)
            n_pose = len(pose_params)
            rec = torch.autograd.grad(terms["rec"], pose_params + content_params, retain_graph=True, allow_unused=True)
            adv = torch.autograd.grad(cfg.beta * terms["adv_pose"], pose_params, retain_graph=True, allow_unused=True)
            sim = torch.autograd.grad(cfg.alpha * terms["sim"], content_params, allow_unused=True)
    finally:
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
    return {"grad_ep_rec": _norm(rec[:n_pose]), "grad_ep_adv": _norm(adv), "grad_ec_rec": _norm(rec[n_pose:]), "grad_ec_sim": _norm(sim)}
