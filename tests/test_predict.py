import pytest
import torch

from drnet_core import DRNet, ModelConfig
from drnet_core.predict import PoseLSTM, Predictor, PredictorConfig, next_pose_loss, train_predictor


@pytest.fixture
def predictor():
    torch.manual_seed(0)
    return Predictor(DRNet(ModelConfig(nf=4)), PredictorConfig(hidden=16, layers=2, n_observed=3, n_predicted=2))


def test_rollout_shape_range_and_length(predictor):
    frames = torch.rand(2, 3, 3, 64, 64)
    out = predictor.rollout(frames, 7, chunk=3)
    assert out.shape == (2, 7, 3, 64, 64) and out.min() >= 0 and out.max() <= 1


def test_rollout_feeds_back_its_own_predictions(predictor):
    frames = torch.rand(1, 3, 3, 64, 64)
    poses, content, _ = predictor.predict_poses(frames, 4)
    observed, _, _ = predictor.encode_clips(frames, 2)
    _, state = predictor.lstm(observed, content)
    again, _ = predictor.lstm(poses[:, :1], content, state)
    assert torch.allclose(again, poses[:, 1:2], atol=1e-6)
    assert torch.allclose(poses.norm(dim=2), torch.ones(1, 4), atol=1e-5)


def test_the_drnet_stays_frozen_and_the_lstm_learns(predictor, train_digits):
    before = {k: v.clone() for k, v in predictor.drnet.state_dict().items()}
    lstm_before = [p.clone() for p in predictor.lstm.parameters()]
    history = train_predictor(predictor, train_digits, steps=4, batch_size=3, log_every=2)
    assert len(history) == 2
    assert all(torch.equal(before[k], v) for k, v in predictor.drnet.state_dict().items()), "DRNet weights or BN statistics changed"
    assert any(not torch.equal(a, b) for a, b in zip(lstm_before, predictor.lstm.parameters()))


def test_save_load_round_trip(predictor, tmp_path):
    predictor.save(tmp_path / "p.pt")
    loaded = Predictor.load(tmp_path / "p.pt")
    frames = torch.rand(1, 3, 3, 64, 64)
    assert torch.allclose(predictor.rollout(frames, 3), loaded.rollout(frames, 3))
    predictor.drnet.save(tmp_path / "d.pt")
    with pytest.raises(Exception, match="not a Predictor checkpoint"):
        Predictor.load(tmp_path / "d.pt")


def test_pose_loss_refuses_broadcasting():
    with pytest.raises(ValueError, match="pitfall 4"):
        next_pose_loss(torch.zeros(4, 5), torch.zeros(4, 5, 1, 1))
    assert next_pose_loss(torch.zeros(2, 3, 5), torch.ones(2, 3, 5)).item() == 15.0
    with pytest.raises(ValueError, match=r"\(B, T, p\)"):
        PoseLSTM(5, 8)(torch.zeros(2, 5), torch.zeros(2, 8))


def test_pooled_training_uses_fixed_codes_and_learns(predictor, train_digits):
    from drnet_core.predict import encode_pool

    poses, content = encode_pool(predictor, train_digits, 5)
    assert poses.shape == (5, 5, 5) and content.shape == (5, 128)
    before = [p.clone() for p in predictor.lstm.parameters()]
    history = train_predictor(predictor, train_digits, steps=3, batch_size=4, log_every=3, pool_clips=5)
    assert len(history) == 1 and any(not torch.equal(a, b) for a, b in zip(before, predictor.lstm.parameters()))


def test_predictor_can_reference_its_drnet_checkpoint(predictor, tmp_path):
    predictor.drnet.save(tmp_path / "drnet.pt")
    predictor.save(tmp_path / "lstm.pt", drnet_checkpoint=tmp_path / "drnet.pt")
    loaded = Predictor.load(tmp_path / "lstm.pt")
    frames = torch.rand(1, 3, 3, 64, 64)
    assert torch.allclose(predictor.rollout(frames, 2), loaded.rollout(frames, 2))
    with torch.no_grad():
        predictor.drnet.decoder.out.bias.add_(0.1)
    predictor.drnet.save(tmp_path / "drnet.pt")
    with pytest.raises(Exception, match="has changed"):
        Predictor.load(tmp_path / "lstm.pt")


def test_lstm_is_retrained_when_its_drnet_weights_change(tmp_path, monkeypatch, capsys):
    from drnet_experiments import pretrained

    monkeypatch.setattr(pretrained, "RUNS", tmp_path)
    drnet_path = pretrained.weights_path("tiny", "ci")
    drnet_path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    DRNet(ModelConfig(nf=4)).save(drnet_path, {"step": 0})
    pretrained.load_or_train_predictor(DRNet.load(drnet_path), "ci", name="tiny")
    pretrained.load_or_train_predictor(DRNet.load(drnet_path), "ci", name="tiny")
    assert "loaded" in capsys.readouterr().out

    changed = DRNet(ModelConfig(nf=4))  # new random weights under the same name: the LSTM no longer fits them
    changed.save(drnet_path, {"step": 1})
    again = pretrained.load_or_train_predictor(DRNet.load(drnet_path), "ci", name="tiny")
    assert "trained on other DRNet weights; retraining" in capsys.readouterr().out
    assert again.checkpoint_info["drnet_sha256"] == DRNet.load(drnet_path).checkpoint_info["sha256"]
