"""Whole experiments as one call, so that a chapter (or a user with other data) reruns them in one line.

``norb_ablation`` is the paper's central experiment (section 4.2, Fig. 4, Table 1): train DRNET on turntable
videos with and without the adversarial term (β = 0.1 and β = 0), then probe both models' content and pose
codes for the object category. Without the adversary, content leaks into the pose vector, and the pose probe
does better. Taught in book/03_norb_ablation.ipynb.

``mnist_ablation`` asks the same question of Moving MNIST, together with the question the paper's authors
discussed: is it the adversary or the small pose vector (the bottleneck) that keeps content out of h_p? Taught in
book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from data_utils.norb import load_norb
from data_utils.turntable import TurntableDataset
from drnet_core.config import Experiment, current_profile, experiment
from drnet_core.model import DRNet
from drnet_experiments.pretrained import load_or_train_model, weights_path
from drnet_experiments.probe import content_pose_accuracy
from drnet_experiments.stored_results import ResultStore, weights_sha256
from drnet_experiments.study_runs import Deadline, StudyRows, train_run
from drnet_experiments.turntable_scores import category_probes
from drnet_experiments.widen import schedule_for

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
    norb_beta0.1_reduction-sum."""
    name = f"norb_beta{beta:g}"
    for key, value in sorted((overrides or {}).items()):
        name += f"_{key.rsplit('.', 1)[-1]}-{value}"
    return name


def norb_experiment(train_set: TurntableDataset, beta: float, profile: str, overrides: dict | None = None) -> Experiment:
    """The profile's NORB experiment with ``beta`` (and ``overrides``), its clips fitted to ``train_set``'s turntable."""
    base = experiment("norb", profile)
    fit = {"data.seq_len": train_set.seq_len, "train.max_offset": min(base.train.max_offset, train_set.seq_len - 1)}
    return experiment("norb", profile, **{**fit, **(overrides or {}), "train.beta": beta})


def _probe_store(profile: str) -> ResultStore:
    return ResultStore(weights_path("norb_probes", profile).with_suffix(".json"))


def _probe_key(model: DRNet, data_source: str, probe_frames: int | None) -> dict:
    return {"sha256": weights_sha256(model), "data_source": data_source, "probe_frames": probe_frames}


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
    store_probes: bool = False,
    weights_folder: Path | None = None,
) -> AblationResult:
    """Train (or load) one DRNET per β on ``train_set`` and probe each on ``test_set``'s held-out objects.

    Any :class:`~data_utils.turntable.TurntableDataset` works; models are cached under the profile's weights
    folder by β and data source, so a second call loads them. ``overrides`` change other settings of every
    model (e.g. ``{"train.reduction": "sum"}``), and are part of the checkpoint names.

    Probing encodes some 27,000 frames per model. A probe row stored for the very same weights (sha256), data and
    probe size is read instead (:class:`~drnet_experiments.stored_results.ResultStore`); ``store_probes=True``
    (the CLI) writes the rows it computes. ``weights_folder`` keeps the models and probe rows there instead of in
    the profile's weights folder: the CLI's ``--turntable`` puts those of your own photographs under ``runs/``.
    """
    profile = profile or current_profile()
    source = getattr(train_set, "source", "array")
    models, table, probes = {}, [], {}
    for beta in betas:
        exp = norb_experiment(train_set, beta, profile, overrides)
        name = model_name(beta, overrides)
        path = weights_folder / f"{name}_{profile}.pt" if weights_folder else None
        model = load_or_train_model(name, exp, train_set, source, progress=progress, path=path)
        store = ResultStore(weights_folder / f"norb_probes_{profile}.json") if weights_folder else _probe_store(profile)
        key = _probe_key(model, source, probe_frames)
        scores = store.get(name, key)
        if scores is None:
            counts = torch.bincount(train_set.labels)
            if int(counts[counts > 0].min()) >= 2:  # early-stop the probe on held-out training objects
                scores = content_pose_accuracy(model, train_set, test_set, max_frames=probe_frames)
            else:  # one object per category (a views split of your own photographs): early-stop on frames instead
                scores = category_probes(model, train_set, test_set, max_frames=probe_frames or 6000)
            if store_probes:
                store.put(name, key, {k: float(v) for k, v in scores.items()})
        models[beta], probes[beta] = model, scores
        table.append({"beta": beta, "content": scores["content"], "pose": scores["pose"], "chance": scores["chance"]})
    return AblationResult(models, table, source, profile, probes)


