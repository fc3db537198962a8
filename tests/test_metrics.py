import dataclasses
from types import SimpleNamespace

import pytest
import torch

from drnet_core.metrics import channel_centroids, psnr
from drnet_experiments.mnist_swaps import placement_metrics, swap_metrics, swap_pairs


def test_centroid_of_a_square():
    frames = torch.zeros(1, 2, 64, 64)
    frames[0, 0, 10:20, 30:40] = 1.0
    centroids, mass = channel_centroids(frames)
    assert centroids[0, 0].tolist() == pytest.approx([14.5, 34.5])
    assert mass[0, 0].item() == 100 and centroids[0, 1].tolist() == pytest.approx([31.5, 31.5])


def test_psnr():
    a = torch.zeros(2, 1, 4, 4)
    b = torch.full((2, 1, 4, 4), 0.1)
    assert psnr(a, b)[0].item() == pytest.approx(20.0, rel=1e-5)


class _Oracle(torch.nn.Module):
    """Returns the ideal swap (or the content frame itself), to check the metric both ways."""

    def __init__(self, pairs, cheat: bool):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.pairs, self.cheat, self.offset = pairs, cheat, 0

    def swap(self, content, pose):
        n = content.shape[0]
        source = self.pairs.ideal if self.cheat else self.pairs.content_frames
        out = source[self.offset : self.offset + n]
        self.offset += n
        return out


@pytest.fixture(scope="module")
def pairs():
    return swap_pairs(60, seq_len=10)


def test_perfect_swaps_score_the_ceiling_and_zero_pose_error(pairs):
    result = swap_metrics(_Oracle(pairs, cheat=True), pairs, batch_size=25)
    assert result["swap_accuracy"] == result["ceiling_accuracy"] > 0.8
    assert result["pose_error_px"] == pytest.approx(0.0, abs=1e-4)


def test_visible_channels_are_those_read_in_the_content_frame_and_the_ideal(pairs):
    result = swap_metrics(_Oracle(pairs, cheat=True), pairs, batch_size=25)
    assert result["visible_swap_accuracy"] == 1.0, "a perfect swap is read on every channel the classifier reads in both frames"
    assert 0.5 < result["visible_fraction"] <= result["ceiling_accuracy"]
    hidden = dataclasses.replace(pairs, content_frames=torch.zeros_like(pairs.content_frames))  # the encoder saw nothing
    assert swap_metrics(_Oracle(pairs, cheat=True), hidden, batch_size=25)["visible_fraction"] < 0.3


def test_copying_the_content_frame_has_a_large_pose_error(pairs):
    result = swap_metrics(_Oracle(pairs, cheat=False), pairs, batch_size=25)
    assert result["pose_error_px"] > 5.0


class _RolloutOracle(torch.nn.Module):
    """Stands in for a Predictor: 'predicts' pose h - 1 for horizon h, and decodes it as ``frames_at[h]``."""

    def __init__(self, n_observed: int, frames_at: dict):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.config = SimpleNamespace(n_observed=n_observed)
        self.drnet = SimpleNamespace(decode=lambda content, pose, skips: frames_at[int(pose[0, 0]) + 1])

    def predict_poses(self, frames, n_future):
        assert frames.shape[1] == self.config.n_observed
        return torch.arange(n_future, dtype=torch.float)[None, :, None].expand(len(frames), -1, 1), None, None


def _reads(classifier, frames, labels):
    """Independent reading: fraction of (clip, digit) channels the classifier names correctly."""
    logits = classifier(frames[:, :2].reshape(-1, 1, 64, 64))
    return (logits.argmax(1) == labels.reshape(-1)).float().mean().item()


def test_rollout_digit_accuracy_reads_the_frames_at_each_horizon(lively):
    from data_utils import MovingMNIST
    from drnet_core import DRNet, ModelConfig
    from drnet_core.predict import Predictor, PredictorConfig
    from drnet_experiments.classifiers import load_digit_classifier
    from drnet_experiments.mnist_swaps import rollout_digit_accuracy

    classifier = load_digit_classifier()
    n_obs, n_clips = 3, 40
    test = MovingMNIST("test", seq_len=n_obs + 6)  # the same held-out clips, continued past the observed frames
    specs = test.fixed_specs(n_clips)
    clips, labels = test.render(specs), test.digit_labels(specs)
    future = lambda h: clips[:, n_obs + h - 1]  # noqa: E731  (the true frame h steps after the last observed one)
    blank = torch.zeros_like(future(1))
    with torch.no_grad():
        truth, blank_reading = _reads(classifier, future(1), labels), _reads(classifier, blank, labels)
        wrong_digits = _reads(classifier, future(4), labels.roll(1, 0))
    assert truth > 0.8 and blank_reading < 0.3 and wrong_digits < 0.3, (truth, blank_reading, wrong_digits)
    # the true future scores the classifier's reading of it; a blank frame scores exactly the blank reading
    oracle = _RolloutOracle(n_obs, {1: future(1), 4: blank, 6: future(6)})
    result = rollout_digit_accuracy(oracle, horizons=(1, 4, 6), n_clips=n_clips, classifier=classifier)
    assert result == pytest.approx({1: truth, 4: blank_reading, 6: _reads(classifier, future(6), labels)}, abs=1e-6)
    # a real predictor (its frames varied by redrawn weights) scores the classifier's reading of its own rollout
    torch.manual_seed(0)
    predictor = Predictor(lively(DRNet(ModelConfig(nf=4))), PredictorConfig(hidden=8, n_observed=n_obs)).eval()
    result = rollout_digit_accuracy(predictor, horizons=(1, 4), n_clips=n_clips, classifier=classifier)
    with torch.no_grad():
        rollout = predictor.rollout(clips[:, :n_obs], 4)
        expected = {h: _reads(classifier, rollout[:, h - 1], labels) for h in (1, 4)}
    assert result == pytest.approx(expected, abs=1e-6)


