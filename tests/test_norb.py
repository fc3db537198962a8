"""smallNORB reader and turntable clips, on tiny files written in the real format."""

import numpy as np
import pytest
import torch

from data_utils import DataNotFoundError
from data_utils.norb import FILES, NORBFormatError, read_norb_matrix, smallnorb_turntable, write_norb_matrix
from data_utils.turntable import TurntableDataset


def _write_split(folder, split, categories=2, instances=(4, 6), elevations=2, azimuths=4, lightings=2, size=8, gz=False):
    rows = [(c, i, e, a, light) for c in range(categories) for i in instances for e in range(elevations) for a in range(azimuths) for light in range(lightings)]
    images = np.zeros((len(rows), 2, size, size), np.uint8)
    for n, (c, i, e, a, light) in enumerate(rows):
        images[n, 0] = 10 * c + i + e + light  # the object's "look"
        images[n, 0, a, :] = 255  # a bright row that moves with the azimuth: the "pose"
    cat = np.array([r[0] for r in rows], np.int32)
    info = np.array([[r[1], r[2], 2 * r[3], r[4]] for r in rows], np.int32)
    suffix = ".gz" if gz else ""
    write_norb_matrix(folder / (FILES[split].format("dat") + suffix), images)
    write_norb_matrix(folder / (FILES[split].format("cat") + suffix), cat)
    write_norb_matrix(folder / (FILES[split].format("info") + suffix), info)


@pytest.fixture
def norb_dir(tmp_path):
    _write_split(tmp_path, "train")
    _write_split(tmp_path, "test", instances=(0, 1), gz=True)
    return tmp_path


def test_header_round_trip_and_padding_of_small_ndim(tmp_path):
    cat = np.arange(5, dtype=np.int32)
    path = write_norb_matrix(tmp_path / "c.mat", cat)
    raw = path.read_bytes()
    assert raw[:4] == (0x1E3D4C54).to_bytes(4, "little") and int.from_bytes(raw[4:8], "little") == 1
    assert len(raw) == 8 + 3 * 4 + 5 * 4, "ndim < 3 still stores three dimensions"
    np.testing.assert_array_equal(read_norb_matrix(path), cat)


def test_corrupt_header_and_truncation_are_reported(tmp_path):
    path = write_norb_matrix(tmp_path / "d.mat", np.zeros((2, 2, 4, 4), np.uint8))
    raw = bytearray(path.read_bytes())
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"\x00\x11\x22\x33" + bytes(raw[4:]))
    with pytest.raises(NORBFormatError, match="bad magic"):
        read_norb_matrix(bad)
    bad.write_bytes(bytes(raw[:-7]))
    with pytest.raises(NORBFormatError, match="file holds"):
        read_norb_matrix(bad)


def test_turntable_from_real_format_files(norb_dir):
    train = smallnorb_turntable("train", norb_dir, seq_len=3, image_size=8)
    assert (train.n_objects, train.n_conditions, train.n_views) == (4, 4, 4)
    assert train.labels.tolist() == [0, 0, 1, 1]
    clips, labels = train.sample_with_labels(6, 0)
    assert clips.shape == (6, 3, 1, 8, 8) and clips.max() <= 1
    # within a clip the bright row walks one azimuth step per frame, wrapping around
    rows = clips[:, :, 0].amax(dim=3).argmax(dim=2)
    assert ((rows[:, 1] - rows[:, 0]) % 4 == 1).all()
    test = smallnorb_turntable("test", norb_dir, seq_len=3, image_size=8)
    assert test.n_objects == 4


def test_missing_files_say_where_to_get_them(tmp_path):
    with pytest.raises(DataNotFoundError, match="DRNET_NORB_DIR"):
        smallnorb_turntable("train", tmp_path)


def test_generic_turntable_with_condition_axes():
    images = np.random.default_rng(0).integers(0, 255, (3, 2, 5, 6, 16, 16), dtype=np.uint8)  # objects, cond, cond, views, H, W
    data = TurntableDataset(images, [0, 1, 2], seq_len=4, image_size=8)
    assert len(data) == 3 * 10 and data.n_views == 6
    clip = data.clips(torch.tensor([1]), torch.tensor([7]), torch.tensor([5]))
    expected = torch.nn.functional.interpolate(torch.tensor(images[1].reshape(10, 6, 16, 16)[7, [5, 0, 1, 2]]).float()[:, None], size=8, mode="area")
    assert torch.allclose(clip[0] * 255, expected.round(), atol=0.51)
    frames, labels = data.all_frames()
    assert frames.shape == (3 * 10 * 6, 1, 8, 8) and labels.bincount().tolist() == [60, 60, 60]
    with pytest.raises(ValueError, match="one label per object"):
        TurntableDataset(images, [0, 1], seq_len=4)
    with pytest.raises(ValueError, match="without wrapping"):
        TurntableDataset(images, [0, 1, 2], seq_len=7, wrap=False)
