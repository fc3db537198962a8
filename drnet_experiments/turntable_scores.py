"""What a trained DRNET keeps apart on turntable views it has never seen (paper section 4.2, Table 1, Fig. 4).

Two kinds of figure, on a held-out :class:`~data_utils.turntable.TurntableDataset`:

* **identity** (:func:`identity_scores`): split each held-out sequence's views into a gallery (even) and queries
  (odd). A 1-nearest-neighbour read of h_c should name the sequence (content), one of h_p should not (a leak).
  A swap decodes the content of a query of sequence i with the pose of a query of sequence j; its nearest real
  gallery frame (in pixels) belongs to i when the content was kept, to j when the pose carried the object.
* **category** (:func:`category_probes`): appendix D's probe of Table 1 on each code.

Taught in book/03_norb_ablation.ipynb.
"""

from __future__ import annotations

import torch
from torch import nn

from data_utils.turntable import TurntableDataset
from drnet_experiments.probe import content_pose_accuracy, encode_all, train_probe


def _nearest(queries: torch.Tensor, gallery: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """Index of each query's nearest gallery row (Euclidean)."""
    out = [torch.cdist(queries[i : i + chunk].float(), gallery.float()).argmin(1) for i in range(0, len(queries), chunk)]
    return torch.cat(out)


@torch.no_grad()
def _decode_swaps(model: nn.Module, content_frames: torch.Tensor, pose_frames: torch.Tensor, batch: int = 256) -> torch.Tensor:
    return torch.cat([model.swap(content_frames[i : i + batch], pose_frames[i : i + batch]).float() for i in range(0, len(content_frames), batch)])


def identity_scores(model: nn.Module, dataset: TurntableDataset, max_sequences: int = 100, seed: int = 0) -> dict[str, float]:
    """Identity figures on ``dataset``'s views (see the module docstring); chance is 1 / the number of sequences.

    Returns ``content_nn``, ``pose_nn``, ``swap_keeps_content``, ``swap_shows_pose_donor``, ``identity_chance``,
    ``rec_mse`` (per-pixel squared error of decoding a query from its own content and the next query's pose,
    against that next query) and ``sequences``.
    """
    if dataset.n_views < 4:
        raise ValueError(f"identity scores need at least 4 views per sequence (gallery and queries), got {dataset.n_views}")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(dataset), generator=gen)[:max_sequences]
    frames = dataset._to_float(dataset.frames[chosen // dataset.n_conditions, chosen % dataset.n_conditions])  # (N, V, S, S)
    n, size = len(chosen), dataset.image_size
    gallery, queries = frames[:, 0::2], frames[:, 1::2]
    g_ids = torch.arange(n).repeat_interleave(gallery.shape[1])
    q_ids = torch.arange(n).repeat_interleave(queries.shape[1])
    g_flat, q_flat = gallery.reshape(-1, 1, size, size), queries.reshape(-1, 1, size, size)
    (g_content, g_pose), (q_content, q_pose) = encode_all(model, g_flat), encode_all(model, q_flat)
    result = {
        "content_nn": (g_ids[_nearest(q_content, g_content)] == q_ids).float().mean().item(),
        "pose_nn": (g_ids[_nearest(q_pose, g_pose)] == q_ids).float().mean().item(),
    }
    donors = queries.roll(1, dims=0).reshape(-1, 1, size, size)  # the same view of sequence i-1: another sequence
    donor_ids = q_ids.roll(queries.shape[1])
    swaps = _decode_swaps(model, q_flat, donors)
    found = g_ids[_nearest(swaps.flatten(1), g_flat.flatten(1))]
    result["swap_keeps_content"] = (found == q_ids).float().mean().item()
    result["swap_shows_pose_donor"] = (found == donor_ids).float().mean().item()
    later = queries.roll(-1, dims=1).reshape(-1, 1, size, size)  # the next query view of the same sequence
    result["rec_mse"] = (_decode_swaps(model, q_flat, later) - later).pow(2).mean().item()
    result["identity_chance"] = 1.0 / n
    result["sequences"] = n
    return result


def check_probe_categories(train_set: TurntableDataset, test_set: TurntableDataset) -> None:
    """Refuse, before any training, a split whose held-out categories never occur among the training objects: the
    category probe could not name them (a file without ``labels`` split by objects is such a split)."""
    unseen = sorted(set(test_set.labels.tolist()) - set(train_set.labels.tolist()))
    if unseen:
        raise ValueError(
            f"the held-out objects' categories {unseen[:8]} never occur among the training objects, so the category "
            "probe cannot name them: give the file a 'labels' array whose categories each have several objects, or "
            "use --split views"
        )


def category_probes(model: nn.Module, train_set: TurntableDataset, test_set: TurntableDataset, max_frames: int = 6000, seed: int = 0) -> dict[str, float]:
    """Appendix D's probe on h_c and on h_p: ``content``, ``pose`` and ``chance``.

    With two or more training objects per class, the probe early-stops on held-out training objects and is scored
    on the test objects (:func:`~drnet_experiments.probe.content_pose_accuracy`). Otherwise (a split of views, where the
    same objects are in both sets) it early-stops on a random quarter of the training frames.
    """
    counts = torch.bincount(train_set.labels)
    if int(counts[counts > 0].min()) >= 2:
        scores = content_pose_accuracy(model, train_set, test_set, max_frames=max_frames, seed=seed)
        return {k: scores[k] for k in ("content", "pose", "chance")}
    gen = torch.Generator().manual_seed(seed)
    frames, labels = train_set.all_frames()
    order = torch.randperm(len(frames), generator=gen)[:max_frames]
    frames, labels = frames[order], labels[order]
    test_frames, test_labels = test_set.all_frames()
    pick = torch.randperm(len(test_frames), generator=gen)[:max_frames]
    test_frames, test_labels = test_frames[pick], test_labels[pick]
    cut = len(frames) // 4
    codes, test_codes = encode_all(model, frames), encode_all(model, test_frames)
    classes = int(max(train_set.labels.max(), test_set.labels.max())) + 1
    result = {"chance": 1.0 / classes}
    for name, slot in (("content", 0), ("pose", 1)):
        probe = train_probe((codes[slot][cut:], labels[cut:]), (codes[slot][:cut], labels[:cut]), (test_codes[slot], test_labels), classes=classes, seed=seed)
        result[name] = probe.test_accuracy
    return result
