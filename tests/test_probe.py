"""The NORB models, the classifier probe of Table 1 and the one-call ablation."""

import json

import numpy as np
import pytest
import torch

from data_utils.turntable import TurntableDataset
from drnet_core.config import experiment
from drnet_core.model import DRNet
from drnet_experiments.probe import ProbeClassifier, content_pose_accuracy, train_probe


def test_resnet_drnet_shapes_and_unit_codes():
    model = DRNet(experiment("norb", "ci").model).eval()
    x = torch.rand(3, 1, 64, 64)
    h_c, h_p = model.encode_content(x), model.encode_pose(x)
    assert h_c.shape == (3, 128) and h_p.shape == (3, 10)
    assert torch.allclose(h_c.norm(dim=1), torch.ones(3), atol=1e-5)
    assert model.decode(h_c, h_p).shape == (3, 1, 64, 64)
    with pytest.raises(ValueError, match="no U-Net skips"):
        DRNet(experiment("norb", "ci", **{"model.skips": True}).model)
    with pytest.raises(ValueError, match="not available"):
        DRNet(experiment("norb", "ci", **{"model.architecture": "vgg99"}).model)


def test_probe_learns_a_separable_code_and_not_noise():
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (600,), generator=gen)
    centres = torch.randn(4, 8, generator=gen) * 3
    informative = centres[labels] + torch.randn(600, 8, generator=gen)
    noise = torch.randn(600, 8, generator=gen)
    split = lambda x: ((x[:400], labels[:400]), (x[400:500], labels[400:500]), (x[500:], labels[500:]))  # noqa: E731
    good = train_probe(*split(informative), classes=4)
    bad = train_probe(*split(noise), classes=4)
    assert good.test_accuracy > 0.9 and bad.test_accuracy < 0.45
    assert isinstance(good.classifier, ProbeClassifier)


def _toy_turntable(objects_per_class: int, seed: int) -> TurntableDataset:
    """Category = brightness of the object; pose = which row is lit, walking with the view."""
    rng = np.random.default_rng(seed)
    n = 3 * objects_per_class
    images = np.zeros((n, 6, 64, 64), np.uint8)
    labels = np.repeat(np.arange(3), objects_per_class)
    for o in range(n):
        images[o] = 60 + 60 * labels[o] + rng.integers(0, 10)
        for v in range(6):
            images[o, v, 8 * v : 8 * v + 8] = 255
    return TurntableDataset(images, labels, seq_len=4, image_size=64)


