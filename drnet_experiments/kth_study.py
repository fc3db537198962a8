"""KTH like for like: Fig. 8 at equal code sizes, and the weighting check (section 4.3; chapter 4).

Fig. 8 of the paper compares an action classifier on DRNET's 5-dimensional pose with one on the AE baseline's 24
features. The two differ in kind *and* in size, so the figure cannot say which of the two made the difference. This
study trains the missing pairs at the chapter's budget, DRNET with |h_p| = 24 and the AE with 5 features, and
measures all four alike. It also asks the weighting question of chapters 1-3 on KTH: the chapter's DRNET sums its
squared errors (the paper's notation) with the paper's β = 1e-4; ``drnet5_mean`` averages them, as the authors'
code does, with the same β.

Each point × seed is measured by

* the few-shot action accuracy of Fig. 8 (:func:`~drnet_experiments.kth_experiment.few_shot_action_accuracy`),
  for each number of training subjects, and its mean over them;
* a **person probe** on each code (:func:`person_leak`): which of the training persons is in a frame? Trained on
  four actions, early-stopped on a fifth and scored on the sixth. On h_c it should succeed; on h_p it should sit
  near chance (one over the number of persons): the person's identity in the pose is content leaking into it.

The chapter's two models are the seed-0 runs of their points, read from ``checkpoints/`` when their settings are the
point's. Rows (results only: the other weights stay under ``runs/``) are kept in ``kth_study_<profile>.json`` next to
the committed weights and reused while a run's settings are unchanged, so an interrupted study resumes.
``python -m drnet_core kth-study --profile cpu`` trains what is missing and prints the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from data_utils.kth import KTHDataset
from drnet_core.config import Experiment, comparable_config, current_profile, experiment
from drnet_core.model import DRNet
from drnet_experiments.study_runs import Deadline, StudyRows, spread, train_run


@dataclass(frozen=True)
class KTHPoint:
    """One model of the study: DRNET or the AE, its pose (or feature) size, and how the squared errors are reduced."""

    kind: str  # "drnet" or "ae"
    size: int
    reduction: str = "sum"

    @property
    def name(self) -> str:
        return f"{self.kind}{self.size}" + ("_mean" if self.reduction == "mean" else "")

    @property
    def committed(self) -> str | None:
        """The checkpoint stem of the chapter's model that is this point's seed 0, if there is one."""
        return {"drnet5": "kth", "ae24": "kth_ae"}.get(self.name)

    def experiment(self, profile: str, seed: int) -> Experiment:
        base = "kth" if self.kind == "drnet" else "kth_ae"
        return experiment(base, profile, **{"model.pose_dim": self.size, "train.reduction": self.reduction, "train.seed": seed})


#: The chapter's two models first, then their equal-size partners, then the weighting check.
POINTS = (KTHPoint("drnet", 5), KTHPoint("ae", 24), KTHPoint("drnet", 24), KTHPoint("ae", 5), KTHPoint("drnet", 5, "mean"))
SEEDS = (0, 1, 2)


#: The person probe's split by action: every person does every action, in every scenario.
PROBE_ACTIONS = {"train": ("walking", "running", "boxing", "handwaving"), "validation": ("jogging",), "test": ("handclapping",)}


def _frames_by_action(dataset: KTHDataset, per_video: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``per_video`` evenly spaced frames of every video, grouped by action: {action: (frames, person index)}."""
    persons = sorted({v.person for v in dataset.videos})
    groups: dict[str, tuple[list, list]] = {}
    for index, video in enumerate(dataset.videos):
        frames = dataset.frames(index)
        picks = torch.linspace(0, len(frames) - 1, per_video).round().long()
        chosen = torch.from_numpy(frames[picks.numpy()].copy()).float().div_(255)[:, None]
        group = groups.setdefault(video.action, ([], []))
        group[0].append(chosen)
        group[1].append(torch.full((per_video,), persons.index(video.person)))
    return {a: (torch.cat(f), torch.cat(p)) for a, (f, p) in groups.items()}


