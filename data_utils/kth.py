"""KTH actions (Schüldt, Laptev & Caputo, ICPR 2004): preparation of the real videos and the dataset the book trains on.

The official release is 600 files ``personNN_ACTION_dS_uncomp.avi`` (25 persons × 6 actions × 4 scenarios,
160×120 grey at 25 fps) and ``00sequences.txt``, which cuts each file into the 4 repetitions of the action
(``person01_boxing_d1  frames 1-95, 96-185, …``). :func:`prepare` decodes every file with PyAV (no system ffmpeg
needed), squashes the frames to a square of ``image_size`` pixels, and writes one compact uint8 ``.npy`` per
video plus ``index.json`` with the person, action, scenario and the action boundaries (whole clips when
``00sequences.txt`` is absent). Re-running skips the videos already done; a file that will not decode is
reported by name and skipped, and the rest is kept.

The split follows the paper's appendix C: persons 1-16 train, 17-25 test. :class:`KTHDataset` serves training
clips that never cross a boundary and a fixed list of test windows. The built-in stand-in
(:mod:`data_utils.synth_kth`) is written in the same prepared format, so everything downstream is shared.
Point ``$DRNET_KTH_DIR`` at the folder with the AVI files. Taught in book/04_kth_prediction.ipynb.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from data_utils.files import atomic_save_npy, cache_dir
from data_utils.kth_format import ACTIONS, KTHFormatError, Video, read_index, write_index  # noqa: F401  (re-exported)
from data_utils.paths import DataNotFoundError

TRAIN_PERSONS = tuple(range(1, 17))
TEST_PERSONS = tuple(range(17, 26))
NAME = re.compile(r"^person(\d\d)_(walking|jogging|running|boxing|handwaving|handclapping)_d([1-4])(?:_uncomp)?$")
KTH_HELP = (
    "Download the six KTH zip files (walking.zip, jogging.zip, running.zip, boxing.zip, handwaving.zip, "
    "handclapping.zip) and 00sequences.txt from https://www.csc.kth.se/cvap/actions/, unzip them into one folder, "
    "and set DRNET_KTH_DIR to it. Without them the book uses the built-in stand-in (SynthKTH)."
)


def parse_name(stem: str) -> tuple[int, str, int]:
    """``person07_running_d3_uncomp`` → (7, "running", 3); anything else is refused."""
    match = NAME.match(stem)
    if not match:
        raise ValueError(f"{stem!r} is not a KTH video name (personNN_ACTION_dS_uncomp.avi)")
    return int(match.group(1)), match.group(2), int(match.group(3))


def parse_sequences(text: str) -> dict[str, list[tuple[int, int]]]:
    """``00sequences.txt`` → {"person01_boxing_d1": [(0, 95), (95, 185), …]} as 0-based [start, end) ranges."""
    table: dict[str, list[tuple[int, int]]] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*(person\d\d_\w+_d\d)\s+frames\s+(.+)$", line)
        if not match:
            continue
        ranges = []
        for first, last in re.findall(r"(\d+)\s*-\s*(\d+)", match.group(2)):
            if int(last) >= int(first):
                ranges.append((int(first) - 1, int(last)))
        if ranges:
            table[match.group(1)] = ranges
    return table


def decode_video(path: Path, image_size: int) -> np.ndarray:
    """All frames of an AVI as uint8 (T, image_size, image_size) grey, squashed to a square (area filter)."""
    import av  # PyAV: ffmpeg's libraries in a wheel

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="gray"))
    if not frames:
        raise ValueError("no frames")
    video = torch.from_numpy(np.stack(frames)).float()[:, None]
    squashed = F.interpolate(video, size=(image_size, image_size), mode="area")
    return squashed[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()


def prepare(raw_dir: str | Path, out_dir: str | Path, image_size: int = 64, verbose: bool = True) -> list[Video]:
    """Decode every ``personNN_ACTION_dS_uncomp.avi`` under ``raw_dir`` into ``out_dir`` (see the module docstring).

    Returns the videos now prepared. Videos already in ``out_dir`` are kept; undecodable ones are reported
    on stderr and skipped.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    avis = sorted(p for p in raw_dir.rglob("*.avi") if NAME.match(p.stem))
    if not avis:
        raise DataNotFoundError(f"no KTH videos (personNN_ACTION_dS_uncomp.avi) under {raw_dir}. {KTH_HELP}")
    sequences_file = next(iter(sorted(raw_dir.rglob("00sequences.txt"))), None)
    boundaries = parse_sequences(sequences_file.read_text(errors="replace")) if sequences_file else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        done = {v.name: v for v in read_index(out_dir)[0]}
    except (DataNotFoundError, KTHFormatError):
        done = {}
    meta = {"image_size": image_size, "source": f"KTH ({raw_dir})", "boundaries": str(sequences_file) if sequences_file else "whole clips"}
    videos: list[Video] = []
    for path in avis:
        person, action, scenario = parse_name(path.stem)
        name = f"person{person:02d}_{action}_d{scenario}"
        target = out_dir / f"{name}.npy"
        if name in done and target.is_file():
            videos.append(done[name])
            continue
        try:
            frames = decode_video(path, image_size)
        except Exception as err:  # PyAV raises several error types for broken files
            print(f"skipped {path.name}: cannot decode ({type(err).__name__}: {err})", file=sys.stderr)
            continue
        segments = [(a, min(b, len(frames))) for a, b in boundaries.get(name, [(0, len(frames))]) if a < len(frames)]
        atomic_save_npy(target, frames)
        videos.append(Video(name, person, action, scenario, len(frames), tuple(segments)))
        write_index(out_dir, videos, meta)  # after each video: an interrupted run loses at most one
        if verbose:
            print(f"prepared {name}: {len(frames)} frames, {len(segments)} segments", flush=True)
    write_index(out_dir, videos, meta)
    return videos


