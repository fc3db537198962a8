"""Where the Moving MNIST swap accuracy is lost: in the codes or in the decoder (issue: foundation, chapter 2).

Three measurements on a trained DRNet (default: the committed ``cpu`` weights):

1. the digit accuracy of plain reconstructions, content and pose from the *same* frame, next to the swap accuracy:
   if they are equal, no content is lost by moving it between clips or times, only by drawing it;
2. an MLP probe (appendix D's) on h_c for each channel's digit: how much identity the content code holds;
3. a wider decoder fitted on the frozen codes with the reconstruction loss alone (eq. 1, content of x^t, pose of
   x^{t+k}), evaluated on held-out swaps as it trains: what a decoder of more capacity draws from the same codes.

    python benchmarks/decoder_refit.py [--checkpoint checkpoints/mnist_cpu.pt] [--nf 48] [--steps 12000]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_utils import MovingMNIST  # noqa: E402
from drnet_core import DRNet, losses  # noqa: E402
from drnet_core.nets import DCGANDecoder, init_weights  # noqa: E402
from drnet_core.report import run_info  # noqa: E402
from drnet_core.runtime import autocast, cpu_has_native_bf16  # noqa: E402
from drnet_experiments.mnist_swaps import load_digit_classifier, swap_metrics, swap_pairs  # noqa: E402
from drnet_experiments.probe import encode_all, train_probe  # noqa: E402


def same_frame_accuracy(model: DRNet, count: int = 1000) -> tuple[float, float]:
    """Digit accuracy of D(E_c(x), E_p(x)) and of the swap D(E_c(x_i), E_p(x_j)) on the held-out swap set."""
    pairs, classifier = swap_pairs(count), load_digit_classifier()
    same_frame = dataclasses.replace(pairs, pose_frames=pairs.content_frames, ideal=pairs.content_frames)
    return swap_metrics(model, same_frame, classifier)["swap_accuracy"], swap_metrics(model, pairs, classifier)["swap_accuracy"]


def content_probe(model: DRNet, train_frames: int = 6000, test_frames: int = 2000) -> list[float]:
    """Test accuracy of an MLP probe on h_c for the digit of each colour channel (chance 0.10)."""

    def frames(split: str, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        data = MovingMNIST(split, seq_len=20)
        specs = data.fixed_specs(count, seed=seed)
        specs = specs.at_times(torch.randint(0, 20, (count, 1), generator=torch.Generator().manual_seed(seed)))
        return data.render(specs)[:, 0], data.digit_labels(specs)

    (x_train, y_train), (x_test, y_test) = frames("train", train_frames, 1), frames("test", test_frames, 2)
    h_train, h_test = encode_all(model, x_train)[0], encode_all(model, x_test)[0]
    split = int(0.85 * train_frames)
    return [
        train_probe((h_train[:split], y_train[:split, ch]), (h_train[split:], y_train[split:, ch]), (h_test, y_test[:, ch]), 10).test_accuracy
        for ch in range(y_train.shape[1])
    ]


def refit_decoder(model: DRNet, nf: int, steps: int, batch_size: int, lr: float, eval_every: int, eval_swaps: int, max_offset: int = 10) -> list[dict]:
    """Fit a fresh DCGAN decoder of width ``nf`` on the frozen E_c and E_p (eq. 1 only); returns the swap curve."""
    model = model.float().eval().requires_grad_(False)
    cfg = model.config
    decoder = DCGANDecoder(cfg.content_dim, cfg.pose_dim, cfg.channels, nf)
    decoder.apply(init_weights)
    decoder = decoder.to(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(decoder.parameters(), lr=lr, betas=(0.5, 0.999))
    precision = "bf16" if cpu_has_native_bf16() else "fp32"
    data, pairs, generator = MovingMNIST("train", seq_len=20), swap_pairs(eval_swaps), torch.Generator().manual_seed(0)
    probe_model, curve, start = copy.deepcopy(model), [], time.perf_counter()
    for step in range(1, steps + 1):
        x_t, x_tk = (x.contiguous(memory_format=torch.channels_last) for x in data.sample_pairs(batch_size, max_offset, generator))
        with torch.no_grad():
            content, pose = model.content_encoder(x_t), model.pose_encoder(x_tk)
        with autocast(torch.device("cpu"), precision):
            prediction = decoder(content, pose, None)
        loss = losses.reconstruction_loss(prediction.float(), x_tk, "sum")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if step % eval_every == 0 or step == steps:
            probe_model.decoder = decoder.eval()
            result = swap_metrics(probe_model, pairs)
            decoder.train()
            curve.append({"step": step, "seconds": time.perf_counter() - start, "rec": loss.item(), **result})
            print(
                f"  step {step:6d}  {curve[-1]['seconds']:6.0f} s  rec {loss.item():6.1f}  swap accuracy {result['swap_accuracy']:.3f}  "
                f"pose error {result['pose_error_px']:.2f} px",
                flush=True,
            )
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/mnist_cpu.pt"))
    parser.add_argument("--nf", type=int, default=48, help="width of the refitted decoder")
    parser.add_argument("--steps", type=int, default=12_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--eval-swaps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(run_info("diagnostic"), flush=True)
    model = DRNet.load(args.checkpoint)
    print(f"{args.checkpoint}: nf {model.config.nf}, |h_c| {model.config.content_dim}, |h_p| {model.config.pose_dim}")
    same, swap = same_frame_accuracy(model)
    print(f"digit accuracy on 1,000 held-out frames: same-frame reconstruction {same:.3f}, swap {swap:.3f}")
    probes = content_probe(model)
    print("MLP probe on h_c, held-out frames: " + ", ".join(f"channel {ch} {acc:.3f}" for ch, acc in enumerate(probes)))
    print(f"refitting a decoder of width {args.nf} on the frozen codes ({args.steps} steps of batch {args.batch_size}):")
    refit_decoder(model, args.nf, args.steps, args.batch_size, args.lr, args.eval_every, args.eval_swaps)


if __name__ == "__main__":
    main()
