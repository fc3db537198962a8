"""The benchmark suite behind `make bench`: every model at every profile size, against a plain reference step.

For each model (Moving MNIST DCGAN, NORB ResNet-18, KTH VGG/ResNet-18 with U-Net skips, KTH AE baseline) at the ``ci``,
``cpu`` and ``paper`` sizes it measures, in the
same run and interleaved, training samples/s of

* the **reference**: a plain float32 iteration in the default memory format, every encoder pass run separately
  (4 E_p, 2 E_c passes), as the public code does (``train_speed.ReferenceStep``), and
* the **trainer**: :meth:`drnet_core.train.Trainer.train_step` with the profile's settings (pose codes shared by
  both steps, the similarity target without gradient, channels_last, autocast where the device has it),

and prints their ratio. It also times Moving MNIST generation (vectorised generator against the per-sample loop
of the public data loader) and records the peak memory. Results go to JSON and to a Markdown table.

    python benchmarks/suite.py [--iters 2] [--rounds 2] [--only mnist] [--json PATH] [--markdown PATH]

Timings on a shared 2-core machine vary by ±15 %: compare ratios, measured in the same run, not absolute numbers
across runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_speed import ReferenceStep, loop_pairs  # noqa: E402

from data_utils import MovingMNIST  # noqa: E402
from data_utils.turntable import TurntableDataset  # noqa: E402
from drnet_core import experiment  # noqa: E402
from drnet_core.report import run_info  # noqa: E402
from drnet_core.runtime import describe_hardware, peak_rss_gib, resolve_device  # noqa: E402
from drnet_core.train import Trainer, draw_batch  # noqa: E402
from drnet_experiments.widen import schedule_for  # noqa: E402

MODELS = ("mnist", "norb", "kth", "kth_ae")
SIZES = ("ci", "cpu", "paper")


def turntable_source(seq_len: int) -> TurntableDataset:
    """Random grey turntable data: the step's cost does not depend on the pixels, and rendering is skipped."""
    images = np.random.default_rng(0).integers(0, 255, (10, 2, 18, 64, 64), dtype=np.uint8)
    return TurntableDataset(images, np.arange(10) % 5, seq_len=seq_len)


class RandomClips:
    """Random grey clips (B, T, 1, 64, 64) for the KTH models: the step's cost does not depend on the pixels."""

    def __init__(self, seq_len: int) -> None:
        self.seq_len = seq_len

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand(batch_size, self.seq_len, 1, 64, 64, generator=generator)


def clip_source(model: str, seq_len: int) -> object:
    if model == "mnist":
        return MovingMNIST("train", seq_len=seq_len)
    return turntable_source(seq_len) if model == "norb" else RandomClips(seq_len)


def measure(model: str, size: str, device: torch.device, rounds: int, iters: int) -> dict:
    exp = experiment(model, size, **{"train.device": device.type})
    source = clip_source(model, exp.data.seq_len)
    fast = Trainer(exp, source, progress=False, schedule=schedule_for(exp))
    plain_exp = experiment(model, size, **{"train.device": device.type, "train.precision": "fp32", "train.channels_last": False})
    plain = Trainer(plain_exp, source, progress=False, schedule=schedule_for(plain_exp))
    plain.model.load_state_dict(fast.model.state_dict())
    reference = ReferenceStep(plain)
    gen = torch.Generator().manual_seed(0)
    batch = exp.train.batch_size
    times: dict[str, list[float]] = {"reference": [], "trainer": []}
    warm = draw_batch(source, batch, exp.train.max_offset, gen)
    reference(*(x.to(device) for x in warm))
    fast.train_step(*warm)
    for _ in range(rounds):
        for name, step in (("reference", reference), ("trainer", fast.train_step)):
            total = 0.0
            for _ in range(iters):
                x_t, x_tk = draw_batch(source, batch, exp.train.max_offset, gen)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                step(x_t.to(device), x_tk.to(device))
                if device.type == "cuda":
                    torch.cuda.synchronize()
                total += time.perf_counter() - start
            times[name].append(total / iters)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "model": model,
        "size": size,
        "nf": exp.model.nf,
        "batch": batch,
        "precision": fast.precision,
        "reference_samples_per_s": batch / med["reference"],
        "trainer_samples_per_s": batch / med["trainer"],
        "speedup": med["reference"] / med["trainer"],
    }


