"""The iteration math of drnet_core/step.py: the wiring of eq. 1–5 and the gradient norms each term sends."""

import copy
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from drnet_core import losses, step
from drnet_core.config import with_overrides
from drnet_core.train import Trainer, draw_batch, step_generator


def _batch(trainer, at=0):
    cfg = trainer.cfg
    x_t, x_tk = draw_batch(trainer.source, cfg.batch_size, cfg.max_offset, step_generator(cfg.seed, at))
    return trainer._prepare(x_t), trainer._prepare(x_tk)


def _rec_only_gradients(model, x_t, x_tk, reduction):
    """∇ of L_rec alone (eq. 1) with respect to E_p and E_c, on a copy of the model in training mode."""
    model = copy.deepcopy(model).train()
    prediction = model.decoder(model.content_encoder(x_t), model.pose_encoder(x_tk), None)
    rec = losses.reconstruction_loss(prediction, x_tk, reduction)
    return torch.autograd.grad(rec, list(model.pose_encoder.parameters()))


def test_a_term_with_weight_zero_sends_no_gradient_into_the_pose_encoder(tiny_experiment, train_digits):
    exp = with_overrides(tiny_experiment, {"train.beta": 0.0})
    trainer = Trainer(exp, train_digits, progress=False)
    x_t, x_tk = _batch(trainer)
    expected = _rec_only_gradients(trainer.model, x_t, x_tk, exp.train.reduction)
    trainer.train_step(x_t, x_tk)  # C trains at weight 1 as a probe when β = 0: none of that may reach E_p
    got = [p.grad for p in trainer.model.pose_encoder.parameters()]
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-7)


def test_the_adversarial_gradient_reaches_the_pose_encoder_when_beta_is_positive(tiny_experiment, train_digits):
    trainer = Trainer(with_overrides(tiny_experiment, {"train.beta": 1.0}), train_digits, progress=False)
    x_t, x_tk = _batch(trainer)
    expected = _rec_only_gradients(trainer.model, x_t, x_tk, trainer.cfg.reduction)
    trainer.train_step(x_t, x_tk)
    got = [p.grad for p in trainer.model.pose_encoder.parameters()]
    assert max((g - e).abs().max().item() for g, e in zip(got, expected, strict=True)) > 1e-6


def test_the_logged_adversarial_pull_grows_with_beta_by_its_factor(tiny_experiment, train_digits):
    trainer = Trainer(tiny_experiment, train_digits, progress=False)
    x_t, x_tk = _batch(trainer)
    norms = {b: step.term_gradient_norms(trainer.model, x_t, x_tk, with_overrides(tiny_experiment, {"train.beta": b}).train) for b in (0.0, 0.1, 1.0)}
    assert norms[0.0]["grad_ep_adv"] == 0.0 and norms[0.1]["grad_ep_adv"] > 0
    assert norms[1.0]["grad_ep_adv"] / norms[0.1]["grad_ep_adv"] == pytest.approx(10.0, rel=1e-4)
    assert norms[1.0]["grad_ep_rec"] == pytest.approx(norms[0.1]["grad_ep_rec"], rel=1e-5)


def test_the_mean_shrinks_the_reconstruction_pull_by_the_pixel_count(tiny_experiment, train_digits):
    trainer = Trainer(tiny_experiment, train_digits, progress=False)
    x_t, x_tk = _batch(trainer)
    summed = step.term_gradient_norms(trainer.model, x_t, x_tk, with_overrides(tiny_experiment, {"train.reduction": "sum"}).train)
    mean = step.term_gradient_norms(trainer.model, x_t, x_tk, with_overrides(tiny_experiment, {"train.reduction": "mean"}).train)
    pixels = x_t[0].numel()
    assert summed["grad_ep_rec"] / mean["grad_ep_rec"] == pytest.approx(pixels, rel=1e-3)
    assert summed["grad_ep_adv"] == pytest.approx(mean["grad_ep_adv"], rel=1e-5)  # L_adv has no pixels to reduce
    content_dim = trainer.model.config.content_dim
    assert summed["grad_ec_sim"] / mean["grad_ec_sim"] == pytest.approx(content_dim, rel=1e-3)


def test_measuring_the_pull_changes_no_weight_and_no_batchnorm_statistic(tiny_experiment, train_digits):
    trainer = Trainer(tiny_experiment, train_digits, progress=False)
    x_t, x_tk = _batch(trainer)
    before = copy.deepcopy(trainer.model.state_dict())
    step.term_gradient_norms(trainer.model, x_t, x_tk, trainer.cfg)
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_the_trainer_logs_the_four_gradient_norms(tiny_experiment, train_digits):
    trainer = Trainer(tiny_experiment, train_digits, progress=False)
    records = trainer.fit(steps=2)
    assert set(step.GRADIENT_KEYS) <= set(records[-1]) and records[-1]["grad_ep_rec"] > 0


class _OverlapDiscriminator(nn.Module):
    """A hand-built C: logit = s·(2·⟨a, b⟩ − 1). On one-hot pose codes a pair of equal codes gets +s ("same clip")
    and a pair of two different codes gets −s ("different clips")."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.scale * (2 * (a * b).sum(1) - 1)


@pytest.mark.parametrize("groups", [1, 2])
def test_c_labels_same_clip_pairs_one_and_different_clip_pairs_zero(groups):
    """Eq. 3: a C that says "same" (logit +s) on exactly the same-clip pairs (a_i, b_i) and "different" (−s) on the
    rolled pairs (a_i, b_{i-1}) is right everywhere: its loss is 2·softplus(−s) = 2·log(1 + e^{−s}) and its accuracy 1.
    With the labels swapped (same → 0, different → 1) the loss would be 2·softplus(s) and the accuracy 0."""
    s = 2.0
    codes = torch.eye(6)  # six clips, each with its own pose code; x^t and x^{t+k} of a clip share it
    model = SimpleNamespace(discriminator=_OverlapDiscriminator(s))
    loss, accuracy = step.discriminator_terms(model, codes, codes.clone(), groups=groups)
    assert loss.item() == pytest.approx(2 * math.log1p(math.exp(-s)), rel=1e-6)  # swapped: 2·log(1 + e^s) ≈ 4.25
    assert accuracy.item() == 1.0


def test_the_trainers_c_step_learns_to_call_same_clip_pairs_same(tiny_experiment, train_digits):
    """Trained for a few steps on fixed, separable codes, C gives a same-clip pair (h_p^t, h_p^{t+k}) a probability
    above ½ and a pair from two clips one below ½. With swapped labels it would learn the opposite."""
    trainer = Trainer(with_overrides(tiny_experiment, {"train.precision": "fp32"}), train_digits, progress=False)
    gen = torch.Generator().manual_seed(0)
    pose_t = F.normalize(torch.randn(6, trainer.model.config.pose_dim, generator=gen), dim=1)
    pose_tk = F.normalize(pose_t + 0.05 * torch.randn(pose_t.shape, generator=gen), dim=1)  # the same clip, k frames on
    for _ in range(100):
        terms = trainer.discriminator_step(pose_t, pose_tk)
    discriminator = trainer.model.discriminator
    with torch.no_grad():
        same = torch.sigmoid(discriminator(pose_t, pose_tk))
        different = torch.sigmoid(discriminator(pose_t, pose_tk.roll(1, dims=0)))
    assert (same > 0.5).all() and (different < 0.5).all(), (same, different)
    assert terms["disc_acc"].item() == 1.0
