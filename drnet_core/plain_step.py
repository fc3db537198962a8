"""One DRNET iteration in plain PyTorch, written out for reading (paper section 3, eq. 1–5; chapter 1).

The :class:`~drnet_core.train.Trainer` runs the same math through :mod:`drnet_core.step`, with mixed precision,
several processes and logging around it; ``tests/test_plain_step.py`` checks that both give the same losses and
gradients. Squared errors are summed over pixels and code dimensions, as the paper writes ‖·‖².
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def plain_drnet_iteration(model, opt_c, opt_encoders, x_t, x_tk, alpha: float = 1.0, beta: float = 0.1) -> dict[str, float]:
    """Train C once, then E_c, E_p and D once, on the frame pairs (x^t, x^{t+k}) of a batch of clips."""
    E_c, E_p, D, C = model.content_encoder, model.pose_encoder, model.decoder, model.discriminator

    # The pose of both frames; both steps use these codes.
    h_p_t, h_p_tk = E_p(x_t), E_p(x_tk)

    # C step (eq. 3), E_p frozen: C sees the codes detached. Same clip -> 1, clip i against clip i-1 -> 0.
    a, b = h_p_t.detach(), h_p_tk.detach()
    logits_same, logits_different = C(a, b), C(a, b.roll(1, dims=0))
    loss_c = F.binary_cross_entropy_with_logits(logits_same, torch.ones_like(logits_same)) + F.binary_cross_entropy_with_logits(
        logits_different, torch.zeros_like(logits_different)
    )
    opt_c.zero_grad()
    (beta * loss_c).backward()
    opt_c.step()

    # Encoder step (eq. 5), C frozen: its weights get no gradient, but gradient flows through it into E_p.
    C.requires_grad_(False)
    h_c_t = E_c(x_t)
    with torch.no_grad():
        h_c_tk = E_c(x_tk)  # the similarity target carries no gradient
    x_hat = D(h_c_t, h_p_tk, None)  # content of x^t, pose of x^{t+k}
    rec = (x_hat - x_tk).pow(2).flatten(1).sum(1).mean()  # eq. 1: summed over pixels
    sim = (h_c_t - h_c_tk).pow(2).sum(1).mean()  # eq. 2: summed over code dimensions
    logits = C(h_p_t, h_p_tk)
    adv = F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 0.5))  # eq. 4: ask C for 1/2
    loss = rec + alpha * sim + beta * adv
    opt_encoders.zero_grad()
    loss.backward()
    opt_encoders.step()
    C.requires_grad_(True)
    return {"rec": rec.item(), "sim": sim.item(), "adv_pose": adv.item(), "disc": loss_c.item()}
