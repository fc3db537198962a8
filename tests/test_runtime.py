import subprocess
import sys

import pytest
import torch

from data_utils import MovingMNIST
from drnet_core import experiment
from drnet_core.runtime import cpu_has_native_bf16, peak_rss_gib, resolve_precision
from drnet_core.train import Trainer


def test_auto_precision_is_float32_on_a_cpu_and_fp16_is_refused():
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp8", cpu)
    assert isinstance(cpu_has_native_bf16(), bool)


def test_a_bf16_step_on_the_cpu_gives_the_float32_losses_within_bf16_rounding(tmp_path):
    data = MovingMNIST("train", seq_len=12)
    x_t, x_tk = data.sample_pairs(8, 6, 0)
    terms = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        exp = experiment("mnist", "ci", **{"train.precision": precision, "train.device": "cpu"})
        trainer = Trainer(exp, data, out_dir=tmp_path / precision, progress=False)
        terms[precision] = {k: v.item() for k, v in trainer.train_step(x_t, x_tk).items()}
    for key in ("rec", "sim", "adv_pose", "disc"):
        assert terms["bf16"][key] == pytest.approx(terms["fp32"][key], rel=3e-2), key


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_memory_of_a_child_process_is_its_own_not_the_parents():
    """ru_maxrss survives fork + exec; the benchmark's per-profile memory figure must not inherit ours."""
    ballast = bytearray(1 << 30)  # 1 GiB, touched page by page so that it is resident
    ballast[::4096] = b"\x01" * (len(ballast) // 4096)
    assert peak_rss_gib() > 1.0
    code = "from drnet_core.runtime import peak_rss_gib; print(peak_rss_gib())"
    child = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert 0.01 < child < 0.9
    del ballast
