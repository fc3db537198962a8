import platform
import subprocess
import sys
import warnings
from pathlib import Path

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


@pytest.mark.parametrize(
    "avx512_bf16, amx, native", [(True, False, True), (False, True, True), (1, 0, True), (False, False, False), (0, 0, False)]
)
def test_native_bf16_is_avx512_bf16_or_amx_and_only_emulated_bf16_warns(monkeypatch, avx512_bf16, amx, native):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert cpu_has_native_bf16() is native
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    assert any("emulated" in str(w.message) for w in caught) == (not native)


@pytest.mark.parametrize("error", [AttributeError, RuntimeError])
def test_a_torch_without_the_cpu_probes_counts_as_no_native_bf16(monkeypatch, error):
    def missing():
        raise error("no probe")

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", missing)
    assert cpu_has_native_bf16() is False


def _cpu_flags() -> set[str] | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return None


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="reads the x86 flags of /proc/cpuinfo")
def test_native_bf16_agrees_with_the_cpu_flags():
    """The docstring's claim: native bf16 means AVX512-BF16 or AMX-BF16 in the CPU's flags."""
    flags = _cpu_flags()
    if flags is None:
        pytest.skip("no CPU flags in /proc/cpuinfo")
    relevant = sorted(f for f in flags if f.startswith(("avx512", "amx", "avx_ne")))
    assert cpu_has_native_bf16() == bool(flags & {"avx512_bf16", "amx_bf16"}), relevant


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
