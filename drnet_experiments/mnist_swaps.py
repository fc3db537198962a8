"""Moving MNIST measures of a DRNET: content-swap digit accuracy, swap pose error and rollout digit accuracy.

Content/pose swap (paper Fig. 3 left, made quantitative): decode the content of
held-out clip i with the pose of held-out clip j (j = i + 1), at a random frame of
each. The ideal result is clip i's digits drawn at clip j's positions, which the
generator renders exactly (:meth:`ClipSpecs.with_positions_of`).

* **content-swap digit accuracy** — a digit classifier trained on MNIST training digits
  reads each colour channel of the swapped frame; correct if it names clip i's digit
  for that channel. Chance is 10 %. The same classifier on the ideal frames gives the
  ceiling (occlusion hides part of some digits), and on the ideal frames without the
  strokes that the one content frame hid, the one-frame ceiling: what a perfect drawing
  of what one content frame shows scores (guessing hidden strokes can add to it).
* **swap pose error** — the distance in pixels between each channel's intensity
  centroid in the swapped frame and in the ideal frame. (Against clip j's own frame the
  distance also contains the different digits' shapes; we report that too.)

Taught in book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from data_utils import MovingMNIST
from drnet_core.metrics import channel_centroids
from drnet_experiments.classifiers import DigitClassifier, load_digit_classifier


@dataclass
class SwapBatch:
    """Held-out swap pairs: the content frames, the pose frames, the ideal swaps and the content digits' labels."""

    content_frames: torch.Tensor
    pose_frames: torch.Tensor
    ideal: torch.Tensor
    labels: torch.Tensor
    shown_ideal: torch.Tensor | None = None  # the ideal swaps without the strokes that the content frames hid
    content_clips: torch.Tensor | None = None  # (N, T, C, H, W): the whole content clips, with ``clip_content=True``
    ideal_positions: torch.Tensor | None = None  # (N, D, 2): top-left corner of each digit's patch in the ideal swap
    digit_size: int = 32  # the side S of each digit's patch
    exchanged: torch.Tensor | None = None  # the ideal swaps with the two digits' places exchanged (wrong order)

    def subset(self, keep: torch.Tensor) -> SwapBatch:
        """The swaps selected by ``keep`` (a bool mask or indices over the pairs), every per-pair field alike."""
        return dataclasses.replace(
            self, **{f.name: getattr(self, f.name)[keep] for f in dataclasses.fields(self) if isinstance(getattr(self, f.name), torch.Tensor)}
        )


def swap_pairs(
    count: int = 1000,
    seq_len: int = 20,
    seed: int = 0,
    same_clip: bool = False,
    clip_content: bool = False,
    split: str = "test",
    colour: bool = True,
) -> SwapBatch:
    """The fixed held-out swap set: content of test clip i, pose of test clip j = i + 1, random frames.

    ``same_clip=True`` takes the pose from clip i itself (another random frame): a reconstruction across time.
    Its digit accuracy is what the decoder can draw when no content has to move between clips; a swap accuracy
    far below it means the pose code carries content (chapter "Moving MNIST"). ``clip_content=True`` also keeps
    the content clips whole, for :func:`swap_metrics` with ``content="clip"`` (the same swaps, the same ideal).

    ``split="train"`` draws the same kind of swaps from the training digits: a model that scores much higher there
    than on the test digits has memorised digits rather than learnt to draw them.

    ``shown_ideal`` is the ideal swap minus every stroke of a digit that its content frame hid (behind the other
    digit): a perfect drawing of what that one frame shows. The classifier on it is the one-frame ceiling.

    ``colour=False`` draws the same swaps in one grey channel (paper section 4.2's colour cue removed), for models
    trained on grey clips; :func:`placement_metrics` scores both kinds alike.
    """
    test = MovingMNIST(split, seq_len=seq_len, colour=colour)
    specs = test.fixed_specs(count)
    gen = torch.Generator().manual_seed(seed)
    t_content = torch.randint(0, seq_len, (count, 1), generator=gen)
    t_pose = torch.randint(0, seq_len, (count, 1), generator=gen)
    content_specs = specs.at_times(t_content)
    pose_clips = torch.arange(count) if same_clip else torch.arange(count).roll(-1)
    pose_specs = specs[pose_clips].at_times(t_pose)
    ideal_specs = content_specs.with_positions_of(pose_specs)
    ideal = test.render(ideal_specs)[:, 0]
    shown = test.render(ideal_specs, patch_masks=test.visible_patches(content_specs))[:, 0]
    return SwapBatch(
        content_frames=test.render(content_specs)[:, 0],
        pose_frames=test.render(pose_specs)[:, 0],
        ideal=ideal,
        labels=test.digit_labels(content_specs),
        shown_ideal=torch.minimum(ideal, shown),
        content_clips=test.render(specs) if clip_content else None,
        ideal_positions=ideal_specs.positions[:, 0],
        digit_size=test.digit_size,
        exchanged=test.render(ideal_specs.with_positions_of(pose_specs.exchanged()))[:, 0] if test.num_digits == 2 else None,
    )


