"""SynthKTH: the built-in stand-in for the KTH actions dataset, rendered procedurally (paper section 4.3).

KTH (Schüldt, Laptev & Caputo, 2004) films 25 people doing 6 actions in 4 scenarios; it cannot be downloaded
here, so this module renders a stand-in in the same layout:

* 25 **subjects**, each with its own height, build, head size and clothing shades (seeded per subject);
* 6 **actions**: walking, jogging and running cross the frame and turn back, with rising speed, stride and
  gait frequency; boxing, hand waving and hand clapping happen in place;
* 4 **scenarios**, as in KTH: d1 outdoors, d2 outdoors with a scale change (the camera zooms in and out),
  d3 outdoors in different clothes, d4 indoors on a darker background;
* grey, 25 fps, 64 or 128 px square, a little sensor noise, deterministic in (subject, action, scenario).

The figure is articulated: a torso, a head, and two-segment arms and legs whose joint angles follow each action's
periodic motion, drawn as anti-aliased capsules. Within a clip the person, the clothes and the background stay
fixed (content), while the limbs and the position move (pose), so content and pose really are separable. It is
a stand-in: far simpler than real people, with no shadows, camera shake or lighting changes.

To run the book on the real data, download KTH and prepare it with :func:`data_utils.kth.prepare`.
Taught in book/04_kth_prediction.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ACTIONS = ("walking", "jogging", "running", "boxing", "handwaving", "handclapping")
SCENARIOS = ("d1", "d2", "d3", "d4")
SUBJECTS = 25
FPS = 25
VERSION = 1


@dataclass(frozen=True)
class Subject:
    """One person's look: proportions relative to the frame height, and grey shades in [0, 1]."""

    height: float  # standing height as a fraction of the frame
    build: float  # limb and torso thickness factor
    head: float  # head radius factor
    skin: float
    shirt: float
    trousers: float
    alt_shirt: float  # the clothes of scenario d3
    alt_trousers: float


def subject(index: int) -> Subject:
    """The look of subject ``index`` (0-24), deterministic."""
    if not 0 <= index < SUBJECTS:
        raise ValueError(f"KTH has subjects 0-{SUBJECTS - 1} (persons 1-25), got {index}")
    r = np.random.default_rng([VERSION, 7, index])
    return Subject(
        height=r.uniform(0.55, 0.72),
        build=r.uniform(0.8, 1.25),
        head=r.uniform(0.9, 1.15),
        skin=r.uniform(0.55, 0.8),
        shirt=r.uniform(0.05, 0.45),
        trousers=r.uniform(0.05, 0.35),
        alt_shirt=r.uniform(0.5, 0.85),
        alt_trousers=r.uniform(0.35, 0.6),
    )


# -- kinematics ----------------------------------------------------------------------------------------
# Angles in radians, measured from "straight down"; positive swings the limb towards +x (the walking direction).

_GAITS = {  # gait frequency (Hz), thigh swing, knee bend, arm swing, elbow bend, speed (body heights per second), torso lean
    "walking": (0.9, 0.45, 0.5, 0.35, 0.3, 0.55, 0.03),
    "jogging": (1.3, 0.6, 1.0, 0.5, 1.2, 1.0, 0.12),
    "running": (1.6, 0.8, 1.4, 0.7, 1.5, 1.6, 0.22),
}


