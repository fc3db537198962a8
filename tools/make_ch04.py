"""Writes book/04_kth_prediction.ipynb (run: .venv/bin/python tools/make_ch04.py)."""

import sys

sys.path.insert(0, "tools")
from nb import notebook

cells = [
    (
        "md",
        r"""
# KTH: predicting people far into the future

The paper's real-video result (section 4.3, Figs. 6–8 and 10). KTH (Schüldt, Laptev and Caputo, 2004) films 25
people doing six actions (walking, jogging, running, boxing, hand waving, hand clapping) in four scenarios, against
fairly plain backgrounds. Here DRNET's split pays off twice:

* **prediction** — an LSTM predicts only the *pose* vectors, while the content (the person, the clothes, the
  background) stays fixed from the last observed frame. Nothing in the content can blur or drift, so the generations
  stay sharp for a hundred frames;
* **representation** — the pose vectors describe the motion without the person, so a classifier trained on very
  few labelled people recognises the actions of new ones.

Both are compared against the paper's **AE-LSTM** baseline: the same pipeline with a single encoder whose features
mix content and pose.
""",
    ),
    (
        "code",
        r"""
import matplotlib.pyplot as plt
import numpy as np
import torch

import drnet_core
from data_utils import synth_kth
from data_utils.kth import ACTIONS
from drnet_core import kth_experiment as kx
from drnet_core import pretrained
from drnet_core.report import print_run_info
from drnet_core.viz import plot_curves, show_grid, swap_grid

torch.manual_seed(0)
print_run_info()
exp = drnet_core.experiment("kth")
ae_exp = drnet_core.experiment("kth_ae")
""",
    ),
    (
        "md",
        r"""
## The data

The paper trains on persons 1–16 and tests on persons 17–25 (appendix C, following MCNet; not the usual
action-recognition split). Frames are grey and squashed from 160×120 to a square; we use 64×64 (the paper 128×128,
the public code either).

**KTH cannot be downloaded where this book is built.** Unless `DRNET_KTH_DIR` points at the official
`personNN_ACTION_dS_uncomp.avi` files (with `00sequences.txt` beside them for the action boundaries), the chapter
runs on **SynthKTH**, our built-in stand-in: 25 procedurally drawn subjects with their own proportions and clothing
shades, the same six actions with articulated limbs whose joint angles follow each action's rhythm, the same four
scenarios (outdoors, zooming, other clothes, indoors), grey, 25 fps, with a little sensor noise. It is far simpler
than real people: no shadows, no camera shake, stick-like limbs. `data_utils.kth.prepare` turns the real videos
into the same prepared format, and the cells below then run unchanged (models trained on the stand-in are never
reused for the real data). The next cell says which one you are looking at.
""",
    ),
    (
        "code",
        r"""
train_set, test_set = kx.kth_datasets()
print(f"data: {train_set.source}")
print(f"training videos: {len(train_set.videos)} (persons {min(v.person for v in train_set.videos)}–{max(v.person for v in train_set.videos)}), "
      f"test videos: {len(test_set.videos)} (persons {min(v.person for v in test_set.videos)}–{max(v.person for v in test_set.videos)})")
print(f"frames per video: {train_set.videos[0].frames}, {train_set.image_size}×{train_set.image_size} grey, {synth_kth.FPS} fps")
""",
    ),
    (
        "code",
        r"""
assert {v.person for v in train_set.videos}.isdisjoint({v.person for v in test_set.videos})
assert max(v.person for v in train_set.videos) <= 16 < min(v.person for v in test_set.videos)
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
One held-out clip of each action (every 4th frame, so each row spans a little over a second):
""",
    ),
    (
        "code",
        r"""
samples = [kx.test_clips(test_set, 24, actions=(action,), max_clips=1)[0][0, ::4] for action in ACTIONS]
show_grid(torch.stack(samples), title="held-out clips: " + ", ".join(ACTIONS) + " (top to bottom)", scale=1.1)
plt.show()
""",
    ),
    (
        "md",
        r"""
## The models

Section 4.1: $E_c$ is VGG16 up to the final pooling layer ($|h_c| = 128$), with U-Net skips into a decoder that
mirrors it (pooling replaced by up-sampling); $E_p$ is ResNet-18 with $|h_p| = 5$; $\beta = 10^{-4}$. The skips
come from the content frame $x^t$, never from the target, so the static background can flow straight to the
decoder while the pose still has to come through $h_p$.

The **AE baseline** uses one VGG16 encoder with the same skips. Its 24 features (the size of appendix D) replace
both codes: the decoder draws $x^{t+k}$ from the features of $x^{t+k}$ and the skips of $x^t$, with the
reconstruction loss alone. Nothing asks its features to separate what changes from what stays.
""",
    ),
    (
        "code",
        r"""
paper_nf = drnet_core.experiment("kth", "paper").model.nf
count = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731
demo = drnet_core.DRNet(exp.model)
demo_ae = drnet_core.DRNet(ae_exp.model)
print(f"profile {exp.profile}: width nf = {exp.model.nf} (the paper's is {paper_nf}: {exp.model.nf / paper_nf:.3f}× the channels)")
print(f"DRNET: E_c (VGG) {count(demo.content_encoder):.2f} M, E_p (ResNet-18) {count(demo.pose_encoder):.2f} M, D {count(demo.decoder):.2f} M parameters; "
      f"|h_c| = {exp.model.content_dim}, |h_p| = {exp.model.pose_dim}, β = {exp.train.beta:g}")
print(f"AE:    encoder (VGG) {count(demo_ae.encoder):.2f} M, D {count(demo_ae.decoder):.2f} M parameters; {ae_exp.model.pose_dim} features")
print(f"training: {exp.train.steps} steps of batch {exp.train.batch_size}, K = {exp.train.max_offset} frames, Adam lr {exp.train.lr}")
""",
    ),
    (
        "md",
        r"""
In the `cpu` profile the book loads the committed weights (their sidecars record how they were trained); in `ci`
it trains tiny models for a few seconds, whose pictures mean nothing.
""",
    ),
    (
        "code",
        r"""
models = kx.kth_models(train_set)
drnet, ae = models["kth"], models["kth_ae"]
for name, model in models.items():
    info = model.checkpoint_info
    print(f"{name}: step {info.get('step')}, {info.get('wall_time_s', 0) / 60:.1f} min on {info.get('hardware')}")
""",
    ),
    (
        "code",
        r"""
for name, label in (("kth", "DRNET"), ("kth_ae", "AE baseline")):
    log = pretrained.model_log(name)
    if log:
        fig = plot_curves(log, ["rec", "sim", "disc_acc"] if name == "kth" else ["rec"], reference={"disc_acc": 0.5})
        fig.suptitle(label, y=1.03)
        plt.show()
""",
    ),
    (
        "md",
        r"""
With $\beta = 10^{-4}$ the adversary is nearly silent on KTH: the paper relies on the tiny pose vector ($|h_p| = 5$)
to keep content out, and on the skips to carry the background. $C$'s accuracy shows how much clip identity the
pose vectors still carry.

### Does the split hold? Content from the left, pose from the top

Each cell decodes the content (and skips) of the frame at the start of its row with the pose of the frame at the top
of its column, all from held-out persons.
""",
    ),
    (
        "code",
        r"""
content_frames = kx.test_clips(test_set, 1, max_clips=len(test_set.videos))[0][::max(1, len(test_set.videos) // 5)][:5, 0]
pose_clips = kx.test_clips(test_set, 24, actions=("walking", "boxing", "handwaving"), max_clips=30)[0]
pose_frames = pose_clips[torch.linspace(0, len(pose_clips) - 1, 6).round().long(), 12]
grid = swap_grid(drnet, content_frames, pose_frames)
show_grid(grid, title="DRNET: row content × column pose (held-out persons)", scale=1.1)
plt.show()
""",
    ),
    (
        "code",
        r"""
assert grid.shape == (6, 7, 1, 64, 64) and 0 <= grid.min() and grid.max() <= 1
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
## The predictors

A two-layer LSTM (256 cells in section 4.1; the `cpu` profile narrows it to 128, like the rest of its networks)
reads $[h_p^{t}, h_c]$ and predicts $h_p^{t+1}$ (eq. 6–7). It observes
10 frames and is trained to predict 10, with the content and skips taken from the **last observed** frame. The AE
baseline gets the same LSTM on its 24 features. Both encoders stay frozen (in `eval()` mode).
""",
    ),
    (
        "code",
        r"""
predictors = kx.kth_predictors(models, train_set)
settings = drnet_core.config.lstm_settings(dataset="kth")
print(f"LSTM {settings.layers}×{settings.hidden}: observes {settings.n_observed} frames, trained to predict {settings.n_predicted}, "
      f"{settings.steps} steps of batch {settings.batch_size}")
""",
    ),
    (
        "md",
        r"""
## Forward generations (Fig. 6)

Held-out walking and running clips: both models observe the first 10 frames and generate the next 20; every 3rd
frame is shown. In each block the rows are the truth, DRNET and the AE baseline.
""",
    ),
    (
        "code",
        r"""
n_obs = settings.n_observed
fig6 = {}
for action in ("walking", "running"):
    clip = kx.test_clips(test_set, n_obs + 20, actions=(action,), max_clips=1)[0]
    rows = [clip[0, n_obs:][2::3]]
    for name in ("kth", "kth_ae"):
        rows.append(predictors[name].rollout(clip[:, :n_obs], 20)[0][2::3].float())
    fig6[action] = torch.stack(rows)
    show_grid(fig6[action], title=f"{action}: truth / DRNET / AE-LSTM, generated frames 3, 6, …, 18", scale=1.1)
    plt.show()
""",
    ),
    (
        "code",
        r"""
assert all(block.shape == (3, 6, 1, 64, 64) for block in fig6.values())
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
## A hundred frames ahead (Fig. 7)

The same predictors rolled out 100 steps past the last observed frame (every 10th frame shown), one held-out clip of
four actions. DRNET's frames cannot lose the person's appearance, because it is never predicted; what can go
wrong is the motion.
""",
    ),
    (
        "code",
        r"""
long_rows, long_actions = [], ("walking", "jogging", "boxing", "handclapping")
for action in long_actions:
    clip = kx.test_clips(test_set, n_obs, actions=(action,), max_clips=1)[0]
    future = predictors["kth"].rollout(clip, 100)[0]
    long_rows.append(torch.cat([clip[0, -1:], future[9::10].float()]))
long_rows = torch.stack(long_rows)
show_grid(long_rows, title="DRNET: last observed frame, then generated frames 10, 20, …, 100 (" + ", ".join(long_actions) + ")", scale=1.1)
plt.show()
ae_long = predictors["kth_ae"].rollout(kx.test_clips(test_set, n_obs, actions=("walking",), max_clips=1)[0], 100)[0][9::10].float()
show_grid(ae_long[None], title="AE-LSTM on the walking clip: generated frames 10, 20, …, 100", scale=1.1)
plt.show()
""",
    ),
    (
        "code",
        r"""
assert long_rows.shape == (4, 11, 1, 64, 64) and torch.isfinite(long_rows).all()
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
Sharpness can be measured without ground truth: the mean absolute difference between neighbouring pixels of a
frame falls as the frame blurs. The next cell compares it along both rollouts with the observed frames.
""",
    ),
    (
        "code",
        r"""
def sharpness(frames):
    return ((frames[..., 1:, :] - frames[..., :-1, :]).abs().mean((-1, -2, -3)) + (frames[..., :, 1:] - frames[..., :, :-1]).abs().mean((-1, -2, -3))) / 2

observed = kx.test_clips(test_set, n_obs, max_clips=48)[0]
sharp = {"observed frames": sharpness(observed).mean().item()}
for name, label in (("kth", "DRNET"), ("kth_ae", "AE-LSTM")):
    future = predictors[name].rollout(observed, 100).float()
    for step in (10, 50, 100):
        sharp[f"{label} at step {step}"] = sharpness(future[:, step - 1]).mean().item()
for label, value in sharp.items():
    print(f"{label:24s} edge strength {value:.4f}")
""",
    ),
    (
        "md",
        r"""
## Is it copying? Nearest neighbours in the training set (Fig. 10)

A high-capacity model might memorise training clips. For generated frames of held-out persons we look up the
closest training frames, by pose vector alone and by content plus pose. Pose neighbours should show *other*
people in the same posture; content-plus-pose neighbours should resemble the person without being the frame that
was generated (the test persons are not in the training set at all).
""",
    ),
    (
        "code",
        r"""
pool = kx.training_frames(train_set, per_video=8)
query_clip = kx.test_clips(test_set, n_obs, actions=("walking",), max_clips=1)[0]
queries = predictors["kth"].rollout(query_clip, 30)[0][4::5].float()
neighbours = kx.nearest_training_frames(drnet, queries, pool)
fig10 = torch.stack([queries, pool[neighbours["pose"]], pool[neighbours["content+pose"]]])
show_grid(fig10, title="generated (top); nearest training frame by pose (middle); by content + pose (bottom)", scale=1.1)
plt.show()
print(f"searched {len(pool)} training frames; mean pixel distance to the content+pose neighbour: "
      f"{(queries - pool[neighbours['content+pose']]).abs().mean().item():.3f}")
""",
    ),
    (
        "code",
        r"""
assert fig10.shape == (3, 6, 1, 64, 64)
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
## PSNR and SSIM by horizon

The usual pixel metrics against the true future, for both models, on held-out clips: PSNR $= 10 \log_{10}(1/\mathrm{MSE})$
and SSIM with an 11×11 Gaussian window ($\sigma = 1.5$), per generated frame. Keep the next chapter's warning in mind:
a person drawn sharply but a little ahead of where the truth is scores *worse* than a grey blur in the right place.
""",
    ),
    (
        "code",
        r"""
quality_clips = kx.test_clips(test_set, n_obs + 20)[0]
quality = {name: kx.prediction_quality(predictors[name], quality_clips, n_obs) for name in ("kth", "kth_ae")}
repeat = quality_clips[:, n_obs - 1 : n_obs].expand(-1, 20, -1, -1, -1)
from drnet_core.metrics import psnr, ssim  # noqa: E402
flat = lambda x: x.flatten(0, 1)  # noqa: E731
quality["repeat last frame"] = {
    "psnr": psnr(flat(repeat), flat(quality_clips[:, n_obs:])).reshape(-1, 20).mean(0),
    "ssim": ssim(flat(repeat), flat(quality_clips[:, n_obs:])).reshape(-1, 20).mean(0),
}
labels = {"kth": "DRNET", "kth_ae": "AE-LSTM", "repeat last frame": "repeat the last frame"}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
steps = np.arange(1, 21)
for name, scores in quality.items():
    for ax, metric in zip(axes, ("psnr", "ssim")):
        ax.plot(steps, scores[metric].numpy(), label=labels[name], ls="--" if name == "repeat last frame" else "-")
for ax, metric in zip(axes, ("PSNR (dB)", "SSIM")):
    ax.set_xlabel("frames after the last observed one")
    ax.set_ylabel(metric)
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()
print(f"{len(quality_clips)} held-out clips")
for name, scores in quality.items():
    print(f"{labels[name]:22s} PSNR at steps 1 / 10 / 20: " + " / ".join(f"{scores['psnr'][s - 1]:.2f}" for s in (1, 10, 20))
          + "   SSIM: " + " / ".join(f"{scores['ssim'][s - 1]:.3f}" for s in (1, 10, 20)))
""",
    ),
    (
        "code",
        r"""
assert all(s["psnr"].shape == (20,) and torch.isfinite(s["psnr"]).all() and (s["ssim"] <= 1).all() for s in quality.values())
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
## Actions from a few labelled people (Fig. 8)

Appendix D: take sequences of 24 frames, encode every frame, and train a classifier with two hidden layers of 1,200
units (batch norm, leaky ReLU and dropout, Adam) on the flattened codes to name the action. Train it on the first
$n$ training persons only, early-stop it on training persons beyond the twelfth, and score it on all the test persons.
DRNET gives its pose vectors ($24 \times 5$ numbers per sequence); the AE baseline its features ($24 \times 24$).
The paper's DRNET for this figure had 24 pose dimensions; ours is the prediction model above, with 5.
""",
    ),
    (
        "code",
        r"""
counts = kx.available_subject_counts(train_set)
few_shot = {name: kx.few_shot_action_accuracy(models[name], train_set, test_set, counts) for name in ("kth", "kth_ae")}
fig, ax = plt.subplots(figsize=(5.5, 3.4))
for name, label in (("kth", "DRNET pose vectors"), ("kth_ae", "AE features")):
    ax.plot(counts, [100 * few_shot[name][n] for n in counts], "o-", label=label)
ax.axhline(100 / len(ACTIONS), color="k", ls="--", lw=1, label="chance")
ax.set_xlabel("training subjects")
ax.set_ylabel("test accuracy (%)")
ax.set_xscale("log", base=2)
ax.set_xticks(counts, [str(n) for n in counts])
ax.set_ylim(0, 100)
ax.legend(fontsize=8)
plt.show()
print(f"{'subjects':>9s} " + " ".join(f"{n:>6d}" for n in counts))
for name, label in (("kth", "DRNET"), ("kth_ae", "AE")):
    print(f"{label:>9s} " + " ".join(f"{100 * few_shot[name][n]:5.1f}%" for n in counts))
""",
    ),
    (
        "code",
        r"""
assert all(0 <= a <= 1 for scores in few_shot.values() for a in scores.values())
""",
        ["remove-cell"],
    ),
    (
        "md",
        r"""
The verdicts below are computed from the numbers above: they say whether this run repeats the paper's findings.
""",
    ),
    (
        "code",
        r"""
fewest = counts[0]
findings = {
    f"with {fewest} labelled subject(s), DRNET's pose vectors classify actions better than the AE's features":
        few_shot["kth"][fewest] > few_shot["kth_ae"][fewest],
    "DRNET's pose vectors beat the AE's features on average over the subject counts":
        np.mean(list(few_shot["kth"].values())) > np.mean(list(few_shot["kth_ae"].values())),
    "DRNET's frames 100 steps ahead are as sharp as observed frames (within 25 %)":
        sharp["DRNET at step 100"] > 0.75 * sharp["observed frames"],
}
for claim, holds in findings.items():
    print(f"{'reproduced' if holds else 'NOT reproduced':15s} {claim}")
""",
    ),
    (
        "md",
        r"""
### Explore the pose space

Five sliders set DRNET's five pose dimensions; the picker chooses whose content (person, clothes, background,
through the skips) is drawn. In Jupyter the frame is redrawn live; in the published book each slider steps through
frames computed when the book was built.
""",
    ),
    (
        "code",
        r"""
from drnet_core.explore import PoseExplorer

explorer = PoseExplorer(drnet, content_frames, pose_frames[0])
explorer.show()
""",
    ),
    (
        "md",
        r"""
### Reading the result

* The stand-in's people are simple, so both models reconstruct them easily; the difference between the models is
  in what the codes *mean*, which the classification and the long rollouts expose.
* The `cpu` models are an eighth of the paper's width at 64×64 instead of 128×128 and train for a few thousand
  steps (the cell that loads them prints how long). The `paper` profile trains full-width networks for 100,000
  steps on a GPU; pointing `DRNET_KTH_DIR` at the real videos retrains everything on real people.
* PSNR and SSIM fall with the horizon for every model, including the one that keeps the person sharp. The next
  chapter measures the generations with a score that asks whether the *action* is still recognisable instead.
""",
    ),
    ("code", "import drnet_core.report\ndrnet_core.report.print_run_info()", ["remove-input"]),
]
notebook(cells, "book/04_kth_prediction.ipynb", timeout=1200)
