"""Load the committed weights when they exist; otherwise train them (the pattern of every chapter).

``cpu`` and ``paper`` weights live in ``checkpoints/`` (the ``cpu`` ones are committed). ``ci`` weights
are trained on the spot in seconds and kept in ``runs/ci/`` (not committed). Both branches print
which one ran, and training prints its expected duration first.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from pathlib import Path

import torch

from data_utils import MovingMNIST
from drnet_core.checkpoint import config_differences, read_sidecar, save_checkpoint
from drnet_core.config import Experiment, LSTMSettings, comparable_config, current_profile, experiment, lstm_settings, upgrade_train_settings
from drnet_core.model import DRNet
from drnet_core.predict import Predictor, PredictorConfig, train_predictor
from drnet_core.runtime import describe_hardware
from drnet_core.train import Trainer
from drnet_experiments.paths import REPO_CHECKPOINTS, RUNS
from drnet_experiments.widen import schedule_for


class ArtifactMissingError(RuntimeError):
    """A committed artifact (weights or result rows) that a chapter reads is missing or was made with other settings.

    Building the book never trains for hours by surprise: it stops with this error, which names the artifact and
    the command that makes it. The ``ci`` profile trains its tiny models on the spot, and the command line (which
    sets ``DRNET_ALLOW_TRAINING=1``) trains what it is asked to.
    """


def training_allowed(profile: str) -> bool:
    """Whether a missing artifact of ``profile`` may be trained here: always for ``ci``, else only when
    ``DRNET_ALLOW_TRAINING=1`` (set by ``python -m drnet_core …`` and by a reader who wants to retrain)."""
    return profile == "ci" or os.environ.get("DRNET_ALLOW_TRAINING") == "1"


def require_training_allowed(artifact: Path, profile: str, command: str, why: str = "is missing") -> None:
    """Raise :class:`ArtifactMissingError` unless :func:`training_allowed`; the message says how to make ``artifact``."""
    if training_allowed(profile):
        return
    raise ArtifactMissingError(
        f"{_shown(artifact)} {why}. Make it with `{command}` (it trains, which takes a while), commit it, and rebuild; "
        "or set DRNET_ALLOW_TRAINING=1 to let this notebook train it."
    )


def _shown(path: Path) -> Path:
    """``path`` relative to the repository when it lies inside it (for messages)."""
    return path.relative_to(REPO_CHECKPOINTS.parent) if path.is_relative_to(REPO_CHECKPOINTS.parent) else path


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
        print(f"loaded {_shown(path)}: step {info.get('step')}, trained for {hours:.2f} h on {info.get('hardware')}")
        return model
    require_training_allowed(path, profile, f"python -m drnet_core train mnist --profile {profile} --out runs/mnist_{profile} "
                             f"&& python -m drnet_core export runs/mnist_{profile} --to {_shown(path)} --storage int8")
    exp = experiment("mnist", profile)
    print(f"no checkpoint at {path}; training the {profile} profile for {exp.train.steps} steps (batch {exp.train.batch_size}, nf {exp.model.nf})")
    if profile != "ci":
        print(
            "expect 0.17 s per step at nf 32 on 2 cores of an AVX-512 CPU in float32 (0.12 s with --set train.precision=bf16 where the "
            "CPU has native bf16), about 0.45 s on an AVX2-only one; `python -m drnet_core train mnist` runs it from a terminal and can resume"
        )
    if exp.train.widen_from_nf:
        print(
            f"the network trains at nf {exp.train.widen_from_nf} until step {exp.train.widen_at:,}, then is widened to nf {exp.model.nf} "
            "(Net2WiderNet) and each step takes about twice as long (0.25 s at nf 48 in bf16, measured)"
        )
    trainer = Trainer(
        exp, MovingMNIST("train", seq_len=exp.data.seq_len), out_dir=path.parent / f"{path.stem}_run", progress=progress, schedule=schedule_for(exp)
    )
    trainer.resume_if_possible()
    trainer.fit()
    trainer.model.save(path, trainer.metadata(), half=profile != "ci")
    return DRNet.load(path)


def load_or_train_model(
    name: str, exp: Experiment, source: object, data_source: str, progress: bool = False, path: Path | None = None
) -> DRNet:
    """The DRNet ``name`` (e.g. "norb_beta0.1") of ``exp``'s profile: loaded when its checkpoint was trained with
    this experiment on this data, else trained on ``source`` (resuming an interrupted run) and saved.

    ``data_source`` names the data (e.g. "SynthNORB stand-in"): weights trained on the stand-in are not
    reused once the real data is present, and the reverse. ``path`` puts the checkpoint elsewhere than the
    profile's weights folder (models of your own data live under ``runs/``, beside the committed ones never).
    """
    path = path or weights_path(name, exp.profile)
    if path.with_suffix(".json").is_file():
        sidecar = read_sidecar(path.with_suffix(".json"))
        ignored = ("device", "log_every", "checkpoint_every")
        diffs = config_differences(comparable_config(exp.to_dict(), ignored), comparable_config(sidecar["config"], ignored))
        if sidecar.get("data_source") != data_source:
            diffs.append(f"data: expected {data_source!r}, checkpoint has {sidecar.get('data_source')!r}")
        if not diffs:
            model = DRNet.load(path)
            info = model.checkpoint_info
            print(
                f"loaded {_shown(path)}: step {info.get('step')}, trained for "
                f"{info.get('wall_time_s', 0) / 3600:.2f} h on {info.get('hardware')} ({data_source})"
            )
            return model
        require_training_allowed(path, exp.profile, command_for(name, exp.profile), "was made with other settings:\n  " + "\n  ".join(diffs) + "\n")
        print(f"{path.name} does not match this experiment, retraining:\n  " + "\n  ".join(diffs))
    else:
        require_training_allowed(path, exp.profile, command_for(name, exp.profile))
    t = exp.train
    print(f"training {name} ({exp.profile} profile, {data_source}): {t.steps} steps, batch {t.batch_size}, nf {exp.model.nf}, β = {t.beta}")
    data_slug = re.sub(r"[^a-z0-9]+", "-", data_source.lower()).strip("-")[:40] or "data"
    trainer = Trainer(exp, source, out_dir=RUNS / f"{name}_{exp.profile}" / data_slug, progress=progress, schedule=schedule_for(exp))
    if trainer.resume_if_possible():
        print(f"resumed an interrupted run at step {trainer.step}")
    trainer.fit()
    metadata = {**trainer.metadata(), "profile": exp.profile, "data_source": data_source}
    # the sidecar keeps the whole experiment (model, data and training), so the next call can tell it matches
    save_checkpoint(path, trainer.model.state_dict(), exp.to_dict(), metadata, half=exp.profile != "ci")
    shutil.copyfile(trainer.out_dir / "metrics.jsonl", path.with_name(path.stem + "_metrics.jsonl"))  # the curves travel with the weights
    return DRNet.load(path)


def command_for(name: str, profile: str) -> str:
    """The command that makes the committed artifact ``name`` (a checkpoint stem such as "norb_beta0.1")."""
    if name == "mnist_lstm":
        return f"python -m drnet_core train-lstm mnist --profile {profile}"
    if name.startswith("norb_"):
        return f"python -m drnet_core norb-ablation --profile {profile}"
    if name.startswith("kth"):
        return f"python -m drnet_core kth --profile {profile}"
    if name.startswith("action_classifier"):
        return f"python -m drnet_core inception-score --profile {profile}"
    return f"python -m drnet_core {name.replace('_', '-')} --profile {profile}"


def model_log(name: str, profile: str | None = None) -> list[dict]:
    """The metrics log saved next to the weights of ``name`` (e.g. "norb_beta0.1"), or [] if there is none."""
    from drnet_core.viz import read_metrics

    path = weights_path(name, profile)
    log = path.with_name(path.stem + "_metrics.jsonl")
    return read_metrics(log) if log.is_file() else []


def lstm_settings_differences(sidecar: dict, settings: LSTMSettings) -> list[str]:
    """How a pose LSTM's sidecar differs from ``settings`` in what changes its weights ([] when it matches).

    ``val_clips`` only measures, so it may differ. Sidecars written before the settings were recorded are compared on
    their size and step count.
    """
    wanted = {k: v for k, v in dataclasses.asdict(settings).items() if k != "val_clips"}
    if "settings" in sidecar:
        found = {k: v for k, v in upgrade_train_settings(sidecar["settings"]).items() if k != "val_clips"}
        found = {**{k: v for k, v in dataclasses.asdict(LSTMSettings()).items() if k != "val_clips"}, **found}
    else:
        size = sidecar.get("config", {}).get("predictor", {})
        found = {**wanted, **{k: size[k] for k in ("hidden", "layers", "n_observed", "n_predicted") if k in size}, "steps": sidecar.get("steps")}
    return config_differences(wanted, found)


def why_predictor_is_stale(path: Path, drnet: DRNet, settings: LSTMSettings) -> str | None:
    """Why the LSTM checkpoint at ``path`` cannot serve ``drnet`` under ``settings`` (None when it can).

    Reads only the sidecar: loading an LSTM whose referenced DRNet has changed is an error.
    """
    if not path.with_suffix(".json").is_file():
        return "is missing"
    sidecar = read_sidecar(path.with_suffix(".json"))
    if sidecar.get("drnet_sha256") != drnet.checkpoint_info.get("sha256"):
        return "was trained on other DRNet weights"
    diffs = lstm_settings_differences(sidecar, settings)
    return "was trained with other settings:\n  " + "\n  ".join(diffs) + "\n" if diffs else None


def lstm_run_dir(name: str, profile: str) -> Path:
    """Where an LSTM run keeps its resumable state while it trains (under runs/, never committed)."""
    return RUNS / f"{name}_lstm_{profile}"


def train_and_save_predictor(
    drnet: DRNet, profile: str, name: str = "mnist", source: object | None = None, dataset: str = "mnist", time_limit_s: float | None = None
) -> Path | None:
    """Train the pose LSTM ``<name>_lstm`` of ``profile`` on ``drnet`` (resuming a stopped run) and save it; returns its path.

    Returns None when ``time_limit_s`` stops the run first: its state stays under :func:`lstm_run_dir`, and the same
    call continues it.
    """
    path = weights_path(f"{name}_lstm", profile)
    settings = lstm_settings(profile, dataset)
    drnet_sha = drnet.checkpoint_info.get("sha256")
    predictor = Predictor(drnet, PredictorConfig(settings.hidden, settings.layers, settings.n_observed, settings.n_predicted))
    print(f"training the pose LSTM of {name} ({settings.layers}×{settings.hidden}) for {settings.steps} steps, batch {settings.batch_size}")
    length = settings.n_observed + settings.n_predicted
    if source is None:
        source = MovingMNIST("train", seq_len=length)
    val_source = MovingMNIST("test", seq_len=length) if settings.val_clips and dataset == "mnist" else None

    def report(record: dict) -> None:
        if record["step"] % 1000 == 0:
            val = f", held-out {record['val_loss']:.4f}" if "val_loss" in record else ""
            print(f"  LSTM step {record['step']}: loss {record['loss']:.4f}{val} ({record['time_s']:.0f} s)", flush=True)

    run_dir = lstm_run_dir(name, profile)
    run_dir.mkdir(parents=True, exist_ok=True)
    history = train_predictor(
        predictor, source, settings.steps, settings.batch_size, settings.lr, pool_clips=settings.pool_clips or None,
        free_running=settings.free_running, lr_milestones=settings.lr_milestones, on_log=report,
        val_source=val_source, val_clips=settings.val_clips, state_path=run_dir / "lstm_state", time_limit_s=time_limit_s,
        run_key={"drnet_sha256": drnet_sha},
    )
    if history[-1]["step"] < settings.steps:
        print(f"stopped at LSTM step {history[-1]['step']} of {settings.steps} (time limit); the same command continues it")
        return None
    metadata = {
        "steps": settings.steps,
        "settings": dataclasses.asdict(settings),
        "drnet_sha256": drnet_sha,
        "final_loss": history[-1]["loss"],
        "profile": profile,
        "wall_time_s": history[-1]["time_s"],
        "hardware": str(describe_hardware(torch.device("cpu"))),
        "history": history,
    }
    drnet_path = weights_path(name, profile)
    predictor.save(path, metadata, half=profile != "ci", drnet_checkpoint=drnet_path if drnet_path.with_suffix(".json").is_file() else None)
    shutil.rmtree(run_dir, ignore_errors=True)  # the run is finished: its resumable state is no longer needed
    return path


def load_or_train_predictor(
    drnet: DRNet,
    profile: str | None = None,
    progress: bool = False,
    name: str = "mnist",
    source: object | None = None,
    dataset: str = "mnist",
) -> Predictor:
    """The pose LSTM ``<name>_lstm`` of ``profile`` for ``drnet``: loaded if its checkpoint holds these DRNet weights
    and the profile's settings, else trained (:func:`train_and_save_predictor`).

    ``name`` is the DRNet's checkpoint stem ("mnist", "kth", "kth_ae"); ``source`` gives the training clips
    (default: Moving MNIST); ``dataset`` picks the LSTM settings (:func:`~drnet_core.config.lstm_settings`).
    """
    profile = profile or current_profile()
    path = weights_path(f"{name}_lstm", profile)
    settings = lstm_settings(profile, dataset)
    why = why_predictor_is_stale(path, drnet, settings)
    if why is None:
        predictor = Predictor.load(path)
        print(f"loaded {_shown(path)}: LSTM trained for {predictor.checkpoint_info.get('steps')} steps")
        return predictor
    require_training_allowed(path, profile, command_for(f"{name}_lstm", profile), why)
    if path.with_suffix(".json").is_file():
        print(f"{path.name} {why.strip()}; retraining it")
    path = train_and_save_predictor(drnet, profile, name, source, dataset)
    return Predictor.load(path)


def training_log(profile: str | None = None) -> list[dict]:
    """The metrics log of the profile's DRNet run (committed next to the ``cpu`` weights), or [] if absent."""
    from drnet_core.viz import read_metrics

    profile = profile or current_profile()
    path = weights_path("mnist", profile)
    for candidate in (path.with_name(path.stem + "_metrics.jsonl"), path.parent / f"{path.stem}_run" / "metrics.jsonl"):
        if candidate.is_file():
            return read_metrics(candidate)
    return []
