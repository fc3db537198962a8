"""The command line: ``python -m drnet_core train|eval …``.

    python -m drnet_core train mnist --profile cpu --out runs/mnist
    python -m drnet_core eval mnist --checkpoint checkpoints/mnist_cpu.pt
    python -m drnet_core norb-ablation --profile cpu      # trains/loads β = 0.1 and β = 0, prints Table 1
    python -m drnet_core norb-ablation --profile cpu --controls   # β = 0 with mean errors (numbers only)
    python -m drnet_core kth --profile cpu                # DRNET and AE-LSTM on KTH: Fig. 8 accuracies, PSNR/SSIM
    python -m drnet_core inception-score --profile cpu    # the action classifier and the Fig. 9 scores

``train`` resumes from ``--out`` when a trainer state is there. Every run prints one line
with the profile, device and versions first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from drnet_core.checkpoint import STORAGE_DTYPES
from drnet_core.config import PROFILES, Experiment, experiment, parse_override
from drnet_core.distributed import DistInfo
from drnet_core.report import run_banner
from drnet_core.runtime import resolve_device


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m drnet_core", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a DRNET (resumes from --out if possible)")
    train.add_argument("dataset", choices=["mnist", "norb", "kth", "kth_ae"])
    train.add_argument("--profile", choices=PROFILES, default=None, help="default: $DRNET_PROFILE, else cpu")
    train.add_argument("--out", type=Path, required=True, help="run folder: checkpoints and metrics.jsonl")
    train.add_argument("--steps", type=int, default=None, help="total steps (default: the profile's)")
    train.add_argument("--set", type=parse_override, action="append", default=[], metavar="KEY=VALUE", help="override a setting, e.g. train.beta=0")
    train.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    train.add_argument(
        "--time-limit", type=float, default=None, metavar="MIN", help="stop (with a checkpoint) after about this many minutes; the same command resumes"
    )
    train.add_argument("--init-from", type=Path, default=None, help="start from these model weights and their step (fresh optimisers)")
    train.add_argument("--no-progress", action="store_true")
    ex = sub.add_parser("export", help="write a run's model with its metrics (evaluated as stored), e.g. into checkpoints/")
    ex.add_argument("run", type=Path, help="a training run folder (holds model.pt, model.json, metrics.jsonl)")
    ex.add_argument("--to", type=Path, required=True, help="checkpoint path to write, e.g. checkpoints/mnist_cpu.pt")
    ex.add_argument("--swaps", type=int, default=1000)
    ex.add_argument("--storage", choices=STORAGE_DTYPES, default="float16", help="int8: weight-only quantization, half the bytes")
    from drnet_experiments.commands import add_experiment_commands

    add_experiment_commands(sub)
    return parser


def cmd_train(args: argparse.Namespace) -> int:

    from drnet_core.distributed import init_from_env, shutdown

    overrides = dict(args.set)
    if args.steps:  # recorded in the config, so that the checkpoint's sidecar says how long the run was meant to be
        overrides["train.steps"] = args.steps
    exp = experiment(args.dataset, args.profile, **overrides)
    device = resolve_device(exp.train.device)
    info = init_from_env(device.type)  # several processes when launched by torchrun
    if info.is_main:
        print(run_banner(exp.profile, device) + (f" processes={info.world_size}" if info.active else ""), flush=True)
    try:
        return _train(args, exp, device, info)
    finally:
        shutdown()


def _train(args: argparse.Namespace, exp: Experiment, device: torch.device, info: DistInfo) -> int:
    from data_utils import MovingMNIST
    from drnet_core.train import Trainer
    from drnet_experiments.mnist_swaps import swap_metrics, swap_pairs

    data = exp.data
    evaluate = None
    if data.name == "norb":
        from drnet_experiments.ablations import norb_datasets

        source = norb_datasets(exp.profile)[0]
        print(f"data: {source.source}", flush=True)
    elif data.name == "kth":
        from drnet_experiments.kth_experiment import kth_datasets

        source = kth_datasets(exp.profile, seq_len=data.seq_len)[0]
        print(f"data: {source.source}", flush=True)
    else:
        source = MovingMNIST("train", num_digits=data.num_digits, seq_len=data.seq_len, colour=data.colour, max_speed=data.max_speed, device=device)
    if data.name == "mnist" and exp.train.eval_every and data.colour and data.num_digits == 2:
        pairs = swap_pairs(exp.train.eval_swaps, seq_len=data.seq_len)

        def evaluate(model: torch.nn.Module) -> dict:
            return swap_metrics(model, pairs)

    # the book's widening: in one run when the experiment asks for it, and for --init-from with a narrower checkpoint
    from drnet_experiments.widen import Widening

    trainer = Trainer(exp, source, out_dir=args.out, evaluate=evaluate, progress=not args.no_progress, dist_info=info, schedule=Widening(exp))
    say = print if info.is_main else (lambda *a, **k: None)
    if trainer.resume_if_possible():
        say(f"resumed from {args.out} at step {trainer.step}", flush=True)
    elif args.init_from:
        say(trainer.warm_start(args.init_from), flush=True)
    trainer.fit(exp.train.steps, time_limit_s=None if args.time_limit is None else 60 * args.time_limit)
    if trainer.step < exp.train.steps:
        say(f"stopped at step {trainer.step} of {exp.train.steps} after the time limit ({args.time_limit:g} min); run the same command to continue", flush=True)
    say(json.dumps(trainer.metadata()), flush=True)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import shutil

    from drnet_core.checkpoint import as_stored, read_sidecar, save_checkpoint
    from drnet_core.model import DRNet
    from drnet_experiments.mnist_swaps import swap_metrics, swap_pairs

    model = DRNet.load(args.run / "model.pt")
    sidecar = read_sidecar(args.run / "model.json")
    model.load_state_dict(as_stored(model.state_dict(), args.storage))  # the figures are those of the stored weights
    result = swap_metrics(model, swap_pairs(args.swaps))
    metadata = {k: sidecar[k] for k in ("step", "wall_time_s", "hardware", "precision", "versions", "started_from") if k in sidecar}
    metadata["profile"] = sidecar["config"].get("profile")
    metadata["metrics"] = {**{k: round(v, 4) for k, v in result.items()}, "swaps": args.swaps}
    metadata["metrics_command"] = f"python -m drnet_core eval mnist --checkpoint {args.to} --swaps {args.swaps}"
    save_checkpoint(args.to, model.state_dict(), sidecar["config"], metadata, storage=args.storage)
    log = args.run / "metrics.jsonl"
    if log.is_file():
        shutil.copyfile(log, args.to.with_name(args.to.stem + "_metrics.jsonl"))
    print(json.dumps(metadata, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command. Expected errors (a bad checkpoint, missing or malformed data, a bad setting) print one line,
    ``error: …`` with what to do, and exit with status 2; ``DRNET_DEBUG=1`` shows the traceback instead."""
    import os

    from drnet_core.checkpoint import CheckpointError

    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    os.environ.setdefault("DRNET_ALLOW_TRAINING", "1")  # a command trains what it is asked to (the book build does not)
    try:
        return _commands()[args.command](args)
    except (CheckpointError, FileNotFoundError, ValueError) as err:
        if os.environ.get("DRNET_DEBUG"):
            raise
        message = " ".join(str(err).split())
        print(f"error: {message}", file=sys.stderr)
        return 2


def _commands() -> dict:
    from drnet_experiments.commands import EXPERIMENT_COMMANDS  # the book's experiments, loaded only here

    return {"train": cmd_train, "export": cmd_export, **EXPERIMENT_COMMANDS}


if __name__ == "__main__":
    sys.exit(main())
