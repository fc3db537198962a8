"""Trainer speed against a plain float32 reference step, measured in one run (issue: foundation).

The reference follows the public code (edenton/drnet-py, train_drnet.py) at its default MNIST
configuration: nf 64, batch 100, 64×64, U-Net content encoder (dcgan_unet), |h_p| = 10, |h_c| = 128,
BN + tanh codes. It runs every encoder pass separately (4 E_p, 2 E_c, 1 D forward passes per
iteration), in float32 and the default memory format, and draws clips with a per-sample Python loop
as the public data loader does. Our trainer reuses the pose codes between the C step and the E/D
step, computes the similarity target without gradient, uses channels_last and a vectorised generator.

Both start from the same weights; on the same first batch their loss terms must agree.
Timing is interleaved (reference, trainer, reference, ...) and reported as medians.

    python benchmarks/train_speed.py [--rounds 4] [--iters 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_utils import MovingMNIST  # noqa: E402
from drnet_core import experiment, losses  # noqa: E402
from drnet_core.report import run_info  # noqa: E402
from drnet_core.runtime import cpu_has_native_bf16, peak_rss_gib  # noqa: E402
from drnet_core.train import Trainer  # noqa: E402

REFERENCE = {"model.nf": 64, "model.skips": True, "model.pose_dim": 10, "model.content_dim": 128, "model.code_norm": "tanh", "train.batch_size": 100}


def loop_pairs(data: MovingMNIST, batch: int, max_offset: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The public loader's way: one clip at a time, one digit at a time, one frame at a time."""
    digits = data.digits.numpy().astype(np.float32) / 255.0
    size, lim, seq_len = data.digit_size, data.limit, data.seq_len
    clips = np.zeros((batch, seq_len, 3, 64, 64), np.float32)
    for b in range(batch):
        for d in range(2):
            image = digits[rng.integers(len(digits))]
            pos = rng.integers(0, lim + 1, 2)
            vel = rng.integers(-4, 5, 2)
            for t in range(seq_len):
                for axis in range(2):
                    if pos[axis] < 0 or pos[axis] > lim:
                        pos[axis] = min(max(pos[axis], 0), lim)
                        vel[axis] = -vel[axis]
                window = (b, t, d, slice(pos[0], pos[0] + size), slice(pos[1], pos[1] + size))
                clips[window] = np.maximum(clips[window], image)
                pos = pos + vel
    k = rng.integers(0, max_offset + 1, batch)
    t = (rng.random(batch) * (seq_len - k)).astype(int)
    idx = np.arange(batch)
    return torch.from_numpy(clips[idx, t]), torch.from_numpy(clips[idx, t + k])


class ReferenceStep:
    """A plain float32 DRNET iteration with every encoder pass run separately, as the public code does."""

    def __init__(self, trainer: Trainer) -> None:
        self.m, self.cfg = trainer.model, trainer.cfg
        self.opt_main, self.opt_disc = trainer.opt_main, trainer.opt_disc

    def __call__(self, x_t: torch.Tensor, x_tk: torch.Tensor) -> dict[str, float]:
        m, cfg = self.m, self.cfg
        with torch.no_grad():  # C step: two pose passes without gradient
            a, b = m.pose_encoder(x_t), m.pose_encoder(x_tk)
        disc = losses.discriminator_loss(m.discriminator(a, b), m.discriminator(a, b.roll(1, 0)))
        self.opt_disc.zero_grad()
        (cfg.beta * disc).backward()
        self.opt_disc.step()
        content_t, skips = m.encode_content(x_t, return_skips=True)
        content_tk = m.encode_content(x_tk).detach()
        pose_t, pose_tk = m.pose_encoder(x_t), m.pose_encoder(x_tk)  # two more pose passes, with gradient
        rec = losses.reconstruction_loss(m.decoder(content_t, pose_tk, skips), x_tk, cfg.reduction)
        sim = losses.similarity_loss(content_t, content_tk, cfg.reduction)
        adv = losses.pose_adversarial_loss(m.discriminator(pose_t, pose_tk))
        self.opt_main.zero_grad()
        losses.total_loss(rec, sim, adv, cfg.alpha, cfg.beta).backward()
        self.opt_disc.zero_grad()  # the public code's C gets gradients here; it is not stepped
        self.opt_main.step()
        return {"rec": rec.item(), "sim": sim.item(), "adv_pose": adv.item(), "disc": disc.item()}


