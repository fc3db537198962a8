"""Load the committed weights when they exist; otherwise train them (the pattern of every chapter).

``cpu`` and ``paper`` weights live in ``checkpoints/`` (the ``cpu`` ones are committed). ``ci`` weights
are trained on the spot in seconds and kept in ``runs/ci/`` (not committed). Both branches print
which one ran, and training prints its expected duration first.
"""

from __future__ import annotations

from pathlib import Path

from data_utils import MovingMNIST
from drnet_core.checkpoint import REPO_CHECKPOINTS
from drnet_core.config import current_profile, experiment, lstm_settings
from drnet_core.model import DRNet
from drnet_core.predict import Predictor, PredictorConfig, train_predictor
from drnet_core.train import Trainer

RUNS = REPO_CHECKPOINTS.parent / "runs"


def weights_path(name: str, profile: str | None = None) -> Path:
    """Where the weights of ``name`` (e.g. "mnist", "mnist_lstm") for ``profile`` live."""
    profile = profile or current_profile()
    folder = RUNS / "ci" if profile == "ci" else REPO_CHECKPOINTS
    return folder / f"{name}_{profile}.pt"


def load_or_train_drnet(profile: str | None = None, progress: bool = False) -> DRNet:
    """The Moving MNIST DRNet of ``profile``: loaded from its checkpoint, or trained and saved."""
    profile = profile or current_profile()
    path = weights_path("mnist", profile)
    if path.with_suffix(".json").is_file():
        model = DRNet.load(path)
        info = model.checkpoint_info
        hours = info.get("wall_time_s", 0) / 3600
        print(f"loaded {path.relative_to(REPO_CHECKPOINTS.parent)}: step {info.get('step')}, trained for {hours:.2f} h on {info.get('hardware')}")
        return model
    exp = experiment("mnist", profile)
    print(f"no checkpoint at {path}; training the {profile} profile for {exp.train.steps} steps (batch {exp.train.batch_size}, nf {exp.model.nf})")
    if profile != "ci":
        print("expect about 0.3 s per step on a 2-core laptop CPU; `python -m drnet_core train mnist` runs it from a terminal and can resume")
    trainer = Trainer(exp, MovingMNIST("train", seq_len=exp.data.seq_len), out_dir=path.parent / f"{path.stem}_run", progress=progress)
    trainer.resume_if_possible()
    trainer.fit()
    trainer.model.save(path, trainer.metadata(), half=profile != "ci")
    return DRNet.load(path)


def load_or_train_predictor(drnet: DRNet, profile: str | None = None, progress: bool = False) -> Predictor:
    """The pose LSTM of ``profile`` for ``drnet``: loaded if its checkpoint holds these DRNet weights, else trained."""
    profile = profile or current_profile()
    path = weights_path("mnist_lstm", profile)
    settings = lstm_settings(profile)
    drnet_sha = drnet.checkpoint_info.get("sha256")
    if path.with_suffix(".json").is_file():
        predictor = Predictor.load(path)
        if predictor.checkpoint_info.get("drnet_sha256") == drnet_sha:
            print(f"loaded {path.relative_to(REPO_CHECKPOINTS.parent)}: LSTM trained for {predictor.checkpoint_info.get('steps')} steps")
            return predictor
        print(f"{path.name} was trained on other DRNet weights; retraining it")
    config = PredictorConfig(settings.hidden, settings.layers, settings.n_observed, settings.n_predicted)
    predictor = Predictor(drnet, config)
    print(f"training the pose LSTM ({settings.layers}×{settings.hidden}) for {settings.steps} steps, batch {settings.batch_size}")
    source = MovingMNIST("train", seq_len=settings.n_observed + settings.n_predicted)
    history = train_predictor(predictor, source, settings.steps, settings.batch_size, settings.lr, pool_clips=settings.pool_clips or None)
    metadata = {"steps": settings.steps, "drnet_sha256": drnet_sha, "final_loss": history[-1]["loss"], "profile": profile}
    drnet_path = weights_path("mnist", profile)
    predictor.save(path, metadata, half=profile != "ci", drnet_checkpoint=drnet_path if drnet_path.with_suffix(".json").is_file() else None)
    loaded = Predictor.load(path)
    loaded.history = history
    return loaded



def training_log(profile: str | None = None) -> list[dict]:
    """The metrics log of the profile's DRNet run (committed next to the ``cpu`` weights), or [] if absent."""
    from drnet_core.viz import read_metrics

    profile = profile or current_profile()
    path = weights_path("mnist", profile)
    for candidate in (path.with_name(path.stem + "_metrics.jsonl"), path.parent / f"{path.stem}_run" / "metrics.jsonl"):
        if candidate.is_file():
            return read_metrics(candidate)
    return []
