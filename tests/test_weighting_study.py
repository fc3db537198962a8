"""The weighting study's grid, its resumable rows, and the --turntable file it reads."""

import json

import numpy as np
import pytest

from data_utils.turntable import TurntableFileError, load_turntable_file
from drnet_core.cli import main
from drnet_experiments import weighting_study as ws


def _turntable(path, objects=6, views=8, labels=True):
    rng = np.random.default_rng(0)
    images = (rng.random((objects, views, 32, 32)) * 255).astype(np.uint8)
    arrays = {"images": images}
    if labels:
        arrays["labels"] = np.arange(objects) % 2
    np.savez(path, **arrays)
    return path


def test_the_authors_point_is_the_mean_written_as_a_sum():
    point = ws.authors_point("mnist", 3 * 64 * 64, 128)
    assert point.reduction == "sum" and point.beta == pytest.approx(1228.8) and point.alpha == pytest.approx(96.0)
    assert ws.authors_point("norb", 64 * 64, 128).alpha == pytest.approx(32.0)
    names = [p.name for p in ws.study_points("norb")]
    assert names[:4] == ["sum_beta0.1", "mean_beta0.1", "mean_beta0", "sum_beta0"] and len(set(names)) == len(names)


def test_a_views_split_holds_out_the_odd_views_of_every_object(tmp_path):
    train, test = load_turntable_file(str(_turntable(tmp_path / "t.npz")), split="views", seq_len=3, image_size=64)
    assert (train.n_objects, train.n_views, test.n_views) == (6, 4, 4) and train.frames.shape[-1] == 64
    source = np.load(tmp_path / "t.npz")["images"]
    assert not np.array_equal(train.frames[0, 0, 1].numpy(), test.frames[0, 0, 1].numpy())
    assert test.labels.tolist() == (np.arange(6) % 2).tolist() and source.shape == (6, 8, 32, 32)
    train, test = load_turntable_file(str(tmp_path / "t.npz"), split="objects", seq_len=3)
    assert (train.n_objects, test.n_objects, test.n_views) == (5, 1, 8)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"pictures": np.zeros((4, 4, 8, 8), np.uint8)}, "no 'images'"),
        ({"images": np.zeros((4, 4, 8, 8), np.float32)}, "float32"),
        ({"images": np.zeros((4, 8, 8), np.uint8)}, "shaped (4, 8, 8)"),
        ({"images": np.zeros((2, 4, 8, 8), np.uint8)}, "too few"),
        ({"images": np.zeros((4, 4, 8, 8), np.uint8), "labels": np.zeros(3, np.int64)}, "'labels'"),
    ],
)
def test_a_malformed_turntable_file_is_refused_with_what_to_fix(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(TurntableFileError, match="expected an .npz") as caught:
        load_turntable_file(str(tmp_path / "bad.npz"))
    assert message in str(caught.value)


def test_the_command_line_refuses_a_malformed_file_in_one_line(tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 8, 8), np.uint8))
    assert main(["weighting-study", "--profile", "ci", "--turntable", str(tmp_path / "bad.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "expected an .npz" in err and "\n" not in err


def test_the_study_reads_a_turntable_file_stores_its_rows_and_reuses_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("drnet_experiments.pretrained.RUNS", tmp_path / "runs")
    path = str(_turntable(tmp_path / "photos.npz", objects=8, views=12, labels=False))
    assert main(["weighting-study", "--profile", "ci", "--turntable", path, "--seeds", "1", "--points", "mean_beta0.1"]) == 0
    out = capsys.readouterr().out
    assert "training norb/mean_beta0.1/seed0" in out and "mean_beta0.1" in out.split("standard deviation over seeds")[1]
    stored = json.loads((tmp_path / "runs" / "weighting_study_photos_ci.json").read_text())
    row = stored["norb/mean_beta0.1/seed0"]["row"]
    assert row["reduction"] == "mean" and row["identity_chance"] == pytest.approx(1 / 8) and row["grad_ep_adv"] > 0
    assert main(["weighting-study", "--profile", "ci", "--turntable", path, "--seeds", "1", "--points", "mean_beta0.1"]) == 0
    assert "training" not in capsys.readouterr().out  # the stored row is reused


def test_the_norb_ablation_reads_a_turntable_file_and_keeps_its_models_under_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("drnet_experiments.pretrained.RUNS", tmp_path / "runs")
    path = str(_turntable(tmp_path / "photos.npz", objects=8, views=12))
    assert main(["norb-ablation", "--profile", "ci", "--turntable", path, "--betas", "0.1", "--split", "objects"]) == 0
    out = capsys.readouterr().out
    assert "photos.npz (objects split)" in out and "β = 0.1 " in out.split("category accuracy")[1]
    folder = tmp_path / "runs" / "norb_ablation_photos"
    assert (folder / "norb_beta0.1_ci.pt").is_file() and (folder / "norb_probes_ci.json").is_file()
    assert main(["norb-ablation", "--profile", "ci", "--turntable", path, "--betas", "0.1", "--split", "objects"]) == 0
    assert "training" not in capsys.readouterr().out  # the model of these photographs is reused
    unlabelled = str(_turntable(tmp_path / "views.npz", labels=False))  # one object per category: probed on frames
    assert main(["norb-ablation", "--profile", "ci", "--turntable", unlabelled, "--betas", "0"]) == 0
    assert "chance 0.167" in capsys.readouterr().out


def test_the_norb_ablation_refuses_a_malformed_turntable_and_controls_on_one(tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 8, 8), np.uint8))
    assert main(["norb-ablation", "--profile", "ci", "--turntable", str(tmp_path / "bad.npz")]) == 2
    assert "expected an .npz" in capsys.readouterr().err
    good = str(_turntable(tmp_path / "photos.npz"))
    assert main(["norb-ablation", "--profile", "ci", "--turntable", good, "--controls"]) == 2
    assert "weighting-study --turntable" in capsys.readouterr().err
    unlabelled = str(_turntable(tmp_path / "unlabelled.npz", labels=False))
    assert main(["weighting-study", "--profile", "ci", "--turntable", unlabelled, "--split", "objects", "--seeds", "1"]) == 2
    said = capsys.readouterr()
    assert "give the file a 'labels' array" in said.err and "training" not in said.out  # refused before any training


def test_the_summary_gives_mean_and_spread_over_seeds():
    rows = [
        {"dataset": "norb", "point": "sum_beta0.1", "reduction": "sum", "beta": 0.1, "alpha": 1.0, "max_offset": 8, "colour": False, "seed": s, "pose_probe": v}
        for s, v in enumerate((0.5, 0.7, 0.9))
    ]
    line = ws.summarise(rows)[0]
    assert line["seeds"] == 3 and line["pose_probe"]["mean"] == pytest.approx(0.7) and line["pose_probe"]["std"] == pytest.approx(0.2)
    assert "0.700 ± 0.200" in ws.format_summary([line])
    single = ws.summarise(rows[:1])[0]
    assert "0.500 (1 seed)" in ws.format_summary([single]) and "nan" not in ws.format_summary([single])


def test_the_summary_fits_the_page_however_many_points():
    rows = [
        {"dataset": "norb", "point": p.name, "reduction": p.reduction, "beta": p.beta, "alpha": p.alpha, "max_offset": 8,
         "colour": False, "seed": seed, **{figure: 0.5 + 0.01 * seed for figure in ws.FIGURES["norb"]}}
        for p in ws.study_points("norb") for seed in range(3)
    ]
    text = ws.format_summary(ws.summarise(rows))
    assert max(len(line) for line in text.splitlines()) <= 88
    assert all(point in text for point in {row["point"] for row in rows})


def test_a_grey_point_is_scored_by_placement_and_an_old_row_gains_the_placement_figures(tmp_path, monkeypatch):
    monkeypatch.setattr("drnet_experiments.pretrained.RUNS", tmp_path / "runs")
    monkeypatch.setattr(ws, "results_path", lambda profile, turntable=None: tmp_path / "study.json")
    said = []
    (row,) = ws.weighting_study("ci", datasets=("mnist",), seeds=(0,), points=("sum_beta0.1_grey",), say=lambda *a, **k: said.append(a[0]))
    assert row["colour"] is False and "swap_accuracy" not in row, "grey frames have no channel per digit to read"
    assert 0.0 <= row["order_accuracy"] <= 1.0 and row["any_order_ceiling"] > 0.4
    stored = json.loads((tmp_path / "study.json").read_text())
    del stored["mnist/sum_beta0.1_grey/seed0"]["row"]["order_accuracy"]  # as a row stored before the figure existed
    (tmp_path / "study.json").write_text(json.dumps(stored))
    said.clear()
    (again,) = ws.weighting_study("ci", datasets=("mnist",), seeds=(0,), points=("sum_beta0.1_grey",), say=lambda *a, **k: said.append(a[0]))
    assert not any(s.startswith("training") for s in said) and any("placement figures" in s for s in said)
    assert again["order_accuracy"] == row["order_accuracy"]


def test_compare_points_calls_a_difference_only_beyond_the_seeds_spread_and_above_chance():
    def rows(point, values):
        base = {"dataset": "mnist", "point": point, "reduction": "sum", "beta": 0.1, "alpha": 1.0, "max_offset": 10, "colour": True}
        return [{**base, "seed": s, "swap_accuracy": v} for s, v in enumerate(values)]

    summary = ws.summarise(rows("sum_beta0.1", (0.30, 0.28, 0.32)) + rows("mean_beta0.1", (0.11, 0.11)) + rows("sum_beta0", (0.29,)))
    found = ws.compare_points(summary, "swap_accuracy", "mean_beta0.1", "sum_beta0.1", 0.1, "mnist")
    assert found.clear and found.difference == pytest.approx(-0.19)
    assert not ws.compare_points(summary, "swap_accuracy", "mean_beta0.1", "sum_beta0.1", 0.35, "mnist").clear, "both below chance"
    assert ws.compare_points(summary, "swap_accuracy", "sum_beta0.1", "sum_beta0", 0.1, "mnist") is None, "one seed decides nothing"