def person_leak(model: DRNet, dataset: KTHDataset, per_video: int = 8, seed: int = 0) -> dict[str, float]:
    """How much each code knows about *who* is in the frame: person-probe accuracy on an unseen action (chance
    1/persons).

    The probe (appendix D's classifier) trains on the codes of four actions, stops early on jogging and is scored on
    handclapping, all scenarios and all of ``dataset``'s persons (use the training split: the probe must know the
    persons it names). A code that names the person in a pose it never saw them in carries their looks. The AE has
    no content code, so only its features are probed.
    """
    from drnet_experiments.probe import encode_all, train_probe

    groups = _frames_by_action(dataset, per_video)
    wanted = {a for actions in PROBE_ACTIONS.values() for a in actions}
    if not wanted <= set(groups):
        raise ValueError(f"the person probe needs the actions {sorted(wanted)}; {dataset.folder} has {sorted(groups)}")
    persons = len({v.person for v in dataset.videos})
    coded = {action: (*encode_all(model, frames), people) for action, (frames, people) in groups.items()}
    result = {"chance": 1.0 / persons}
    for name, slot in (("content", 0), ("pose", 1)):
        if coded["walking"][slot].shape[1] == 0:
            continue
        split = {part: (torch.cat([coded[a][slot] for a in actions]), torch.cat([coded[a][2] for a in actions])) for part, actions in PROBE_ACTIONS.items()}
        result[name] = train_probe(split["train"], split["validation"], split["test"], classes=persons, seed=seed).test_accuracy
    return result


def results_path(profile: str) -> Path:
    from drnet_experiments.pretrained import weights_path

    return weights_path("kth_study", profile).with_suffix(".json")


def _committed_model(point: KTHPoint, exp: Experiment, data_source: str) -> DRNet | None:
    """The chapter's checkpoint for this point, when it was trained with exactly ``exp`` on this data."""
    from drnet_core.checkpoint import config_differences, read_sidecar
    from drnet_experiments.pretrained import weights_path

    if point.committed is None:
        return None
    path = weights_path(point.committed, exp.profile)
    if not path.with_suffix(".json").is_file():
        return None
    sidecar = read_sidecar(path.with_suffix(".json"))
    ignored = ("device", "log_every", "checkpoint_every")
    differences = config_differences(comparable_config(exp.to_dict(), ignored), comparable_config(sidecar["config"], ignored))
    if sidecar.get("data_source") != data_source or differences:
        return None
    return DRNet.load(path)


def kth_study(
    profile: str | None = None,
    seeds: tuple[int, ...] = SEEDS,
    points: tuple[str, ...] | None = None,
    time_limit_s: float | None = None,
    progress: bool = False,
    say=print,
) -> list[dict]:
    """Train (or reuse) every point × seed and measure it; returns the rows measured so far.

    ``points`` keeps only the points of those names (e.g. ``("drnet24", "ae5")``); ``time_limit_s`` stops inside a
    run, at a checkpoint, and the same call continues it.
    """
    from drnet_experiments.kth_experiment import available_subject_counts, few_shot_action_accuracy, kth_datasets
    from drnet_experiments.pretrained import RUNS
    from drnet_experiments.widen import schedule_for

    profile = profile or current_profile()
    stored = StudyRows(results_path(profile))
    deadline = Deadline(time_limit_s)
    train_set, test_set = kth_datasets(profile)
    counts = available_subject_counts(train_set)
    rows = []
    for point in POINTS:
        if points is not None and point.name not in points:
            continue
        for seed in seeds:
            exp = point.experiment(profile, seed)
            key = f"{point.name}/seed{seed}"
            known = stored.matching(key, exp, train_set.source)
            if known:
                rows.append(known["row"])
                continue
            model = _committed_model(point, exp, train_set.source)
            if model is not None:
                say(f"measuring {key} on the chapter's weights (checkpoints/{point.committed}_{profile}.pt)", flush=True)
                wall_time, hardware, weights = model.checkpoint_info.get("wall_time_s"), model.checkpoint_info.get("hardware"), "committed"
            else:
                out = RUNS / f"kth_study_{profile}" / point.name / f"seed{seed}"
                trainer = train_run(exp, train_set, out, key, deadline, train_set.source, progress=progress, schedule=schedule_for(exp), say=say)
                if trainer is None:
                    return rows
                model, wall_time, hardware, weights = trainer.model.eval(), round(trainer.wall_time, 1), str(trainer.hardware), str(trainer.out_dir)
            few_shot = few_shot_action_accuracy(model, train_set, test_set, counts)
            leak = person_leak(model, train_set)
            row = {
                "point": point.name,
                "kind": point.kind,
                "size": point.size,
                "reduction": point.reduction,
                "seed": seed,
                "action_accuracy": {str(n): accuracy for n, accuracy in few_shot.items()},
                "mean_action_accuracy": sum(few_shot.values()) / len(few_shot),
                "action_chance": 1.0 / len(train_set.actions),
                "person_pose_probe": leak["pose"],
                **({"person_content_probe": leak["content"]} if "content" in leak else {}),
                "person_chance": leak["chance"],
                "weights": weights,
                "wall_time_s": wall_time,
                "hardware": hardware,
            }
            stored.put(key, exp, row, train_set.source)
            rows.append(row)
            say(format_row(row), flush=True)
    return rows