@torch.no_grad()
def _reads_correctly(classifier: DigitClassifier, frames: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B·D,) bool: the classifier names digit d's label in colour channel d of each frame."""
    n_digits = labels.shape[1]
    return classifier(frames[:, :n_digits].reshape(-1, 1, *frames.shape[-2:])).argmax(1) == labels.reshape(-1)


@torch.no_grad()
def swap_metrics(
    model: torch.nn.Module, pairs: SwapBatch | None = None, classifier: DigitClassifier | None = None, batch_size: int = 250, content: str = "frame"
) -> dict[str, float]:
    """Content-swap digit accuracy and swap pose error of ``model`` (a DRNet) on held-out swaps.

    ``content="frame"`` takes h_c from one frame of the content clip (the figure the issue's target is set on);
    ``content="clip"`` averages h_c over the whole clip (:meth:`DRNet.encode_clip_content`; needs pairs made with
    ``clip_content=True``), which removes what one frame hides, e.g. a digit behind the other.

    Returns ``swap_accuracy`` (fraction of digit channels read correctly), ``ceiling_accuracy``
    (the classifier on the ideal frames), ``frame_ceiling_accuracy`` (on the ideal frames without what the content
    frame hid, :func:`swap_pairs`; only for pairs that carry ``shown_ideal``), ``pose_error_px`` (centroid distance to the ideal frame,
    over channels where the ideal digit is visible) and ``pose_error_vs_pose_clip_px``.

    It also splits the channels by what the encoder was shown: ``visible_fraction`` is the fraction of digit
    channels that the classifier reads correctly both in the content frame (what E_c saw; the digit behind may be
    partly hidden there) and in the ideal swap (what D must draw), and ``visible_swap_accuracy`` is the swap
    accuracy on those channels alone. A perfect model scores 1.0 on them; the rest of the channels hold what
    one frame hides (chapter "Moving MNIST", "What one frame hides").
    """
    if content not in ("frame", "clip"):
        raise ValueError(f"content must be 'frame' or 'clip', got {content!r}")
    pairs = pairs or swap_pairs(clip_content=content == "clip")
    if content == "clip" and pairs.content_clips is None:
        raise ValueError("content='clip' needs the whole content clips: make the pairs with swap_pairs(..., clip_content=True)")
    classifier = classifier or load_digit_classifier()
    n_digits = pairs.labels.shape[1]
    correct = ceiling = frame_ceiling = readable_count = readable_correct = 0.0
    errors, errors_pose_clip = [], []
    for sl, swapped in _swapped_batches(model, pairs, batch_size, content):
        ideal, labels = pairs.ideal[sl], pairs.labels[sl]
        swap_hit, ideal_hit, content_hit = (_reads_correctly(classifier, frames, labels) for frames in (swapped, ideal, pairs.content_frames[sl]))
        readable = ideal_hit & content_hit
        correct += swap_hit.sum().item()
        ceiling += ideal_hit.sum().item()
        if pairs.shown_ideal is not None:
            frame_ceiling += _reads_correctly(classifier, pairs.shown_ideal[sl], labels).sum().item()
        readable_count += readable.sum().item()
        readable_correct += (swap_hit & readable).sum().item()
        c_swap, _ = channel_centroids(swapped[:, :n_digits])
        c_ideal, m_ideal = channel_centroids(ideal[:, :n_digits])
        c_pose, m_pose = channel_centroids(pairs.pose_frames[sl][:, :n_digits])
        visible = m_ideal > 1.0
        errors.append((c_swap - c_ideal).norm(dim=-1)[visible])
        errors_pose_clip.append((c_swap - c_pose).norm(dim=-1)[m_pose > 1.0])
    total = pairs.labels.numel()
    return {
        "swap_accuracy": correct / total,
        "ceiling_accuracy": ceiling / total,
        **({"frame_ceiling_accuracy": frame_ceiling / total} if pairs.shown_ideal is not None else {}),
        "visible_fraction": readable_count / total,
        "visible_swap_accuracy": readable_correct / max(readable_count, 1.0),
        "pose_error_px": torch.cat(errors).mean().item(),
        "pose_error_vs_pose_clip_px": torch.cat(errors_pose_clip).mean().item(),
    }


