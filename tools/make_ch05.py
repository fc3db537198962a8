"""Writes book/05_inception_score.ipynb (run: .venv/bin/python tools/make_ch05.py)."""

import sys

sys.path.insert(0, "tools")
from nb import notebook

cells = [
    (
        "md",
        r"""
# The Inception score: is the action still there?

How do you judge a video generated 100 frames past what the model saw? The previous chapter measured PSNR and SSIM
against the true future, and both fall steadily with the horizon, for every model. Appendix B of the paper argues
that they mislead: a small error in the predicted *speed* becomes, after many frames, a large error in *position*.
The person can be perfectly sharp and still score badly, because they stand a few pixels from where the truth has
them. A grey blur in roughly the right place scores better.

The paper therefore scores KTH generations the way GANs are scored (Salimans et al., 2016): a classifier trained to
recognise the action reads each generated clip. If it is confident about each clip, and the clips cover all the
actions, the generations are recognisable. This chapter builds that score, reproduces Fig. 9's curve, and shows
appendix B's point with our own generations.
""",
    ),
    (
        "code",
        r"""
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

import drnet_core
from data_utils.kth import ACTIONS
from drnet_core import generation_score as gs
from drnet_core import kth_experiment as kx
from drnet_core.action_classifier import action_probabilities
from drnet_core.metrics import inception_score, psnr, ssim
from drnet_core.report import print_run_info
from drnet_core.viz import show_grid

torch.manual_seed(0)
print_run_info()
""",
    ),
    (
        "md",
        r"""
## The score

For a set of generated clips $x$ and a classifier's label distribution $p(y \mid x)$,

$$
\mathrm{IS} = \exp\Big(\mathbb{E}_x\, \mathrm{KL}\big(p(y \mid x)\,\|\,p(y)\big)\Big), \qquad p(y) = \mathbb{E}_x\, p(y \mid x).
$$

The KL term is large when $p(y \mid x)$ is peaked (the classifier is sure what each clip shows) *and* far from the
marginal (different clips show different things). With 6 actions the score lies between 1 and 6.
`drnet_core.metrics.inception_score` takes an $(N, \text{classes})$ array of probabilities. Four hand-made cases:
""",
    ),
    (
        "code",
        r"""
uniform = torch.full((60, 6), 1 / 6)
confident_balanced = F.one_hot(torch.arange(60) % 6, 6).float()
confident_one_action = F.one_hot(torch.zeros(60, dtype=torch.long), 6).float()
half_sure = 0.5 * confident_balanced + 0.5 * uniform
for name, probs in (("uniform: the classifier knows nothing", uniform), ("confident and balanced", confident_balanced),
                    ("confident, but every clip is the same action", confident_one_action), ("half-way between the first two", half_sure)):
    print(f"{name:46s} IS = {inception_score(probs):.3f}")
""",
    ),
    (
        "code",
        r"""
assert abs(inception_score(uniform) - 1) < 1e-6 and abs(inception_score(confident_balanced) - 6) < 1e-6
assert abs(inception_score(confident_one_action) - 1) < 1e-6 and 1 < inception_score(half_sure) < 6
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
The third case is the score's blind spot in one line: generations that are all recognisably the *same* action are
as bad as noise, while generations that are recognisably *some* action, even the wrong one, are rewarded. The score
never compares a generation with its own conditioning clip.

## The action classifier (appendix B)

"A convolutional network classification architecture where the video frames are concatenated as input to the
first layer": 10 grey frames become 10 input channels, followed by four conv, batch-norm, ReLU stages, a global
average pool and a linear layer (`drnet_core.action_classifier`). It is trained on random 10-frame windows of the
training persons' clips and tested on the held-out persons. The data is the previous chapter's: real KTH if
`DRNET_KTH_DIR` holds it, else the SynthKTH stand-in.
""",
    ),
    (
        "code",
        r"""
train_set, test_set = kx.kth_datasets()
print(f"data: {train_set.source}; {len(train_set.videos)} training and {len(test_set.videos)} test videos")
classifier = gs.load_or_train_action_classifier(train_set, test_set)
info = classifier.checkpoint_info
count = sum(p.numel() for p in classifier.parameters()) / 1e6
print(f"classifier: {count:.2f} M parameters, {info['settings']['steps']} training steps; "
      f"accuracy on held-out persons' 10-frame windows {info['test_accuracy']:.3f} (chance {1 / len(ACTIONS):.3f})")
""",
    ),
    (
        "code",
        r"""
assert 0 <= info["test_accuracy"] <= 1
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
## The models to judge

The previous chapter's DRNET and AE-LSTM, with their LSTMs, loaded from the committed checkpoints (or trained, in
`ci`). Each observes the first 10 frames of every held-out clip and generates the next 110.
""",
    ),
    (
        "code",
        r"""
models = kx.kth_models(train_set)
predictors = kx.kth_predictors(models, train_set)
n_obs = predictors["kth"].config.n_observed
offsets = tuple(range(0, 101, 10))
clip_length = min(v.frames for v in test_set.videos)
real_offsets = tuple(o for o in offsets if n_obs + o + gs.WINDOW <= clip_length)
clips, clip_actions = kx.test_clips(test_set, n_obs + max(real_offsets) + gs.WINDOW)
observed = clips[:, :n_obs]
print(f"{len(clips)} held-out clips, one per test video; windows at offsets {offsets}; "
      f"real frames exist up to offset {max(real_offsets)} (clips of {clip_length} frames)")
""",
    ),
    (
        "md",
        r"""
## Fig. 9: the score against the distance from the conditioning frames

The window at offset $o$ holds generated frames $o+1, \dots, o+10$ after the last observed frame. Two references
frame the curves:

* **real clips** — the classifier on the true held-out windows at the same offsets: the ceiling a perfect generator
  would reach;
* **repeat the last frame** — every window is the last observed frame, ten times: the floor of a "generator" that
  keeps the person perfectly sharp and never moves.

The bands are the 5th–95th percentiles of the score over 50 bootstrap resamplings of the clips.
""",
    ),
    (
        "code",
        r"""
probs = {
    "real clips": gs.clip_probabilities(classifier, clips[:, n_obs:], real_offsets),
    "DRNET": gs.rollout_probabilities(classifier, predictors["kth"], observed, offsets),
    "AE-LSTM": gs.rollout_probabilities(classifier, predictors["kth_ae"], observed, offsets),
}
repeated = observed[:, -1:].expand(-1, gs.WINDOW, -1, -1, -1)
probs["repeat the last frame"] = action_probabilities(classifier, repeated)[:, None].expand(-1, len(offsets), -1)
curves = {name: gs.score_curve(p) for name, p in probs.items()}
axis = {name: real_offsets if name == "real clips" else offsets for name in curves}

fig, ax = plt.subplots(figsize=(7, 3.8))
styles = {"real clips": ("k", "-"), "DRNET": ("C0", "-"), "AE-LSTM": ("C1", "-"), "repeat the last frame": ("C7", "--")}
for name, curve in curves.items():
    colour, ls = styles[name]
    ax.plot(axis[name], curve["score"].numpy(), color=colour, ls=ls, marker="o", ms=3, label=name)
    ax.fill_between(axis[name], curve["low"].numpy(), curve["high"].numpy(), color=colour, alpha=0.15)
ax.set_xlabel("offset of the window's first frame from the last conditioning frame")
ax.set_ylabel("Inception score")
ax.set_ylim(1, len(ACTIONS))
ax.legend(fontsize=8)
plt.show()
print(f"{'':24s}" + "".join(f"{o:>7d}" for o in (0, 20, 50, 100)))
for name, curve in curves.items():
    row = {o: curve["score"][axis[name].index(o)].item() for o in (0, 20, 50, 100) if o in axis[name]}
    print(f"{name:24s}" + "".join(f"{row[o]:7.2f}" if o in row else f"{'–':>7s}" for o in (0, 20, 50, 100)))
""",
    ),
    (
        "code",
        r"""
assert all(1 - 1e-6 <= c["score"].min() and c["score"].max() <= len(ACTIONS) + 1e-6 for c in curves.values())
assert all(c["score"].shape == (len(axis[n]),) for n, c in curves.items())
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
The paper's Fig. 9 compares DRNET with MCNet (not reimplemented here) and finds DRNET's score "decaying more
gracefully". The verdicts below are computed from the curves above:
""",
    ),
    (
        "code",
        r"""
drnet_score, ae_score, real_score = curves["DRNET"]["score"], curves["AE-LSTM"]["score"], curves["real clips"]["score"]
floor = curves["repeat the last frame"]["score"][0].item()
late = [i for i, o in enumerate(offsets) if o >= 50]
findings = {
    "DRNET's generations score above the repeat-the-last-frame floor at every offset": bool((drnet_score > floor).all()),
    "DRNET scores above the AE-LSTM from offset 50 on": bool((drnet_score[late] > ae_score[late]).all()),
    "DRNET at offset 100 keeps at least half of its score above 1 at offset 0": (drnet_score[-1] - 1) >= 0.5 * (drnet_score[0] - 1),
}
for claim, holds in findings.items():
    print(f"{'holds' if holds else 'does NOT hold':15s} {claim}")
print(f"\nreal clips: {real_score.mean():.2f} on average over offsets 0–{max(real_offsets)} (the ceiling)")
""",
    ),
    (
        "md",
        r"""
## Appendix B: sharp but misplaced, or blurred but aligned?

First with our own generations: a held-out walking clip, the truth, DRNET's generation and their absolute
difference, every 3rd generated frame. The per-frame PSNR falls as the small error in walking speed turns into a
growing offset, although the person stays sharp.
""",
    ),
    (
        "code",
        r"""
walk_index = clip_actions.index("walking")
truth = clips[walk_index, n_obs : n_obs + 30]
generated = predictors["kth"].rollout(observed[walk_index : walk_index + 1], 30)[0].float()
difference = (generated - truth).abs()
show_grid(torch.stack([truth[2::3], generated[2::3], difference[2::3]]), title="truth / DRNET / |difference|, generated frames 3, 6, …, 30", scale=1.1)
plt.show()
frame_psnr = psnr(generated, truth)
fig, ax = plt.subplots(figsize=(6, 2.8))
ax.plot(np.arange(1, 31), frame_psnr.numpy(), "o-", ms=3)
ax.set_xlabel("generated frame")
ax.set_ylabel("PSNR (dB)")
plt.show()
p_true = action_probabilities(classifier, torch.stack([generated[o : o + 10] for o in (0, 10, 20)]))[:, ACTIONS.index("walking")]
print("PSNR at frames 1 / 10 / 30: " + " / ".join(f"{frame_psnr[i - 1]:.2f} dB" for i in (1, 10, 30)))
print("classifier's p(walking) for the windows 1–10, 11–20, 21–30: " + ", ".join(f"{p:.2f}" for p in p_true.tolist()))
""",
    ),
    (
        "md",
        r"""
Then as a controlled experiment on every held-out clip, so that nothing depends on one example. We take the **true**
future windows and degrade them in two ways that a generator might:

* **shift** — the whole window moved 8 pixels sideways: the person stays perfectly sharp and moves exactly as in
  the truth, only a little ahead of where the truth has them (a generator that got the position slightly wrong);
* **drift** — each frame shifted sideways by a growing amount, up to 8 pixels by the 10th frame: still sharp, but
  now the person moves 0.8 pixels per frame faster than in the truth, as after a speed error;
* **blur** — every frame replaced by the mean of the window: the best guess of a model trained on squared error that
  is unsure where the person goes. It is aligned on average, and it has no motion at all.

PSNR and SSIM against the truth, and the Inception score of each set:
""",
    ),
    (
        "code",
        r"""
def drift(windows, max_shift=8):
    out = torch.empty_like(windows)
    for t in range(windows.shape[1]):
        s = round(max_shift * (t + 1) / windows.shape[1])
        shifted = F.pad(windows[:, t], (s, 0, 0, 0), mode="replicate")[..., : windows.shape[-1]]
        out[:, t] = shifted
    return out

true_windows = clips[:, n_obs : n_obs + gs.WINDOW]
def shift(windows, pixels=8):
    return F.pad(windows.flatten(0, 1), (pixels, 0, 0, 0), mode="replicate")[..., : windows.shape[-1]].reshape(windows.shape)

variants = {"truth": true_windows, "shift (sharp, misplaced)": shift(true_windows), "drift (sharp, too fast)": drift(true_windows),
            "blur (aligned, no motion)": true_windows.mean(1, keepdim=True).expand_as(true_windows)}
flat = lambda x: x.flatten(0, 1)  # noqa: E731
table = {}
for name, windows in variants.items():
    table[name] = {
        "psnr": psnr(flat(windows), flat(true_windows)).clamp(max=100).mean().item(),
        "ssim": ssim(flat(windows), flat(true_windows)).mean().item(),
        "is": inception_score(action_probabilities(classifier, windows)),
    }
print(f"{'':28s} {'PSNR (dB)':>10s} {'SSIM':>7s} {'IS':>6s}")
for name, row in table.items():
    print(f"{name:28s} {row['psnr']:10.2f} {row['ssim']:7.3f} {row['is']:6.2f}")
show_grid(torch.stack([v[walk_index, ::3] for v in variants.values()]), title="truth / shift / drift / blur (frames 1, 4, 7, 10 of one window)", scale=1.1)
plt.show()
""",
    ),
    (
        "code",
        r"""
assert set(table) == set(variants) and all(1 - 1e-6 <= r["is"] <= len(ACTIONS) + 1e-6 for r in table.values())
""",
        ["remove-cell"],
    ),
    (
        "code",
        r"""
m, d, b = table["shift (sharp, misplaced)"], table["drift (sharp, too fast)"], table["blur (aligned, no motion)"]
findings = {
    "the blurred windows get a better PSNR and SSIM than the shifted ones": b["psnr"] > m["psnr"] and b["ssim"] > m["ssim"],
    "the shifted windows get a better Inception score than the blurred ones": m["is"] > b["is"],
    "the drifting windows score below the shifted ones (the classifier reads the speed)": d["is"] < m["is"],
}
for claim, holds in findings.items():
    print(f"{'holds' if holds else 'does NOT hold':15s} {claim}")
""",
    ),
    (
        "md",
        r"""
The shift is appendix B's point in one row: a sharp person a few pixels off loses most of its PSNR and SSIM
against the truth, while the classifier still recognises the action; the blur keeps a good PSNR and loses the
action. The drift shows the other side of the same coin. Its frames are as sharp as the shift's, but the person
moves faster than in the truth, and speed is what tells walking from jogging and running: the score reads motion,
so a generation with the wrong speed is, rightly, a worse generation of that action.
""",
    ),
    (
        "md",
        r"""
## What the score does not measure

* **Whether the generation continues *its own* clip.** The score never looks at the conditioning frames. A model
  that turns a walking person into a convincing boxer is rewarded as long as the set stays balanced. The previous
  chapter's PSNR (at short horizons) and the nearest-neighbour check cover this.
* **Diversity within one action.** $p(y \mid x)$ has six classes. A model that draws every walker with the same
  gait and speed, or the same person every time, loses nothing.
* **The identity of the person.** The classifier is trained to ignore who is acting. DRNET keeps identity by
  construction (its content is copied from the last observed frame), but the score cannot tell.
* **The classifier's own blind spots.** The score is only as good as the classifier: on the stand-in it is nearly
  perfect on real windows, and generations can exploit whatever cue it relies on (a limb's silhouette, a position).
  Comparisons are meaningful against the real-clip ceiling computed with the *same* classifier, never across papers.

In the `ci` profile every model here trains for seconds and the curves mean nothing; the `cpu` profile loads the
committed models and classifier.
""",
    ),
    ("code", "import drnet_core.report\ndrnet_core.report.print_run_info()", ["remove-input"]),
]
notebook(cells, "book/05_inception_score.ipynb", timeout=1200)
