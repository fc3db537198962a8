"""SynthNORB: the built-in stand-in for smallNORB, rendered procedurally (paper section 4.2, NORB).

smallNORB cannot be downloaded here, so every chapter can run on this instead. It copies smallNORB's layout:

* 5 categories in NORB's spirit — four-legged animals, human figures, airplanes, trucks, cars — with
  10 instances each that differ in their proportions (seeded per instance, so instance 3 is always the same);
* 18 azimuths (0°, 20°, …, 340°), 9 elevations (30°, 35°, …, 70°) and 6 lighting conditions;
* grey, Lambertian shading (ambient + diffuse from one light direction per lighting condition), centred,
  rendered at 96 px and resized to 64 px with an area filter, as the book does with the real images;
* the official split: instances 4, 6, 7, 8, 9 train, instances 0, 1, 2, 3, 5 test.

Each object is a union of ellipsoids and boxes, ray-cast with an orthographic camera. It is a stand-in: the
objects are far simpler than NORB's toys, and there are no shadows or stereo pairs. To run the book on the real
data, download smallNORB and set ``DRNET_NORB_DIR`` (see :func:`data_utils.norb.smallnorb_turntable`).

Rendering all 48,600 images takes about half a minute on 2 cores; :func:`synth_norb` caches the result under
``$DRNET_CACHE_DIR`` (default ``~/.cache/drnet``). Taught in book/03_norb_ablation.ipynb.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from data_utils.files import atomic_save_npz, cache_dir  # noqa: F401  (cache_dir: re-exported)
from data_utils.turntable import TurntableDataset

CATEGORIES = ("four-legged animal", "human figure", "airplane", "truck", "car")
INSTANCES = 10
TRAIN_INSTANCES = (4, 6, 7, 8, 9)
TEST_INSTANCES = (0, 1, 2, 3, 5)
AZIMUTHS_DEG = tuple(range(0, 360, 20))
ELEVATIONS_DEG = tuple(range(30, 71, 5))
RENDER_SIZE = 96
VERSION = 1  # bump when the renderer changes: the cache key includes it

# Six lighting conditions: (azimuth, elevation) of the light in the camera's frame, and its strength.
LIGHTS = ((-45.0, 40.0, 0.85), (45.0, 40.0, 0.85), (0.0, 70.0, 0.8), (-80.0, 15.0, 0.9), (80.0, 15.0, 0.9), (0.0, 20.0, 0.65))
AMBIENT = 0.18
DTYPE = torch.float32
BACKGROUND = 0.55  # NORB's backgrounds are a fairly uniform light grey


@dataclass(frozen=True)
class Part:
    """One primitive: an ellipsoid or a box, centred at ``centre`` with half-sizes ``half`` along its own axes,
    turned by ``yaw`` about the vertical and ``pitch`` about its own sideways axis, with grey ``albedo``."""

    kind: str  # "ellipsoid" | "box"
    centre: tuple[float, float, float]
    half: tuple[float, float, float]
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    albedo: float = 0.8


# -- the five categories ------------------------------------------------------------------------------
# Coordinates: x forward (the object's length), y up, z sideways; the ground is y = 0.


def _animal(r: np.random.Generator) -> list[Part]:
    body_len, body_h, body_w = r.uniform(0.45, 0.75), r.uniform(0.16, 0.26), r.uniform(0.14, 0.22)
    leg_len, leg_w = r.uniform(0.22, 0.45), r.uniform(0.045, 0.07)
    neck_len, head = r.uniform(0.12, 0.35), r.uniform(0.1, 0.16)
    body_y = 2 * leg_len + body_h * 0.6
    parts = [Part("ellipsoid", (0, body_y, 0), (body_len, body_h, body_w), albedo=0.95)]
    for sx in (-1, 1):
        for sz in (-1, 1):
            parts.append(Part("ellipsoid", (sx * body_len * 0.65, leg_len, sz * body_w * 0.6), (leg_w, leg_len, leg_w), albedo=0.85))
    neck_angle = r.uniform(0.5, 1.1)
    nx, ny = body_len * 0.8 + neck_len * math.cos(neck_angle) * 0.8, body_y + neck_len * math.sin(neck_angle)
    parts.append(Part("ellipsoid", ((body_len * 0.8 + nx) / 2, (body_y + ny) / 2, 0), (neck_len * 0.6, 0.06, 0.06), pitch=neck_angle, albedo=0.9))
    parts.append(Part("ellipsoid", (nx + head * 0.5, ny + head * 0.3, 0), (head * 1.4, head * 0.8, head * 0.8), albedo=0.85))
    tail = r.uniform(0.1, 0.3)
    parts.append(Part("ellipsoid", (-body_len - tail * 0.7, body_y + 0.05, 0), (tail, 0.03, 0.03), pitch=-0.6, albedo=0.85))
    return parts


def _human(r: np.random.Generator) -> list[Part]:
    leg_len, hip_w = r.uniform(0.38, 0.55), r.uniform(0.08, 0.13)
    torso_h, torso_w, torso_d = r.uniform(0.28, 0.4), r.uniform(0.15, 0.24), r.uniform(0.09, 0.14)
    head, arm_len = r.uniform(0.1, 0.14), r.uniform(0.3, 0.45)
    arm_spread = r.uniform(0.1, 1.3)  # from arms hanging down to arms held out
    stride = r.uniform(0.0, 0.35)
    top = 2 * leg_len
    parts = []
    for s in (-1, 1):
        parts.append(Part("ellipsoid", (s * stride * leg_len * 0.5, leg_len, s * hip_w), (0.06, leg_len, 0.06), roll=0.0, pitch=0.0, albedo=0.9))
    parts.append(Part("ellipsoid", (0, top + torso_h, 0), (torso_d, torso_h, torso_w), albedo=0.95))
    parts.append(Part("ellipsoid", (0, top + 2 * torso_h + head * 0.9, 0), (head, head * 1.15, head), albedo=0.9))
    shoulder_y = top + 1.75 * torso_h
    for s in (-1, 1):
        cx = 0.0
        cy = shoulder_y - arm_len * math.cos(arm_spread)
        cz = s * (torso_w + arm_len * math.sin(arm_spread))
        parts.append(Part("ellipsoid", (cx, cy, cz), (0.05, arm_len, 0.05), roll=-s * arm_spread, albedo=0.85))
    return parts


def _airplane(r: np.random.Generator) -> list[Part]:
    length, radius = r.uniform(0.75, 1.0), r.uniform(0.07, 0.11)
    span, chord = r.uniform(0.55, 0.95), r.uniform(0.14, 0.26)
    sweep, wing_x = r.uniform(0.0, 0.6), r.uniform(-0.1, 0.15)
    fin_h = r.uniform(0.12, 0.25)
    y = 0.35
    parts = [Part("ellipsoid", (0, y, 0), (length, radius, radius), albedo=0.85)]
    for s in (-1, 1):
        parts.append(Part("box", (wing_x - span * 0.5 * math.sin(sweep), y, s * span * 0.5), (chord * 0.5, 0.015, span * 0.5), yaw=s * sweep, albedo=0.9))
        parts.append(Part("box", (-length * 0.85, y, s * span * 0.2), (chord * 0.3, 0.012, span * 0.2), yaw=s * sweep, albedo=0.9))
    parts.append(Part("box", (-length * 0.85, y + fin_h, 0), (chord * 0.35, fin_h, 0.012), albedo=0.85))
    return parts


def _wheels(xs: list[float], half_width: float, radius: float) -> list[Part]:
    return [Part("ellipsoid", (x, radius, s * half_width), (radius, radius, radius * 0.35), albedo=0.35) for x in xs for s in (-1, 1)]


def _truck(r: np.random.Generator) -> list[Part]:
    cargo_len, cargo_h, width = r.uniform(0.45, 0.7), r.uniform(0.22, 0.35), r.uniform(0.22, 0.3)
    cab_len, cab_h, wheel = r.uniform(0.15, 0.25), r.uniform(0.18, 0.28), r.uniform(0.08, 0.12)
    base = 2 * wheel * 0.9
    parts = [
        Part("box", (-cab_len * 0.5, base + cargo_h, 0), (cargo_len, cargo_h, width), albedo=0.95),
        Part("box", (cargo_len + cab_len * 0.4, base + cab_h, 0), (cab_len, cab_h, width * 0.95), albedo=0.7),
        Part("box", (0.1, base * 0.75, 0), (cargo_len + cab_len, 0.04, width * 0.8), albedo=0.5),
    ]
    axles = [cargo_len + cab_len * 0.4, -cargo_len * 0.3, -cargo_len * 0.85]
    return parts + _wheels(axles[: 2 + int(r.integers(0, 2))], width, wheel)


def _car(r: np.random.Generator) -> list[Part]:
    length, width, body_h = r.uniform(0.5, 0.75), r.uniform(0.2, 0.28), r.uniform(0.08, 0.13)
    cabin_len, cabin_h, cabin_x = r.uniform(0.22, 0.4), r.uniform(0.08, 0.14), r.uniform(-0.15, 0.05)
    wheel = r.uniform(0.07, 0.1)
    base = wheel * 1.2
    return [
        Part("box", (0, base + body_h, 0), (length, body_h, width), albedo=0.95),
        Part("ellipsoid", (cabin_x, base + 2 * body_h + cabin_h * 0.5, 0), (cabin_len, cabin_h * 1.2, width * 0.9), albedo=0.55),
    ] + _wheels([length * 0.65, -length * 0.65], width, wheel)


_BUILDERS = (_animal, _human, _airplane, _truck, _car)


def object_parts(category: int, instance: int) -> list[Part]:
    """The primitives of one object, deterministic in (category, instance)."""
    if not 0 <= category < len(CATEGORIES) or not 0 <= instance < INSTANCES:
        raise ValueError(f"SynthNORB has categories 0-{len(CATEGORIES) - 1} and instances 0-{INSTANCES - 1}, got ({category}, {instance})")
    rng = np.random.default_rng([VERSION, category, instance])
    tint = rng.uniform(0.75, 1.0)  # each toy has its own paint
    return [dataclasses.replace(p, albedo=p.albedo * tint) for p in _BUILDERS[category](rng)]


# -- the renderer ---------------------------------------------------------------------------------------


def _rotation(yaw: float, pitch: float, roll: float) -> torch.Tensor:
    """R = R_y(yaw) · R_z(pitch) · R_x(roll): local axes → object axes (float32)."""
    cy, sy, cp, sp, cr, sr = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch), math.cos(roll), math.sin(roll)
    r_y = torch.tensor([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]], dtype=DTYPE)
    r_z = torch.tensor([[cp, -sp, 0], [sp, cp, 0], [0, 0, 1]], dtype=DTYPE)
    r_x = torch.tensor([[1, 0, 0], [0, cr, -sr], [0, sr, cr]], dtype=DTYPE)
    return r_y @ r_z @ r_x


def _camera_bases(azimuths: torch.Tensor, elevations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each (elevation, azimuth) pair: the camera's right, up and viewing-direction unit vectors, (V, 3) each."""
    el, az = torch.meshgrid(elevations, azimuths, indexing="ij")
    el, az = el.reshape(-1), az.reshape(-1)
    to_camera = torch.stack([torch.cos(el) * torch.cos(az), torch.sin(el), torch.cos(el) * torch.sin(az)], dim=1)
    forward = -to_camera
    world_up = torch.tensor([0.0, 1.0, 0.0], dtype=DTYPE).expand_as(forward)
    right = F.normalize(torch.linalg.cross(forward, world_up), dim=1)
    up = torch.linalg.cross(right, forward)
    return right, up, forward


