"""What the studies share: stored rows reused only for the same settings and data, runs that stop at a time limit
and continue, and the seeds' spread."""

import math

import pytest

from data_utils import MovingMNIST
from drnet_core.config import experiment
from drnet_experiments.study_runs import Deadline, StudyRows, spread, train_run


def _tiny(seed: int = 0, steps: int = 4):
    overrides = {"model.nf": 4, "train.batch_size": 4, "train.steps": steps, "train.log_every": 1, "train.checkpoint_every": 1}
    return experiment("mnist", "ci", **{**overrides, "train.eval_every": 0, "train.widen_from_nf": 0, "train.seed": seed})


def test_a_stored_row_is_reused_only_for_the_same_settings_and_data(tmp_path):
    rows = StudyRows(tmp_path / "study.json")
    rows.put("point/seed0", _tiny(), {"figure": 0.5}, "Moving MNIST")
    again = StudyRows(tmp_path / "study.json")  # read back from the file
    assert again.matching("point/seed0", _tiny(), "Moving MNIST")["row"] == {"figure": 0.5}
    assert again.matching("point/seed0", _tiny(seed=1), "Moving MNIST") is None, "another setting is another run"
    assert again.matching("point/seed0", _tiny(), "other frames") is None, "other data is another run"
    assert again.matching("point/seed1", _tiny(), "Moving MNIST") is None and again.rows() == [{"figure": 0.5}]


def test_a_run_stops_at_the_time_limit_and_the_same_call_continues_it(tmp_path):
    said = []
    exp = _tiny(steps=3)
    data = MovingMNIST("train", seq_len=exp.data.seq_len)
    assert train_run(exp, data, tmp_path / "run", "point/seed0", Deadline(0.0), "Moving MNIST", say=lambda *a, **k: said.append(a[0])) is None
    assert said == ["time limit reached before point/seed0; run the same command to continue"]
    said.clear()
    almost_out = Deadline(60.0)
    almost_out.left_s = lambda: 1e-9  # time left to start, none to finish: stop at the first log step
    stopped = train_run(exp, data, tmp_path / "run", "point/seed0", almost_out, "Moving MNIST", say=lambda *a, **k: said.append(a[0]))
    assert stopped is None and said[-1].startswith("stopped point/seed0 at step 1 of 3")
    done = train_run(exp, data, tmp_path / "run", "point/seed0", Deadline(None), "Moving MNIST", say=lambda *a, **k: said.append(a[0]))
    assert done is not None and done.step == 3 and (tmp_path / "run" / "model.pt").is_file()


def test_the_spread_of_one_seed_is_not_a_number():
    three = spread([0.5, 0.7, 0.9])
    assert three["mean"] == pytest.approx(0.7) and three["std"] == pytest.approx(0.2) and (three["min"], three["max"], three["n"]) == (0.5, 0.9, 3)
    assert math.isnan(spread([0.4])["std"])
