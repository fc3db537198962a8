import json

import torch

from drnet_core.cli import main
from drnet_core.model import DRNet
from drnet_experiments import mnist_swaps
from drnet_experiments.mnist_swaps import swap_metrics, swap_pairs


def test_train_eval_export_from_the_command_line(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    sizes = ["--set", "model.nf=4", "--set", "train.batch_size=4", "--set", "train.eval_every=0"]
    assert main(["train", "mnist", "--profile", "ci", "--out", str(run), "--steps", "3", "--no-progress", *sizes]) == 0
    out = capsys.readouterr().out
    assert "DRNET profile=ci" in out and (run / "model.pt").is_file() and (run / "trainer_state.pt").is_file()
    # a second call resumes instead of starting over; a time limit stops it early, at a log step
    limited = ["--time-limit", "0", "--set", "train.log_every=1"]
    assert main(["train", "mnist", "--profile", "ci", "--out", str(run), "--steps", "9", "--no-progress", *sizes, *limited]) == 0
    out = capsys.readouterr().out
    assert "resumed from" in out and "stopped at step 4 of 9 after the time limit (0 min)" in out
    assert main(["train", "mnist", "--profile", "ci", "--out", str(run), "--steps", "5", "--no-progress", *sizes]) == 0
    assert "resumed from" in capsys.readouterr().out
    model_sidecar = json.loads((run / "model.json").read_text())
    assert model_sidecar["step"] == 5 and model_sidecar["config"]["train"]["steps"] == 5  # --steps is recorded
    assert main(["eval", "mnist", "--checkpoint", str(run / "model.pt"), "--swaps", "20"]) == 0
    out = capsys.readouterr().out
    assert "content-swap digit accuracy" in out and "swap pose error" in out and "one-frame ceiling" in out
    assert main(["eval", "mnist", "--checkpoint", str(run / "model.pt"), "--swaps", "20", "--digits", "train"]) == 0
    assert "training-digit swaps: 20 (content of train clip i" in capsys.readouterr().out
    target = tmp_path / "ck" / "m.pt"
    measured = []  # the weights that export measures

    def recording_swap_metrics(model, pairs, *args, **kwargs):
        measured.append({k: v.clone() for k, v in model.state_dict().items()})
        return swap_metrics(model, pairs, *args, **kwargs)

    monkeypatch.setattr(mnist_swaps, "swap_metrics", recording_swap_metrics)
    assert main(["export", str(run), "--to", str(target), "--swaps", "20"]) == 0
    sidecar = json.loads(target.with_suffix(".json").read_text())
    assert sidecar["storage_dtype"] == "float16" and sidecar["step"] == 5
    # the figures are those of the exported (float16) weights on the held-out swaps, as `eval` would measure them
    stored = DRNet.load(target).state_dict()
    trained = DRNet.load(run / "model.pt").state_dict()
    assert len(measured) == 1 and all(torch.equal(measured[0][k], stored[k]) for k in stored)
    assert any(not torch.equal(stored[k], trained[k]) for k in stored), "float16 storage rounds the trained weights"
    exported = swap_metrics(DRNet.load(target), swap_pairs(20))
    assert sidecar["metrics"] == {**{k: round(v, 4) for k, v in exported.items()}, "swaps": 20}
    assert (tmp_path / "ck" / "m_metrics.jsonl").is_file()


def test_train_norb_from_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DRNET_NORB_DIR", str(tmp_path / "no-norb-here"))
    assert main(["train", "norb", "--profile", "ci", "--out", str(tmp_path / "run"), "--steps", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "data: SynthNORB stand-in" in out
    sidecar = json.loads((tmp_path / "run" / "model.json").read_text())
    assert sidecar["config"]["model"]["architecture"] == "resnet18" and sidecar["step"] == 2


def test_train_the_kth_ae_baseline_from_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DRNET_KTH_DIR", str(tmp_path / "no-kth-here"))
    assert main(["train", "kth_ae", "--profile", "ci", "--out", str(tmp_path / "run"), "--steps", "2", "--no-progress"]) == 0
    assert "data: SynthKTH stand-in" in capsys.readouterr().out
    sidecar = json.loads((tmp_path / "run" / "model.json").read_text())
    assert sidecar["config"]["model"]["architecture"] == "vgg_ae" and sidecar["step"] == 2


def test_kth_and_inception_score_commands_print_the_closing_figures(capsys, monkeypatch):
    monkeypatch.setenv("DRNET_KTH_DIR", "/nonexistent")
    assert main(["kth", "--profile", "ci"]) == 0
    out = capsys.readouterr().out
    assert "DRNET pose" in out and "AE features" in out and "step 20:" in out
    assert main(["inception-score", "--profile", "ci"]) == 0
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "repeat the last frame" in out and "real clips" in out


def test_train_lstm_stops_at_its_time_limit_and_the_same_command_resumes(tmp_path, capsys, monkeypatch):
    import dataclasses

    from drnet_core import config
    from drnet_experiments import pretrained

    monkeypatch.setattr(pretrained, "RUNS", tmp_path)
    longer = dataclasses.replace(config.lstm_settings("ci"), steps=100)  # two log steps (every 50), so a limit can stop it between them
    monkeypatch.setattr(pretrained, "lstm_settings", lambda profile=None, dataset="mnist": longer)
    monkeypatch.setattr(config, "lstm_settings", lambda profile=None, dataset="mnist": longer)
    assert main(["train-lstm", "mnist", "--profile", "ci", "--time-limit", "0"]) == 0
    out = capsys.readouterr().out
    assert "stopped at LSTM step 50 of 100" in out and "digit accuracy" not in out
    assert not pretrained.weights_path("mnist_lstm", "ci").exists()
    assert (pretrained.lstm_run_dir("mnist", "ci") / "lstm_state.json").is_file()
    assert main(["train-lstm", "mnist", "--profile", "ci", "--rollout-clips", "4"]) == 0
    out = capsys.readouterr().out
    assert "LSTM trained for 100 steps" in out and "digit accuracy" in out and "rollout position error" in out
    history = json.loads(pretrained.weights_path("mnist_lstm", "ci").with_suffix(".json").read_text())["history"]
    assert [r["step"] for r in history] == [50, 100], "the resumed run continued the stopped one's log"
    assert not pretrained.lstm_run_dir("mnist", "ci").exists(), "a finished run leaves no state behind"
