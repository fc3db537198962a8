"""The KTH models (DRNET and the AE-LSTM baseline), their LSTMs, the Fig. 8 probe and the Fig. 9 score curve."""

import pytest
import torch

from data_utils import synth_kth
from data_utils.kth import ACTIONS, KTHDataset
from drnet_core import DRNet, Predictor, PredictorConfig, experiment
from drnet_core.train import Trainer
from drnet_experiments import generation_score as gs
from drnet_experiments import kth_experiment as kx


@pytest.fixture(scope="module")
def tiny_kth(tmp_path_factory):
    """Persons 1-3 (train) and 17-18 (test), 30-frame stand-in clips."""
    folder = synth_kth.write_prepared(tmp_path_factory.mktemp("kth"), frames=30, subjects=(0, 1, 2, 16, 17))
    return KTHDataset(folder, "train", seq_len=20), KTHDataset(folder, "test", seq_len=20)


def _ae(nf: int = 4) -> DRNet:
    return DRNet(experiment("kth_ae", "ci", **{"model.nf": nf}).model).eval()


def test_ae_baseline_has_one_encoder_stored_once():
    model = _ae()
    x = torch.rand(3, 1, 64, 64)
    content, skips = model.encode_content(x, return_skips=True)
    assert content.shape == (3, 0) and [s.shape[-1] for s in skips] == [64, 32, 16, 8]
    assert model.encode_pose(x).shape == (3, 24)
    assert model.decode(content, model.encode_pose(x), skips).shape == (3, 1, 64, 64)
    keys = model.state_dict().keys()
    assert any(k.startswith("encoder.") for k in keys)
    assert not any(k.startswith(("content_encoder.", "pose_encoder.")) for k in keys)
    # the codes and the skips come from the same weights: perturbing the encoder changes both
    before = model.encode_pose(x).clone()
    with torch.no_grad():
        model.encoder.stages[0][0][0].weight.add_(0.5)
    assert not torch.allclose(before, model.encode_pose(x))


def test_ae_baseline_refuses_a_content_code():
    with pytest.raises(ValueError, match="content_dim=0"):
        DRNet(experiment("kth_ae", "ci", **{"model.content_dim": 8}).model)


def test_kth_models_train_and_the_ae_gets_only_the_reconstruction(tiny_kth):
    train_set, _ = tiny_kth
    for name in ("kth", "kth_ae"):
        exp = experiment(name, "ci", **{"train.batch_size": 4})
        records = Trainer(exp, train_set, progress=False).fit(2)
        assert torch.isfinite(torch.tensor(records[-1]["rec"]))
        if name == "kth_ae":
            assert records[-1]["sim"] == 0.0
    trainer = Trainer(experiment("kth_ae", "ci", **{"train.batch_size": 4}), train_set, progress=False)
    start = {k: v.clone() for k, v in trainer.model.encoder.state_dict().items()}
    trainer.fit(1)
    changed = [k for k, v in trainer.model.encoder.state_dict().items() if v.is_floating_point() and not torch.equal(v, start[k])]
    assert changed  # the single encoder is trained


def test_kth_lstm_rollout_keeps_the_last_observed_content(tiny_kth, lively):
    _, test_set = tiny_kth
    torch.manual_seed(0)  # the LSTM's initial weights
    model = lively(DRNet(experiment("kth", "ci").model).eval(), gain=1.5)
    predictor = Predictor(model, PredictorConfig(hidden=16, n_observed=10, n_predicted=10)).eval()
    clips = torch.stack([test_set.window(0, 0, 10), test_set.window(1, 0, 10)])
    out = predictor.rollout(clips, 25, chunk=8)
    assert out.shape == (2, 25, 1, 64, 64)
    poses, content, skips = predictor.predict_poses(clips, 25)
    expected_content, expected_skips = model.encode_content(clips[:, -1], return_skips=True)
    assert torch.allclose(content, expected_content) and all(torch.allclose(a, b) for a, b in zip(skips, expected_skips))
    # every frame, across chunks, is the decoder on the last observed content and skips with that step's pose
    with torch.no_grad():
        expected = torch.stack([model.decode(content, poses[:, t], skips) for t in range(25)], dim=1)
    assert torch.allclose(out, expected, atol=1e-6)
    assert (out[0] - out[1]).abs().amax() > 0.1 and (out[:, 0] - out[:, -1]).abs().amax() > 1e-4, "frames differ by clip and by step"
    # changing an earlier observed frame must not change the content used
    altered = clips.clone()
    altered[:, 0] = 1 - altered[:, 0]
    assert torch.allclose(predictor.predict_poses(altered, 3)[1], content)
    ae_out = Predictor(_ae(), PredictorConfig(hidden=16, n_observed=10)).rollout(clips, 12)
    assert ae_out.shape == (2, 12, 1, 64, 64)


