"""Building the cpu book never trains for hours by surprise: a missing committed artifact is a clear error."""

import pytest

from drnet_core.config import experiment
from drnet_experiments import pretrained


@pytest.fixture
def no_committed_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "REPO_CHECKPOINTS", tmp_path / "checkpoints")
    monkeypatch.delenv("DRNET_ALLOW_TRAINING", raising=False)
    return tmp_path


def test_a_missing_mnist_model_names_itself_and_the_command_that_makes_it(no_committed_weights):
    with pytest.raises(pretrained.ArtifactMissingError, match=r"mnist_cpu\.pt is missing\. Make it with `python -m drnet_core train mnist"):
        pretrained.load_or_train_drnet("cpu")


def test_a_missing_norb_model_is_not_silently_trained(no_committed_weights):
    exp = experiment("norb", "cpu")
    path = pretrained.weights_path("norb_beta0.1", "cpu")
    assert not path.with_suffix(".json").exists()
    with pytest.raises(pretrained.ArtifactMissingError, match="norb-ablation --profile cpu"):
        pretrained.load_or_train_model("norb_beta0.1", exp, source=None, data_source="SynthNORB stand-in")


def test_the_ci_profile_and_an_explicit_permission_may_train(monkeypatch):
    monkeypatch.delenv("DRNET_ALLOW_TRAINING", raising=False)
    assert pretrained.training_allowed("ci") and not pretrained.training_allowed("cpu")
    monkeypatch.setenv("DRNET_ALLOW_TRAINING", "1")
    assert pretrained.training_allowed("cpu")
