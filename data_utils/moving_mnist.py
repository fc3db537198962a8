"""Moving MNIST as in the paper (section 4.2) and its public code: two digits bouncing on a canvas.

Each digit is drawn in its own colour channel (digit 0 red, digit 1 green, blue
empty): the paper notes that without this colour cue the adversarial term leaves
the pose unable to say which digit is where. Digits are MNIST 28×28 resized to
32×32 on a 64×64 canvas, with integer velocities, bouncing off the walls, and one
digit in front that occludes the other. Everything is vectorised over the batch
and seeded; the only Python loops run over time steps and digits.

Departures from the public code, all on purpose:
symmetric velocities in [-v, v] instead of numpy's [-4, 3]; the bounce limit is
``image_size - digit_size`` instead of a hard-coded 32; and a fixed, seeded test set.

Taught in the book chapter "Moving MNIST" (book/02_moving_mnist.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from data_utils.mnist import load_mnist
from data_utils.pairs import draw_offsets

#: Seed of the fixed test set: test clips are the same on every machine.
TEST_SEED = 20171204


@dataclass(frozen=True)
class ClipSpecs:
    """Everything that defines a batch of clips, without the pixels.

    ``digit_ids`` (B, D) index the split's digits; ``positions`` (B, T, D, 2) hold each
    digit's top-left corner as (row, col); ``depth`` (B, D) ranks the digits, the
    highest rank drawn in front.
    """

    digit_ids: torch.Tensor
    positions: torch.Tensor
    depth: torch.Tensor

    def __len__(self) -> int:
        return self.digit_ids.shape[0]

    def __getitem__(self, index: slice | torch.Tensor | list[int]) -> ClipSpecs:
        return ClipSpecs(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def at_times(self, times: torch.Tensor) -> ClipSpecs:
        """Keep only frames ``times`` (B, T') of each clip."""
        batch = torch.arange(len(self))[:, None]
        return ClipSpecs(self.digit_ids, self.positions[batch, times], self.depth)

    def exchanged(self) -> ClipSpecs:
        """The same clips with the digits' paths and depth ranks in reverse order (digit 0 moves as digit D-1 did)."""
        return ClipSpecs(self.digit_ids, self.positions.flip(-2), self.depth.flip(-1))

    def with_positions_of(self, other: ClipSpecs) -> ClipSpecs:
        """These clips' digits moved along ``other``'s trajectories: the ground truth of a content/pose swap."""
        return ClipSpecs(self.digit_ids, other.positions, other.depth)


class MovingMNIST:
    """A seeded generator of Moving MNIST clips, shaped (B, T, C, H, W) in [0, 1].

    Args:
        split: "train" (training digits) or "test" (test digits).
        num_digits: digits per clip (the paper uses 2).
        seq_len: frames per clip T.
        image_size, digit_size: canvas and digit sizes (64 and 32 in the paper).
        max_speed: velocities are integers in [-max_speed, max_speed] per axis.
        colour: one channel per digit (3 channels) if True; one grey channel otherwise.
        device: where clips are rendered.
    """

    def __init__(
        self,
        split: str = "train",
        num_digits: int = 2,
        seq_len: int = 20,
        image_size: int = 64,
        digit_size: int = 32,
        max_speed: int = 4,
        colour: bool = True,
        device: str | torch.device = "cpu",
    ) -> None:
        if colour and num_digits > 3:
            raise ValueError("colour mode gives each digit an RGB channel, so num_digits must be <= 3; use colour=False")
        if digit_size > image_size:
            raise ValueError(f"digit_size {digit_size} does not fit on a {image_size}px canvas")
        self.split, self.num_digits, self.seq_len = split, num_digits, seq_len
        self.image_size, self.digit_size, self.max_speed = image_size, digit_size, max_speed
        self.colour, self.device = colour, torch.device(device)
        digits = load_mnist(split, size=digit_size)
        self.digits = digits.images.to(self.device)
        self.labels = digits.labels.to(self.device)

    @property
    def channels(self) -> int:
        return 3 if self.colour else 1

    @property
    def limit(self) -> int:
        """The largest top-left coordinate: digits stay fully inside the canvas."""
        return self.image_size - self.digit_size

    def specs(self, batch_size: int, generator: torch.Generator | int, seq_len: int | None = None) -> ClipSpecs:
        """Draw digits, starting points, velocities and depth order; bounce them through time."""
        gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
        seq_len = seq_len or self.seq_len
        shape = (batch_size, self.num_digits, 2)
        digit_ids = torch.randint(0, len(self.labels), (batch_size, self.num_digits), generator=gen)
        position = torch.randint(0, self.limit + 1, shape, generator=gen)
        velocity = torch.randint(-self.max_speed, self.max_speed + 1, shape, generator=gen)
        depth = torch.rand(batch_size, self.num_digits, generator=gen).argsort(dim=1)
        positions = torch.empty(batch_size, seq_len, self.num_digits, 2, dtype=torch.long)
        for t in range(seq_len):
            positions[:, t] = position
            position = position + velocity
            low, high = position < 0, position > self.limit
            position = torch.where(low, -position, position)
            position = torch.where(high, 2 * self.limit - position, position)
            velocity = torch.where(low | high, -velocity, velocity)
        return ClipSpecs(digit_ids, positions, depth)

    def _patch_indices(self, positions: torch.Tensor, digit: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Canvas rows (B, T, S, 1) and columns (B, T, 1, S) of each digit's S×S patch at ``positions`` (B, T, D, 2)."""
        offsets = torch.arange(self.digit_size, device=self.device)
        rows = (positions[:, :, digit, 0, None] + offsets)[..., :, None]
        cols = (positions[:, :, digit, 1, None] + offsets)[..., None, :]
        return rows, cols

    def _layers(self, specs: ClipSpecs, patch_masks: torch.Tensor | None = None) -> torch.Tensor:
        """Each digit alone on its own canvas, nothing occluded: (B, T, D, H, W)."""
        dev = self.device
        batch, steps, n_digits = specs.positions.shape[:3]
        positions = specs.positions.to(dev)
        layers = torch.zeros(batch, steps, n_digits, self.image_size, self.image_size, device=dev)
        b = torch.arange(batch, device=dev)[:, None, None, None]
        t = torch.arange(steps, device=dev)[None, :, None, None]
        digit_pixels = self.digits[specs.digit_ids.to(dev)].float().div_(255.0)[:, None]  # (B, 1, D, S, S)
        if patch_masks is not None:
            digit_pixels = digit_pixels * patch_masks.to(dev)
        for d in range(n_digits):
            rows, cols = self._patch_indices(positions, d)
            layers[b, t, d, rows, cols] = digit_pixels[:, :, d]
        return layers

    def _in_front_of(self, specs: ClipSpecs, digit: int, front: int) -> torch.Tensor:
        """(B, 1, 1, 1) bool: digit ``front`` is drawn in front of ``digit`` in each clip."""
        depth = specs.depth.to(self.device)
        return (depth[:, front] > depth[:, digit])[:, None, None, None]

    def render(self, specs: ClipSpecs, patch_masks: torch.Tensor | None = None) -> torch.Tensor:
        """Draw the clips: (B, T, C, H, W) float32 in [0, 1] on ``self.device``.

        ``patch_masks`` (B, T, D, S, S), optional, keeps only some pixels of each digit's S×S image, e.g.
        :meth:`visible_patches` of other frames: the digits then carry the holes that those frames cut into them.
        """
        layers = self._layers(specs, patch_masks)
        n_digits = layers.shape[2]
        occluded = layers.clone()
        for d in range(n_digits):
            for front in range(n_digits):
                if front != d:
                    covered = self._in_front_of(specs, d, front) & (layers[:, :, front] > 0)
                    occluded[:, :, d] = torch.where(covered, 0.0, occluded[:, :, d])
        if not self.colour:
            return occluded.amax(dim=2, keepdim=True)
        frames = torch.zeros(*occluded.shape[:2], 3, self.image_size, self.image_size, device=self.device)
        frames[:, :, :n_digits] = occluded
        return frames

    def visible_patches(self, specs: ClipSpecs) -> torch.Tensor:
        """Which pixels of each digit's S×S image its frames show: (B, T, D, S, S) bool.

        False where a digit drawn in front covers the pixel (with ink > 0). ``render(specs.with_positions_of(other),
        patch_masks=visible_patches(specs))`` then draws these digits at ``other``'s positions with only what
        ``specs``' frames showed of them; its minimum with the full render also keeps the new frame's own occlusion.
        That is the swap drawn from one frame's information alone (:func:`drnet_experiments.mnist_swaps.swap_pairs`; chapter
        "Moving MNIST", "What one frame hides").
        """
        layers = self._layers(specs)
        batch, steps, n_digits = layers.shape[:3]
        positions = specs.positions.to(self.device)
        b = torch.arange(batch, device=self.device)[:, None, None, None]
        t = torch.arange(steps, device=self.device)[None, :, None, None]
        size = self.digit_size
        visible = torch.ones(batch, steps, n_digits, size, size, dtype=torch.bool, device=self.device)
        for d in range(n_digits):
            rows, cols = self._patch_indices(positions, d)
            for front in range(n_digits):
                if front != d:
                    ink_in_front = layers[:, :, front][b, t, rows, cols] > 0  # the front digit's ink over d's patch
                    visible[:, :, d] &= ~(self._in_front_of(specs, d, front) & ink_in_front)
        return visible

    def sample(self, batch_size: int, generator: torch.Generator | int) -> torch.Tensor:
        """A batch of whole clips (B, T, C, H, W)."""
        return self.render(self.specs(batch_size, generator))

    def sample_pairs(
        self, batch_size: int, max_offset: int, generator: torch.Generator | int, rows: slice | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x^t, x^{t+k}) per clip, rendering only those two frames: the trainer's fast path.

        ``rows`` renders only those rows of the batch (one process's share under torchrun). Every row's clip and
        offsets are drawn all the same, so the rows are exactly those of the whole batch, whatever the split.
        """
        gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
        specs = self.specs(batch_size, gen)
        t, k = draw_offsets(batch_size, self.seq_len, max_offset, gen)
        times = torch.stack([t, t + k], dim=1)
        if rows is not None:
            kept = torch.arange(batch_size)[rows]
            specs, times = specs[kept], times[kept]
        frames = self.render(specs.at_times(times))
        return frames[:, 0], frames[:, 1]

    def digit_labels(self, specs: ClipSpecs) -> torch.Tensor:
        """The class (0-9) of each digit, (B, D); digit d is drawn in channel d."""
        return self.labels[specs.digit_ids.to(self.device)]

    def fixed_specs(self, count: int = 1000, seed: int = TEST_SEED) -> ClipSpecs:
        """A fixed set of clips: with split="test" this is the held-out test set used by every evaluation."""
        return self.specs(count, seed)
