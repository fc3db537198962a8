"""The plain iteration that chapter 1 prints gives the library's losses and gradients."""

import copy

import torch

from drnet_core.config import with_overrides
from drnet_core.plain_step import plain_drnet_iteration
from drnet_core.train import Trainer, draw_batch, step_generator


def test_the_plain_iteration_matches_the_trainer(tiny_experiment, train_digits):
    exp = with_overrides(tiny_experiment, {"train.precision": "fp32", "train.channels_last": False, "train.reduction": "sum", "train.beta": 0.1})
    trainer = Trainer(exp, train_digits, progress=False)
    model = copy.deepcopy(trainer.model)
    opt_c = torch.optim.Adam(model.discriminator.parameters(), lr=exp.train.lr, betas=exp.train.betas)
    encoders = [p for n, p in model.named_parameters() if not n.startswith("discriminator.")]
    opt_encoders = torch.optim.Adam(encoders, lr=exp.train.lr, betas=exp.train.betas)
    x_t, x_tk = draw_batch(train_digits, exp.train.batch_size, exp.train.max_offset, step_generator(0, 0))

    library = {k: v.item() for k, v in trainer.train_step(x_t, x_tk).items()}
    plain = plain_drnet_iteration(model, opt_c, opt_encoders, x_t, x_tk, exp.train.alpha, exp.train.beta)

    for key in ("rec", "sim", "adv_pose", "disc"):
        assert abs(library[key] - plain[key]) <= 1e-5 * max(1.0, abs(plain[key])), key
    for (name, mine), theirs in zip(trainer.model.named_parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-4, atol=1e-6, msg=name)
        torch.testing.assert_close(mine.detach(), theirs.detach(), rtol=1e-4, atol=1e-6, msg=name)
