"""SynthNORB: deterministic, smallNORB-shaped, shaded, cached, and split like smallNORB."""

import numpy as np
import pytest
import torch

from data_utils import synth_norb as sn
from data_utils.norb import load_norb


@pytest.fixture(scope="module")
def small_render():
    return sn.render_synth_norb(elevations=(0, 8), lightings=(0, 4), image_size=64)


def test_layout_and_labels(small_render):
    images, labels = small_render
    assert images.shape == (50, 2, 2, 18, 64, 64) and images.dtype == np.uint8
    assert labels.tolist() == [c for c in range(5) for _ in range(10)]


def test_rendering_is_deterministic():
    a, _ = sn.render_synth_norb(elevations=(3,), lightings=(2,))
    b, _ = sn.render_synth_norb(elevations=(3,), lightings=(2,))
    assert np.array_equal(a, b)


def test_objects_are_centred_shaded_and_turn(small_render):
    images, _ = small_render
    foreground = images != images[..., :1, :1]  # the corner pixel is background
    assert foreground.mean() > 0.03  # objects fill part of the frame
    rows, cols = np.nonzero(foreground.reshape(-1, 64, 64).any(0))
    assert abs((rows.min() + rows.max()) / 2 - 31.5) < 8 and abs((cols.min() + cols.max()) / 2 - 31.5) < 8
    obj = images[33, 0, 0].astype(float)  # a truck at 30°, light 0: several grey levels, not a silhouette
    assert len(np.unique(obj[obj != obj[0, 0, 0]])) > 20
    assert np.abs(obj[0] - obj[4]).mean() > 2  # the view changes with the azimuth
    assert np.abs(images[33, 0, 0].astype(float) - images[33, 0, 1]).mean() > 1  # and the shading with the light


def test_instances_differ_and_categories_differ(small_render):
    images, _ = small_render
    a, b, other = images[0, 0, 0, 0].astype(float), images[1, 0, 0, 0].astype(float), images[20, 0, 0, 0].astype(float)
    assert np.abs(a - b).mean() > 1 and np.abs(a - other).mean() > 1


def test_split_follows_smallnorb_and_cache_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("DRNET_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("DRNET_NORB_DIR", str(tmp_path / "absent"))
    train = load_norb("train", seq_len=5, elevations=(1,), lightings=(0,))
    test = load_norb("test", seq_len=5, elevations=(1,), lightings=(0,))
    assert train.source == "SynthNORB stand-in" and len(list(tmp_path.glob("*.npz"))) == 1
    assert (train.n_objects, train.n_conditions, train.n_views) == (25, 1, 18)
    assert train.labels.bincount().tolist() == [5] * 5 and test.labels.bincount().tolist() == [5] * 5
    images, _ = sn.synth_norb_arrays(elevations=(1,), lightings=(0,))
    assert torch.equal(train.frames[0, 0], torch.as_tensor(images[sn.TRAIN_INSTANCES[0]].reshape(18, 64, 64)))
    assert torch.equal(test.frames[6, 0], torch.as_tensor(images[10 + sn.TEST_INSTANCES[1]].reshape(18, 64, 64)))
    (tmp_path / next(tmp_path.glob("*.npz")).name).write_bytes(b"corrupt")  # a broken cache is re-rendered
    again, _ = sn.synth_norb_arrays(elevations=(1,), lightings=(0,))
    assert np.array_equal(again, images)


def test_bad_condition_indices_are_refused():
    with pytest.raises(ValueError, match="elevations must be indices"):
        sn.render_synth_norb(elevations=(9,))