def test_same_clip_pairs_take_the_pose_from_the_content_clip(pairs):
    same = swap_pairs(60, seq_len=10, same_clip=True)
    assert torch.equal(same.content_frames, pairs.content_frames) and torch.equal(same.labels, pairs.labels)
    # the ideal frame is clip i at the pose frame's time, so it is that pose frame itself
    assert torch.equal(same.ideal, same.pose_frames)
    assert not torch.equal(same.pose_frames, pairs.pose_frames)


def test_clip_content_pairs_keep_the_whole_clip_of_each_content_frame(pairs):
    clips = swap_pairs(60, seq_len=10, clip_content=True)
    assert clips.content_clips.shape == (60, 10, 3, 64, 64)
    assert torch.equal(clips.content_frames, pairs.content_frames)
    matches = (clips.content_clips == clips.content_frames[:, None]).flatten(2).all(-1)  # (N, T)
    assert matches.any(1).all(), "each content frame is one frame of its clip"
    with pytest.raises(ValueError, match="clip_content=True"):
        swap_metrics(_Oracle(pairs, cheat=True), pairs, content="clip")


def test_clip_content_is_the_renormalised_mean_code_of_the_frames():
    from drnet_core import DRNet, ModelConfig

    torch.manual_seed(0)
    model = DRNet(ModelConfig(nf=4, content_dim=8)).eval()
    clip = torch.rand(2, 5, 3, 64, 64)
    with torch.no_grad():
        code = model.encode_clip_content(clip)
        frames = torch.stack([model.encode_content(clip[:, t]) for t in range(5)], 1)
        assert torch.allclose(code, torch.nn.functional.normalize(frames.mean(1), dim=1), atol=1e-5)
        assert torch.allclose(code, model.encode_clip_content(clip.flip(1)), atol=1e-5)  # order does not matter
        still = clip[:, :1].expand(-1, 4, -1, -1, -1)
        assert torch.allclose(model.encode_clip_content(still), model.encode_content(clip[:, 0]), atol=1e-5)
    with pytest.raises(ValueError, match=r"\(B, T, C, H, W\)"):
        model.encode_clip_content(clip[:, 0])


def test_one_frame_ceiling_lies_between_what_one_frame_shows_and_the_full_ceiling(pairs):
    assert pairs.shown_ideal is not None and torch.all(pairs.shown_ideal <= pairs.ideal)
    result = swap_metrics(_Oracle(pairs, cheat=True), pairs, batch_size=25)
    assert 0.5 < result["frame_ceiling_accuracy"] <= result["ceiling_accuracy"]
    # a model that draws exactly what the content frame showed scores the one-frame ceiling
    shown = dataclasses.replace(pairs, ideal=pairs.shown_ideal)
    assert swap_metrics(_Oracle(shown, cheat=True), pairs, batch_size=25)["swap_accuracy"] == result["frame_ceiling_accuracy"]
    # with the strokes of every overlapped digit removed, the one-frame ceiling falls below the full one
    many = swap_pairs(400, seq_len=10)
    full = swap_metrics(_Oracle(many, cheat=True), many)
    assert full["frame_ceiling_accuracy"] < full["ceiling_accuracy"]


def test_training_digit_swaps_show_training_digits():
    from data_utils import MovingMNIST

    train_pairs = swap_pairs(20, seq_len=10, split="train")
    train, test = MovingMNIST("train", seq_len=10), MovingMNIST("test", seq_len=10)
    ids = train.fixed_specs(20).digit_ids
    assert torch.equal(train_pairs.labels, train.labels[ids]) and not torch.equal(train_pairs.labels, test.labels[test.fixed_specs(20).digit_ids])


def test_placement_tells_the_right_order_from_the_exchanged_one_in_colour_and_in_grey():
    for colour in (True, False):
        pairs = swap_pairs(60, seq_len=10, colour=colour)
        right = placement_metrics(_Oracle(pairs, cheat=True), pairs, batch_size=25)
        assert right["order_accuracy"] == 1.0, "the ideal swap is nearer the ideal than the exchanged frame"
        assert right["placement_accuracy"] == right["placement_ceiling"] > 0.4
        assert right["any_order_accuracy"] == right["any_order_ceiling"] >= right["placement_ceiling"]
        wrong = dataclasses.replace(pairs, ideal=pairs.exchanged, exchanged=pairs.ideal)  # the model draws the wrong order
        flipped = placement_metrics(_Oracle(wrong, cheat=True), pairs, batch_size=25)
        assert flipped["order_accuracy"] == 0.0 and flipped["placement_accuracy"] < right["placement_accuracy"] - 0.2


def test_grey_swap_pairs_are_the_colour_pairs_drawn_in_one_channel():
    colour, grey = swap_pairs(20, seq_len=10), swap_pairs(20, seq_len=10, colour=False)
    assert grey.ideal.shape[1] == 1 and torch.equal(grey.ideal, colour.ideal.amax(dim=1, keepdim=True))
    assert torch.equal(grey.labels, colour.labels) and torch.equal(grey.ideal_positions, colour.ideal_positions)


def test_a_subset_of_swaps_keeps_every_per_pair_field_in_step():
    pairs = swap_pairs(20, seq_len=10, clip_content=True)
    keep = torch.arange(20) % 3 == 0
    part = pairs.subset(keep)
    assert len(part.labels) == 7 and part.digit_size == pairs.digit_size
    assert torch.equal(part.exchanged, pairs.exchanged[keep]) and torch.equal(part.content_clips, pairs.content_clips[keep])
