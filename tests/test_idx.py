import gzip

import numpy as np
import pytest

from data_utils import DataNotFoundError, IDXFormatError, load_mnist, read_idx
from data_utils.idx import write_idx
from data_utils.paths import find_mnist_files


def test_round_trip_raw_and_gzip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "b-idx3-ubyte.gz"):
        path = write_idx(tmp_path / name, array)
        np.testing.assert_array_equal(read_idx(path), array)
    assert gzip.decompress((tmp_path / "b-idx3-ubyte.gz").read_bytes())[:4] == bytes([0, 0, 8, 3])


def test_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "bad-idx"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 12)
    with pytest.raises(IDXFormatError, match="bad-idx.*bad magic"):
        read_idx(path)


def test_truncated_payload(tmp_path):
    path = write_idx(tmp_path / "t-idx3-ubyte", np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IDXFormatError, match="truncated"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "t-idx3-ubyte.gz", np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(IDXFormatError, match="corrupt or truncated"):
        read_idx(path)


def test_trailing_bytes_and_wrong_shape(tmp_path):
    path = write_idx(tmp_path / "x-idx", np.zeros((3, 5), np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(IDXFormatError, match="trailing"):
        read_idx(path)
    path = write_idx(tmp_path / "y-idx", np.zeros((3, 5, 5), np.uint8))
    with pytest.raises(IDXFormatError, match="dimension 1 is 5, expected 28"):
        read_idx(path, expect_shape=(None, 28, 28))
    with pytest.raises(IDXFormatError, match="expected 1"):
        read_idx(path, expect_ndim=1)


def test_missing_data_says_where_to_get_it(tmp_path, monkeypatch):
    import data_utils.paths as paths

    monkeypatch.setenv("DRNET_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "nowhere")
    with pytest.raises(DataNotFoundError, match="official MNIST mirror"):
        find_mnist_files("test")


def test_data_dir_env_wins(tmp_path, monkeypatch):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((4, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3, 4], np.uint8))
    monkeypatch.setenv("DRNET_DATA_DIR", str(tmp_path))
    images, labels = find_mnist_files("test")
    assert images.parent == tmp_path and labels.name.startswith("t10k-labels")


def test_shipped_mnist_is_real():
    test = load_mnist("test")
    assert tuple(test.images.shape) == (10000, 28, 28)
    # the official per-class test counts (data/mnist/SOURCE.md)
    assert test.labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    train = load_mnist("train", size=32)
    assert tuple(train.images.shape) == (10000, 32, 32) and len(train.labels) == 10000
    assert train.labels[:9].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1]


def test_download_checks_the_md5(tmp_path):
    import hashlib

    from data_utils.download_mnist import ChecksumError, download

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "f.gz").write_bytes(b"payload")
    good = {"f.gz": hashlib.md5(b"payload").hexdigest()}
    written = download(tmp_path / "dest", mirror.as_uri(), good)
    assert written[0].read_bytes() == b"payload"
    with pytest.raises(ChecksumError, match="MD5"):
        download(tmp_path / "dest2", mirror.as_uri(), {"f.gz": "0" * 32})
    assert not (tmp_path / "dest2" / "f.gz").exists()