# -- Moving MNIST: the adversary or the bottleneck? --------------------------------------------------------------

#: (β, |h_p|) of each run: the paper's model, without the adversary, and with a smaller and a larger pose vector.
MNIST_ABLATION = ((0.1, 5), (0.0, 5), (0.1, 2), (0.0, 2), (0.1, 10), (0.0, 10))


def ablation_experiment(beta: float, pose_dim: int, profile: str | None = None) -> Experiment:
    """One run of the Moving MNIST ablation: the profile's MNIST experiment with ``β`` and ``|h_p|`` changed.

    Every run gets the same, shorter budget, so that the runs compare with each other (not with the committed
    model, which trains far longer): ``cpu`` narrows to nf 16 and 4,000 steps, ``paper`` keeps nf 64 for 20,000.
    """
    profile = profile or current_profile()
    budget = {"ci": {"train.steps": 30}, "cpu": {"model.nf": 16, "train.steps": 4000}, "paper": {"train.steps": 20_000}}[profile]
    # one width throughout and at most the first drop: the committed model's late widening and second drop are not part of the budget
    first_drop = experiment("mnist", profile).train.lr_milestones[:1]
    quiet = {"train.eval_every": 0, "train.checkpoint_every": 500, "train.widen_from_nf": 0, "train.widen_at": 0, "train.lr_milestones": first_drop}
    return experiment("mnist", profile, **budget, **quiet, **{"train.beta": beta, "model.pose_dim": pose_dim})


