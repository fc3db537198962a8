"""The prepared-KTH format shared by the real-video preparation (:mod:`data_utils.kth`) and the stand-in's
writer (:mod:`data_utils.synth_kth`): one ``.npy`` of uint8 frames per video and an ``index.json`` that lists them.
Taught in book/04_kth_prediction.ipynb."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from data_utils.files import atomic_write_text
from data_utils.paths import DataNotFoundError

ACTIONS = ("walking", "jogging", "running", "boxing", "handwaving", "handclapping")


class KTHFormatError(ValueError):
    """A prepared KTH folder is incomplete or inconsistent."""


@dataclass(frozen=True)
class Video:
    """One prepared video: where its frames are and what it shows. ``segments`` are [start, end) frame ranges."""

    name: str
    person: int
    action: str
    scenario: int
    frames: int
    segments: tuple[tuple[int, int], ...]

    @property
    def label(self) -> int:
        return ACTIONS.index(self.action)


def write_index(out_dir: Path, videos: list[Video], meta: dict) -> None:
    payload = {"meta": meta, "videos": [{**v.__dict__, "segments": [list(s) for s in v.segments]} for v in videos]}
    atomic_write_text(Path(out_dir) / "index.json", json.dumps(payload, indent=1))


def read_index(folder: Path) -> tuple[list[Video], dict]:
    path = Path(folder) / "index.json"
    if not path.is_file():
        raise DataNotFoundError(f"no prepared KTH in {folder} (index.json missing); run data_utils.kth.prepare(raw_dir, out_dir) first")
    try:
        payload = json.loads(path.read_text())
        videos = [Video(**{**v, "segments": tuple(tuple(s) for s in v["segments"])}) for v in payload["videos"]]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise KTHFormatError(f"{path} is corrupt ({err}); delete it and run prepare again") from err
    return videos, payload.get("meta", {})
