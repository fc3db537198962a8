"""Building a trainer or a predictor changes nothing that belongs to the caller."""

import warnings

import pytest
import torch

from drnet_core.checkpoint import CheckpointError
from drnet_core.config import ModelConfig
from drnet_core.model import DRNet
from drnet_core.predict import Predictor
from drnet_core.runtime import cpu_has_native_bf16, resolve_precision
from drnet_core.train import Trainer
from drnet_experiments.classifiers import load_digit_classifier


def test_a_trainer_leaves_the_global_rng_alone(tiny_experiment, train_digits):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Trainer(tiny_experiment, train_digits, progress=False)
    assert torch.equal(torch.rand(3), expected)
    first = Trainer(tiny_experiment, train_digits, progress=False).model.state_dict()
    again = Trainer(tiny_experiment, train_digits, progress=False).model.state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first), "the seed still fixes the initial weights"


def test_a_predictor_does_not_switch_off_the_gradients_of_the_model_it_is_given():
    model = DRNet(ModelConfig(nf=4))
    Predictor(model)
    assert all(p.requires_grad for p in model.parameters())


def test_reading_a_missing_digit_classifier_writes_nothing_and_says_how_to_make_it(tmp_path):
    with pytest.raises(CheckpointError, match="save_digit_classifier"):
        load_digit_classifier(tmp_path / "missing.pt")
    assert list(tmp_path.iterdir()) == []


def test_bf16_on_a_cpu_without_native_bf16_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    emulated = [w for w in caught if "emulated" in str(w.message)]
    assert bool(emulated) == (not cpu_has_native_bf16())
