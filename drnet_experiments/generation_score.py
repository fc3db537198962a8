"""Scoring long-range generations by what a classifier still recognises: the KTH Inception score curve (Fig. 9).

Appendix B: a conv net reads 10 frames stacked on its input channels and names the action. For a set of
generated 10-frame windows, IS = exp(E_x KL(p(y|x) ‖ p(y))) (:func:`drnet_core.metrics.inception_score`) is
high when each window is recognisably *one* action and the set covers all six. Fig. 9 plots the score of the
window that starts ``offset`` frames after the last conditioning frame, against the offset.

* :func:`load_or_train_action_classifier` — the committed classifier of the profile, or a freshly trained one;
* :func:`rollout_probabilities` — p(y|x) of a predictor's generated windows at each offset;
* :func:`clip_probabilities` — the same for real held-out clips (the ceiling) and any fixed sequences
  (the "repeat the last frame" floor);
* :func:`score_curve` — the score at each offset, with a bootstrap band over the clips.

Taught in book/05_inception_score.ipynb.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from data_utils.kth import KTHDataset
from drnet_core.checkpoint import read_sidecar
from drnet_core.config import current_profile
from drnet_core.metrics import inception_score
from drnet_core.predict import Predictor
from drnet_core.runtime import describe_hardware
from drnet_experiments.action_classifier import (
    ActionClassifier,
    action_probabilities,
    evaluate_action_classifier,
    load_action_classifier,
    save_action_classifier,
    train_action_classifier,
)
from drnet_experiments.pretrained import command_for, require_training_allowed, weights_path
from drnet_experiments.stored_results import ResultStore, weights_sha256

WINDOW = 10  # appendix B: the classifier reads 10 frames


@dataclass(frozen=True)
class ClassifierSettings:
    """Training of the appendix B action classifier (its size and schedule are not in the paper: our choice)."""

    steps: int
    batch_size: int = 32
    width: int = 32
    lr: float = 1e-3


CLASSIFIER_SETTINGS = {
    "ci": ClassifierSettings(steps=40, batch_size=16, width=8),
    "cpu": ClassifierSettings(steps=2000),
    "paper": ClassifierSettings(steps=10_000, width=64),
}


def load_or_train_action_classifier(train_set: KTHDataset, test_set: KTHDataset, profile: str | None = None) -> ActionClassifier:
    """The profile's action classifier: loaded when its checkpoint was trained on this data, else trained and saved.

    The returned classifier carries ``checkpoint_info`` with the held-out accuracy, the training time and hardware.
    """
    profile = profile or current_profile()
    settings = CLASSIFIER_SETTINGS[profile]
    path = weights_path("action_classifier", profile)
    if path.with_suffix(".json").is_file():
        sidecar = read_sidecar(path.with_suffix(".json"))
        if sidecar.get("data_source") == train_set.source and sidecar.get("settings") == settings.__dict__:
            classifier = load_action_classifier(path)
            classifier.checkpoint_info = sidecar
            print(f"loaded {path.name}: held-out accuracy {sidecar['test_accuracy']:.3f}, trained in {sidecar['wall_time_s']:.0f} s on {sidecar['hardware']}")
            return classifier
        require_training_allowed(path, profile, command_for("action_classifier", profile), "was trained on other data or settings")
        print(f"{path.name} was trained on other data or settings; retraining it")
    else:
        require_training_allowed(path, profile, command_for("action_classifier", profile))
    print(f"training the action classifier ({train_set.source}): {settings.steps} steps of batch {settings.batch_size}, width {settings.width}")
    start = time.perf_counter()
    classifier, history = train_action_classifier(train_set, settings.steps, settings.batch_size, settings.lr, frames=WINDOW, width=settings.width)
    wall = time.perf_counter() - start
    accuracy = evaluate_action_classifier(classifier, test_set, WINDOW)
    metadata = {
        "data_source": train_set.source,
        "settings": settings.__dict__,
        "test_accuracy": accuracy,
        "wall_time_s": round(wall, 1),
        "hardware": str(describe_hardware(torch.device("cpu"))),
        "profile": profile,
        "history": history,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_action_classifier(classifier, path, metadata)
    classifier.checkpoint_info = {**metadata, "config": {"frames": WINDOW, "width": settings.width}}
    print(f"held-out accuracy {accuracy:.3f} after {wall:.0f} s")
    return classifier


@torch.no_grad()
def rollout_probabilities(
    classifier: ActionClassifier, predictor: Predictor, observed: torch.Tensor, offsets: tuple[int, ...], batch_size: int = 24
) -> torch.Tensor:
    """p(y|x) of generated windows: (N, len(offsets), classes). Window ``o`` holds generated frames o+1 … o+10.

    ``observed`` (N, T_obs, 1, S, S) are the conditioning frames; the predictor generates ``max(offsets) + 10``
    frames per clip, in batches, so memory stays bounded.
    """
    horizon = max(offsets) + WINDOW
    out = []
    for start in range(0, len(observed), batch_size):
        future = predictor.rollout(observed[start : start + batch_size], horizon).float()
        windows = torch.stack([future[:, o : o + WINDOW] for o in offsets], dim=1)  # (B, O, 10, 1, S, S)
        out.append(action_probabilities(classifier, windows.flatten(0, 1)).reshape(len(future), len(offsets), -1))
    return torch.cat(out)


@torch.no_grad()
def clip_probabilities(classifier: ActionClassifier, sequences: torch.Tensor, offsets: tuple[int, ...]) -> torch.Tensor:
    """p(y|x) of the windows ``sequences[:, o : o + 10]`` of given sequences (N, L, 1, S, S): (N, len(offsets), classes)."""
    if max(offsets) + WINDOW > sequences.shape[1]:
        raise ValueError(f"sequences of {sequences.shape[1]} frames have no 10-frame window at offset {max(offsets)}")
    windows = torch.stack([sequences[:, o : o + WINDOW] for o in offsets], dim=1)
    return action_probabilities(classifier, windows.flatten(0, 1)).reshape(len(sequences), len(offsets), -1)


def score_curve(probs: torch.Tensor, resamples: int = 50, seed: int = 0) -> dict[str, torch.Tensor]:
    """The score at each offset from probabilities (N, O, classes), with a bootstrap band over the N clips.

    Returns ``{"score": (O,), "low": (O,), "high": (O,)}``: the score of the whole set, and the 5th and 95th
    percentiles of the score over ``resamples`` resamplings of the clips with replacement.
    """
    if probs.ndim != 3 or len(probs) < 2:
        raise ValueError(f"score_curve expects probabilities (N >= 2, offsets, classes), got {tuple(probs.shape)}")
    gen = torch.Generator().manual_seed(seed)
    n, n_offsets = probs.shape[:2]
    score = torch.tensor([inception_score(probs[:, o]) for o in range(n_offsets)])
    boot = torch.empty(resamples, n_offsets)
    for r in range(resamples):
        pick = torch.randint(0, n, (n,), generator=gen)
        boot[r] = torch.tensor([inception_score(probs[pick, o]) for o in range(n_offsets)])
    return {"score": score, "low": boot.quantile(0.05, dim=0), "high": boot.quantile(0.95, dim=0)}


def score_curves(
    classifier: ActionClassifier,
    predictors: dict[str, Predictor],
    clips: torch.Tensor,
    n_observed: int,
    offsets: tuple[int, ...],
    real_offsets: tuple[int, ...],
    data_source: str,
    profile: str | None = None,
    store: bool = False,
) -> dict[str, dict[str, torch.Tensor]]:
    """Fig. 9's curves (:func:`score_curve`) of the real clips, each predictor's rollouts and a repeated last frame.

    ``clips`` (N, n_observed + max(real_offsets) + 10, 1, S, S): the predictors observe the first ``n_observed``
    frames. Rolling out every clip 110 frames takes minutes, so the curves that ``python -m drnet_core
    inception-score`` measured with the very same weights (classifier, DRNETs and LSTMs by sha256), data and
    offsets are read instead; ``store=True`` (the CLI) keeps what it measures.
    """
    networks = [classifier] + [net for p in predictors.values() for net in (p, p.drnet)]
    key = {
        "sha256": weights_sha256(*networks),
        "data_source": data_source,
        "clips": len(clips),
        "offsets": list(offsets),
        "real_offsets": list(real_offsets),
        "predictors": sorted(predictors),
    }
    results = ResultStore(weights_path("inception_curves", profile or current_profile()).with_suffix(".json"))
    known = results.get("curves", key)
    if known is not None:
        return {name: {part: torch.tensor(values) for part, values in curve.items()} for name, curve in known.items()}
    observed = clips[:, :n_observed]
    probs = {"real clips": clip_probabilities(classifier, clips[:, n_observed:], real_offsets)}
    for name, predictor in predictors.items():
        probs[name] = rollout_probabilities(classifier, predictor, observed, offsets)
    repeated = action_probabilities(classifier, observed[:, -1:].expand(-1, WINDOW, -1, -1, -1))[:, None]
    probs["repeat the last frame"] = repeated.expand(-1, len(offsets), -1)
    curves = {name: score_curve(p) for name, p in probs.items()}
    if store:
        results.put("curves", key, {name: {part: values.tolist() for part, values in curve.items()} for name, curve in curves.items()})
    return curves
