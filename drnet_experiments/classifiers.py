"""Classifiers used to *measure* DRNET: the digit reader behind the content-swap accuracy.

The digit classifier reads one colour channel of a Moving MNIST frame (one digit,
anywhere on the 64×64 canvas, possibly partly occluded by the other digit) and names
the digit. It is trained on the MNIST *training* digits only, rendered exactly as the
generator renders them, so it never sees a test digit before evaluation.

Taught in book/02_moving_mnist.ipynb (the quantitative figures).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from data_utils import MovingMNIST
from drnet_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from drnet_experiments.paths import REPO_CHECKPOINTS

DIGIT_CLASSIFIER_PATH = REPO_CHECKPOINTS / "digit_classifier.pt"


class DigitClassifier(nn.Module):
    """(B, 1, 64, 64) → logits over 10 digits.

    The frame is average-pooled to 32×32 (digits become 16×16, still easy to read), then three
    conv stages and a global max pool, which makes the reading independent of where the digit is.
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width

        def stage(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))

        self.features = nn.Sequential(nn.AvgPool2d(2), stage(1, w), nn.MaxPool2d(2), stage(w, 2 * w), nn.MaxPool2d(2), stage(2 * w, 4 * w))
        self.head = nn.Linear(4 * w, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"DigitClassifier reads one channel: expected (B, 1, H, W), got {tuple(x.shape)}")
        return self.head(self.features(x).amax(dim=(2, 3)))


def digit_channel_batch(data: MovingMNIST, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Single channels of random two-digit frames, with their digit labels: (N, 1, 64, 64), (N,)."""
    specs = data.specs(batch_size, generator, seq_len=1)
    frames = data.render(specs)[:, 0, : data.num_digits]  # (B, D, H, W), channel d = digit d, occluded
    labels = data.digit_labels(specs)
    return frames.reshape(-1, 1, *frames.shape[-2:]), labels.reshape(-1)


def train_digit_classifier(steps: int = 1200, batch_size: int = 64, seed: int = 0, progress: bool = False) -> tuple[DigitClassifier, float]:
    """Train on MNIST training digits; return the classifier and its accuracy on 2,000 test-digit channels."""
    torch.manual_seed(seed)
    train = MovingMNIST("train", seq_len=1)
    model = DigitClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for step in range(steps):
        x, y = digit_channel_batch(train, batch_size, gen)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if progress and step % 100 == 0:
            print(f"digit classifier step {step}: loss {loss.item():.3f}", flush=True)
    model.eval()
    return model, digit_classifier_accuracy(model)


@torch.no_grad()
def digit_classifier_accuracy(model: DigitClassifier, count: int = 1000, seed: int = 7) -> float:
    """Accuracy on channels of real test frames (both digits, occlusion included)."""
    test = MovingMNIST("test", seq_len=1)
    x, y = digit_channel_batch(test, count, torch.Generator().manual_seed(seed))
    return (model(x).argmax(1) == y).float().mean().item()


def load_digit_classifier(path: str | Path = DIGIT_CLASSIFIER_PATH) -> DigitClassifier:
    """The committed digit classifier. Reading never writes: a missing file is an error that says how to make it."""
    path = Path(path)
    try:
        state, _ = load_checkpoint(path)
    except CheckpointError as err:
        raise CheckpointError(
            f"{err}. The digit classifier is committed as {DIGIT_CLASSIFIER_PATH.name}; to make one, run "
            "`python -c \"from drnet_experiments.classifiers import save_digit_classifier; save_digit_classifier('PATH')\"` "
            "(about a minute on 2 cores)"
        ) from err
    model = DigitClassifier()
    model.load_state_dict(state)
    return model.eval()


def save_digit_classifier(path: str | Path = DIGIT_CLASSIFIER_PATH) -> float:
    """Train the digit classifier and write it to ``path`` (float16, with its held-out accuracy); returns it."""
    model, accuracy = train_digit_classifier()
    save_checkpoint(path, model.state_dict(), {"classifier": "digit", "width": 32}, {"test_channel_accuracy": accuracy}, half=True)
    return accuracy
