import math

import pytest
import torch

from drnet_core import losses


def test_reconstruction_sums_pixels_and_averages_the_batch():
    pred = torch.zeros(2, 1, 2, 2)
    target = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]], [[[1.0, 1.0], [1.0, 0.0]]]])
    # sample 1: 1 squared error; sample 2: 3 → mean 2.0
    assert losses.reconstruction_loss(pred, target).item() == pytest.approx(2.0)
    assert losses.reconstruction_loss(pred, target, reduction="mean").item() == pytest.approx(4 / 8)


def test_similarity_loss_by_hand():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    assert losses.similarity_loss(a, b).item() == pytest.approx((2.0 + 0.0) / 2)


def test_discriminator_loss_by_hand():
    same, diff = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 1.0])
    sig = torch.sigmoid
    expected = -(torch.log(sig(same)).mean() + torch.log(1 - sig(diff)).mean())
    assert losses.discriminator_loss(same, diff).item() == pytest.approx(expected.item(), rel=1e-6)


def test_pose_adversarial_minimum_is_log2_at_one_half():
    assert losses.pose_adversarial_loss(torch.zeros(5)).item() == pytest.approx(math.log(2))
    logit = torch.tensor([1.5])
    c = torch.sigmoid(logit)
    expected = -(0.5 * torch.log(c) + 0.5 * torch.log(1 - c))
    assert losses.pose_adversarial_loss(logit).item() == pytest.approx(expected.item(), rel=1e-6)
    assert losses.pose_adversarial_loss(logit).item() > losses.ADVERSARIAL_MINIMUM
    # the gradient vanishes at C = 1/2 and pushes C back towards 1/2 elsewhere
    x = torch.tensor([0.0, 2.0], requires_grad=True)
    losses.pose_adversarial_loss(x).backward()
    assert x.grad[0].item() == pytest.approx(0.0, abs=1e-7) and x.grad[1].item() > 0


def test_total_loss_weights():
    total = losses.total_loss(torch.tensor(3.0), torch.tensor(2.0), torch.tensor(0.5), alpha=1.0, beta=0.1)
    assert total.item() == pytest.approx(3.0 + 2.0 + 0.05)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="eq. 1"):
        losses.reconstruction_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="reduction"):
        losses.similarity_loss(torch.zeros(2, 3), torch.zeros(2, 3), reduction="median")
