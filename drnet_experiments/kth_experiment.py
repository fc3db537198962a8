"""The KTH experiment of section 4.3 in a few calls: data, the DRNET and AE-LSTM models, their LSTMs, and Fig. 8.

* :func:`kth_datasets` — real KTH when ``$DRNET_KTH_DIR`` holds it, else the SynthKTH stand-in (persons 1–16
  train, 17–25 test, appendix C);
* :func:`kth_models` — DRNET (VGG16 E_c with U-Net skips, ResNet-18 E_p, |h_p| = 5, β = 1e-4) and the AE
  baseline (one VGG16 encoder of 24 features with the same skips), loaded from ``checkpoints/`` or trained;
* :func:`kth_predictors` — a 2×256 LSTM on each model's codes: observe 10 frames, predict 10 (section 4.1);
* :func:`few_shot_action_accuracy` — Fig. 8: an action classifier (2 hidden layers of 1200 units, appendix D)
  on sequences of 24 codes, trained on 1 … 12 subjects and scored on the test persons (:func:`few_shot_scores`
  reads what the CLI stored for the same weights).

Taught in book/04_kth_prediction.ipynb.
"""

from __future__ import annotations

import torch

from data_utils.kth import ACTIONS, KTHDataset, load_kth
from drnet_core.config import current_profile, experiment
from drnet_core.model import DRNet
from drnet_core.predict import Predictor
from drnet_experiments.pretrained import load_or_train_model, load_or_train_predictor, weights_path
from drnet_experiments.probe import encode_all, train_probe
from drnet_experiments.stored_results import ResultStore, weights_sha256

#: The stand-in of each profile: ci renders 6 train and 3 test persons in 48-frame clips; the others all 25 in 100.
KTH_STANDIN = {
    "ci": {"frames": 48, "subjects": (0, 1, 2, 3, 4, 5, 16, 17, 18)},
    "cpu": {"frames": 100, "subjects": None},
    "paper": {"frames": 100, "subjects": None},
}

#: The two models of the chapter: checkpoint stem → experiment name.
KTH_MODELS = {"kth": "kth", "kth_ae": "kth_ae"}

#: Appendix D: sequences of 24 frames, classifier of 1200 hidden units; Fig. 8 varies the training subjects 1 … 12.
SEQUENCE_LENGTH = 24
CLASSIFIER_HIDDEN = 1200
SUBJECT_COUNTS = (1, 2, 4, 8, 12)


def kth_datasets(profile: str | None = None, seq_len: int = 20) -> tuple[KTHDataset, KTHDataset]:
    """The training and test splits of ``profile`` (clips of ``seq_len`` frames)."""
    profile = profile or current_profile()
    return tuple(load_kth(split, seq_len=seq_len, **KTH_STANDIN[profile]) for split in ("train", "test"))


def kth_models(train_set: KTHDataset, profile: str | None = None, progress: bool = False) -> dict[str, DRNet]:
    """``{"kth": DRNET, "kth_ae": AE baseline}``, each loaded when its checkpoint matches, else trained on ``train_set``."""
    profile = profile or current_profile()
    return {name: load_or_train_model(name, experiment(exp, profile), train_set, train_set.source, progress=progress) for name, exp in KTH_MODELS.items()}


def kth_predictors(models: dict[str, DRNet], train_set: KTHDataset, profile: str | None = None) -> dict[str, Predictor]:
    """The LSTM of each model (observe 10, predict 10), loaded if trained on these weights, else trained."""
    profile = profile or current_profile()
    return {name: load_or_train_predictor(model, profile, name=name, source=train_set, dataset="kth") for name, model in models.items()}


