"""Net2WiderNet widening of a DCGAN DRNet (drnet_experiments/widen.py): same function, more channels, symmetry broken."""

import copy
import dataclasses

import pytest
import torch

from drnet_core import DRNet
from drnet_core.config import ModelConfig, with_overrides
from drnet_core.train import Trainer
from drnet_experiments.widen import Widening, widen_drnet


def _trained_like(nf: int = 4, seed: int = 0) -> DRNet:
    """A small DCGAN DRNet with non-trivial BatchNorm parameters and running statistics."""
    torch.manual_seed(seed)
    model = DRNet(ModelConfig(nf=nf, content_dim=16, pose_dim=3))
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0, 0.1)
            bn.running_mean.normal_(0, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
    return model


def _outputs(model: DRNet, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        content, pose = model.encode_content(x), model.encode_pose(y)
        return content, pose, model.decode(content, pose)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_widening_without_noise_computes_the_same_function(mode):
    narrow = _trained_like()
    getattr(narrow, mode)()
    wide = widen_drnet(narrow, 7, noise=0.0)
    assert wide.config.nf == 7 and wide.training == narrow.training
    assert wide.decoder.out.weight.shape[0] == 7 and narrow.decoder.out.weight.shape[0] == 4
    x, y = torch.rand(5, 3, 64, 64), torch.rand(5, 3, 64, 64)
    for a, b in zip(_outputs(narrow, x, y), _outputs(wide, x, y)):
        assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()


def test_widening_with_noise_stays_close_and_breaks_the_copies_symmetry():
    narrow = _trained_like().eval()
    wide = widen_drnet(narrow, 8, noise=0.01).eval()
    x, y = torch.rand(5, 3, 64, 64), torch.rand(5, 3, 64, 64)
    gap = (_outputs(narrow, x, y)[2] - _outputs(wide, x, y)[2]).abs().max().item()
    assert 0 < gap < 0.05
    weights = wide.content_encoder.blocks[0][0].weight  # 8 output channels: 4 originals and 4 noisy copies
    originals, copies = weights[:4], weights[4:]
    distance_to_nearest_original = torch.cdist(copies.flatten(1), originals.flatten(1)).min(1).values
    assert (distance_to_nearest_original > 0).all()
    assert torch.equal(originals, narrow.content_encoder.blocks[0][0].weight)


def test_widening_refuses_what_it_cannot_preserve():
    narrow = _trained_like()
    with pytest.raises(ValueError, match="can only widen"):
        widen_drnet(narrow, 3)
    skips = DRNet(dataclasses.replace(narrow.config, skips=True))
    with pytest.raises(ValueError, match="without U-Net skips"):
        widen_drnet(skips, 8)


def test_warm_start_widens_a_narrower_checkpoint(tiny_experiment, train_digits, tmp_path):
    narrow = Trainer(tiny_experiment, train_digits, progress=False)
    narrow.fit(2)
    narrow.model.save(tmp_path / "narrow.pt", {"step": 2})
    wide_exp = with_overrides(tiny_experiment, {"model.nf": 6})
    with pytest.raises(ValueError, match="pass schedule=drnet_experiments.widen.Widening"):  # the core trains one network
        Trainer(wide_exp, train_digits, progress=False).warm_start(tmp_path / "narrow.pt")
    wide = Trainer(wide_exp, train_digits, progress=False, schedule=Widening(wide_exp))
    assert "widened from nf 4 to 6" in wide.warm_start(tmp_path / "narrow.pt")
    assert wide.step == 2 and wide.model.config.nf == 6
    assert wide.metadata()["started_from"]["widened"] and wide.metadata()["started_from"]["nf"] == 4
    x = torch.rand(3, 3, 64, 64)
    narrow.model.eval(), wide.model.eval()
    gap = (narrow.model.swap(x, x.flip(0)) - wide.model.swap(x, x.flip(0))).abs().max().item()
    assert gap < 0.05
    wide.fit(3)  # the widened weights train on
    assert wide.step == 3


def _widening(tiny_experiment):
    return with_overrides(tiny_experiment, {"model.nf": 6, "train.widen_from_nf": 4, "train.widen_at": 2})


def test_trainer_widens_at_the_configured_step_and_each_model_file_loads(tiny_experiment, train_digits, tmp_path):
    with pytest.raises(ValueError, match="pass schedule=drnet_experiments.widen.Widening"):
        Trainer(_widening(tiny_experiment), train_digits, progress=False)
    trainer = Trainer(_widening(tiny_experiment), train_digits, out_dir=tmp_path, progress=False, schedule=Widening(_widening(tiny_experiment)))
    trainer.fit(2)
    assert trainer.model.config.nf == 4 and DRNet.load(tmp_path / "model.pt").config.nf == 4
    narrow = copy.deepcopy(trainer.model).eval()
    trainer.fit(3)
    assert trainer.model.config.nf == 6 and DRNet.load(tmp_path / "model.pt").config.nf == 6
    assert trainer.opt_main.param_groups[0]["params"][0] is next(trainer.model.parameters())  # the optimisers follow
    with pytest.raises(ValueError, match="must lie below model.nf"):
        Widening(with_overrides(tiny_experiment, {"train.widen_from_nf": 8, "train.widen_at": 2}))
    assert narrow.config.nf == 4


def test_resume_across_the_widening_matches_uninterrupted_training(tiny_experiment, train_digits, tmp_path):
    exp = _widening(tiny_experiment)
    straight = Trainer(exp, train_digits, out_dir=tmp_path / "a", progress=False, schedule=Widening(exp))
    straight.fit(4)
    first = Trainer(exp, train_digits, out_dir=tmp_path / "b", progress=False, schedule=Widening(exp))
    first.fit(2)  # checkpoint at step 2, still narrow
    again = Trainer(exp, train_digits, out_dir=tmp_path / "b", progress=False, schedule=Widening(exp))
    assert again.resume_if_possible() and again.model.config.nf == 4
    again.fit(4)
    later = Trainer(exp, train_digits, out_dir=tmp_path / "b", progress=False, schedule=Widening(exp))
    assert later.resume_if_possible() and later.model.config.nf == 6  # a state saved after the widening
    for (name, a), b in zip(straight.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    for a, b in zip(straight.model.state_dict().values(), later.model.state_dict().values()):
        assert torch.equal(a, b)
