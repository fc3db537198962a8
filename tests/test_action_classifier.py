"""The appendix-B action classifier: shapes, input checks, learning a toy motion task, and checkpoints."""

import json
from types import SimpleNamespace

import pytest
import torch

from drnet_core.checkpoint import CheckpointError, save_checkpoint
from drnet_experiments.action_classifier import (
    ActionClassifier,
    action_probabilities,
    evaluate_action_classifier,
    load_action_classifier,
    random_windows,
    save_action_classifier,
    train_action_classifier,
)


class MovingSquares:
    """Two separable 'actions': a bright 8×8 square moving right (label 0) or left (label 1), 12 frames of 64×64.

    Also serves held-out test windows, like :class:`data_utils.kth.KTHDataset`.
    """

    def __init__(self, frames: int = 12, test_clips: int = 40, seed: int = 123) -> None:
        self.frames = frames
        clips, labels = self.sample_with_labels(test_clips, torch.Generator().manual_seed(seed))
        self._clips = clips
        self.videos = [SimpleNamespace(label=int(label)) for label in labels]

    def sample_with_labels(self, batch_size, generator):
        labels = torch.randint(0, 2, (batch_size,), generator=generator)
        clips = 0.05 * torch.rand(batch_size, self.frames, 1, 64, 64, generator=generator)
        speed, travel = 3, 3 * (self.frames - 1)
        for b in range(batch_size):
            row = int(torch.randint(0, 56, (1,), generator=generator))
            x0 = int(torch.randint(0, 64 - 8 - travel + 1, (1,), generator=generator))
            for t in range(self.frames):
                x = x0 + speed * t if labels[b] == 0 else x0 + travel - speed * t
                clips[b, t, 0, row : row + 8, x : x + 8] = 1.0
        return clips, labels

    def test_windows(self, frames):
        return [(i, 1) for i in range(len(self.videos))]

    def window(self, index, start, length):
        return self._clips[index, start : start + length]


def test_shapes_and_both_input_layouts():
    torch.manual_seed(0)
    model = ActionClassifier(width=4).eval()
    x = torch.rand(3, 10, 1, 64, 64)
    logits = model(x)
    assert logits.shape == (3, 6)
    assert torch.equal(logits, model(x[:, :, 0]))
    probs = action_probabilities(model, x, batch_size=2)
    assert probs.shape == (3, 6) and torch.allclose(probs.sum(1), torch.ones(3), atol=1e-6)


@pytest.mark.parametrize(
    "shape, dtype, message",
    [
        ((2, 9, 1, 64, 64), torch.float32, r"\(B, 10, 1, H, W\)"),
        ((2, 10, 3, 64, 64), torch.float32, "grey"),
        ((10, 64, 64), torch.float32, r"\(B, 10, 1, H, W\)"),
        ((2, 10, 1, 64, 64), torch.uint8, "float"),
    ],
)
def test_wrong_input_is_refused(shape, dtype, message):
    with pytest.raises(ValueError, match=message):
        ActionClassifier(width=4)(torch.zeros(shape, dtype=dtype))


def test_random_windows_are_contiguous():
    clips = torch.arange(12.0)[None, :, None].expand(5, 12, 1).clone()
    windows = random_windows(clips, 10, torch.Generator().manual_seed(0))
    assert windows.shape == (5, 10, 1)
    assert ((windows[:, 1:] - windows[:, :-1]) == 1).all()
    with pytest.raises(ValueError, match="13"):
        random_windows(clips, 13, torch.Generator())


@pytest.fixture(scope="module")
def trained():
    source = MovingSquares()
    model, history = train_action_classifier(source, steps=60, batch_size=16, lr=3e-3, width=8, log_every=20)
    return source, model, history


def test_learns_a_separable_motion_task(trained):
    source, model, history = trained
    assert [record["step"] for record in history] == [0, 20, 40, 59]
    assert history[-1]["loss"] < history[0]["loss"]
    assert not model.training
    assert evaluate_action_classifier(model, source, frames=10) > 0.9


def test_training_is_deterministic_given_the_seed():
    source = MovingSquares(test_clips=1)
    runs = [train_action_classifier(source, steps=3, batch_size=4, width=4, log_every=1)[1] for _ in range(2)]
    assert runs[0] == runs[1]


def test_checkpoint_round_trip_and_corruption(trained, tmp_path):
    _, model, _ = trained
    save_action_classifier(model, tmp_path / "action.pt", {"note": "toy"})
    sidecar = json.loads((tmp_path / "action.json").read_text())
    assert sidecar["config"] == {"classifier": "action", "frames": 10, "classes": 6, "width": 8} and sidecar["note"] == "toy"
    loaded = load_action_classifier(tmp_path / "action.pt")
    x = torch.rand(2, 10, 1, 64, 64)
    assert torch.equal(model(x), loaded(x))

    raw = bytearray((tmp_path / "action.pt").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "action.pt").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256"):
        load_action_classifier(tmp_path / "action.pt")


def test_checkpoint_without_the_config_keys_is_refused(tmp_path):
    save_checkpoint(tmp_path / "other", ActionClassifier(width=4).state_dict(), {"classifier": "digit"})
    with pytest.raises(CheckpointError, match="not an action classifier"):
        load_action_classifier(tmp_path / "other")
