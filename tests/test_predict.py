from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from drnet_core import DRNet, ModelConfig
from drnet_core.predict import PoseLSTM, Predictor, PredictorConfig, next_pose_loss, train_predictor


@pytest.fixture
def predictor():
    torch.manual_seed(0)
    return Predictor(DRNet(ModelConfig(nf=4)), PredictorConfig(hidden=16, layers=2, n_observed=3, n_predicted=2))


def test_rollout_decodes_each_predicted_pose_with_the_last_observed_content(predictor, lively):
    lively(predictor.drnet)
    frames = torch.rand(2, 3, 3, 64, 64)
    out = predictor.rollout(frames, 7, chunk=3)  # chunks of 3, 3 and 1 frames
    assert out.shape == (2, 7, 3, 64, 64)
    poses, content, _ = predictor.predict_poses(frames, 7)
    with torch.no_grad():
        assert torch.allclose(content, predictor.drnet.encode_content(frames[:, -1]))
        expected = torch.stack([predictor.drnet.decode(content, poses[:, t]) for t in range(7)], dim=1)
    assert torch.allclose(out, expected, atol=1e-6)
    assert (out[0] - out[1]).abs().amax() > 0.1 and (out[:, 0] - out[:, -1]).abs().amax() > 1e-4, "frames differ by clip and by step"


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


def test_save_load_round_trip(predictor, tmp_path, lively):
    lively(predictor.drnet)  # a fresh decoder draws 0.5 ± 1e-6 whatever the weights: the comparison would hold for any
    predictor.save(tmp_path / "p.pt")
    loaded = Predictor.load(tmp_path / "p.pt")
    frames = torch.rand(1, 3, 3, 64, 64)
    assert torch.allclose(predictor.rollout(frames, 3), loaded.rollout(frames, 3), atol=1e-5)
    predictor.drnet.save(tmp_path / "d.pt")
    with pytest.raises(Exception, match="not a Predictor checkpoint"):
        Predictor.load(tmp_path / "d.pt")


def test_pose_loss_refuses_broadcasting():
    with pytest.raises(ValueError, match="shapes must match"):
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


def test_predictor_can_reference_its_drnet_checkpoint(predictor, tmp_path, lively):
    lively(predictor.drnet)
    predictor.drnet.save(tmp_path / "drnet.pt")
    predictor.save(tmp_path / "lstm.pt", drnet_checkpoint=tmp_path / "drnet.pt")
    loaded = Predictor.load(tmp_path / "lstm.pt")
    frames = torch.rand(1, 3, 3, 64, 64)
    assert torch.allclose(predictor.rollout(frames, 2), loaded.rollout(frames, 2), atol=1e-5)
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


