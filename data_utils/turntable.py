"""Any multi-view turntable collection as rotation "videos" (paper section 4.2, NORB).

A turntable array holds, for each object, images at consecutive viewing angles, optionally under extra
conditions (elevation, lighting, …). A clip walks the view axis while the object and the conditions stay
fixed, so content is "which object, under which conditions" and pose is "which angle". Clips are runs of
consecutive views and wrap around (views are assumed to be cyclic, as NORB's 18 azimuths of 20° are).

Both smallNORB (:mod:`data_utils.norb`) and its built-in stand-in go through :class:`TurntableDataset`.
Taught in book/03_norb_ablation.ipynb.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


class TurntableDataset:
    """Rotation clips from an array shaped (objects, *conditions, views, H, W).

    Args:
        images: uint8 or float array/tensor; the view axis is ``view_axis`` (default: the one before H, W).
        labels: one class label per object, shape (objects,).
        seq_len: frames per clip.
        image_size: frames are resized to this square size (area filter), e.g. 64 for the DCGAN decoder.
        view_axis: which axis holds the views; every axis between the objects and H, W other than it is a condition.
        wrap: allow clips to wrap around the last view (True for full turntables).
    """

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        labels: np.ndarray | torch.Tensor,
        seq_len: int = 10,
        image_size: int = 64,
        view_axis: int | None = None,
        wrap: bool = True,
    ) -> None:
        data = torch.as_tensor(np.asarray(images))
        if data.ndim < 4:
            raise ValueError(f"turntable images must be (objects, [conditions...], views, H, W), got shape {tuple(data.shape)}")
        view_axis = data.ndim - 3 if view_axis is None else view_axis % data.ndim
        if not 1 <= view_axis <= data.ndim - 3:
            raise ValueError(f"view_axis {view_axis} must lie between the object axis and the image axes")
        data = data.movedim(view_axis, -3)  # (O, *conds, V, H, W)
        n_objects, n_views = data.shape[0], data.shape[-3]
        self.labels = torch.as_tensor(np.asarray(labels)).long()
        if self.labels.shape != (n_objects,):
            raise ValueError(f"need one label per object: {n_objects} objects, labels shaped {tuple(self.labels.shape)}")
        if not wrap and seq_len > n_views:
            raise ValueError(f"clips of {seq_len} frames do not fit in {n_views} views without wrapping")
        self.condition_shape = tuple(data.shape[1:-3])
        flat = data.reshape(n_objects, -1, n_views, *data.shape[-2:])  # (O, Cond, V, H, W)
        if flat.shape[-1] != image_size or flat.shape[-2] != image_size:
            resized = F.interpolate(flat.reshape(-1, 1, *flat.shape[-2:]).float(), size=(image_size, image_size), mode="area")
            flat = resized.reshape(*flat.shape[:3], image_size, image_size)
            if data.dtype == torch.uint8:
                flat = flat.round().clamp(0, 255).to(torch.uint8)
        self.frames = flat
        self.seq_len, self.image_size, self.wrap = seq_len, image_size, wrap
        self.n_objects, self.n_conditions, self.n_views = flat.shape[0], flat.shape[1], n_views
        self.channels = 1
        self.source = "array"  # where the images came from; loaders overwrite it (e.g. "SynthNORB stand-in")

    def __len__(self) -> int:
        """The number of distinct (object, condition) sequences."""
        return self.n_objects * self.n_conditions

    def _to_float(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()

    def clips(self, objects: torch.Tensor, conditions: torch.Tensor, starts: torch.Tensor, seq_len: int | None = None) -> torch.Tensor:
        """The clips that start at view ``starts`` of (object, condition): (B, T, 1, S, S) in [0, 1]."""
        seq_len = seq_len or self.seq_len
        views = starts[:, None] + torch.arange(seq_len)
        views = views % self.n_views if self.wrap else views.clamp_max(self.n_views - 1)
        frames = self.frames[objects[:, None], conditions[:, None], views]
        return self._to_float(frames)[:, :, None]

    def sample_with_labels(self, batch_size: int, generator: torch.Generator | int) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
        objects = torch.randint(0, self.n_objects, (batch_size,), generator=gen)
        conditions = torch.randint(0, self.n_conditions, (batch_size,), generator=gen)
        last_start = self.n_views if self.wrap else self.n_views - self.seq_len + 1
        starts = torch.randint(0, last_start, (batch_size,), generator=gen)
        return self.clips(objects, conditions, starts), self.labels[objects]

    def sample(self, batch_size: int, generator: torch.Generator | int) -> torch.Tensor:
        """A batch of clips (B, T, 1, S, S): the trainer's interface."""
        return self.sample_with_labels(batch_size, generator)[0]

    def all_frames(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every frame (N, 1, S, S) with its object's label (N,): for probing content and pose codes."""
        frames = self._to_float(self.frames.reshape(-1, self.image_size, self.image_size))[:, None]
        labels = self.labels.repeat_interleave(self.n_conditions * self.n_views)
        return frames, labels


class TurntableFileError(ValueError):
    """A turntable ``.npz`` file does not hold what :func:`load_turntable_file` needs."""


TURNTABLE_SPLITS = ("views", "objects")

TURNTABLE_FORMAT = (
    "an .npz with 'images': uint8 (objects, views, H, W), the views in turntable order, at least 4 objects and "
    "4 views; optionally 'labels': int (objects,), one class per object (default: each object its own class)"
)


def load_turntable_file(
    path: str, split: str = "views", seq_len: int = 8, image_size: int = 64, held_out_every: int = 4
) -> tuple[TurntableDataset, TurntableDataset]:
    """Your own turntable photographs as a training and a held-out :class:`TurntableDataset` (section 4.2).

    ``split="views"``: every object in both sets, the even views for training and the odd views held out (each
    set walks its own views in order, so a clip step is two views of the file). ``split="objects"``: every
    ``held_out_every``-th object held out, all views in both sets. Raises :class:`TurntableFileError` with what
    to fix when the file is malformed.
    """
    import os

    if split not in TURNTABLE_SPLITS:
        raise TurntableFileError(f"split must be one of {TURNTABLE_SPLITS}, got {split!r}")
    if not os.path.isfile(path):
        raise TurntableFileError(f"{path}: no such file; expected {TURNTABLE_FORMAT}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise TurntableFileError(f"{path}: not a readable .npz ({err}); expected {TURNTABLE_FORMAT}") from err
    if "images" not in archive.files:
        raise TurntableFileError(f"{path}: has arrays {archive.files} but no 'images'; expected {TURNTABLE_FORMAT}")
    images = archive["images"]
    if images.dtype != np.uint8 or images.ndim != 4:
        raise TurntableFileError(f"{path}: 'images' is {images.dtype} shaped {images.shape}; expected {TURNTABLE_FORMAT}")
    n_objects, n_views = images.shape[:2]
    if n_objects < 4 or n_views < 4:
        raise TurntableFileError(f"{path}: {n_objects} objects × {n_views} views is too few; expected {TURNTABLE_FORMAT}")
    labels = archive["labels"] if "labels" in archive.files else np.arange(n_objects)
    if labels.shape != (n_objects,) or not np.issubdtype(labels.dtype, np.integer):
        raise TurntableFileError(f"{path}: 'labels' is {labels.dtype} shaped {labels.shape}; expected {TURNTABLE_FORMAT}")
    if split == "views":
        parts = [(images[:, 0::2], labels), (images[:, 1::2], labels)]
    else:
        held = np.zeros(n_objects, dtype=bool)
        held[held_out_every - 1 :: held_out_every] = True
        parts = [(images[~held], labels[~held]), (images[held], labels[held])]
    views = min(part.shape[1] for part, _ in parts)
    sets = []
    for part, part_labels in parts:
        dataset = TurntableDataset(part, part_labels, seq_len=min(seq_len, views), image_size=image_size)
        dataset.source = f"{os.path.basename(path)} ({split} split)"
        sets.append(dataset)
    return sets[0], sets[1]
