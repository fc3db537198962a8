"""KTH preparation on AVI files written in the real naming, the dataset, and the SynthKTH stand-in."""

import json

import numpy as np
import pytest
import torch

from data_utils import synth_kth
from data_utils.kth import ACTIONS, KTHDataset, KTHFormatError, parse_name, parse_sequences, prepare


def _write_avi(path, frames: np.ndarray) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "gray"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _clip(person: int, n: int) -> np.ndarray:
    """160×120 frames whose brightness names the person and whose bright column walks with time."""
    frames = np.full((n, 120, 160), 10 * person, np.uint8)
    for t in range(n):
        frames[t, :, (8 * t) % 160 : (8 * t) % 160 + 8] = 255
    return frames


@pytest.fixture
def raw_kth(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for person, action in ((1, "boxing"), (2, "walking"), (17, "running")):
        _write_avi(raw / f"person{person:02d}_{action}_d1_uncomp.avi", _clip(person, 30))
    (raw / "person03_jogging_d2_uncomp.avi").write_bytes(b"this is not a video")
    (raw / "00sequences.txt").write_text("person01_boxing_d1\t\tframes\t1-12, 13-30\nperson02_walking_d1\t\tframes\t1-30\n")
    return raw


def test_names_and_sequences_are_parsed():
    assert parse_name("person07_handclapping_d3_uncomp") == (7, "handclapping", 3)
    with pytest.raises(ValueError, match="not a KTH video name"):
        parse_name("person7_boxing_d1")
    table = parse_sequences("person01_boxing_d1\t\tframes\t1-95, 96-185\n\nperson01_boxing_d2 frames 1-40\n")
    assert table == {"person01_boxing_d1": [(0, 95), (95, 185)], "person01_boxing_d2": [(0, 40)]}


def test_prepare_decodes_squashes_splits_and_skips_broken_files(raw_kth, tmp_path, capsys):
    out = tmp_path / "prepared"
    videos = prepare(raw_kth, out, image_size=32, verbose=False)
    assert "skipped person03_jogging_d2_uncomp.avi" in capsys.readouterr().err
    assert sorted(v.name for v in videos) == ["person01_boxing_d1", "person02_walking_d1", "person17_running_d1"]
    boxing = np.load(out / "person01_boxing_d1.npy")
    assert boxing.shape == (30, 32, 32) and boxing.dtype == np.uint8
    assert abs(int(boxing[0, 16, 30]) - 10) <= 2  # person 1's grey survives the squash (away from the bright bar)
    index = json.loads((out / "index.json").read_text())
    segments = {v["name"]: v["segments"] for v in index["videos"]}
    assert segments["person01_boxing_d1"] == [[0, 12], [12, 30]]  # from 00sequences.txt
    assert segments["person17_running_d1"] == [[0, 30]]  # no entry: the whole clip
    before = (out / "person01_boxing_d1.npy").stat().st_mtime_ns
    prepare(raw_kth, out, image_size=32, verbose=False)  # a re-run skips finished work
    assert (out / "person01_boxing_d1.npy").stat().st_mtime_ns == before


def test_dataset_split_windows_and_boundaries(raw_kth, tmp_path):
    out = tmp_path / "prepared"
    prepare(raw_kth, out, image_size=32, verbose=False)
    train, test = KTHDataset(out, "train", seq_len=10), KTHDataset(out, "test", seq_len=10)
    assert {v.person for v in train.videos} == {1, 2} and {v.person for v in test.videos} == {17}
    clips, labels = train.sample_with_labels(16, 0)
    assert clips.shape == (16, 10, 1, 32, 32) and 0 <= clips.min() and clips.max() <= 1
    assert set(labels.tolist()) <= {ACTIONS.index("boxing"), ACTIONS.index("walking")}
    # boxing's first segment (12 frames) fits windows 0-2 only; the second starts at 12: no window crosses frame 12
    boxing = [i for i, v in enumerate(train.videos) if v.action == "boxing"][0]
    assert all(s + 10 <= 12 or s >= 12 for i, s in train.test_windows(per_segment=3) if i == boxing)
    with pytest.raises(KTHFormatError, match="no train video has a segment of 40 frames"):
        KTHDataset(out, "train", seq_len=40)


def test_corrupt_prepared_files_are_reported(raw_kth, tmp_path):
    out = tmp_path / "prepared"
    prepare(raw_kth, out, image_size=32, verbose=False)
    np.save(out / "person02_walking_d1.npy", np.zeros((5, 32, 32), np.uint8))
    data = KTHDataset(out, "train", seq_len=10)
    walking = [i for i, v in enumerate(data.videos) if v.action == "walking"][0]
    with pytest.raises(KTHFormatError, match="index.json says"):
        data.frames(walking)
    (out / "index.json").write_text("{broken")
    with pytest.raises(KTHFormatError, match="corrupt"):
        KTHDataset(out, "train")


def test_synth_kth_is_deterministic_and_moves():
    a = synth_kth.render_clip(4, "running", "d2", frames=30)
    b = synth_kth.render_clip(4, "running", "d2", frames=30)
    assert a.shape == (30, 64, 64) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert np.abs(a[0].astype(int) - a[10]).mean() > 1  # the person moves
    walk, box = synth_kth.render_clip(4, "walking", "d1", 50), synth_kth.render_clip(4, "boxing", "d1", 50)
    centre = lambda clip: (clip < 100).nonzero()[2].mean()  # noqa: E731  mean column of dark (clothed) pixels
    xs_walk = [centre(walk[t : t + 1]) for t in (0, 20, 40)]
    xs_box = [centre(box[t : t + 1]) for t in (0, 20, 40)]
    assert np.ptp(xs_walk) > 5 and np.ptp(xs_box) < 3  # walking crosses the frame, boxing stays in place
    assert not np.array_equal(synth_kth.render_clip(5, "running", "d2", 30), a)  # another subject looks different


def test_synth_kth_in_the_prepared_format(tmp_path):
    folder = synth_kth.write_prepared(tmp_path, frames=24, size=64, subjects=(0, 16))
    train, test = KTHDataset(folder, "train", seq_len=12), KTHDataset(folder, "test", seq_len=12)
    assert len(train.videos) == 24 and len(test.videos) == 24 and train.source == "SynthKTH stand-in"
    clips, labels = test.sample_with_labels(12, 0)
    assert clips.shape == (12, 12, 1, 64, 64) and labels.max() < 6
    assert torch.equal(train.window(0, 0, 24)[:, 0], torch.from_numpy(synth_kth.render_clip(0, "walking", "d1", 24)).float() / 255)
