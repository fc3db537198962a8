"""Time to quality: content-swap accuracy and swap pose error against wall-clock training time.

Trains the MNIST model of a profile (default ``cpu``) with a held-out swap evaluation every
``--eval-every`` steps, then prints the curve and writes it as JSON (and a PNG next to it).
The committed ``cpu`` weights were trained this way; their log is checkpoints/mnist_cpu_metrics.jsonl.

    python benchmarks/time_to_quality.py --profile cpu --out runs/ttq --steps 6000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drnet_core.cli import main as cli_main  # noqa: E402
from drnet_core.viz import plot_curves, read_metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu", choices=["ci", "cpu", "paper"])
    parser.add_argument("--out", type=Path, default=Path("runs/time_to_quality"))
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--eval-swaps", type=int, default=300)
    args = parser.parse_args()
    argv = ["train", "mnist", "--profile", args.profile, "--out", str(args.out), "--no-progress"]
    argv += ["--set", f"train.eval_every={args.eval_every}", "--set", f"train.eval_swaps={args.eval_swaps}"]
    if args.steps:
        argv += ["--steps", str(args.steps)]
    cli_main(argv)
    curve = [
        {"step": r["step"], "wall_time_s": r["wall_time"], "swap_accuracy": r["eval_swap_accuracy"], "pose_error_px": r["eval_pose_error_px"]}
        for r in read_metrics(args.out / "metrics.jsonl")
        if "eval_swap_accuracy" in r
    ]
    print(f"{'step':>7} {'wall time':>10} {'swap acc.':>10} {'pose err.':>10}")
    for point in curve:
        print(f"{point['step']:7d} {point['wall_time_s'] / 60:8.1f} m {point['swap_accuracy']:10.3f} {point['pose_error_px']:8.2f}px")
    (args.out / "time_to_quality.json").write_text(json.dumps(curve, indent=2))
    evals = [r for r in read_metrics(args.out / "metrics.jsonl") if "eval_swap_accuracy" in r]
    plot_curves(evals, ["eval_swap_accuracy", "eval_pose_error_px"], x="wall_time", ncols=2).savefig(args.out / "time_to_quality.png", dpi=100)


if __name__ == "__main__":
    main()