class _ToyCodes(torch.nn.Module):
    """Stands in for a DRNet on :func:`_toy_turntable`: one code names the category (a one-hot of the object's
    brightness level), the other the view (a one-hot of the lit band of rows), which says nothing of the category."""

    def __init__(self, content_names: str = "category"):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.content_names = content_names

    @staticmethod
    def _category(x):
        brightness = x[:, 0].median(dim=2).values.median(dim=1).values  # the unlit rows: 60 + 60 · category (+ < 10)
        return torch.nn.functional.one_hot(((255 * brightness - 60) / 60).round().long(), 3).float()

    @staticmethod
    def _view(x):
        return torch.nn.functional.one_hot(x[:, 0].amax(dim=2).argmax(dim=1) // 8, 8).float()

    def encode_content(self, x):
        return self._category(x) if self.content_names == "category" else self._view(x)

    def encode_pose(self, x):
        return self._view(x) if self.content_names == "category" else self._category(x)


def test_content_pose_accuracy_on_any_turntable():
    train, test = _toy_turntable(3, 0), _toy_turntable(2, 1)
    keys = {"content", "pose", "chance", "content_validation", "pose_validation"}
    assert set(content_pose_accuracy(DRNet(experiment("norb", "ci").model), train, test, max_frames=None)) == keys  # a real DRNet runs
    # a code that names the category scores 1; one that names only the view scores exactly chance, because every
    # view of the test set shows as many objects of each category (2 objects per category, 6 views)
    result = content_pose_accuracy(_ToyCodes("category"), train, test, max_frames=None)
    assert result == pytest.approx({"content": 1.0, "content_validation": 1.0, "pose": 1 / 3, "pose_validation": 1 / 3, "chance": 1 / 3})
    flipped = content_pose_accuracy(_ToyCodes("view"), train, test, max_frames=None)
    assert (flipped["content"], flipped["pose"]) == pytest.approx((1 / 3, 1.0)), "each probe reads its own code"


def test_ablation_trains_both_models_then_loads_them(tmp_path, monkeypatch, capsys):
    from drnet_experiments import ablations as experiments
    from drnet_experiments import pretrained

    monkeypatch.setattr(pretrained, "RUNS", tmp_path)
    monkeypatch.setattr(experiments, "experiment", lambda name, profile, **o: experiment(name, profile, **{**o, "train.steps": 3, "train.batch_size": 4}))
    train, test = _toy_turntable(3, 0), _toy_turntable(2, 1)
    first = experiments.norb_ablation(train, test, profile="ci", probe_frames=200)
    assert [row["beta"] for row in first.table] == [0.1, 0.0] and set(first.models) == {0.1, 0.0}
    assert (tmp_path / "ci" / "norb_beta0.1_ci.json").is_file()
    capsys.readouterr()
    second = experiments.norb_ablation(train, test, profile="ci", probe_frames=200)
    out = capsys.readouterr().out
    assert "loaded" in out and "does not match" not in out and "training" not in out
    assert torch.equal(next(iter(second.models[0.0].state_dict().values())), next(iter(first.models[0.0].state_dict().values())))
    train.source = "another dataset"  # weights trained on other data are not reused
    experiments.norb_ablation(train, test, profile="ci", betas=(0.0,), probe_frames=200)
    assert "does not match" in capsys.readouterr().out


def test_ablation_reads_a_stored_probe_only_for_the_same_weights_data_and_probe_size(tmp_path, monkeypatch):
    from drnet_experiments import ablations as experiments
    from drnet_experiments import pretrained

    monkeypatch.setattr(pretrained, "RUNS", tmp_path)
    monkeypatch.setattr(experiments, "experiment", lambda name, profile, **o: experiment(name, profile, **{**o, "train.steps": 3, "train.batch_size": 4}))
    probed = []

    def probe(model, train_set, test_set, max_frames):  # a known figure per call, so a stored one can be told apart
        probed.append(max_frames)
        return {"content": 0.5, "pose": len(probed) / 10, "chance": 1 / 3}

    monkeypatch.setattr(experiments, "content_pose_accuracy", probe)
    train, test = _toy_turntable(3, 0), _toy_turntable(2, 1)
    experiments.norb_ablation(train, test, profile="ci", betas=(0.1,), probe_frames=200)
    assert not (tmp_path / "ci" / "norb_probes_ci.json").exists(), "only the CLI writes probe rows"
    stored = experiments.norb_ablation(train, test, profile="ci", betas=(0.1,), probe_frames=200, store_probes=True)
    assert stored.table[0]["pose"] == 0.2 and len(probed) == 2
    again = experiments.norb_ablation(train, test, profile="ci", betas=(0.1,), probe_frames=200)
    assert again.table[0]["pose"] == 0.2 and len(probed) == 2, "the stored row is read, not recomputed"
    experiments.norb_ablation(train, test, profile="ci", betas=(0.1,), probe_frames=100)
    assert len(probed) == 3, "another probe size is measured afresh"
    record = json.loads((tmp_path / "ci" / "norb_probes_ci.json").read_text())
    record["norb_beta0.1"]["key"]["sha256"] = "0" * 64  # rows of other weights are not read
    (tmp_path / "ci" / "norb_probes_ci.json").write_text(json.dumps(record))
    experiments.norb_ablation(train, test, profile="ci", betas=(0.1,), probe_frames=200)
    assert len(probed) == 4


def test_control_rows_are_stored_without_committed_weights_and_reused(tmp_path, monkeypatch, capsys):
    from drnet_core.train import Trainer
    from drnet_experiments import ablations as experiments
    from drnet_experiments import pretrained

    monkeypatch.setattr(pretrained, "RUNS", tmp_path)
    monkeypatch.setattr(experiments, "experiment", lambda name, profile, **o: experiment(name, profile, **{**o, "train.steps": 3, "train.batch_size": 4}))
    probed = []

    def probe(model, train_set, test_set, max_frames):  # distinct known figures, and a record of what was probed
        probed.append(({k: v.clone() for k, v in model.state_dict().items()}, max_frames))
        return {"content": 0.25, "pose": 0.75, "chance": 1 / 3, "content_validation": 0.5, "pose_validation": 0.5}

    monkeypatch.setattr(experiments, "content_pose_accuracy", probe)
    train, test = _toy_turntable(3, 0), _toy_turntable(2, 1)
    first = experiments.norb_control_rows(train, test, profile="ci", probe_frames=200)
    assert "training the control run norb_beta0_reduction-sum" in capsys.readouterr().out
    assert [row["beta"] for row in first] == [0.0] and first[0]["steps"] == 3
    assert (first[0]["content"], first[0]["pose"], first[0]["chance"]) == (0.25, 0.75, 1 / 3), "each probe's figure in its own column"
    # what was probed is the trained model, whose weights stay under runs/
    ((state, frames),) = probed
    trained = DRNet.load(tmp_path / "norb_controls_ci" / "norb_beta0_reduction-sum" / "model.pt").state_dict()
    assert frames == 200 and state.keys() == trained.keys()
    assert all(torch.equal(state[k], trained[k]) for k in trained)
    fresh = Trainer(experiments.norb_experiment(train, 0.0, "ci", {"train.reduction": "sum"}), train, progress=False).model.state_dict()
    assert any(not torch.equal(fresh[k], v) for k, v in state.items() if v.is_floating_point()), "the probed model was trained"
    assert (tmp_path / "ci" / "norb_controls_ci.json").is_file()
    assert not (tmp_path / "ci" / "norb_beta0_reduction-sum_ci.pt").exists()  # only the numbers are kept
    assert experiments.norb_control_rows(train, test, profile="ci", probe_frames=200) == first
    assert "training" not in capsys.readouterr().out
    stored_path = tmp_path / "ci" / "norb_controls_ci.json"
    stored = json.loads(stored_path.read_text())
    for record in stored.values():  # a record written before the library had this setting still matches
        del record["config"]["train"]["log_gradients"]
    stored_path.write_text(json.dumps(stored))
    assert experiments.norb_control_rows(train, test, profile="ci", probe_frames=200) == first
    assert "training" not in capsys.readouterr().out
    train.source = "another dataset"  # rows measured on other data are not reused
    experiments.norb_control_rows(train, test, profile="ci", probe_frames=200)
    assert "training the control run" in capsys.readouterr().out


def test_model_names_carry_beta_and_overrides():
    from drnet_experiments.ablations import model_name

    assert model_name(0.1) == "norb_beta0.1" and model_name(0.0) == "norb_beta0"
    assert model_name(0.1, {"train.reduction": "sum"}) == "norb_beta0.1_reduction-sum"


def test_kth_model_shapes_skips_and_one_training_step():
    from drnet_core.config import ModelConfig
    from drnet_core.train import Trainer

    cfg = ModelConfig(architecture="vgg_resnet", channels=1, nf=4, content_dim=128, pose_dim=5, skips=True)
    model = DRNet(cfg).eval()
    x = torch.rand(2, 1, 64, 64)
    h_c, skips = model.encode_content(x, return_skips=True)
    assert h_c.shape == (2, 128) and [s.shape[-1] for s in skips] == [64, 32, 16, 8]
    assert model.encode_pose(x).shape == (2, 5) and model.swap(x, x.flip(0)).shape == (2, 1, 64, 64)
    with pytest.raises(ValueError, match="always has U-Net skips"):
        DRNet(ModelConfig(architecture="vgg_resnet", channels=1, skips=False))
    clips = TurntableDataset(np.random.default_rng(0).integers(0, 255, (4, 6, 64, 64), dtype=np.uint8), [0, 1, 0, 1], seq_len=4)
    exp = experiment("norb", "ci", **{"model.architecture": "vgg_resnet", "model.skips": True, "train.batch_size": 4, "train.max_offset": 3, "data.seq_len": 4})
    records = Trainer(exp, clips, progress=False).fit(2)
    assert records and np.isfinite(records[-1]["rec"])