def stored_rows(profile: str | None = None) -> list[dict]:
    """The rows a previous ``kth-study`` run stored (no training): what chapter 4 draws."""
    return StudyRows(results_path(profile or current_profile())).rows()


FIGURES = ("mean_action_accuracy", "person_pose_probe", "person_content_probe")


def summarise(rows: list[dict]) -> list[dict]:
    """One line per point, in :data:`POINTS` order: mean, sample standard deviation (nan for one seed) and seeds of
    each figure, and the mean action accuracy per number of training subjects."""
    order = [p.name for p in POINTS]
    lines = []
    for name in order:
        members = [r for r in rows if r["point"] == name]
        if not members:
            continue
        line = {k: members[0][k] for k in ("point", "kind", "size", "reduction", "action_chance", "person_chance")}
        line["seeds"] = len(members)
        for figure in FIGURES:
            values = [m[figure] for m in members if figure in m]
            if values:
                line[figure] = spread(values)
        counts = sorted({int(n) for m in members for n in m["action_accuracy"]})
        line["by_subjects"] = {n: spread([m["action_accuracy"][str(n)] for m in members if str(n) in m["action_accuracy"]]) for n in counts}
        lines.append(line)
    return lines


def compare(lines: list[dict], figure: str, with_point: str, without_point: str, chance: float):
    """Whether ``figure`` clearly differs between two points of :func:`summarise`'s lines, by the weighting study's
    rule (:func:`drnet_experiments.weighting_study.compare_points`); None with fewer than two seeds at either."""
    from drnet_experiments.weighting_study import compare_figures

    by_point = {line["point"]: line for line in lines}
    a, b = by_point.get(with_point), by_point.get(without_point)
    if not a or not b or figure not in a or figure not in b or min(a[figure]["n"], b[figure]["n"]) < 2:
        return None
    return compare_figures(a[figure], b[figure], chance)


def format_row(row: dict) -> str:
    shots = "  ".join(f"{n}: {a:.3f}" for n, a in row["action_accuracy"].items())
    return f"kth/{row['point']}/seed{row['seed']}: actions by subjects {shots}; person probe on the pose {row['person_pose_probe']:.3f}"


def format_summary(lines: list[dict]) -> str:
    """The table ``kth-study`` prints: mean ± standard deviation over seeds ("(1 seed)" where there is one)."""

    def cell(figure: dict | None) -> str:
        if figure is None:
            return "–"
        return f"{figure['mean']:.3f} (1 seed)" if math.isnan(figure["std"]) else f"{figure['mean']:.3f} ± {figure['std']:.3f}"

    if not lines:
        return ""
    out = [f"{'point':12s} {'seeds':>5s} {'actions (mean over subjects)':>29s} {'person probe h_p':>18s} {'person probe h_c':>18s}"]
    for line in lines:
        out.append(
            f"{line['point']:12s} {line['seeds']:5d} {cell(line.get('mean_action_accuracy')):>29s}"
            f" {cell(line.get('person_pose_probe')):>18s} {cell(line.get('person_content_probe')):>18s}"
        )
    first = lines[0]
    out.append(f"chance: actions {first['action_chance']:.3f}, persons {first['person_chance']:.3f}")
    return "\n".join(out)
