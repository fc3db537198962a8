import json

import pytest
import torch

from drnet_core import CheckpointError, DRNet, ModelConfig, load_checkpoint, save_checkpoint


@pytest.fixture
def model():
    torch.manual_seed(0)
    return DRNet(ModelConfig(nf=4)).eval()


def test_round_trip_gives_the_same_outputs(model, tmp_path):
    model.save(tmp_path / "m.pt", {"note": "x"})
    loaded = DRNet.load(tmp_path / "m.pt")
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(model.encode_pose(x), loaded.encode_pose(x))
    assert torch.equal(model.decode(model.encode_content(x), model.encode_pose(x)), loaded.decode(loaded.encode_content(x), loaded.encode_pose(x)))
    assert json.loads((tmp_path / "m.json").read_text())["note"] == "x"
    assert not list(tmp_path.glob("*.tmp")), "atomic writes leave no temporary files"


def test_half_storage_loads_as_float32(model, tmp_path):
    model.save(tmp_path / "h", half=True)
    state, sidecar = load_checkpoint(tmp_path / "h")
    assert sidecar["storage_dtype"] == "float16"
    assert state["decoder.out.weight"].dtype == torch.float32
    assert torch.allclose(state["decoder.out.weight"], model.state_dict()["decoder.out.weight"], atol=1e-3)


def test_int8_storage_quantizes_weights_within_half_a_step_and_halves_the_file(model, tmp_path):
    from drnet_core.checkpoint import INT8_MIN_NUMEL, as_stored

    model.save(tmp_path / "h", storage="float16")
    model.save(tmp_path / "q", storage="int8")
    assert (tmp_path / "q.pt").stat().st_size < 0.6 * (tmp_path / "h.pt").stat().st_size
    raw = torch.load(tmp_path / "q.pt", weights_only=True)
    assert raw["decoder.stem.0.weight"]["int8"].dtype == torch.int8  # (c + p, 8 nf, 4, 4): one scale per row
    assert raw["decoder.out.weight"].dtype == torch.float16  # small (nf, 3, 4, 4) and 1-D tensors stay float16
    assert raw["decoder.out.bias"].dtype == torch.float16
    state, sidecar = load_checkpoint(tmp_path / "q")
    assert sidecar["storage_dtype"] == "int8"
    for name, original in model.state_dict().items():
        loaded = state[name]
        assert loaded.shape == original.shape and loaded.dtype == original.dtype
        if original.is_floating_point() and original.ndim >= 2 and original.numel() >= INT8_MIN_NUMEL:
            step = original.abs().flatten(1).amax(1) / 127  # one quantization step per slice
            error = (loaded - original).abs().flatten(1).amax(1)
            assert (error <= 0.51 * step + 1e-4 * step.max()).all(), name
            assert not torch.equal(loaded, original), f"{name} should be quantized"
    assert torch.equal(as_stored(model.state_dict(), "int8")["decoder.stem.0.weight"], state["decoder.stem.0.weight"])
    x = torch.rand(2, 3, 64, 64)
    quantized = DRNet.load(tmp_path / "q")
    gap = (quantized.swap(x, x.flip(0)) - model.swap(x, x.flip(0))).abs().max().item()
    assert gap < 0.05
    with pytest.raises(ValueError, match="storage must be one of"):
        model.save(tmp_path / "bad", storage="int4")


def test_corrupt_weights_fail_the_hash(model, tmp_path):
    model.save(tmp_path / "c.pt")
    raw = bytearray((tmp_path / "c.pt").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "c.pt").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256"):
        DRNet.load(tmp_path / "c.pt")


def test_missing_or_broken_sidecar(model, tmp_path):
    model.save(tmp_path / "s.pt")
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        DRNet.load(tmp_path / "s.pt")
    (tmp_path / "s.json").unlink()
    with pytest.raises(CheckpointError, match="sidecar not found"):
        DRNet.load(tmp_path / "s.pt")


def test_config_mismatch_names_the_keys(model, tmp_path):
    model.save(tmp_path / "k.pt")
    with pytest.raises(CheckpointError, match=r"model.nf: expected 8, checkpoint has 4"):
        load_checkpoint(tmp_path / "k.pt", expected_config={"model": {**model.config.__dict__, "nf": 8}})


def test_weights_that_do_not_fit_the_sidecar_config(model, tmp_path):
    model.save(tmp_path / "w.pt")
    sidecar = json.loads((tmp_path / "w.json").read_text())
    sidecar["config"]["model"]["pose_dim"] = 7
    (tmp_path / "w.json").write_text(json.dumps(sidecar))
    with pytest.raises(CheckpointError, match="do not fit"):
        DRNet.load(tmp_path / "w.pt")


def test_pickled_code_is_refused(tmp_path):
    import hashlib

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "e.pt")
    digest = hashlib.sha256((tmp_path / "e.pt").read_bytes()).hexdigest()
    (tmp_path / "e.json").write_text(json.dumps({"format": "drnet-checkpoint/1", "weights": "e.pt", "sha256": digest, "config": {}}))
    with pytest.raises(CheckpointError, match="cannot load safely"):
        load_checkpoint(tmp_path / "e.pt")


def test_save_checkpoint_nested_state(tmp_path):
    save_checkpoint(tmp_path / "n", {"a": {"w": torch.ones(2)}, "step": 3}, {"cfg": 1})
    state, _ = load_checkpoint(tmp_path / "n")
    assert state["step"] == 3 and torch.equal(state["a"]["w"], torch.ones(2))


def test_public_api_shapes_and_input_checks(model):
    x = torch.rand(3, 3, 64, 64)
    assert model.encode_content(x).shape == (3, 128)
    pose = model.encode_pose(x)
    assert pose.shape == (3, 5)
    assert torch.allclose(pose.norm(dim=1), torch.ones(3), atol=1e-5), "codes have unit norm (paper section 4.1)"
    out = model.decode(model.encode_content(x), pose)
    assert out.shape == (3, 3, 64, 64)
    # the frame is the sigmoid of the last layer: with its kernel zeroed, each channel is sigmoid(that channel's bias)
    with torch.no_grad():
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.copy_(torch.tensor([-3.0, 0.0, 2.0]))
        flat = model.decode(model.encode_content(x), pose)
    assert torch.allclose(flat, torch.sigmoid(torch.tensor([-3.0, 0.0, 2.0]))[None, :, None, None].expand(3, 3, 64, 64), atol=1e-6)
    with pytest.raises(ValueError, match=r"\(B, 3, 64, 64\)"):
        model.encode_pose(torch.rand(3, 64, 64))
    with pytest.raises(ValueError, match="float"):
        model.encode_pose(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