def digit_leak(model: DRNet, n_train: int = 4000, n_test: int = 1000, seed: int = 0, colour: bool = True) -> dict[str, float]:
    """How much each code knows about *which digit* is in the frame: probe accuracy for the first digit's label.

    A probe (appendix D's classifier) is trained on codes of training-digit frames and scored on test-digit frames.
    The content code should name the digit (high accuracy); a clean pose code should not (near 1/10): digit identity
    in h_p is content leaking into the pose. ``colour=False`` draws the frames grey, for models trained on grey
    clips; there "the first digit" has no look of its own, so even h_c cannot fully name it.
    """
    from data_utils import MovingMNIST
    from drnet_experiments.probe import encode_all, train_probe

    def coded(split: str, count: int, offset: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        data = MovingMNIST(split, seq_len=1, colour=colour)
        specs = data.specs(count, seed + offset) if split == "train" else data.fixed_specs(count)
        content, pose = encode_all(model, data.render(specs)[:, 0])
        return content, pose, data.digit_labels(specs)[:, 0]

    train, val, test = coded("train", n_train, 0), coded("train", n_train // 4, 1), coded("test", n_test, 0)
    result = {"chance": 0.1}
    for name, slot in (("content", 0), ("pose", 1)):
        probe = train_probe(*((split[slot], split[2]) for split in (train, val, test)), classes=10, seed=seed)
        result[name] = probe.test_accuracy
    return result


def mnist_ablation(profile: str | None = None, variants: tuple[tuple[float, int], ...] = MNIST_ABLATION, progress: bool = False) -> list[dict]:
    """Train (or load the results of) one short run per (β, |h_p|) and measure each: the disentanglement figures.

    Each row holds β, |h_p|, the content-swap digit accuracy and swap pose error on 1,000 held-out swaps, the
    digit-probe accuracy of h_c and h_p (:func:`digit_leak`), C's accuracy at the end, the steps, wall time and
    hardware. Rows are kept in ``mnist_ablation_<profile>.json`` next to the profile's weights, written after each
    run (an interrupted ablation resumes), and reused while the experiment's settings are unchanged.
    """
    from data_utils import MovingMNIST
    from drnet_core.viz import read_metrics
    from drnet_experiments.mnist_swaps import swap_metrics, swap_pairs
    from drnet_experiments.pretrained import RUNS, command_for, require_training_allowed, weights_path

    profile = profile or current_profile()
    path = weights_path("mnist_ablation", profile).with_suffix(".json")
    stored = StudyRows(path)
    rows = []
    for beta, pose_dim in variants:
        exp = ablation_experiment(beta, pose_dim, profile)
        key = f"beta{beta:g}_pose{pose_dim}"
        known = stored.matching(key, exp)
        if known:
            rows.append(known["row"])
            continue
        require_training_allowed(path, profile, command_for("mnist_ablation", profile), f"has no row {key} for these settings")
        out = RUNS / f"mnist_ablation_{profile}" / key
        data = MovingMNIST("train", seq_len=exp.data.seq_len)
        name = f"the ablation run β = {beta:g}, |h_p| = {pose_dim}"
        trainer = train_run(exp, data, out, name, Deadline(None), "Moving MNIST", progress=progress, schedule=schedule_for(exp))
        model = trainer.model.eval()
        swaps = swap_metrics(model, swap_pairs(exp.eval_swaps or 1000))
        leak = digit_leak(model, *((800, 200) if profile == "ci" else (4000, 1000)))
        log = read_metrics(trainer.out_dir / "metrics.jsonl")
        tail = log[-max(1, len(log) // 10) :]
        row = {
            "beta": beta,
            "pose_dim": pose_dim,
            "swap_accuracy": swaps["swap_accuracy"],
            "pose_error_px": swaps["pose_error_px"],
            "content_probe": leak["content"],
            "pose_probe": leak["pose"],
            "disc_acc": sum(r["disc_acc"] for r in tail) / len(tail) if tail else float("nan"),
            "steps": trainer.step,
            "wall_time_s": round(trainer.wall_time, 1),
            "hardware": str(trainer.hardware),
        }
        stored.put(key, exp, row)
        rows.append(row)
    return rows


def norb_control_rows(
    train_set: TurntableDataset,
    test_set: TurntableDataset,
    variants: tuple[tuple[float, dict], ...] = ((0.0, {"train.reduction": "sum"}),),
    profile: str | None = None,
    probe_frames: int | None = 12_000,
    progress: bool = False,
) -> list[dict]:
    """Table 1 rows of extra NORB runs whose weights are not committed: controls for the chapter's investigation.

    Each variant is ``(β, overrides)``; the default is β = 0 with summed squared errors (the paper's notation),
    the control for a β = 0.1 run with summed errors. Each row
    (``beta``, ``content``, ``pose``, ``chance``, plus the name, steps, wall time and hardware) is kept in
    ``norb_controls_<profile>.json`` next to the profile's weights and reused while the experiment's settings and
    the data source are unchanged; the weights stay under ``runs/`` (the committed checkpoints must stay small).
    """
    from drnet_experiments.pretrained import RUNS, require_training_allowed, weights_path

    profile = profile or current_profile()
    path = weights_path("norb_controls", profile).with_suffix(".json")
    stored = StudyRows(path)
    source = getattr(train_set, "source", "array")
    rows = []
    for beta, overrides in variants:
        exp = norb_experiment(train_set, beta, profile, overrides)
        name = model_name(beta, overrides)
        known = stored.matching(name, exp, source)
        if known:
            rows.append(known["row"])
            continue
        require_training_allowed(path, profile, f"python -m drnet_core norb-ablation --profile {profile} --controls", f"has no row {name} for these settings")
        trainer = train_run(exp, train_set, RUNS / f"norb_controls_{profile}" / name, f"the control run {name}", Deadline(None), source, progress=progress)
        scores = content_pose_accuracy(trainer.model.eval(), train_set, test_set, max_frames=probe_frames)
        row = {
            "name": name,
            "beta": beta,
            "content": scores["content"],
            "pose": scores["pose"],
            "chance": scores["chance"],
            "steps": trainer.step,
            "wall_time_s": round(trainer.wall_time, 1),
            "hardware": str(trainer.hardware),
        }
        stored.put(name, exp, row, source)
        rows.append(row)
    return rows