def _pose_sequence(action: str, frames: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-frame joint angles (T,) for each limb, the horizontal position (fraction of the frame) and facing (±1)."""
    t = np.arange(frames) / FPS
    phase0 = rng.uniform(0, 2 * math.pi)
    zeros = np.zeros(frames)
    if action in _GAITS:
        freq, thigh, knee, arm, elbow, speed, lean = _GAITS[action]
        freq *= rng.uniform(0.9, 1.1)
        w = 2 * math.pi * freq * t + phase0
        swing = np.sin(w)
        # cross the frame and turn back: a triangle wave in x, the facing flips at each turn
        period = 2 * 1.3 / (speed * 0.65)  # seconds for a there-and-back (frame width ≈ 1.3 body heights)
        u = (t / period + rng.uniform(0, 1)) % 1.0
        x = np.where(u < 0.5, u * 2, 2 - u * 2) * 1.3 - 0.15  # −0.15 … 1.15: enters and leaves the frame
        facing = np.where(u < 0.5, 1.0, -1.0)
        bounce = 0.015 * (1 + 2 * (action != "walking")) * np.abs(np.cos(w))
        return {
            "thigh_a": thigh * swing,
            "thigh_b": -thigh * swing,
            "knee_a": knee * np.clip(-np.cos(w), 0, None) + 0.1,
            "knee_b": knee * np.clip(np.cos(w), 0, None) + 0.1,
            "arm_a": -arm * swing,
            "arm_b": arm * swing,
            "elbow_a": np.full(frames, elbow) + 0.2 * swing,
            "elbow_b": np.full(frames, elbow) - 0.2 * swing,
            "x": x,
            "lift": bounce,
            "lean": np.full(frames, lean),
            "facing": facing,
            "frontal": zeros,
        }
    x = np.full(frames, rng.uniform(0.4, 0.6))
    common = {"thigh_a": zeros + 0.12, "thigh_b": zeros - 0.12, "knee_a": zeros + 0.05, "knee_b": zeros + 0.05, "x": x, "lift": zeros, "lean": zeros}
    if action == "boxing":  # side view: fists punch forward in turn, the elbow straightens
        w = 2 * math.pi * rng.uniform(1.3, 1.7) * t + phase0
        punch_a, punch_b = np.clip(np.sin(w), 0, None), np.clip(-np.sin(w), 0, None)
        return {
            **common,
            "arm_a": 1.2 + 0.35 * punch_a,
            "arm_b": 1.1 + 0.35 * punch_b,
            "elbow_a": 1.9 - 1.7 * punch_a,
            "elbow_b": 1.9 - 1.7 * punch_b,
            "lean": zeros + 0.08,
            "facing": np.full(frames, 1.0 if rng.random() < 0.5 else -1.0),
            "frontal": zeros,
        }
    if action == "handwaving":  # frontal: both arms raised to the sides, waving overhead
        w = 2 * math.pi * rng.uniform(0.9, 1.2) * t + phase0
        raise_ = 2.2 + 0.6 * np.sin(w)
        return {
            **common,
            "arm_a": raise_,
            "arm_b": raise_,
            "elbow_a": 0.2 + 0.2 * np.sin(w),
            "elbow_b": 0.2 + 0.2 * np.sin(w),
            "facing": np.ones(frames),
            "frontal": np.ones(frames),
        }
    if action == "handclapping":  # frontal: forearms swing in and out in front of the chest
        w = 2 * math.pi * rng.uniform(1.6, 2.0) * t + phase0
        open_ = 0.5 + 0.5 * np.sin(w)
        return {
            **common,
            "arm_a": np.full(frames, 0.5),
            "arm_b": np.full(frames, 0.5),
            "elbow_a": 1.6 + 0.9 * open_,
            "elbow_b": 1.6 + 0.9 * open_,
            "facing": np.ones(frames),
            "frontal": np.ones(frames),
        }
    raise ValueError(f"unknown action {action!r}; KTH's are {ACTIONS}")


def _segments(pose: dict[str, np.ndarray], who: Subject, scale: np.ndarray, size: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float, int]]:
    """Capsules (start (T, 2), end (T, 2), radius (T,), shade, depth) in pixels, drawn in order of depth."""
    h = who.height * size * scale  # (T,) body height in pixels
    ground = size * (0.5 + who.height * scale / 2 + 0.02)  # feet near the bottom, figure centred vertically
    facing, frontal = pose["facing"], pose["frontal"]
    hip = np.stack([pose["x"] * size, ground - 0.5 * h - pose["lift"] * h], axis=1)
    lean = pose["lean"] * facing
    neck = hip + np.stack([np.sin(lean), -np.cos(lean)], axis=1) * (0.32 * h)[:, None]
    thick = who.build * h / 100

    def limb(root: np.ndarray, angle: np.ndarray, length: np.ndarray, side: float) -> np.ndarray:
        # side view: angles swing along the facing direction; frontal view: left/right limbs open sideways
        direction = np.where(frontal > 0, side, facing)
        return root + np.stack([np.sin(angle) * direction, np.cos(angle)], axis=1) * length[:, None]

    parts = []
    for name, side, depth in (("a", -1.0, 0), ("b", 1.0, 2)):
        shade_dim = 0.85 if depth == 0 else 1.0  # the far limbs are a little darker
        shoulder = neck + np.stack([side * frontal * 0.09 * h, 0.02 * h], axis=1)
        hip_joint = hip + np.stack([side * frontal * 0.05 * h, np.zeros_like(h)], axis=1)
        knee = limb(hip_joint, pose[f"thigh_{name}"], 0.26 * h, side)
        foot = limb(knee, pose[f"thigh_{name}"] - pose[f"knee_{name}"], 0.25 * h, side)
        elbow = limb(shoulder, pose[f"arm_{name}"], 0.17 * h, side)
        hand = limb(elbow, pose[f"arm_{name}"] + pose[f"elbow_{name}"], 0.16 * h, side)
        parts += [
            (hip_joint, knee, 5.5 * thick, who.trousers * shade_dim, depth),
            (knee, foot, 4.5 * thick, who.trousers * shade_dim, depth),
            (shoulder, elbow, 4.0 * thick, who.shirt * shade_dim, depth),
            (elbow, hand, 3.5 * thick, who.skin * shade_dim, depth),
        ]
    parts.append((hip, neck, 8.0 * thick, who.shirt, 1))
    head_centre = neck + np.stack([np.sin(lean), -np.cos(lean)], axis=1) * (0.09 * h)[:, None]
    parts.append((head_centre, head_centre, 6.5 * thick * who.head, who.skin, 1))
    return sorted(parts, key=lambda p: p[4])


def _background(scenario: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """The static scene: a bright outdoor field with a horizon and soft texture, or a darker indoor wall."""
    y, x = np.mgrid[0:size, 0:size] / size
    if scenario == "d4":
        base = 0.42 + 0.05 * np.sin(2 * math.pi * (x * 1.5 + rng.uniform()))
        base = np.where(y > 0.78, 0.3, base)  # the floor
    else:
        horizon = rng.uniform(0.3, 0.45)
        base = np.where(y < horizon, 0.78, 0.66 - 0.08 * (y - horizon))
        base = base + 0.03 * np.sin(2 * math.pi * (x * rng.uniform(2, 4) + y * rng.uniform(1, 3)))
    return base.astype(np.float32)


def render_clip(subject_index: int, action: str, scenario: str, frames: int = 100, size: int = 64, noise: float = 0.015) -> np.ndarray:
    """One clip as uint8 frames (T, size, size), deterministic in (subject, action, scenario)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; KTH's are {SCENARIOS}")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; KTH's are {ACTIONS}")
    who = subject(subject_index)
    if scenario == "d3":
        who = Subject(who.height, who.build, who.head, who.skin, who.alt_shirt, who.alt_trousers, who.alt_shirt, who.alt_trousers)
    rng = np.random.default_rng([VERSION, subject_index, ACTIONS.index(action), SCENARIOS.index(scenario)])
    pose = _pose_sequence(action, frames, rng)
    t = np.arange(frames) / FPS
    scale = 1.0 + (0.25 * np.sin(2 * math.pi * t / 6.0 + rng.uniform(0, 6.3)) if scenario == "d2" else 0.0) * np.ones(frames)
    image = np.repeat(_background(scenario, size, rng)[None], frames, axis=0)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    gx, gy = cols.reshape(1, -1), rows.reshape(1, -1)  # pixel centres (1, P)
    for start, end, radius, shade, _ in _segments(pose, who, scale, size):
        ax, ay = start[:, :1].astype(np.float32), start[:, 1:].astype(np.float32)  # (T, 1)
        abx, aby = (end[:, :1] - start[:, :1]).astype(np.float32), (end[:, 1:] - start[:, 1:]).astype(np.float32)
        px, py = gx - ax, gy - ay
        along = np.clip((px * abx + py * aby) / np.maximum(abx * abx + aby * aby, 1e-6), 0, 1)  # closest point on the bone
        dx, dy = px - along * abx, py - along * aby
        cover = np.clip(np.asarray(radius, np.float32)[:, None] + 0.5 - np.sqrt(dx * dx + dy * dy), 0, 1).reshape(frames, size, size)
        image = image * (1 - cover) + shade * cover
    image = image + rng.normal(0, noise, image.shape).astype(np.float32)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def render_synth_kth(frames: int = 100, size: int = 64, subjects: tuple[int, ...] = tuple(range(SUBJECTS))) -> tuple[np.ndarray, np.ndarray]:
    """All clips of the given subjects: frames (S, 6, 4, T, size, size) uint8 and their index (S, 6, 4, 3) =
    (subject, action, scenario)."""
    out = np.empty((len(subjects), len(ACTIONS), len(SCENARIOS), frames, size, size), np.uint8)
    index = np.empty((len(subjects), len(ACTIONS), len(SCENARIOS), 3), np.int64)
    for i, s in enumerate(subjects):
        for a, action in enumerate(ACTIONS):
            for d, scenario in enumerate(SCENARIOS):
                out[i, a, d] = render_clip(s, action, scenario, frames, size)
                index[i, a, d] = (s, a, d)
    return out, index


def as_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 frames (..., H, W) → float (..., 1, H, W) in [0, 1], the trainer's layout."""
    return torch.from_numpy(frames).float().div_(255).unsqueeze(-3)


def write_prepared(out_dir: str | Path, frames: int = 100, size: int = 64, subjects: tuple[int, ...] = tuple(range(SUBJECTS)), verbose: bool = False) -> Path:
    """Render the stand-in into the prepared-KTH format of :func:`data_utils.kth.prepare` (one .npy per clip and
    index.json), skipping clips already there. Person numbers are 1-25, so the paper's split applies unchanged."""
    from data_utils.files import atomic_save_npy
    from data_utils.kth_format import Video, read_index, write_index

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        done = {v.name: v for v in read_index(out_dir)[0]}
    except (FileNotFoundError, ValueError):
        done = {}
    meta = {"image_size": size, "source": "SynthKTH stand-in", "boundaries": "whole clips"}
    videos = []
    for s in subjects:
        for action in ACTIONS:
            for d, scenario in enumerate(SCENARIOS):
                name = f"person{s + 1:02d}_{action}_d{d + 1}"
                if name in done and (out_dir / f"{name}.npy").is_file():
                    videos.append(done[name])
                    continue
                atomic_save_npy(out_dir / f"{name}.npy", render_clip(s, action, scenario, frames, size))
                videos.append(Video(name, s + 1, action, d + 1, frames, ((0, frames),)))
        write_index(out_dir, videos, meta)
        if verbose:
            print(f"SynthKTH: subject {s + 1} of {len(subjects)} rendered", flush=True)
    write_index(out_dir, videos, meta)
    return out_dir
