"""Whole experiments as one call, so that a chapter (or a user with other data) reruns them in one line.

``norb_ablation`` is the paper's central experiment (section 4.2, Fig. 4, Table 1): train DRNET on turntable
videos with and without the adversarial term (β = 0.1 and β = 0), then probe both models' content and pose
codes for the object category. Without the adversary, content leaks into the pose vector, and the pose probe
does better. Taught in book/03_norb_ablation.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data_utils.norb import load_norb
from data_utils.turntable import TurntableDataset
from drnet_core.config import current_profile, experiment
from drnet_core.model import DRNet
from drnet_core.pretrained import load_or_train_model
from drnet_core.probe import content_pose_accuracy

#: Table 1 of the paper: category accuracy (%) of a classifier on each code, smallNORB test instances.
PAPER_TABLE_1 = {0.1: {"content": 93.3, "pose": 60.9}, 0.0: {"content": 72.6, "pose": 80.8}}

#: The stand-in conditions of each profile: ci renders 3 elevations × 2 lightings, the others all 9 × 6.
NORB_CONDITIONS = {"ci": ((0, 4, 8), (0, 3)), "cpu": (None, None), "paper": (None, None)}


def norb_datasets(profile: str | None = None) -> tuple[TurntableDataset, TurntableDataset]:
    """The training and test turntables of ``profile``: smallNORB if ``$DRNET_NORB_DIR`` has it, else SynthNORB."""
    profile = profile or current_profile()
    seq_len = experiment("norb", profile).data.seq_len
    elevations, lightings = NORB_CONDITIONS[profile]
    return tuple(load_norb(split, seq_len=seq_len, elevations=elevations, lightings=lightings) for split in ("train", "test"))


def model_name(beta: float, overrides: dict | None = None) -> str:
    """Checkpoint stem of the NORB model trained with ``beta`` (and other settings): norb_beta0.1, norb_beta0,
    norb_beta0.1_reduction-mean."""
    name = f"norb_beta{beta:g}"
    for key, value in sorted((overrides or {}).items()):
        name += f"_{key.rsplit('.', 1)[-1]}-{value}"
    return name


@dataclass
class AblationResult:
    """The trained models by β, and the Table 1 rows: ``{"beta", "content", "pose", "chance"}`` per model."""

    models: dict[float, DRNet]
    table: list[dict]
    data_source: str
    profile: str
    probes: dict[float, dict] = field(default_factory=dict)


def norb_ablation(
    train_set: TurntableDataset,
    test_set: TurntableDataset,
    profile: str | None = None,
    betas: tuple[float, ...] = (0.1, 0.0),
    probe_frames: int | None = 12_000,
    progress: bool = False,
    overrides: dict | None = None,
) -> AblationResult:
    """Train (or load) one DRNET per β on ``train_set`` and probe each on ``test_set``'s held-out objects.

    Any :class:`~data_utils.turntable.TurntableDataset` works; models are cached under the profile's weights
    folder by β and data source, so a second call loads them. ``overrides`` change other settings of every
    model (e.g. ``{"train.reduction": "mean"}``), and are part of the checkpoint names.
    """
    profile = profile or current_profile()
    source = getattr(train_set, "source", "array")
    models, table, probes = {}, [], {}
    for beta in betas:
        base = experiment("norb", profile)
        fit = {"data.seq_len": train_set.seq_len, "train.max_offset": min(base.train.max_offset, train_set.seq_len - 1)}
        exp = experiment("norb", profile, **{**fit, **(overrides or {}), "train.beta": beta})
        model = load_or_train_model(model_name(beta, overrides), exp, train_set, source, progress=progress)
        scores = content_pose_accuracy(model, train_set, test_set, max_frames=probe_frames)
        models[beta], probes[beta] = model, scores
        table.append({"beta": beta, "content": scores["content"], "pose": scores["pose"], "chance": scores["chance"]})
    return AblationResult(models, table, source, profile, probes)