def _swapped_batches(model: torch.nn.Module, pairs: SwapBatch, batch_size: int, content: str = "frame"):
    """Yield ``(slice, swapped frames on the CPU)`` over ``pairs`` in batches, with ``model`` in eval mode meanwhile.

    ``content="clip"`` takes the content code from each content clip (:meth:`DRNet.encode_clip_content`) instead of
    from one frame.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        for start in range(0, len(pairs.labels), batch_size):
            sl = slice(start, start + batch_size)
            poses = pairs.pose_frames[sl].to(device)
            if content == "clip":
                swapped = model.decode(model.encode_clip_content(pairs.content_clips[sl].to(device)), model.encode_pose(poses))
            else:
                swapped = model.swap(pairs.content_frames[sl].to(device), poses)
            yield sl, swapped.float().cpu()
    finally:
        model.train(was_training)


def _grey(frames: torch.Tensor) -> torch.Tensor:
    """One channel: the brightest ink over the channels (how :class:`MovingMNIST` draws grey clips)."""
    return frames.amax(dim=1, keepdim=True)


def _windows(positions: torch.Tensor, image_size: int, digit_size: int) -> torch.Tensor:
    """(N, D, 1, H, W) masks: 1 inside each digit's S×S patch at ``positions`` (N, D, 2), 0 elsewhere."""
    grid = torch.arange(image_size)
    rows = (grid >= positions[..., 0, None]) & (grid < positions[..., 0, None] + digit_size)  # (N, D, H)
    cols = (grid >= positions[..., 1, None]) & (grid < positions[..., 1, None] + digit_size)  # (N, D, W)
    return (rows[..., :, None] & cols[..., None, :]).float()[:, :, None]


@torch.no_grad()
def _read_windows(classifier: DigitClassifier, frames: torch.Tensor, windows: torch.Tensor) -> torch.Tensor:
    """(N, D) the digit the classifier names in each window of the grey frames."""
    grey = _grey(frames)[:, None]  # (N, 1, 1, H, W)
    windowed = (grey * windows).reshape(-1, 1, *frames.shape[-2:])
    return classifier(windowed).argmax(1).reshape(windows.shape[:2])