Vec = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # x, y, z components, each (V, P) or (V, 1)


def _hit_ellipsoid(o: Vec, d: Vec, half: tuple[float, float, float]) -> tuple[torch.Tensor, Vec]:
    """Rays o + t·d (in the part's own axes) against the ellipsoid Σ x_i²/h_i² = 1: the entry distance
    (inf on a miss) and the local normal ∇ = x / h² (not normalised)."""
    o_s = [oi / h for oi, h in zip(o, half)]
    d_s = [di / h for di, h in zip(d, half)]
    a = sum(di * di for di in d_s)
    b = 2 * sum(oi * di for oi, di in zip(o_s, d_s))
    c = sum(oi * oi for oi in o_s) - 1
    disc = b * b - 4 * a * c
    t = (-b - disc.clamp_min(0).sqrt()) / (2 * a)
    t = torch.where(disc >= 0, t, torch.full_like(t, math.inf))
    t_finite = torch.where(disc >= 0, t, torch.zeros_like(t))
    normal = tuple((oi + t_finite * di) / (h * h) for oi, di, h in zip(o, d, half))
    return t, normal


def _hit_box(o: Vec, d: Vec, half: tuple[float, float, float]) -> tuple[torch.Tensor, Vec]:
    """The slab test against the box |x_i| ≤ h_i: the entry distance (inf on a miss) and the entry face's normal."""
    d = tuple(torch.where(di.abs() < 1e-7, torch.full_like(di, 1e-7), di) for di in d)
    near, far = [], []
    for oi, di, h in zip(o, d, half):
        t1, t2 = (-h - oi) / di, (h - oi) / di
        near.append(torch.minimum(t1, t2))
        far.append(torch.maximum(t1, t2))
    t_enter = torch.maximum(torch.maximum(near[0], near[1]), near[2])
    t_exit = torch.minimum(torch.minimum(far[0], far[1]), far[2])
    t = torch.where(t_exit >= t_enter, t_enter, torch.full_like(t_enter, math.inf))
    normal = tuple((near_i == t_enter).to(t.dtype) * -torch.sign(di) for near_i, di in zip(near, d))
    return t, normal