class _ActionCodes(torch.nn.Module):
    """Stands in for a DRNet whose pose code is a one-hot of the action of the video that the frame comes from
    (looked up by the frame's pixels), on the frames of ``persons``; on every other frame it is a constant."""

    def __init__(self, facts: dict, persons: set[int]):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.facts, self.persons = facts, persons

    def encode_pose(self, frames):
        codes = torch.zeros(len(frames), len(ACTIONS))
        for row, frame in zip(codes, frames):
            action, person = self.facts[frame.numpy().tobytes()]
            row[action] = 1.0 if person in self.persons else 0.0
        return codes


def test_pose_sequences_and_few_shot_accuracy(tiny_kth):
    train_set, test_set = tiny_kth
    model = DRNet(experiment("kth", "ci").model).eval()
    x, y, persons = kx.pose_sequences(model, train_set, length=24, per_segment=2)
    assert x.shape == (len(train_set.videos) * 2, 24 * 5) and set(persons.tolist()) == {1, 2, 3}
    assert set(y.tolist()) == set(range(len(ACTIONS)))
    assert kx.available_subject_counts(train_set) == (1, 2)
    facts = {}  # each frame's (action, person); no two videos share a frame
    for data in tiny_kth:
        for index, video in enumerate(data.videos):
            for frame in data.window(index, 0, video.frames):
                facts[frame.numpy().tobytes()] = (ACTIONS.index(video.action), video.person)
    _, test_actions, _ = kx.pose_sequences(_ActionCodes(facts, set()), test_set, length=24, per_segment=2)
    assert torch.bincount(test_actions).tolist() == [16] * len(ACTIONS), "the test sequences are balanced: a constant guess scores 1/6"
    few_shot = lambda persons: kx.few_shot_action_accuracy(_ActionCodes(facts, persons), train_set, test_set, (1, 2), length=24, per_segment=2)  # noqa: E731
    everyone = {1, 2, 3, 17, 18}
    # a pose that names the action is read on the test persons from one subject on; a constant one scores chance
    assert few_shot(everyone) == pytest.approx({1: 1.0, 2: 1.0})
    assert few_shot(set()) == pytest.approx({1: 1 / 6, 2: 1 / 6})
    # the score is the test persons': a code that names the action only for the training persons does not help there
    assert few_shot({1, 2, 3}) == pytest.approx({1: 1 / 6, 2: 1 / 6})
    # n subjects are the first n persons: with person 1's code constant, one subject teaches nothing and two do
    first_blind = few_shot({2, 3, 17, 18})
    assert first_blind[2] == pytest.approx(1.0) and first_blind[1] < 0.5, first_blind
    with pytest.raises(ValueError, match="early stopping"):
        kx.few_shot_action_accuracy(_ActionCodes(facts, set()), train_set, test_set, (3,), length=24)  # 3 training persons: none left over


def test_few_shot_scores_are_read_back_for_the_same_weights(tiny_kth, tmp_path, monkeypatch):
    from drnet_experiments import pretrained

    monkeypatch.setattr(pretrained, "RUNS", tmp_path)
    calls = []

    def measure(model, train_set, test_set, counts):
        calls.append(model)
        return {n: 0.5 + 0.1 * len(calls) for n in counts}

    monkeypatch.setattr(kx, "few_shot_action_accuracy", measure)
    train_set, test_set = tiny_kth
    models = {"kth": torch.nn.Linear(1, 1), "kth_ae": torch.nn.Linear(1, 1)}
    models["kth"].checkpoint_info = {"sha256": "a" * 64}
    models["kth_ae"].checkpoint_info = {}  # not loaded from a file: always measured, never stored
    first = kx.few_shot_scores(models, train_set, test_set, (1, 2), profile="ci", store=True)
    assert first == {"kth": {1: 0.6, 2: 0.6}, "kth_ae": {1: 0.7, 2: 0.7}} and len(calls) == 2
    again = kx.few_shot_scores(models, train_set, test_set, (1, 2), profile="ci")
    assert again["kth"] == {1: 0.6, 2: 0.6} and len(calls) == 3, "the stored DRNET figures are read, the AE's measured"
    kx.few_shot_scores(models, train_set, test_set, (1,), profile="ci")
    assert len(calls) == 5, "other subject counts are measured afresh"