def _window_hits(classifier: DigitClassifier, frames: torch.Tensor, windows: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """How many digit windows name their own digit, and how many name either of the clip's digits."""
    named = _read_windows(classifier, frames, windows)
    return (named == labels).sum().item(), (named[:, :, None] == labels[:, None, :]).any(-1).sum().item()


@torch.no_grad()
def placement_metrics(model: torch.nn.Module, pairs: SwapBatch, classifier: DigitClassifier | None = None, batch_size: int = 250) -> dict[str, float]:
    """Does each content digit land at *its own* pose position? A measure that needs no colour (paper section 4.2).

    The swapped frame is turned grey (the brightest channel) and cut into one window per digit: the S×S patch
    where the ideal swap draws digit d (clip i's digit d at clip j's position of digit d). The digit classifier
    reads each window alone.

    * ``placement_accuracy``: the window of digit d names digit d's label. With colour, the channel tells the
      decoder which position belongs to which digit; in grey, nothing in the pose frame says which of its two
      digits is "digit 0", so a model can at best put the right pair of digits at the two places, in either order.
    * ``any_order_accuracy``: the window names one of clip i's two labels (the digits are right, the order may
      not be).
    * ``placement_ceiling`` and ``any_order_ceiling``: the same on the ideal frames (a window can hold part of the
      other digit where the two overlap). Chance is 10 % for the first, about 19 % for the second.
    * ``order_accuracy``: the fraction of swaps nearer (squared error, in grey) to the ideal frame than to the ideal
      frame with the two digits' places exchanged. Chance is 0.5: a decoder that cannot tell which position belongs
      to which digit draws either order, or a blend of both.
    """
    if pairs.ideal_positions is None:
        raise ValueError("these swap pairs carry no digit positions: make them with swap_pairs()")
    classifier = classifier or load_digit_classifier()
    size, digit = pairs.ideal.shape[-1], pairs.digit_size
    counts = dict.fromkeys(("placement_accuracy", "any_order_accuracy", "placement_ceiling", "any_order_ceiling", "order_accuracy"), 0.0)
    for sl, swapped in _swapped_batches(model, pairs, batch_size):
        windows, labels = _windows(pairs.ideal_positions[sl], size, digit), pairs.labels[sl]
        in_order, in_any_order = _window_hits(classifier, swapped, windows, labels)
        counts["placement_accuracy"] += in_order
        counts["any_order_accuracy"] += in_any_order
        in_order, in_any_order = _window_hits(classifier, pairs.ideal[sl], windows, labels)
        counts["placement_ceiling"] += in_order
        counts["any_order_ceiling"] += in_any_order
        if pairs.exchanged is not None:
            grey = _grey(swapped)
            to_ideal = (grey - _grey(pairs.ideal[sl])).pow(2).flatten(1).sum(1)
            to_exchanged = (grey - _grey(pairs.exchanged[sl])).pow(2).flatten(1).sum(1)
            counts["order_accuracy"] += (to_ideal < to_exchanged).sum().item()
    per_digit = pairs.labels.numel()
    result = {name: count / per_digit for name, count in counts.items() if name != "order_accuracy"}
    if pairs.exchanged is not None:
        result["order_accuracy"] = counts["order_accuracy"] / len(pairs.labels)
    return result

@torch.no_grad()
def rollout_digit_accuracy(
    predictor: torch.nn.Module,
    horizons: tuple[int, ...] = (10, 100, 500),
    n_clips: int = 100,
    classifier: DigitClassifier | None = None,
) -> dict[int, float]:
    """Digit accuracy of generated frames ``h`` steps after the last observed one (paper Fig. 3 right, made quantitative).

    Observes ``n_observed`` frames of held-out test clips, predicts ``max(horizons)`` poses, decodes only
    the frames at the horizons, and reads each colour channel with the digit classifier. A crisp,
    content-preserving rollout keeps the accuracy near the classifier's ceiling at every horizon.
    """
    classifier = classifier or load_digit_classifier()
    n_obs = predictor.config.n_observed
    test = MovingMNIST("test", seq_len=n_obs)
    specs = test.fixed_specs(n_clips)
    frames = test.render(specs)
    labels = test.digit_labels(specs)
    device = next(predictor.parameters()).device
    poses, content, skips = predictor.predict_poses(frames.to(device), max(horizons))
    result = {}
    for h in horizons:
        decoded = predictor.drnet.decode(content, poses[:, h - 1], skips).float().cpu()
        logits = classifier(decoded[:, : labels.shape[1]].reshape(-1, 1, *decoded.shape[-2:]))
        result[h] = (logits.argmax(1) == labels.reshape(-1)).float().mean().item()
    return result