def generator_speed(batch: int = 64, repeats: int = 3) -> dict:
    """Moving MNIST frames/s for training pairs: the vectorised ``sample_pairs`` (renders only frames t and t+k)
    against the public loader's per-sample loop (renders whole clips, then picks the pair), plus the vectorised
    full-clip ``sample`` for reference."""
    data = MovingMNIST("train", seq_len=20)
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    times: dict[str, list[float]] = {"loop": [], "pairs": [], "clips": []}
    for _ in range(repeats):
        for name, run in (
            ("loop", lambda: loop_pairs(data, batch, 10, rng)),
            ("pairs", lambda: data.sample_pairs(batch, 10, gen)),
            ("clips", lambda: data.sample(batch, gen)),
        ):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    frames = batch * 20  # clip frames the loop renders per batch
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "loop_pairs_per_s": batch / med["loop"],
        "vectorised_pairs_per_s": batch / med["pairs"],
        "loop_frames_per_s": frames / med["loop"],
        "vectorised_clip_frames_per_s": frames / med["clips"],
    }


def markdown(rows: list[dict], gen: dict, hardware: str, peak_gib: float) -> str:
    lines = [
        f"Measured on {hardware}. Samples/s of one full DRNET iteration (C step + E/D step).",
        "",
        "| model | size | nf | batch | precision | reference samples/s | trainer samples/s | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['size']} | {r['nf']} | {r['batch']} | {r['precision']} | {r['reference_samples_per_s']:.1f} | "
            f"{r['trainer_samples_per_s']:.1f} | {r['speedup']:.2f}× |"
        )
    lines += [
        "",
        f"Moving MNIST training pairs: {gen['vectorised_pairs_per_s']:,.0f} pairs/s vectorised against {gen['loop_pairs_per_s']:,.0f} pairs/s for the "
        f"per-sample loop ({gen['vectorised_pairs_per_s'] / gen['loop_pairs_per_s']:.1f}×). Whole clips: {gen['vectorised_clip_frames_per_s']:,.0f} frames/s "
        f"vectorised against {gen['loop_frames_per_s']:,.0f} for the loop. Peak memory of the suite: {peak_gib:.2f} GiB.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iters", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=MODELS, default=None)
    parser.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device("auto")
    print(run_info("benchmark"), flush=True)
    rows = []
    for model in [args.only] if args.only else MODELS:
        for size in args.sizes:
            heavy = size == "paper" and model.startswith("kth") and device.type == "cpu"  # ~10 s a step at nf 64 on 2 cores
            row = measure(model, size, device, 1 if heavy else args.rounds, 1 if heavy else args.iters)
            rows.append(row)
            print(
                f"{model:6s} {size:6s} nf {row['nf']:3d} batch {row['batch']:4d} {row['precision']:5s} reference {row['reference_samples_per_s']:8.1f} "
                f"trainer {row['trainer_samples_per_s']:8.1f} samples/s  ratio {row['speedup']:.2f}×",
                flush=True,
            )
    gen = generator_speed()
    peak = peak_rss_gib()
    if device.type == "cuda":
        peak = max(peak, torch.cuda.max_memory_allocated() / 2**30)
    table = markdown(rows, gen, str(describe_hardware(device)), peak)
    print("\n" + table)
    if args.json:
        args.json.write_text(json.dumps({"hardware": str(describe_hardware(device)), "rows": rows, "generator": gen, "peak_gib": peak}, indent=2))
    if args.markdown:
        args.markdown.write_text(table + "\n")


if __name__ == "__main__":
    main()
