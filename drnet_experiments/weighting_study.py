"""Does the adversary act? The weighting study (paper eq. 5; chapters 1, 2 and 3).

Eq. 5 weighs L_rec + α·L_sim + β·L_adv. How strongly β·L_adv pulls depends on how the squared errors are reduced:
the paper writes ‖·‖², a **sum** over pixels and code dimensions; the authors' code **averages** them. Under Adam
(invariant to a constant factor on the whole objective) the mean is the sum with β multiplied by the pixel count P
and α by P / |h_c|, so β = 0.1 tuned under the mean corresponds to β = 0.1·P under the sum. The study trains
every point of a grid over (reduction, β), three seeds each, at one short budget, and measures

* on turntables (NORB or your own photographs): the category probe on h_c and h_p (the leak), the 1-nearest-
  neighbour identity of each code and of swapped frames on held-out views (:mod:`drnet_experiments.turntable_scores`);
* on Moving MNIST: the content-swap digit accuracy, the swap pose error and the digit probe on each code;
* always: C's accuracy at the end, the reconstruction error per pixel, and the gradient norm each term sends into
  each encoder (:func:`drnet_core.step.term_gradient_norms`).

Rows are written after each run into a JSON file (``weighting_study_<profile>.json`` next to the committed weights,
or beside a ``--turntable`` file's name under ``runs/``) and reused while the run's settings are unchanged, so an
interrupted study resumes. ``python -m drnet_core weighting-study --profile cpu`` prints the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from data_utils.turntable import TurntableDataset
from drnet_core.config import Experiment, current_profile, experiment
from drnet_experiments.study_runs import Deadline, StudyRows, spread, train_run

SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class StudyPoint:
    """One setting of the grid: the reduction, β, α, and (MNIST) K and colour."""

    dataset: str
    reduction: str
    beta: float
    alpha: float = 1.0
    max_offset: int = 0  # 0: the experiment's K
    colour: bool = True

    @property
    def name(self) -> str:
        name = f"{self.reduction}_beta{self.beta:g}"
        if self.alpha != 1.0:
            name += f"_alpha{self.alpha:g}"
        if self.max_offset:
            name += f"_K{self.max_offset}"
        if not self.colour:
            name += "_grey"
        return name

    def overrides(self) -> dict:
        out = {"train.reduction": self.reduction, "train.beta": self.beta, "train.alpha": self.alpha}
        if self.max_offset:
            out["train.max_offset"] = self.max_offset
        if not self.colour:
            out.update({"data.colour": False, "model.channels": 1})
        return out


def authors_point(dataset: str, pixels: int, content_dim: int) -> StudyPoint:
    """The authors' weighting written as a sum: β = 0.1·P and α = P / |h_c| (equal to the mean under Adam)."""
    return StudyPoint(dataset, "sum", round(0.1 * pixels, 6), alpha=round(pixels / content_dim, 6))


def study_points(dataset: str) -> list[StudyPoint]:
    """The grid of ``dataset``, most informative first (an interrupted study has the core comparison first)."""
    if dataset == "norb":
        core = [StudyPoint("norb", "sum", 0.1), StudyPoint("norb", "mean", 0.1), StudyPoint("norb", "mean", 0.0), StudyPoint("norb", "sum", 0.0)]
        sweep = [StudyPoint("norb", "mean", b) for b in (0.01, 1.0)] + [StudyPoint("norb", "sum", b) for b in (1.0, 10.0, 100.0)]
        authors = authors_point("norb", 64 * 64, 128)
        # the authors' point changes β and α at once; each factor alone says which of the two moves the leak
        factors = [StudyPoint("norb", "sum", authors.beta), StudyPoint("norb", "sum", 0.1, alpha=authors.alpha)]
        return core + sweep + [authors] + factors
    if dataset == "mnist":
        return [
            StudyPoint("mnist", "sum", 0.0),
            StudyPoint("mnist", "sum", 0.1),
            StudyPoint("mnist", "mean", 0.1),
            StudyPoint("mnist", "sum", 0.1, colour=False),
            StudyPoint("mnist", "mean", 0.1, max_offset=19),
        ]
    raise ValueError(f"the weighting study knows datasets 'norb' and 'mnist', not {dataset!r}")


