"""The weights committed under ``checkpoints/``: they fit the repository's budget, and every one verifies.

All committed checkpoints together stay under 40 MB, so that a clone stays small. Each
``.pt`` must have its JSON sidecar and match the sha256 written there; a file replaced by hand, or a
sidecar left over from other weights, fails here before a chapter trips on it.
"""

from __future__ import annotations

import subprocess

import pytest

from drnet_core.checkpoint import load_checkpoint, read_sidecar, sha256_of
from drnet_experiments.paths import REPO_CHECKPOINTS

BUDGET_BYTES = 40 * 10**6
THE_BOOKS_WEIGHTS = (
    "mnist_cpu.pt",
    "mnist_lstm_cpu.pt",
    "norb_beta0.1_cpu.pt",
    "norb_beta0_cpu.pt",
    "norb_beta0.1_reduction-sum_cpu.pt",
    "norb_beta0_reduction-sum_cpu.pt",
    "kth_cpu.pt",
    "kth_ae_cpu.pt",
)


def committed_files() -> list:
    """The files of ``checkpoints/`` that git tracks (all of them when this is not a git checkout)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", str(REPO_CHECKPOINTS)], cwd=REPO_CHECKPOINTS.parent, capture_output=True, check=True
        ).stdout.decode()
        files = [REPO_CHECKPOINTS.parent / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = []
    return files or sorted(p for p in REPO_CHECKPOINTS.glob("*") if p.is_file())


def test_the_books_weights_are_committed():
    names = {p.name for p in committed_files()}
    assert set(THE_BOOKS_WEIGHTS) <= names, f"missing: {sorted(set(THE_BOOKS_WEIGHTS) - names)}"


def test_committed_checkpoints_stay_under_the_budget():
    files = committed_files()
    total = sum(p.stat().st_size for p in files if p.is_file())
    largest = sorted(files, key=lambda p: p.stat().st_size if p.is_file() else 0)[-3:]
    assert total < BUDGET_BYTES, f"checkpoints/ holds {total / 1e6:.2f} MB (budget 40 MB); largest: {[p.name for p in largest]}"


@pytest.mark.parametrize("weights", sorted(REPO_CHECKPOINTS.glob("*.pt")), ids=lambda p: p.name)
def test_every_committed_weight_file_matches_its_sidecar(weights):
    sidecar = weights.with_suffix(".json")
    assert sidecar.is_file(), f"{weights.name} has no sidecar {sidecar.name}"
    meta = read_sidecar(sidecar)
    assert meta["weights"] == weights.name
    assert sha256_of(weights) == meta["sha256"], f"{weights.name} does not match the sha256 in {sidecar.name}"
    state, _ = load_checkpoint(weights)  # weights_only=True: refuses anything but tensors
    assert state, f"{weights.name} holds no tensors"


def test_committed_mnist_weights_are_the_cpu_profiles_model():
    """Retraining with the ``cpu`` profile must rebuild the committed network, not another one."""
    from drnet_core.config import comparable_config, experiment

    sidecar = REPO_CHECKPOINTS / "mnist_cpu.json"
    if not sidecar.is_file():
        pytest.skip("no committed Moving MNIST weights")
    committed = read_sidecar(sidecar)["config"]
    profile = experiment("mnist", "cpu").to_dict()
    assert committed["model"] == profile["model"]
    committed_train = comparable_config(committed)["train"]  # older sidecars name the learning-rate drops differently
    for key in ("steps", "batch_size", "max_offset", "beta", "lr", "lr_milestones", "widen_from_nf", "widen_at"):
        assert committed_train[key] == profile["train"][key], key


@pytest.mark.parametrize(
    ("stem", "beta", "reduction"),
    [("norb_beta0.1", 0.1, None), ("norb_beta0", 0.0, None), ("norb_beta0.1_reduction-sum", 0.1, "sum"), ("norb_beta0_reduction-sum", 0.0, "sum")],
)
def test_committed_norb_weights_carry_the_weighting_their_name_says(stem, beta, reduction):
    """The unsuffixed NORB models follow the profile's default weighting; a ``_reduction-sum`` one was summed."""
    from drnet_core.config import experiment

    train = read_sidecar(REPO_CHECKPOINTS / f"{stem}_cpu.json")["config"]["train"]
    assert train["beta"] == beta
    assert train["reduction"] == (reduction or experiment("norb", "cpu").train.reduction)


@pytest.mark.parametrize(("stem", "dataset"), [("mnist_lstm", "mnist"), ("kth_lstm", "kth"), ("kth_ae_lstm", "kth")])
def test_committed_lstms_were_trained_with_the_cpu_profiles_settings(stem, dataset):
    """A committed pose LSTM whose settings differ from the profile's would be retrained by the book (and refused)."""
    from drnet_core.config import lstm_settings
    from drnet_experiments.pretrained import lstm_settings_differences

    sidecar = read_sidecar(REPO_CHECKPOINTS / f"{stem}_cpu.json")
    assert lstm_settings_differences(sidecar, lstm_settings("cpu", dataset)) == []