@torch.no_grad()
def pose_sequences(
    model: DRNet, dataset: KTHDataset, length: int = SEQUENCE_LENGTH, per_segment: int = 3, persons: tuple[int, ...] | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sequences of ``length`` pose codes, flattened: features (N, length·|h_p|), action labels (N,), person numbers (N,).

    ``per_segment`` evenly spaced windows are taken from every action segment; ``persons`` keeps only those persons.
    """
    model.eval()
    device = next(model.parameters()).device
    by_video: dict[int, list[int]] = {}
    for index, start in dataset.test_windows(length, per_segment):
        if persons is None or dataset.videos[index].person in persons:
            by_video.setdefault(index, []).append(start)
    features, labels, people = [], [], []
    for index, starts in by_video.items():
        # windows overlap: encode the frames they span once, in one batch, and slice each window's codes
        first, last = min(starts), max(starts) + length
        codes = model.encode_pose(dataset.window(index, first, last - first).to(device)).float().cpu()
        video = dataset.videos[index]
        for start in starts:
            features.append(codes[start - first : start - first + length].flatten())
            labels.append(ACTIONS.index(video.action))
            people.append(video.person)
    if not features:
        raise ValueError(f"no {length}-frame windows for persons {persons} in {dataset.folder}")
    return torch.stack(features), torch.tensor(labels), torch.tensor(people)


def few_shot_action_accuracy(
    model: DRNet,
    train_set: KTHDataset,
    test_set: KTHDataset,
    subject_counts: tuple[int, ...] | None = None,
    length: int = SEQUENCE_LENGTH,
    per_segment: int = 3,
    seed: int = 0,
) -> dict[int, float]:
    """Fig. 8: action accuracy on the test persons of a classifier trained on the pose sequences of the first n subjects.

    The classifier is appendix D's (2 hidden layers of 1200, BN, LeakyReLU, dropout, Adam), early-stopped on
    the training persons that are not among the first ``max(subject_counts)``. By default the counts are
    1, 2, 4, 8 and 12, as far as the training persons allow.
    """
    subject_counts = subject_counts or available_subject_counts(train_set)
    # Checked before encoding, which is the slow part.
    available = len({video.person for video in train_set.videos})
    if not subject_counts or max(subject_counts) >= available:
        raise ValueError(
            f"{available} training persons cannot give {max(subject_counts, default=0)} for training and one for "
            "early stopping: pass smaller subject_counts, or a training set with more persons"
        )
    train_x, train_y, train_p = pose_sequences(model, train_set, length, per_segment)
    test_x, test_y, _ = pose_sequences(model, test_set, length, per_segment)
    persons = sorted(train_p.unique().tolist())
    if max(subject_counts) >= len(persons):
        raise ValueError(f"only {len(persons)} training persons have {length}-frame windows; pass smaller subject_counts")
    held_out = torch.isin(train_p, torch.tensor(persons[max(subject_counts) :]))
    validation = (train_x[held_out], train_y[held_out])
    result = {}
    for n in subject_counts:
        chosen = torch.isin(train_p, torch.tensor(persons[:n]))
        probe = train_probe((train_x[chosen], train_y[chosen]), validation, (test_x, test_y), classes=len(ACTIONS), seed=seed, hidden=CLASSIFIER_HIDDEN)
        result[n] = probe.test_accuracy
    return result


def few_shot_scores(
    models: dict[str, DRNet], train_set: KTHDataset, test_set: KTHDataset, subject_counts: tuple[int, ...], profile: str | None = None, store: bool = False
) -> dict[str, dict[int, float]]:
    """Fig. 8 for each model: :func:`few_shot_action_accuracy` by number of training subjects.

    Encoding every window takes minutes, so the figures that ``python -m drnet_core kth`` measured on the very same
    weights (sha256), data and settings are read instead; ``store=True`` (the CLI) keeps what it measures.
    """
    results = ResultStore(weights_path("kth_few_shot", profile or current_profile()).with_suffix(".json"))
    scores = {}
    for name, model in models.items():
        key = {
            "sha256": weights_sha256(model),
            "data_source": train_set.source,
            "subject_counts": list(subject_counts),
            "length": SEQUENCE_LENGTH,
            "per_segment": 3,
        }
        known = results.get(name, key)
        if known is None:
            measured = few_shot_action_accuracy(model, train_set, test_set, subject_counts)
            if store:
                results.put(name, key, {str(n): accuracy for n, accuracy in measured.items()})
        scores[name] = measured if known is None else {int(n): accuracy for n, accuracy in known.items()}
    return scores


def available_subject_counts(train_set: KTHDataset, wanted: tuple[int, ...] = SUBJECT_COUNTS) -> tuple[int, ...]:
    """The counts of ``wanted`` that leave at least one training person for early stopping."""
    persons = len({v.person for v in train_set.videos})
    return tuple(n for n in wanted if n < persons)


@torch.no_grad()
def test_clips(test_set: KTHDataset, length: int, actions: tuple[str, ...] | None = None, max_clips: int | None = None) -> tuple[torch.Tensor, list[str]]:
    """Held-out clips of ``length`` frames (N, length, 1, S, S), one per segment, optionally of some actions only, and their actions."""
    clips, names = [], []
    for index, start in test_set.test_windows(length, per_segment=1):
        action = test_set.videos[index].action
        if actions is not None and action not in actions:
            continue
        clips.append(test_set.window(index, start, length))
        names.append(action)
        if max_clips is not None and len(clips) >= max_clips:
            break
    if not clips:
        raise ValueError(f"no test clip of {length} frames for actions {actions}")
    return torch.stack(clips), names


@torch.no_grad()
def prediction_quality(predictor: Predictor, clips: torch.Tensor, n_observed: int = 10, batch_size: int = 32) -> dict[str, torch.Tensor]:
    """How close the generated future stays to the truth, by horizon, beside repeating the last observed frame.

    ``clips`` (N, n_observed + H, 1, S, S): the model observes the first ``n_observed`` frames and generates H.
    Returns means over clips, each of shape (H,):

    * ``psnr`` and ``ssim`` of each generated frame against the true one: PSNR = 10 log10(1 / MSE) per frame, SSIM
      with an 11×11 Gaussian window (Wang et al. 2004), as in the public SVG code (appendix B explains why both
      mislead at long horizons);
    * ``pose_error``: the distance between the predicted pose code and E_p of the true frame (eq. 6-7 predict
      codes, so this judges the LSTM where it works);
    * ``copy_psnr``, ``copy_ssim``, ``copy_pose_error``: the same for a "prediction" that never moves, the last
      observed frame repeated. A model is useful up to the horizon where it stops beating this.
    """
    from drnet_core.metrics import psnr, ssim

    horizon = clips.shape[1] - n_observed
    if horizon < 1:
        raise ValueError(f"clips of {clips.shape[1]} frames leave nothing to predict after {n_observed} observed")
    predictor.eval()
    device = next(predictor.parameters()).device
    scores: dict[str, list[torch.Tensor]] = {}

    def add(name: str, value: torch.Tensor, n: int) -> None:
        scores.setdefault(name, []).append(value.float().cpu().reshape(n, horizon))

    for start in range(0, len(clips), batch_size):
        batch = clips[start : start + batch_size].to(device)
        n = len(batch)
        truth = batch[:, n_observed:]
        still = batch[:, n_observed - 1 : n_observed].expand_as(truth)
        poses, content, skips = predictor.predict_poses(batch[:, :n_observed], horizon)  # once, for frames and codes
        future = predictor.decode_poses(poses, content, skips).float()
        true_poses = predictor.drnet.encode_pose(truth.flatten(0, 1)).reshape(n, horizon, -1)
        last_pose = predictor.drnet.encode_pose(batch[:, n_observed - 1])[:, None]
        for prefix, frames, codes in (("", future, poses), ("copy_", still, last_pose.expand_as(true_poses))):
            add(prefix + "psnr", psnr(frames.flatten(0, 1), truth.flatten(0, 1)), n)
            add(prefix + "ssim", ssim(frames.flatten(0, 1), truth.flatten(0, 1)), n)
            add(prefix + "pose_error", (codes.float() - true_poses.float()).norm(dim=-1), n)
    return {name: torch.cat(values).mean(0) for name, values in scores.items()}


def beats_copy_for(quality: dict[str, torch.Tensor], metric: str) -> int:
    """For how many steps after the last observed frame the model beats repeating that frame on ``metric``
    ("psnr", "ssim": higher is better; "pose_error": lower is better), counted from the first step until it first
    does not."""
    model, copy = quality[metric], quality["copy_" + metric]
    better = model < copy if metric == "pose_error" else model > copy
    losing = (~better).nonzero()
    return int(losing[0]) if len(losing) else len(better)


@torch.no_grad()
def nearest_training_frames(model: DRNet, queries: torch.Tensor, train_frames: torch.Tensor, batch_size: int = 500) -> dict[str, torch.Tensor]:
    """Fig. 10: for each query frame, the index of the closest training frame by pose alone and by content plus pose.

    Distances are Euclidean between unit-norm codes (for "content+pose", between the concatenated [h_c, h_p]).
    Returns ``{"pose": (Q,), "content+pose": (Q,)}`` indices into ``train_frames``.
    """
    q_content, q_pose = encode_all(model, queries, batch_size)
    t_content, t_pose = encode_all(model, train_frames, batch_size)
    return {
        "pose": torch.cdist(q_pose, t_pose).argmin(1),
        "content+pose": torch.cdist(torch.cat([q_content, q_pose], 1), torch.cat([t_content, t_pose], 1)).argmin(1),
    }


def training_frames(train_set: KTHDataset, per_video: int = 8) -> torch.Tensor:
    """``per_video`` evenly spaced frames of every training video (N, 1, S, S): the pool searched by Fig. 10."""
    frames = []
    for index, video in enumerate(train_set.videos):
        for t in torch.linspace(0, video.frames - 1, per_video).round().long().tolist():
            frames.append(train_set.window(index, t, 1)[0])
    return torch.stack(frames)