#: The short budget of every run, per dataset and profile (ours, not the paper's): NORB at nf 8 for 1,500 steps
#: (about 6 minutes on 2 cores), MNIST at nf 32 for 9,000 steps (where the committed summed run's swaps first
#: stood well above chance: 0.34 at step 9,000).
BUDGETS = {
    "norb": {
        "ci": {"model.nf": 4, "train.steps": 20, "train.batch_size": 8, "train.log_every": 10},
        "cpu": {"model.nf": 8, "train.steps": 1500, "train.batch_size": 32, "train.log_every": 50},
        "paper": {"model.nf": 64, "train.steps": 20_000, "train.batch_size": 100, "train.log_every": 100},
    },
    "mnist": {
        "ci": {"model.nf": 8, "train.steps": 20, "train.batch_size": 8, "train.log_every": 10},
        "cpu": {"model.nf": 32, "train.steps": 9000, "train.batch_size": 32, "train.log_every": 100},
        "paper": {"model.nf": 64, "train.steps": 20_000, "train.batch_size": 100, "train.log_every": 100},
    },
}
_QUIET = {"train.eval_every": 0, "train.checkpoint_every": 250, "train.widen_from_nf": 0, "train.widen_at": 0, "train.lr_milestones": ()}


def point_experiment(point: StudyPoint, seed: int, profile: str, train_set: TurntableDataset | None = None) -> Experiment:
    """The settings of one run: the dataset's experiment at the study's budget, with the point's weighting."""
    overrides = {**BUDGETS[point.dataset][profile], **_QUIET, **point.overrides(), "train.seed": seed}
    if point.dataset == "mnist":
        return experiment("mnist", profile, **overrides)
    base = experiment("norb", profile)
    fit = {"data.seq_len": train_set.seq_len, "train.max_offset": min(base.train.max_offset, train_set.seq_len - 1)}
    return experiment("norb", profile, **{**fit, **overrides})


