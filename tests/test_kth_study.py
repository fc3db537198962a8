"""The KTH study: the person probe, the equal-size points, and its resumable rows."""

import json

import pytest
import torch

from data_utils import synth_kth
from data_utils.kth import KTHDataset
from drnet_core.config import with_overrides
from drnet_experiments import kth_study as ks
from drnet_experiments.study_runs import spread


@pytest.fixture(scope="module")
def tiny_kth(tmp_path_factory):
    """Persons 1-3 (train) and 17-18 (test), 30-frame stand-in clips, all four scenarios."""
    folder = synth_kth.write_prepared(tmp_path_factory.mktemp("kth"), frames=30, subjects=(0, 1, 2, 16, 17))
    return KTHDataset(folder, "train", seq_len=20), KTHDataset(folder, "test", seq_len=20)


class _Codes(torch.nn.Module):
    """A stand-in encoder: h_p holds the frame's brightness quantiles (the person's looks, wherever they stand) or a
    constant."""

    def __init__(self, pose_sees_looks: bool):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.pose_sees_looks = pose_sees_looks

    def encode_content(self, x):
        return torch.zeros(len(x), 0)

    def encode_pose(self, x):
        codes = 10 * x.flatten(1).quantile(torch.linspace(0.0, 0.3, 32), dim=1).T
        return codes if self.pose_sees_looks else torch.zeros_like(codes)


def test_the_person_probe_reads_persons_from_pixels_and_not_from_a_constant(tiny_kth):
    train, _ = tiny_kth
    torch.manual_seed(0)
    seen = ks.person_leak(_Codes(True), train, per_video=4)
    blind = ks.person_leak(_Codes(False), train, per_video=4)
    assert seen["chance"] == pytest.approx(1 / 3) and "content" not in seen, "an empty content code is not probed"
    assert seen["pose"] > 0.5 and blind["pose"] < 0.4, "a constant code names no one better than chance"


def test_the_points_are_the_chapters_models_their_equal_size_partners_and_the_mean():
    names = [p.name for p in ks.POINTS]
    assert names == ["drnet5", "ae24", "drnet24", "ae5", "drnet5_mean"]
    ae5 = ks.KTHPoint("ae", 5).experiment("ci", 1)
    assert ae5.model.pose_dim == 5 and ae5.model.content_dim == 0 and ae5.train.seed == 1
    assert ks.KTHPoint("drnet", 5, "mean").experiment("ci", 0).train.reduction == "mean"
    assert [p.committed for p in ks.POINTS] == ["kth", "kth_ae", None, None, None]


def test_the_chapters_weights_are_seed_zero_of_their_point_and_nothing_else():
    drnet5 = ks.POINTS[0]
    source = json.loads(open("checkpoints/kth_cpu.json").read())["data_source"]
    assert ks._committed_model(drnet5, drnet5.experiment("cpu", 0), source) is not None
    assert ks._committed_model(drnet5, drnet5.experiment("cpu", 1), source) is None, "another seed is another run"
    assert ks._committed_model(drnet5, drnet5.experiment("cpu", 0), "real KTH") is None


def test_the_study_stores_its_rows_reuses_them_and_summarises(tiny_kth, tmp_path, monkeypatch):
    monkeypatch.setattr("drnet_experiments.pretrained.RUNS", tmp_path / "runs")
    monkeypatch.setattr(ks, "results_path", lambda profile: tmp_path / "kth_study.json")
    monkeypatch.setattr("drnet_experiments.kth_experiment.kth_datasets", lambda profile: tiny_kth)
    short = ks.KTHPoint.experiment
    monkeypatch.setattr(ks.KTHPoint, "experiment", lambda self, profile, seed: with_overrides(short(self, profile, seed), {"train.steps": 2}))
    said = []
    (row,) = ks.kth_study("ci", seeds=(0,), points=("ae5",), say=lambda *a, **k: said.append(a[0]))
    assert row["seed"] == 0 and sum(s.startswith("training") for s in said) == 1
    assert set(row["action_accuracy"]) == {"1", "2"} and "person_content_probe" not in row, "3 persons: 1 or 2 train, one stops early"
    said.clear()
    assert ks.kth_study("ci", seeds=(0,), points=("ae5",), say=lambda *a, **k: said.append(a[0])) == [row]
    assert not said, "a stored row is reused without training or measuring"
    other = {**row, "seed": 1, "mean_action_accuracy": row["mean_action_accuracy"] + 0.1}
    (line,) = ks.summarise([row, other])
    assert line["seeds"] == 2 and line["mean_action_accuracy"]["std"] == pytest.approx(0.1 / 2**0.5)
    table = ks.format_summary([line])
    assert "ae5" in table and "±" in table and "chance: actions 0.167, persons 0.333" in table


def test_a_comparison_needs_two_seeds_a_gap_beyond_the_spread_and_a_figure_above_chance():
    def line(point, values):
        return {"point": point, "mean_action_accuracy": spread(values)}

    far = [line("drnet5", [0.60, 0.62]), line("ae5", [0.40, 0.42])]
    assert ks.compare(far, "mean_action_accuracy", "drnet5", "ae5", 1 / 6).clear
    near = [line("drnet5", [0.50, 0.60]), line("ae5", [0.45, 0.55])]
    assert not ks.compare(near, "mean_action_accuracy", "drnet5", "ae5", 1 / 6).clear
    at_chance = [line("drnet5", [0.18, 0.18]), line("ae5", [0.10, 0.10])]
    assert not ks.compare(at_chance, "mean_action_accuracy", "drnet5", "ae5", 0.2).clear
    assert ks.compare([line("drnet5", [0.6]), line("ae5", [0.4, 0.4])], "mean_action_accuracy", "drnet5", "ae5", 0.1) is None