class _MustNotEncode(torch.nn.Module):
    def encode_pose(self, frames):
        raise AssertionError("the subject counts are checked before any frame is encoded")


def test_few_shot_refuses_impossible_counts_before_encoding(tiny_kth):
    train_set, test_set = tiny_kth
    with pytest.raises(ValueError, match="3 training persons cannot give 3"):
        kx.few_shot_action_accuracy(_MustNotEncode(), train_set, test_set, (1, 3), length=24)


def test_prediction_quality_and_nearest_neighbours(tiny_kth):
    train_set, test_set = tiny_kth
    model = DRNet(experiment("kth", "ci").model).eval()
    predictor = Predictor(model, PredictorConfig(hidden=16, n_observed=10)).eval()
    clips, actions = kx.test_clips(test_set, 16, max_clips=4)
    assert clips.shape == (4, 16, 1, 64, 64) and len(actions) == 4
    quality = kx.prediction_quality(predictor, clips, n_observed=10)
    assert quality["psnr"].shape == (6,) and quality["ssim"].shape == (6,) and (quality["ssim"] <= 1).all()
    assert set(quality) == {"psnr", "ssim", "pose_error", "copy_psnr", "copy_ssim", "copy_pose_error"}
    still = torch.cat([clips[:, :10], clips[:, 9:10].expand(-1, 6, -1, -1, -1)], dim=1)  # nothing moves after frame 10
    frozen = kx.prediction_quality(predictor, still, n_observed=10)
    assert torch.allclose(frozen["copy_pose_error"], torch.zeros(6), atol=1e-5)  # repeating the last frame is exact
    assert (frozen["copy_ssim"] > 0.999).all() and (frozen["pose_error"] > 0).all()
    pool = kx.training_frames(train_set, per_video=2)
    found = kx.nearest_training_frames(model, pool[:3], pool)
    assert found["content+pose"].tolist() == [0, 1, 2]  # a training frame is its own nearest neighbour


def test_beats_copy_counts_the_leading_steps_where_the_model_wins():
    quality = {
        "psnr": torch.tensor([30.0, 25.0, 20.0, 22.0]), "copy_psnr": torch.tensor([28.0, 24.0, 21.0, 20.0]),
        "pose_error": torch.tensor([0.1, 0.3, 0.2]), "copy_pose_error": torch.tensor([0.2, 0.4, 0.5]),
    }
    assert kx.beats_copy_for(quality, "psnr") == 2  # wins at steps 1-2, loses at 3 (a later win does not count)
    assert kx.beats_copy_for(quality, "pose_error") == 3  # lower is better, and it never loses


def test_score_curve_orders_confident_balanced_above_uniform():
    n, offsets = 60, 3
    balanced = torch.nn.functional.one_hot(torch.arange(n) % 6, 6).float()[:, None].expand(-1, offsets, -1)
    uniform = torch.full((n, offsets, 6), 1 / 6)
    good, bad = gs.score_curve(balanced, resamples=10), gs.score_curve(uniform, resamples=10)
    assert torch.allclose(good["score"], torch.full((offsets,), 6.0)) and torch.allclose(bad["score"], torch.ones(offsets))
    assert (good["low"] <= good["score"] + 1e-6).all() and (good["high"] >= good["low"]).all()
    with pytest.raises(ValueError):
        gs.score_curve(balanced[0])


def test_clip_probabilities_refuses_windows_past_the_end():
    from drnet_experiments.action_classifier import ActionClassifier

    classifier = ActionClassifier(width=4)
    sequences = torch.rand(2, 25, 1, 64, 64)
    assert gs.clip_probabilities(classifier, sequences, (0, 15)).shape == (2, 2, 6)
    with pytest.raises(ValueError, match="no 10-frame window"):
        gs.clip_probabilities(classifier, sequences, (16,))