def _tail_mean(log: list[dict], key: str) -> float:
    values = [r[key] for r in log if key in r]
    tail = values[-max(1, len(values) // 10) :]
    return sum(tail) / len(tail) if tail else float("nan")


def _training_figures(log: list[dict]) -> dict:
    """C's accuracy and the gradient norms, averaged over the last tenth of the logged steps."""
    out = {"disc_acc": _tail_mean(log, "disc_acc")}
    for key in ("grad_ep_rec", "grad_ep_adv", "grad_ec_rec", "grad_ec_sim"):
        out[key] = _tail_mean(log, key)
    total = out["grad_ep_rec"] + out["grad_ep_adv"]
    out["adv_share"] = out["grad_ep_adv"] / total if total > 0 else float("nan")
    return out


def _measure_turntable(model, train_set: TurntableDataset, test_set: TurntableDataset, profile: str) -> dict:
    from drnet_experiments.turntable_scores import category_probes, identity_scores

    frames = 1500 if profile == "ci" else 6000
    probes = category_probes(model, train_set, test_set, max_frames=frames)
    identity = identity_scores(model, test_set, max_sequences=40 if profile == "ci" else 100)
    return {"content_probe": probes["content"], "pose_probe": probes["pose"], "probe_chance": probes["chance"], **identity}


def _measure_mnist(model, profile: str, colour: bool = True) -> dict:
    """Swap, placement and probe figures of one Moving MNIST run. Grey models (``colour=False``) have no channel per
    digit, so the channel-wise swap accuracy and pose error are left out; the placement figures need no colour."""
    from drnet_experiments.ablations import digit_leak
    from drnet_experiments.mnist_swaps import swap_metrics, swap_pairs

    figures = _placement_figures(model, profile, colour)
    if colour:
        swaps = swap_metrics(model, swap_pairs(100 if profile == "ci" else 1000))
        same = swap_metrics(model, swap_pairs(100 if profile == "ci" else 500, same_clip=True))
        figures.update(swap_accuracy=swaps["swap_accuracy"], pose_error_px=swaps["pose_error_px"], same_clip_accuracy=same["swap_accuracy"])
    leak = digit_leak(model, *((800, 200) if profile == "ci" else (4000, 1000)), colour=colour)
    return {**figures, "content_probe": leak["content"], "pose_probe": leak["pose"], "probe_chance": leak["chance"]}


def _placement_figures(model, profile: str, colour: bool) -> dict:
    """Whether each digit lands at its own pose position (:func:`~drnet_experiments.mnist_swaps.placement_metrics`)."""
    from drnet_experiments.mnist_swaps import placement_metrics, swap_pairs

    placed = placement_metrics(model, swap_pairs(100 if profile == "ci" else 1000, colour=colour))
    return {k: placed[k] for k in ("order_accuracy", "any_order_accuracy", "any_order_ceiling")}


def _mnist_rec_mse(model, exp: Experiment) -> float:
    """Per-pixel squared error of reconstructing x^{t+k} from E_c(x^t) and E_p(x^{t+k}) on held-out test clips."""
    import torch

    from data_utils import MovingMNIST

    data = MovingMNIST("test", seq_len=exp.data.seq_len, colour=exp.data.colour)
    x_t, x_tk = data.sample_pairs(256, exp.train.max_offset, torch.Generator().manual_seed(12345))
    with torch.no_grad():
        return (model.eval().swap(x_t, x_tk) - x_tk).pow(2).mean().item()


def results_path(profile: str, turntable: str | None = None) -> Path:
    """Where the rows live: next to the committed weights, or (for your own turntable file) under ``runs/``."""
    from drnet_experiments.pretrained import RUNS, weights_path

    if turntable:
        return RUNS / f"weighting_study_{Path(turntable).stem}_{profile}.json"
    return weights_path("weighting_study", profile).with_suffix(".json")


def weighting_study(
    profile: str | None = None,
    datasets: tuple[str, ...] = ("norb", "mnist"),
    seeds: tuple[int, ...] = SEEDS,
    turntable: str | None = None,
    split: str = "views",
    points: tuple[str, ...] | None = None,
    time_limit_s: float | None = None,
    progress: bool = False,
    say=print,
) -> list[dict]:
    """Train (or reuse the rows of) every point × seed of the grid; returns the rows measured so far.

    ``turntable`` replaces the NORB data by your own ``.npz`` (:func:`data_utils.turntable.load_turntable_file`,
    ``split`` "views" or "objects"). ``points`` keeps only the grid points of those names (e.g. ``("mean_beta0.1",)``).
    ``time_limit_s`` stops the study inside a run, at a checkpoint; the same call
    continues it.
    """
    from data_utils import MovingMNIST
    from drnet_core.model import DRNet
    from drnet_core.viz import read_metrics
    from drnet_experiments.pretrained import RUNS

    profile = profile or current_profile()
    stored = StudyRows(results_path(profile, turntable))
    deadline = Deadline(time_limit_s)
    rows: list[dict] = []
    turntables: tuple[TurntableDataset, TurntableDataset] | None = None
    for dataset in datasets:
        if dataset == "norb":
            if turntable:
                from data_utils.turntable import load_turntable_file
                from drnet_experiments.turntable_scores import check_probe_categories

                turntables = load_turntable_file(turntable, split=split, seq_len=experiment("norb", profile).data.seq_len)
                check_probe_categories(*turntables)  # before training on a file the probe cannot read
            else:
                from drnet_experiments.ablations import norb_datasets

                turntables = norb_datasets(profile)
            source = turntables[0].source
        else:
            source = "Moving MNIST"
        for point in study_points(dataset):
            if points is not None and point.name not in points:
                continue
            for seed in seeds:
                exp = point_experiment(point, seed, profile, turntables[0] if dataset == "norb" else None)
                key = f"{dataset}/{point.name}/seed{seed}"
                out = RUNS / f"weighting_study_{Path(turntable).stem if turntable else 'builtin'}_{profile}" / dataset / point.name / f"seed{seed}"
                known = stored.matching(key, exp, source)
                if known:
                    if dataset == "mnist" and "order_accuracy" not in known["row"] and (out / "model.pt").is_file():
                        say(f"measuring {key}'s placement figures (a row stored before they existed)", flush=True)
                        known["row"].update(_placement_figures(DRNet.load(out / "model.pt").eval(), profile, exp.data.colour))
                        stored.write()
                    rows.append(known["row"])
                    continue
                data = turntables[0] if dataset == "norb" else MovingMNIST("train", seq_len=exp.data.seq_len, colour=exp.data.colour)
                trainer = train_run(exp, data, out, key, deadline, source, progress=progress, say=say)
                if trainer is None:
                    return rows
                model = trainer.model.eval()
                if dataset == "norb":
                    figures = _measure_turntable(model, *turntables, profile)
                else:
                    figures = {**_measure_mnist(model, profile, exp.data.colour), "rec_mse": _mnist_rec_mse(model, exp)}
                row = {
                    "dataset": dataset,
                    "point": point.name,
                    "reduction": point.reduction,
                    "beta": point.beta,
                    "alpha": point.alpha,
                    "max_offset": exp.train.max_offset,
                    "colour": exp.data.colour,
                    "seed": seed,
                    **figures,
                    **_training_figures(read_metrics(trainer.out_dir / "metrics.jsonl")),
                    "steps": trainer.step,
                    "wall_time_s": round(trainer.wall_time, 1),
                    "hardware": str(trainer.hardware),
                }
                stored.put(key, exp, row, source)
                rows.append(row)
                say(format_row(row), flush=True)
    return rows


def stored_rows(profile: str | None = None, turntable: str | None = None) -> list[dict]:
    """The rows a previous ``weighting-study`` run stored (no training): what the chapters draw."""
    return StudyRows(results_path(profile or current_profile(), turntable)).rows()


FIGURES = {
    "norb": ("content_probe", "pose_probe", "content_nn", "pose_nn", "swap_keeps_content", "swap_shows_pose_donor", "disc_acc", "rec_mse", "adv_share"),
    "mnist": ("swap_accuracy", "pose_error_px", "order_accuracy", "any_order_accuracy", "content_probe", "pose_probe", "disc_acc", "rec_mse", "adv_share"),
}


def summarise(rows: list[dict]) -> list[dict]:
    """One line per (dataset, point): each figure's mean, sample standard deviation, min and max over the seeds."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["point"]), []).append(row)
    order = {(p.dataset, p.name): i for d in ("norb", "mnist") for i, p in enumerate(study_points(d))}
    lines = []
    for (dataset, _point), members in sorted(groups.items(), key=lambda kv: (kv[0][0], order.get(kv[0], 99))):
        line = {k: members[0][k] for k in ("dataset", "point", "reduction", "beta", "alpha", "max_offset", "colour")}
        line["seeds"] = len(members)
        for figure in FIGURES[dataset]:
            values = [m[figure] for m in members if figure in m and not math.isnan(m[figure])]
            if not values:
                continue
            line[figure] = spread(values)
        lines.append(line)
    return lines


@dataclass(frozen=True)
class Comparison:
    """One figure at two points of the study: the difference of the seed means against their spread."""

    difference: float  # mean at ``with_point`` minus mean at ``without_point``
    spread: float  # the sum of the two points' standard deviations over seeds
    clear: bool  # |difference| > spread, and the higher mean stands above chance by more than the spread


def compare_points(summary: list[dict], figure: str, with_point: str, without_point: str, chance: float, dataset: str = "norb") -> Comparison | None:
    """Whether ``figure`` clearly differs between two points of :func:`summarise`'s lines (None: < 2 seeds each).

    A difference counts only when it is larger than the seeds' spread and the higher of the two figures stands
    above ``chance`` by more than that spread: a change between two runs at chance is noise.
    """
    by_point = {line["point"]: line for line in summary if line["dataset"] == dataset}
    a, b = by_point.get(with_point), by_point.get(without_point)
    if not a or not b or figure not in a or figure not in b or min(a["seeds"], b["seeds"]) < 2:
        return None
    return compare_figures(a[figure], b[figure], chance)


def compare_figures(with_figure: dict, without_figure: dict, chance: float) -> Comparison:
    """The rule of :func:`compare_points` on two figures' ``{"mean", "std"}`` over seeds (the KTH study uses it too)."""
    difference = with_figure["mean"] - without_figure["mean"]
    spread = with_figure["std"] + without_figure["std"]
    higher = max(with_figure["mean"], without_figure["mean"])
    return Comparison(difference, spread, abs(difference) > spread and higher - spread > chance)


def format_row(row: dict) -> str:
    figures = FIGURES[row["dataset"]]
    return f"{row['dataset']}/{row['point']}/seed{row['seed']}: " + "  ".join(f"{f} {row[f]:.3f}" for f in figures if f in row)


def _mean_pm_std(figure: dict) -> str:
    style = ".2e" if 0 < abs(figure["mean"]) < 0.01 else ".3f"  # small errors keep their significant digits
    if math.isnan(figure["std"]):  # one seed: no spread to show
        return f"{figure['mean']:{style}} (1 seed)"
    return f"{figure['mean']:{style}} ± {figure['std']:{style}}"


def format_summary(lines: list[dict], points_per_block: int = 3) -> str:
    """The table ``weighting-study`` prints: mean ± standard deviation over the seeds, one row per figure and one
    column per grid point, in blocks of ``points_per_block`` columns so that every line fits a page (88 characters)."""
    out = []
    for dataset in ("norb", "mnist"):
        mine = [line for line in lines if line["dataset"] == dataset]
        if not mine:
            continue
        figures = [f for f in FIGURES[dataset] if any(f in line for line in mine)]
        out.append(f"{dataset}: mean ± standard deviation over seeds")
        for start in range(0, len(mine), points_per_block):
            block = mine[start : start + points_per_block]
            out.append(f"{'':22s}" + "".join(f"{line['point']:>22s}" for line in block))
            out.append(f"{'seeds':22s}" + "".join(f"{line['seeds']:>22d}" for line in block))
            for figure in figures:
                cells = [_mean_pm_std(line[figure]) if figure in line else "–" for line in block]
                out.append(f"{figure:22s}" + "".join(f"{cell:>22s}" for cell in cells))
            out.append("")
    return "\n".join(out).rstrip()