CONVOLUTION_OPS = ("aten::convolution_backward", "aten::mkldnn_convolution", "aten::_convolution", "aten::slow_conv_transpose2d")


def convolution_share(step: Callable[..., object], batch: tuple[torch.Tensor, torch.Tensor], iters: int = 2) -> float:
    """The fraction of a step's CPU time spent inside convolution kernels (forward and backward), from the profiler.

    With the paper's math every convolution left in the trainer's step is needed (E_p with gradient on x^t and
    x^{t+k}, E_c with gradient on x^t and without on x^{t+k}, D with gradient), so ``1 - share`` is all that any
    further engineering at this precision could still remove.
    """
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(iters):
            step(*batch)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    conv = sum(e.self_cpu_time_total for e in events if e.key in CONVOLUTION_OPS)
    return conv / total


def step_flops(step: Callable, batch: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Floating-point operations of one step (torch.utils.flop_counter: convolutions and matrix products, forward
    and backward; 2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step(*batch)
    return float(counter.get_total_flops())


def matmul_peak(dtype: torch.dtype, n: int = 2048, iters: int = 8) -> float:
    """FLOP/s of a large square matrix product on these threads: the practical ceiling of this CPU at ``dtype``."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(iters):
            a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 * iters / best


def peak_rss_of_cpu_profile(steps: int = 5) -> float:
    """Peak resident memory (GiB) of a fresh process that trains the `cpu` profile for a few steps."""
    code = (
        "import torch; from data_utils import MovingMNIST; from drnet_core import experiment, Trainer;"
        "from drnet_experiments.widen import schedule_for;"
        "from drnet_core.runtime import peak_rss_gib;"
        f"exp = experiment('mnist', 'cpu'); data = MovingMNIST('train', seq_len=exp.data.seq_len);"
        f"Trainer(exp, data, progress=False, schedule=schedule_for(exp)).fit({steps});"
        "print(peak_rss_gib())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(run_info("benchmark"), flush=True)
    exp = experiment("mnist", "paper", **REFERENCE, **{"train.precision": "fp32", "train.device": "cpu"})
    data = MovingMNIST("train", seq_len=exp.data.seq_len)
    K, B = exp.train.max_offset, exp.train.batch_size

    fast = Trainer(exp, data, progress=False)
    # bf16 autocast is timed only where the CPU has native bf16; elsewhere it is many times slower (see benchmarks/RESULTS.md)
    trainers = {"trainer": fast.train_step}
    if cpu_has_native_bf16():
        bf16_exp = experiment("mnist", "paper", **REFERENCE, **{"train.precision": "bf16", "train.device": "cpu"})
        fast_bf16 = Trainer(bf16_exp, data, progress=False)
        fast_bf16.model.load_state_dict(fast.model.state_dict())
        trainers["trainer_bf16"] = fast_bf16.train_step
    plain_exp = experiment("mnist", "paper", **REFERENCE, **{"train.precision": "fp32", "train.device": "cpu", "train.channels_last": False})
    plain = Trainer(plain_exp, data, progress=False)
    plain.model.load_state_dict(fast.model.state_dict())
    reference = ReferenceStep(plain)

    # Same weights, same batch: the loss terms must agree.
    x_t, x_tk = data.sample_pairs(B, K, 0)
    ours = {k: v.item() for k, v in fast.train_step(x_t, x_tk).items()}
    ours_bf16 = {k: v.item() for k, v in trainers["trainer_bf16"](x_t, x_tk).items()} if "trainer_bf16" in trainers else {}
    ref = reference(x_t, x_tk)
    print("loss terms on the same first batch (trainer vs reference):")
    for key in ref:
        print(f"  {key:9s} {ours[key]:12.5f} {ref[key]:12.5f}  rel. diff {abs(ours[key] - ref[key]) / max(abs(ref[key]), 1e-8):.1e}")
    if ours_bf16:
        print("bf16 autocast trainer vs the float32 reference (bf16 keeps 8 bits of mantissa: expect ~1e-2):")
        for key in ref:
            print(f"  {key:9s} {ours_bf16[key]:12.5f} {ref[key]:12.5f}  rel. diff {abs(ours_bf16[key] - ref[key]) / max(abs(ref[key]), 1e-8):.1e}")

    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(1)
    steps = {"reference": reference, **trainers}
    times: dict[str, list[float]] = {key: [] for name in steps for key in (name, f"{name}_data")}
    for _ in range(args.rounds):
        for name, step in steps.items():
            data_time = step_time = 0.0
            for _ in range(args.iters):
                t0 = time.perf_counter()
                batch = loop_pairs(data, B, K, rng) if name == "reference" else data.sample_pairs(B, K, gen)
                t1 = time.perf_counter()
                step(*batch)
                t2 = time.perf_counter()
                data_time, step_time = data_time + t1 - t0, step_time + t2 - t1
            times[name].append((data_time + step_time) / args.iters)
            times[f"{name}_data"].append(data_time / args.iters)
    med = {k: statistics.median(v) for k, v in times.items()}
    size = f"nf 64, batch {B}, U-Net E_c, |h_p| 10"
    print(f"\nMNIST, public code's default size ({size}), {args.threads} threads, median of {args.rounds}×{args.iters} iterations:")
    for name in steps:
        print(f"  {name:12s} {med[name]:.3f} s/iteration ({med[name + '_data']:.3f} s of it drawing clips)  {B / med[name]:7.1f} samples/s")
    ratio = med["reference"] / med["trainer"]
    print(f"  speed-up, float32 trainer: {ratio:.2f}×")
    ratio_bf16 = med["reference"] / med["trainer_bf16"] if "trainer_bf16" in med else None
    if ratio_bf16 is not None:
        print(f"  speed-up, bf16 autocast trainer (train.precision=bf16): {ratio_bf16:.2f}×")
    else:
        print("  bf16 autocast not timed: this CPU has no native bf16")
    # How much of each trainer step is convolution kernels, which the paper's math does not let a trainer drop.
    batch = data.sample_pairs(B, K, 2)
    shares = {name: convolution_share(trainers[name], batch) for name in trainers}
    bounds = {name: med["reference"] / (med[name] * share) for name, share in shares.items()}
    print("convolutions' share of each trainer step (torch.profiler), and the speed-up if everything else took no time:")
    for name, share in shares.items():
        print(f"  {name:12s} {100 * share:4.1f} % of the step  ->  at most {bounds[name]:.2f}×")
    # The arithmetic each step needs, against what this CPU's matrix units do at best: no trainer can beat the
    # step's FLOPs divided by the peak, so that time bounds the speed-up from below whatever the engineering.
    flops = {"reference": step_flops(reference, batch), **{name: step_flops(trainers[name], batch) for name in trainers}}
    peaks = {"fp32": matmul_peak(torch.float32), **({"bf16": matmul_peak(torch.bfloat16)} if "trainer_bf16" in trainers else {})}
    peak_of = {name: peaks["bf16" if name == "trainer_bf16" else "fp32"] for name in steps}
    print("arithmetic per step (GFLOP) and the rate reached, against a 2048² matrix product on the same threads:")
    for name in steps:
        peak, rate = peak_of[name], flops[name] / med[name]
        print(f"  {name:12s} {flops[name] / 1e9:7.1f} GFLOP  {rate / 1e9:7.1f} GFLOP/s = {100 * rate / peak:4.1f} % of {peak / 1e9:.0f} GFLOP/s")
    flop_bounds = {name: med["reference"] / (flops[name] / peak_of[name]) for name in trainers}
    for name, bound in flop_bounds.items():
        print(f"  {name}: even at the matrix-product peak the speed-up would stay under {bound:.2f}×")
    rss_here = peak_rss_gib()
    rss_cpu = peak_rss_of_cpu_profile()
    print(f"peak memory: this benchmark {rss_here:.2f} GiB; training the `cpu` profile {rss_cpu:.2f} GiB")
    if args.json:
        result = {"seconds_per_iteration": med, "speedup": ratio, "speedup_bf16": ratio_bf16}
        result["loss_terms"] = {"trainer": ours, "trainer_bf16": ours_bf16, "reference": ref}
        result["convolution_share"], result["speedup_bound"] = shares, bounds
        result["gflop_per_step"] = {k: v / 1e9 for k, v in flops.items()}
        result["matmul_peak_gflops"] = {k: v / 1e9 for k, v in peaks.items()}
        result["speedup_bound_at_peak"] = flop_bounds
        result["peak_rss_gib"] = {"benchmark": rss_here, "cpu_profile": rss_cpu}
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
