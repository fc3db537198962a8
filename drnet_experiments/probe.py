"""How much does a code know about the object? The classifier probe of paper Table 1 (appendix D).

"We used a two layer fully connected network with 256 hidden units as the classifier. Leaky ReLU's, batch
normalization and dropout were used in every layer. We trained with ADAM and used early stopping on a
validation set to prevent over fitting."

Our reading: two hidden layers of 256 units, each Linear → BatchNorm → LeakyReLU(0.2) → Dropout(0.5), then a
linear output. The probe is trained on the codes of the training objects' frames, early-stopped on codes of
held-out *training* objects (one instance per category), and scored on the test objects, which neither the
DRNET nor the probe has seen. A good content code names the category of a new object (high accuracy); a clean
pose code should not (close to chance), because the adversarial term (eq. 4) keeps content out of it.

Taught in book/03_norb_ablation.ipynb.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from data_utils.turntable import TurntableDataset


class ProbeClassifier(nn.Module):
    """Appendix D's classifier S: in_dim → 256 → 256 → classes, with BN, LeakyReLU and dropout in each hidden layer."""

    def __init__(self, in_dim: int, classes: int, hidden: int = 256, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width_in in (in_dim, hidden):
            layers += [nn.Linear(width_in, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
        self.net = nn.Sequential(*layers, nn.Linear(hidden, classes))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


@dataclass
class ProbeResult:
    """A trained probe and its accuracies: on the early-stopping split and on the test objects."""

    classifier: ProbeClassifier
    validation_accuracy: float
    test_accuracy: float
    epochs: int


def _accuracy(classifier: nn.Module, features: torch.Tensor, labels: torch.Tensor) -> float:
    classifier.eval()
    with torch.no_grad():
        return (classifier(features).argmax(1) == labels).float().mean().item()


def train_probe(
    train: tuple[torch.Tensor, torch.Tensor],
    validation: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    classes: int,
    max_epochs: int = 60,
    patience: int = 8,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    hidden: int = 256,
) -> ProbeResult:
    """Fit a :class:`ProbeClassifier` on (features, labels) with Adam; keep the weights of the best validation epoch.

    ``hidden`` is 256 for NORB's Table 1 and 1200 for KTH's actions (appendix D).
    """
    (x, y), (x_val, y_val), (x_test, y_test) = train, validation, test
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"probe features must be (N, dim) with N labels, got {tuple(x.shape)} and {tuple(y.shape)}")
    torch.manual_seed(seed)
    classifier = ProbeClassifier(x.shape[1], classes, hidden=hidden)
    optimiser = torch.optim.Adam(classifier.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    best, best_state, best_epoch, epoch = -1.0, None, 0, 0
    for epoch in range(1, max_epochs + 1):
        classifier.train()
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x) - 1, batch_size):  # drop a last batch of 1: BatchNorm needs two rows
            idx = order[start : start + batch_size]
            if len(idx) < 2:
                continue
            loss = F.cross_entropy(classifier(x[idx]), y[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        score = _accuracy(classifier, x_val, y_val)
        if score > best:
            best, best_state, best_epoch = score, copy.deepcopy(classifier.state_dict()), epoch
        elif epoch - best_epoch >= patience:
            break
    classifier.load_state_dict(best_state)
    return ProbeResult(classifier, best, _accuracy(classifier, x_test, y_test), epoch)


@torch.no_grad()
def encode_all(model: nn.Module, frames: torch.Tensor, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """(h_c, h_p) of every frame, in eval mode, batch by batch."""
    model.eval()
    device = next(model.parameters()).device
    content, pose = [], []
    for start in range(0, len(frames), batch_size):
        x = frames[start : start + batch_size].to(device)
        content.append(model.encode_content(x).float().cpu())
        pose.append(model.encode_pose(x).float().cpu())
    return torch.cat(content), torch.cat(pose)


def _object_frames(dataset: TurntableDataset, objects: torch.Tensor, max_frames: int | None, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames (N, 1, S, S) and category labels of the given objects, all conditions and views, subsampled to max_frames."""
    per_object = dataset.n_conditions * dataset.n_views
    index = (objects[:, None] * per_object + torch.arange(per_object)).reshape(-1)
    if max_frames is not None and len(index) > max_frames:
        index = index[torch.randperm(len(index), generator=gen)[:max_frames]]
    flat = dataset.frames.reshape(-1, dataset.image_size, dataset.image_size)
    frames = dataset._to_float(flat[index])[:, None]
    return frames, dataset.labels[index // per_object]


def validation_objects(dataset: TurntableDataset) -> torch.Tensor:
    """One held-out object per category (the last one listed): the probe's early-stopping split."""
    labels = dataset.labels
    return torch.stack([torch.nonzero(labels == c).flatten()[-1] for c in labels.unique()])


def content_pose_accuracy(
    model: nn.Module,
    train_set: TurntableDataset,
    test_set: TurntableDataset,
    max_frames: int | None = 12_000,
    seed: int = 0,
) -> dict[str, float]:
    """Table 1: category accuracy on the test objects of a probe trained on h_c, and of one trained on h_p.

    Returns ``{"content": …, "pose": …, "chance": 1 / classes, "content_validation": …, "pose_validation": …}``.
    ``max_frames`` subsamples the training frames (and the test frames likewise) to bound the encoding time.
    Works for any DRNet and any pair of :class:`~data_utils.turntable.TurntableDataset` splits.
    """
    gen = torch.Generator().manual_seed(seed)
    val_objects = validation_objects(train_set)
    fit_objects = torch.tensor([o for o in range(train_set.n_objects) if o not in set(val_objects.tolist())])
    if len(fit_objects) == 0:
        raise ValueError("the training set needs at least two objects per category: one to fit the probe, one to early-stop it")
    classes = int(max(train_set.labels.max(), test_set.labels.max())) + 1
    splits = {
        "train": _object_frames(train_set, fit_objects, max_frames, gen),
        "validation": _object_frames(train_set, val_objects, max_frames // 4 if max_frames else None, gen),
        "test": _object_frames(test_set, torch.arange(test_set.n_objects), max_frames, gen),
    }
    codes = {name: (encode_all(model, frames), labels) for name, (frames, labels) in splits.items()}
    result: dict[str, float] = {"chance": 1.0 / classes}
    for which, slot in (("content", 0), ("pose", 1)):
        probe = train_probe(*((codes[name][0][slot], codes[name][1]) for name in ("train", "validation", "test")), classes=classes, seed=seed)
        result[which] = probe.test_accuracy
        result[f"{which}_validation"] = probe.validation_accuracy
    return result