class KTHDataset:
    """Clips of a prepared KTH folder (real or stand-in) for one split.

    ``sample(B, generator)`` draws training clips as the public code does: an action uniformly, then a video of
    that action, then a segment, then a window of ``seq_len`` frames inside it (windows never cross an action
    boundary). ``test_windows(seq_len)`` is a fixed list of windows for evaluation.
    Frames come as float (B, T, 1, S, S) in [0, 1].
    """

    def __init__(self, folder: str | Path, split: str, seq_len: int = 20) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.folder = Path(folder)
        videos, meta = read_index(self.folder)
        persons = TRAIN_PERSONS if split == "train" else TEST_PERSONS
        self.videos = [v for v in videos if v.person in persons and any(b - a >= seq_len for a, b in v.segments)]
        if not self.videos:
            raise KTHFormatError(f"{self.folder}: no {split} video has a segment of {seq_len} frames")
        self.seq_len, self.split = seq_len, split
        self.image_size = int(meta.get("image_size", 64))
        self.source = meta.get("source", str(self.folder))
        self.channels = 1
        self._frames: dict[str, np.ndarray] = {}
        self.by_action = {a: [i for i, v in enumerate(self.videos) if v.action == a] for a in ACTIONS}
        self.actions = [a for a in ACTIONS if self.by_action[a]]

    def frames(self, index: int) -> np.ndarray:
        """The uint8 frames (T, S, S) of video ``index`` (memory-mapped, loaded once)."""
        video = self.videos[index]
        if video.name not in self._frames:
            path = self.folder / f"{video.name}.npy"
            try:
                array = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as err:
                raise KTHFormatError(f"{path} cannot be read ({err}); delete it and run prepare again") from err
            if array.shape != (video.frames, self.image_size, self.image_size):
                raise KTHFormatError(f"{path} holds {array.shape}, index.json says {(video.frames, self.image_size, self.image_size)}")
            self._frames[video.name] = array
        return self._frames[video.name]

    def window(self, index: int, start: int, length: int | None = None) -> torch.Tensor:
        """Frames start … start+length of video ``index``: float (T, 1, S, S)."""
        length = length or self.seq_len
        return torch.from_numpy(np.array(self.frames(index)[start : start + length])).float().div_(255)[:, None]

    def sample_with_labels(self, batch_size: int, generator: torch.Generator | int) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
        clips, labels = [], []
        for _ in range(batch_size):
            action = self.actions[int(torch.randint(len(self.actions), (1,), generator=gen))]
            candidates = self.by_action[action]
            index = candidates[int(torch.randint(len(candidates), (1,), generator=gen))]
            segments = [s for s in self.videos[index].segments if s[1] - s[0] >= self.seq_len]
            a, b = segments[int(torch.randint(len(segments), (1,), generator=gen))]
            start = a + int(torch.randint(b - a - self.seq_len + 1, (1,), generator=gen))
            clips.append(self.window(index, start))
            labels.append(ACTIONS.index(action))
        return torch.stack(clips), torch.tensor(labels)

    def sample(self, batch_size: int, generator: torch.Generator | int) -> torch.Tensor:
        """A batch of training clips (B, T, 1, S, S): the trainer's interface."""
        return self.sample_with_labels(batch_size, generator)[0]

    def test_windows(self, seq_len: int | None = None, per_segment: int = 1) -> list[tuple[int, int]]:
        """A fixed list of (video index, start frame): ``per_segment`` evenly spaced windows in every segment."""
        seq_len = seq_len or self.seq_len
        windows = []
        for i, video in enumerate(self.videos):
            for a, b in video.segments:
                if b - a < seq_len:
                    continue
                for start in np.linspace(a, b - seq_len, per_segment).round().astype(int):
                    windows.append((i, int(start)))
        return windows


def find_kth_dir(root: str | Path | None = None) -> Path:
    """The folder of raw KTH videos named by ``root`` or ``$DRNET_KTH_DIR``; raises with download advice if absent."""
    folder = root or os.environ.get("DRNET_KTH_DIR")
    if not folder or not any(Path(folder).rglob("person*_d*.avi")):
        raise DataNotFoundError(f"KTH videos not found in {folder or '$DRNET_KTH_DIR (unset)'}. {KTH_HELP}")
    return Path(folder)


def load_kth(split: str, seq_len: int = 20, image_size: int = 64, frames: int = 100, subjects: tuple[int, ...] | None = None) -> KTHDataset:
    """Real KTH when ``$DRNET_KTH_DIR`` holds the videos (prepared once into the cache), else the SynthKTH stand-in.

    ``frames`` and ``subjects`` (0-based) shape the stand-in only: the ``ci`` profile renders fewer, shorter clips.
    """
    from data_utils.synth_kth import SUBJECTS, VERSION, write_prepared

    try:
        raw = find_kth_dir()
    except DataNotFoundError:
        raw = None
    if raw is not None:
        folder = cache_dir() / f"kth_prepared_s{image_size}"
        prepare(raw, folder, image_size, verbose=False)
        return KTHDataset(folder, split, seq_len)
    subjects = tuple(range(SUBJECTS)) if subjects is None else tuple(subjects)
    tag = "all" if subjects == tuple(range(SUBJECTS)) else "-".join(map(str, subjects))
    folder = write_prepared(cache_dir() / f"synth_kth_v{VERSION}_s{image_size}_t{frames}_{tag}", frames, image_size, subjects)
    return KTHDataset(folder, split, seq_len)