class _FrameIndexDRNet(nn.Module):
    """A stand-in DRNet whose content code is the index of the frame it was computed from (the clips below write it
    into pixel (0, 0) of each frame), so a test can read off which frame's content reached the LSTM and the decoder."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(pose_dim=4, content_dim=3, code_norm="l2")  # all that Predictor reads
        self.decoded_content: list[torch.Tensor] = []

    def encode_pose(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x.flatten(1)[:, 1:5], dim=1)  # the pose ignores the frame-index pixel

    def encode_content(self, x: torch.Tensor, return_skips: bool = False):
        content = x[:, 0, 0, 0, None].expand(-1, 3).clone()
        return (content, None) if return_skips else content

    def decode(self, content: torch.Tensor, pose: torch.Tensor, skips=None) -> torch.Tensor:
        self.decoded_content.append(content.clone())
        return torch.zeros(content.shape[0], 1, 4, 4)


class _IndexedClips:
    """Clips of ``length`` frames of 1×4×4 random pixels; pixel (0, 0) of frame t holds t."""

    def __init__(self, length: int) -> None:
        self.length = length

    def sample(self, batch: int, seed) -> torch.Tensor:
        gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
        clips = torch.rand(batch, self.length, 1, 4, 4, generator=gen)
        clips[:, :, 0, 0, 0] = torch.arange(self.length, dtype=clips.dtype)
        return clips


def _record_lstm_content(predictor: Predictor) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    predictor.lstm.register_forward_pre_hook(lambda module, args: seen.append(args[1].detach().clone()))
    return seen


@pytest.mark.parametrize("pool_clips", [None, 8], ids=["fresh", "pooled"])
@pytest.mark.parametrize("free_running", [False, True], ids=["teacher_forced", "free_running"])
def test_the_lstm_is_trained_with_the_content_of_the_last_observed_frame(pool_clips, free_running):
    """Eq. 6–7: h_c comes from the last observed frame x^{n_observed − 1}, in every training path. Clips here have
    7 frames, of which training reads 3 observed + 2 predicted, so frame 0, a future frame (3, 4) or the clip's last
    frame (6) would each show up as a different content."""
    n_observed = 3
    predictor = Predictor(_FrameIndexDRNet(), PredictorConfig(hidden=8, layers=1, n_observed=n_observed, n_predicted=2))
    seen = _record_lstm_content(predictor)
    train_predictor(predictor, _IndexedClips(7), steps=2, batch_size=4, log_every=1, pool_clips=pool_clips, free_running=free_running)
    assert seen, "the LSTM was never called"
    for content in seen:
        torch.testing.assert_close(content, torch.full_like(content, n_observed - 1), rtol=0, atol=0)


def test_a_rollout_holds_the_content_of_the_last_observed_frame():
    """Generation (eq. 6–7) keeps h_c of the last frame it observes, for the LSTM and for every decoded frame."""
    drnet = _FrameIndexDRNet()
    predictor = Predictor(drnet, PredictorConfig(hidden=8, layers=1, n_observed=3, n_predicted=2))
    seen = _record_lstm_content(predictor)
    frames = _IndexedClips(4).sample(2, 0)  # four observed frames: the content is frame 3's
    predictor.rollout(frames, 5, chunk=2)
    assert seen and drnet.decoded_content
    for content in seen + drnet.decoded_content:
        torch.testing.assert_close(content, torch.full_like(content, 3.0), rtol=0, atol=0)


def _fresh_predictor() -> Predictor:
    torch.manual_seed(0)
    return Predictor(DRNet(ModelConfig(nf=4)), PredictorConfig(hidden=16, layers=2, n_observed=3, n_predicted=2))


def test_a_stopped_lstm_run_resumes_step_for_step(tmp_path, train_digits):
    kwargs = dict(steps=6, batch_size=3, log_every=2, pool_clips=6, free_running=True, lr_milestones=(4,), checkpoint_every=2)
    whole = _fresh_predictor()
    uninterrupted = train_predictor(whole, train_digits, **kwargs)

    first = _fresh_predictor()
    stopped = train_predictor(first, train_digits, state_path=tmp_path / "state", time_limit_s=0.0, **kwargs)
    assert [r["step"] for r in stopped] == [2], "a zero time limit stops at the first log step"
    second = _fresh_predictor()  # a new process: fresh weights, everything else from the state on disk
    resumed = train_predictor(second, train_digits, state_path=tmp_path / "state", **kwargs)
    assert [r["step"] for r in resumed] == [2, 4, 6]
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in uninterrupted], rel=1e-6)
    for a, b in zip(whole.lstm.parameters(), second.lstm.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert any(not torch.allclose(a, b) for a, b in zip(_fresh_predictor().lstm.parameters(), second.lstm.parameters()))


def test_a_resume_refuses_a_run_with_other_settings(tmp_path, train_digits):
    from drnet_core.checkpoint import CheckpointError

    train_predictor(_fresh_predictor(), train_digits, steps=4, batch_size=3, log_every=2, pool_clips=6, state_path=tmp_path / "s",
                    time_limit_s=0.0, checkpoint_every=2)
    with pytest.raises(CheckpointError, match="other settings"):
        train_predictor(_fresh_predictor(), train_digits, steps=4, batch_size=5, log_every=2, pool_clips=6, state_path=tmp_path / "s",
                        checkpoint_every=2)


def test_the_held_out_loss_is_logged_and_measures_the_lstm(train_digits):
    from drnet_core.predict import encode_pool, free_running_validation

    predictor = _fresh_predictor()
    history = train_predictor(predictor, train_digits, steps=2, batch_size=3, log_every=1, pool_clips=6, val_source=train_digits, val_clips=4)
    assert all("val_loss" in r for r in history)
    pool = encode_pool(predictor, train_digits, 4, seed=1)
    assert history[-1]["val_loss"] == pytest.approx(free_running_validation(predictor.lstm, pool, 3), rel=1e-6)
    with torch.no_grad():
        predictor.lstm.out.bias.add_(5.0)
    assert free_running_validation(predictor.lstm, pool, 3) != pytest.approx(history[-1]["val_loss"], rel=1e-3)


def test_lstm_settings_differences_name_what_changed():
    from drnet_core.config import LSTMSettings
    from drnet_experiments.pretrained import lstm_settings_differences

    settings = LSTMSettings(steps=100, lr_milestones=(50,), val_clips=10)
    stored = {"settings": {**{k: v for k, v in vars(settings).items() if k != "val_clips"}, "lr_milestones": [50]}}
    assert lstm_settings_differences(stored, settings) == [], "val_clips only measures, and a stored list is a tuple"
    old = {"settings": {**stored["settings"], "lr_drop_at": [50]}}
    del old["settings"]["lr_milestones"]
    assert lstm_settings_differences(old, settings) == [], "the old milestone name still reads"
    assert any("steps" in d for d in lstm_settings_differences({"settings": {**stored["settings"], "steps": 80}}, settings))
    legacy = {"steps": 100, "config": {"predictor": {"hidden": 256, "layers": 2, "n_observed": 5, "n_predicted": 10}}}
    assert lstm_settings_differences(legacy, settings) == []
    assert lstm_settings_differences({**legacy, "steps": 99}, settings) != []