def render_object(
    parts: list[Part], elevations_deg: tuple[float, ...], azimuths_deg: tuple[float, ...], size: int = RENDER_SIZE
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ray-cast one object from every (elevation, azimuth): its normals in camera space (E, A, 3, S, S), a
    foreground mask (E, A, S, S) and the albedo of the visible part (E, A, S, S). The object is centred on its
    bounding box and scaled so that it fits the frame from every view."""
    centres = torch.tensor([p.centre for p in parts], dtype=DTYPE)
    halves = torch.tensor([p.half for p in parts], dtype=DTYPE)
    reach = halves.max(1, keepdim=True).values
    lo, hi = (centres - reach).min(0).values, (centres + reach).max(0).values
    centres = centres - (lo + hi) / 2
    extent = (centres.norm(dim=1) + halves.max(1).values).max().item()  # a sphere that holds every part
    half_width = 0.95 * extent  # the frame's half-width in object units, the same for every view
    azimuths = torch.tensor(azimuths_deg, dtype=DTYPE).deg2rad()
    right, up, forward = _camera_bases(azimuths, torch.tensor(elevations_deg, dtype=DTYPE).deg2rad())
    grid = (torch.arange(size, dtype=DTYPE) + 0.5) / size * 2 - 1
    v, u = torch.meshgrid(-grid, grid, indexing="ij")
    u, v = u.reshape(1, -1) * half_width, v.reshape(1, -1) * half_width  # (1, P)
    start = -3 * extent * forward  # ray origin = start + u·right + v·up, direction = forward
    best_t = torch.full((right.shape[0], u.shape[1]), math.inf, dtype=DTYPE)
    best_n = [torch.zeros_like(best_t) for _ in range(3)]
    best_albedo = torch.full_like(best_t, BACKGROUND)
    for part, centre, half in zip(parts, centres, halves):
        rot = _rotation(part.yaw, part.pitch, part.roll)
        # local = Rᵀ(world − centre); origins are linear in (u, v), so transform the camera axes once per view
        r_l, u_l, s_l, d_l = right @ rot, up @ rot, (start - centre) @ rot, forward @ rot  # (V, 3) each
        o = tuple(u * r_l[:, i : i + 1] + v * u_l[:, i : i + 1] + s_l[:, i : i + 1] for i in range(3))
        d = tuple(d_l[:, i : i + 1] for i in range(3))
        hit = _hit_ellipsoid if part.kind == "ellipsoid" else _hit_box
        t, n_local = hit(o, d, tuple(half.tolist()))
        closer = t < best_t
        best_t = torch.where(closer, t, best_t)
        for i in range(3):  # world normal = R · n_local
            n_world = rot[i, 0] * n_local[0] + rot[i, 1] * n_local[1] + rot[i, 2] * n_local[2]
            best_n[i] = torch.where(closer, n_world, best_n[i])
        best_albedo = torch.where(closer, torch.full_like(best_albedo, part.albedo), best_albedo)
    mask = best_t.isfinite()
    norm = torch.sqrt(best_n[0] ** 2 + best_n[1] ** 2 + best_n[2] ** 2).clamp_min(1e-12)
    n = [ni / norm * mask for ni in best_n]
    in_camera = [sum(n[j] * axis[:, j : j + 1] for j in range(3)) for axis in (right, up, -forward)]
    e, a = len(elevations_deg), len(azimuths_deg)
    normals = torch.stack(in_camera, dim=1).reshape(e, a, 3, size, size)
    return normals, mask.reshape(e, a, size, size), best_albedo.reshape(e, a, size, size)


def light_directions() -> torch.Tensor:
    """The six lights as unit vectors in camera space (x right, y up, z towards the camera), (6, 3)."""
    dirs = []
    for az, el, _ in LIGHTS:
        az, el = math.radians(az), math.radians(el)
        dirs.append([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    return torch.tensor(dirs)


def shade(normals: torch.Tensor, mask: torch.Tensor, albedo: torch.Tensor, lightings: tuple[int, ...]) -> torch.Tensor:
    """Lambertian shading: I = albedo · (ambient + strength · max(0, n·l)), background elsewhere; (E, L, A, S, S)."""
    dirs = light_directions()[list(lightings)]
    strength = torch.tensor([LIGHTS[i][2] for i in lightings])
    lambert = torch.einsum("eacij,lc->elaij", normals, dirs).clamp_min(0)
    image = albedo[:, None] * (AMBIENT + strength[None, :, None, None, None] * lambert)
    background = BACKGROUND * (0.9 + 0.1 * strength)[None, :, None, None, None]
    return torch.where(mask[:, None], image, background).clamp(0, 1)


def render_synth_norb(
    elevations: tuple[int, ...] = tuple(range(9)), lightings: tuple[int, ...] = tuple(range(6)), image_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Every object under the chosen elevation and lighting indices: images (50, E, L, 18, S, S) uint8 and the
    category of each object (50,). Object index = category · 10 + instance."""
    if not set(elevations) <= set(range(9)) or not set(lightings) <= set(range(6)):
        raise ValueError(f"elevations must be indices 0-8 and lightings 0-5, got {elevations} and {lightings}")
    elevations_deg = tuple(float(ELEVATIONS_DEG[i]) for i in elevations)
    out = np.empty((len(CATEGORIES) * INSTANCES, len(elevations), len(lightings), len(AZIMUTHS_DEG), image_size, image_size), np.uint8)
    for category in range(len(CATEGORIES)):
        for instance in range(INSTANCES):
            parts = object_parts(category, instance)
            normals, mask, albedo = render_object(parts, elevations_deg, tuple(float(a) for a in AZIMUTHS_DEG))
            images = shade(normals, mask, albedo, lightings)  # (E, L, A, 96, 96)
            flat = images.reshape(-1, 1, RENDER_SIZE, RENDER_SIZE)
            small = F.interpolate(flat, size=(image_size, image_size), mode="area") if image_size != RENDER_SIZE else flat
            out[category * INSTANCES + instance] = (small.reshape(out.shape[1:]) * 255).round().to(torch.uint8).numpy()
    return out, np.repeat(np.arange(len(CATEGORIES)), INSTANCES)


def synth_norb_arrays(
    elevations: tuple[int, ...] = tuple(range(9)), lightings: tuple[int, ...] = tuple(range(6)), image_size: int = 64, cache: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`render_synth_norb`, cached on disk after the first call (a corrupt cache file is re-rendered)."""
    key = f"synth_norb_v{VERSION}_s{image_size}_e{''.join(map(str, elevations))}_l{''.join(map(str, lightings))}.npz"
    path = cache_dir() / key
    if cache and path.is_file():
        try:
            with np.load(path) as stored:
                return stored["images"], stored["labels"]
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    images, labels = render_synth_norb(elevations, lightings, image_size)
    if cache:
        atomic_save_npz(path, images=images, labels=labels)
    return images, labels


def synth_norb(
    split: str,
    seq_len: int = 10,
    image_size: int = 64,
    elevations: tuple[int, ...] = tuple(range(9)),
    lightings: tuple[int, ...] = tuple(range(6)),
    cache: bool = True,
) -> TurntableDataset:
    """SynthNORB's ``split`` ('train': instances 4, 6, 7, 8, 9; 'test': 0, 1, 2, 3, 5) as azimuth videos.

    Objects are (category, instance) pairs; elevation and lighting are conditions held fixed within a clip.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = synth_norb_arrays(elevations, lightings, image_size, cache)
    keep = TRAIN_INSTANCES if split == "train" else TEST_INSTANCES
    objects = [c * INSTANCES + i for c in range(len(CATEGORIES)) for i in keep]
    return TurntableDataset(images[objects], labels[objects], seq_len=seq_len, image_size=image_size)
