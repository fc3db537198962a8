"""Writes book/03_norb_ablation.ipynb (run: .venv/bin/python tools/make_ch03.py)."""

import sys

sys.path.insert(0, "tools")
from nb import notebook

cells = [
    ("md", r"""
# NORB: what the adversary is for

This is the paper's central experiment (section 4.2, Fig. 4, Fig. 5 left and Table 1). Objects on a turntable
become "videos" by walking the camera around them: within a clip the **object** (and the elevation and lighting)
stays fixed, and only the **viewing angle** changes. Content should be "which object", pose "which angle".

The reconstruction and similarity losses alone (eq. 1–2) do not force that split. Nothing stops the pose encoder
from carrying the object's identity too: the decoder is happy to read it from either code. The adversarial term
(eq. 3–4) is what forbids it: a scene discriminator $C$ tries to tell whether two pose vectors come from the same
clip, and $E_p$ is trained until $C$ cannot. We train the same model twice, with $\beta = 0.1$ and with
$\beta = 0$ (no adversary), and then measure how much each code knows about the object's category.
"""),
    ("code", r"""
import matplotlib.pyplot as plt
import numpy as np
import torch

import drnet_core
from data_utils import synth_norb
from drnet_core import pretrained
from drnet_core.experiments import PAPER_TABLE_1, model_name, norb_ablation, norb_datasets
from drnet_core.report import print_run_info
from drnet_core.viz import image_grid, plot_curves, pose_interpolation, show_grid, swap_grid

torch.manual_seed(0)
print_run_info()
exp = drnet_core.experiment("norb")
"""),
    ("md", r"""
## The data: turntable videos

smallNORB (LeCun et al., 2004) photographs 50 toys, 10 in each of 5 categories (four-legged animals, human
figures, airplanes, trucks, cars), from 18 azimuths (every 20°), 9 elevations (30° to 70°) and under 6 lightings.
The paper turns it into videos by sweeping the azimuth while instance, elevation and lighting stay fixed; we do
the same, with clips that wrap around the full circle. Training uses instances 4, 6, 7, 8 and 9 of each
category, and everything below is measured on the other five, which the models never see.

**smallNORB cannot be downloaded where this book is built**, so unless you point `DRNET_NORB_DIR` at the six
official files (`smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat` and the `5x01235 … testing`
ones, gzipped or not), the chapter runs on **SynthNORB**, our built-in stand-in. It copies smallNORB's layout
exactly (5 × 10 objects, 18 × 9 × 6 views, the same split, grey 96-pixel renders resized to 64), but its objects
are unions of ellipsoids and boxes, ray-cast with Lambertian shading: far simpler than the real toys. The next
cell says which one you are looking at. With the real files, the same cells run unchanged and the models are
retrained (weights trained on the stand-in are never reused for real data).
"""),
    ("code", r"""
train_set, test_set = norb_datasets()
print(f"data: {train_set.source}")
print(f"training objects: {train_set.n_objects}, test objects: {test_set.n_objects}, "
      f"conditions per object (elevation × lighting): {train_set.n_conditions}, views per turn: {train_set.n_views}")
print(f"clips of {train_set.seq_len} frames, {train_set.image_size}×{train_set.image_size} grey")
"""),
    ("code", r"""
assert train_set.n_views == 18 and train_set.labels.bincount().tolist() == [5] * 5
assert test_set.labels.bincount().tolist() == [5] * 5
""", ["remove-cell"]),
    ("md", r"""
A contact sheet of the test objects: one row per category (two instances each), one column per 40° of azimuth,
at the first elevation and lighting of the set.
"""),
    ("code", r"""
rows = []
for category in range(5):
    for instance in (0, 1):
        obj = category * 5 + instance
        rows.append(test_set.clips(torch.tensor([obj]), torch.tensor([0]), torch.tensor([0]), seq_len=18)[0, ::2])
sheet = torch.stack(rows)
show_grid(sheet, title="held-out objects: 5 categories × 2 instances, azimuth 0° to 320°", scale=1.1)
plt.show()
print("categories:", ", ".join(synth_norb.CATEGORIES))
"""),
    ("md", r"""
Within one object, elevation and lighting are the conditions that a clip holds fixed. They change the image a lot,
but not the category: a good content code has to see through them.
"""),
    ("code", r"""
obj = 15  # a test truck
n_cond = test_set.n_conditions
picks = torch.linspace(0, n_cond - 1, min(n_cond, 8)).round().long()
conditions = test_set.clips(torch.full((len(picks),), obj), picks, torch.zeros(len(picks), dtype=torch.long), seq_len=1)[:, 0]
show_grid(conditions[None], title="one object under several (elevation, lighting) conditions", scale=1.1)
plt.show()
"""),
    ("md", r"""
## The model

Section 4.1: for NORB, $E_c$ and $E_p$ are ResNet-18 up to the final pooling layer, with $|h_p| = 10$ and
$|h_c| = 128$, and the decoder $D$ is the DCGAN decoder of the Moving MNIST chapter. We use the 64-pixel ResNet
of the public code: a 5×5 stride-2 stem and a max pool, four stages of two basic blocks, and a 3×3 convolution to
the code, which we normalise to unit length as the paper does. $C$ is unchanged (two hidden layers of 100 units),
and so is the training: eq. 5 with $\alpha = 1$, Adam with learning rate 0.002, offsets $k$ up to $K$ views.
"""),
    ("code", r"""
paper_nf = drnet_core.experiment("norb", "paper").model.nf
model_cfg = exp.model
probe_model = drnet_core.DRNet(model_cfg)
count = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731
print(f"profile {exp.profile}: width nf = {model_cfg.nf} (the paper's is {paper_nf}: {model_cfg.nf / paper_nf:.2f}× the channels)")
print(f"E_c {count(probe_model.content_encoder):.2f} M, E_p {count(probe_model.pose_encoder):.2f} M, "
      f"D {count(probe_model.decoder):.2f} M, C {count(probe_model.discriminator) * 1000:.1f} k parameters")
print(f"training: {exp.train.steps} steps of batch {exp.train.batch_size}, K = {exp.train.max_offset} views, "
      f"loss reduction {exp.train.reduction}")
"""),
    ("md", r"""
## The experiment in one call

`drnet_core.experiments.norb_ablation(train_set, test_set)` trains (or loads) one model per $\beta$ and probes
both. It takes any turntable dataset, so you can rerun it on your own multi-view collection. In the `cpu` profile
the book loads the committed weights; their sidecars say how they were trained.
"""),
    ("code", r"""
result = norb_ablation(train_set, test_set)
for beta, model in result.models.items():
    info = model.checkpoint_info
    print(f"β = {beta:g}: step {info.get('step')}, {info.get('wall_time_s', 0) / 60:.1f} min on {info.get('hardware')}, "
          f"data: {info.get('data_source')}")
"""),
    ("code", r"""
assert set(result.models) == {0.1, 0.0} and len(result.table) == 2
""", ["remove-cell"]),
    ("md", r"""
### The game, with and without the adversary

With $\beta = 0$ the paper has no adversary. We still train $C$ alongside (its loss never reaches $E_p$), so that
its accuracy tells us how much clip identity the pose vectors carry. Compare $C$'s accuracy in the two runs: with
the adversary, $E_p$ pushes it towards 1/2; without it, nothing stops $C$ from learning to recognise the clip.
"""),
    ("code", r"""
logs = {beta: pretrained.model_log(model_name(beta)) for beta in result.models}
for beta, log in logs.items():
    if log:
        fig = plot_curves(log, ["rec", "sim", "disc_acc"], reference={"disc_acc": 0.5})
        fig.suptitle(f"β = {beta:g}", y=1.03)
        plt.show()
        tail = log[-max(1, len(log) // 10):]
        print(f"β = {beta:g}: C's accuracy over the last tenth of training {np.mean([r['disc_acc'] for r in tail]):.3f}, "
              f"reconstruction error {np.mean([r['rec'] for r in tail]):.1f} (summed over pixels)")
"""),
    ("md", r"""
## Factorisation on held-out objects (Fig. 4, left and centre)

Each cell decodes the **content** of the frame at the start of its row with the **pose** of the frame at the top
of its column. All frames are of test objects. A clean split keeps each row's object and turns it to each
column's angle. When content leaks into the pose, the column's object starts to show through.
"""),
    ("code", r"""
gen = torch.Generator().manual_seed(1)
content_objects = torch.tensor([0, 7, 12, 16, 23])
pose_objects = torch.tensor([3, 9, 14, 20, 24, 5])
conds = lambda n: torch.randint(0, test_set.n_conditions, (n,), generator=gen)  # noqa: E731
content_frames = test_set.clips(content_objects, conds(5), torch.zeros(5, dtype=torch.long), seq_len=1)[:, 0]
pose_frames = test_set.clips(pose_objects, conds(6), torch.tensor([0, 3, 6, 9, 12, 15]), seq_len=1)[:, 0]
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, beta in zip(axes, (0.1, 0.0)):
    grid = swap_grid(result.models[beta], content_frames, pose_frames)
    ax.imshow(image_grid(grid), interpolation="nearest")
    ax.set_title(f"β = {beta:g}" + (" (with the adversary)" if beta else " (no adversary)"))
    ax.axis("off")
plt.tight_layout()
plt.show()
"""),
    ("code", r"""
assert grid.shape == (6, 7, 1, 64, 64)
""", ["remove-cell"]),
    ("md", r"""
## Turning an object by walking in pose space (Fig. 5, left)

Hold the content of one test object fixed and move the pose code in a straight line from one view's pose to
another's (renormalised to unit length at every step).
"""),
    ("code", r"""
start = test_set.clips(torch.tensor([20]), torch.tensor([0]), torch.tensor([0]), seq_len=10)[0]
strips = []
for beta in (0.1, 0.0):
    walk = pose_interpolation(result.models[beta], start[0], start[0], start[-1], steps=10)
    strips.append(torch.cat([start[:1], walk, start[-1:]]))
show_grid(torch.stack(strips), title="x₁ → x₂ in pose space; top: β = 0.1, bottom: β = 0", scale=1.1)
plt.show()
"""),
    ("md", r"""
### Explore it yourself

Each slider sets one of the ten pose dimensions of the $\beta = 0.1$ model; the picker chooses which test object's
content is drawn. In Jupyter the frame is redrawn live; in the published book each slider steps through frames
computed when the book was built.
"""),
    ("code", r"""
from drnet_core.explore import PoseExplorer

explorer = PoseExplorer(result.models[0.1], content_frames, pose_frames[0])
explorer.show()
"""),
    ("md", r"""
## How much does each code know about the object? (Table 1)

Appendix D: a classifier with two hidden layers of 256 units (batch norm, leaky ReLU, dropout), trained with Adam
and early-stopped on a validation split, predicts the category from $h_c$ alone or from $h_p$ alone. We train it
on the codes of the training objects' frames (one training instance per category held back for early stopping)
and score it on the five **test** objects of each category, at every view and condition. Chance is 1/5.

What the paper found on smallNORB: with the adversary, content classifies well and pose poorly; without it,
content gets worse and pose better, because the pose vector now carries the object.
"""),
    ("code", r"""
print(f"category accuracy on held-out objects ({result.data_source}, profile {result.profile}); chance {result.table[0]['chance']:.2f}")
print(f"{'':12s} {'ours h_c':>9s} {'ours h_p':>9s} {'paper h_c':>10s} {'paper h_p':>10s}")
for row in result.table:
    paper = PAPER_TABLE_1[row["beta"]]
    print(f"β = {row['beta']:<7g} {100 * row['content']:8.1f}% {100 * row['pose']:8.1f}% {paper['content']:9.1f}% {paper['pose']:9.1f}%")
rows = {row["beta"]: row for row in result.table}
fig, ax = plt.subplots(figsize=(6, 3.2))
x = np.arange(2)
for i, (beta, label) in enumerate(((0.1, "β = 0.1"), (0.0, "β = 0"))):
    ax.bar(x + (i - 0.5) * 0.38, [100 * rows[beta]["content"], 100 * rows[beta]["pose"]], width=0.36, label=label)
ax.axhline(100 * rows[0.1]["chance"], color="k", ls="--", lw=1, label="chance")
ax.set_xticks(x, ["classifier on h_c", "classifier on h_p"])
ax.set_ylabel("test accuracy (%)")
ax.set_ylim(0, 100)
ax.legend(fontsize=8)
plt.show()
"""),
    ("code", r"""
assert all(0 <= row["content"] <= 1 and 0 <= row["pose"] <= 1 for row in result.table)
""", ["remove-cell"]),
    ("md", r"""
The verdicts below are computed from the numbers above, not written in advance: they say whether our run repeats
each of the paper's three findings.
"""),
    ("code", r"""
with_adv, without = rows[0.1], rows[0.0]
findings = {
    "content classifies well with the adversary (≥ 85 %)": with_adv["content"] >= 0.85,
    "the pose code knows less about the object with the adversary than without": with_adv["pose"] < without["pose"],
    "the content code is worse without the adversary": without["content"] < with_adv["content"],
}
for claim, holds in findings.items():
    print(f"{'reproduced' if holds else 'NOT reproduced':15s} {claim}")
print(f"\nleak into the pose (h_p accuracy above chance): β = 0.1 {100 * (with_adv['pose'] - with_adv['chance']):+.1f} points, "
      f"β = 0 {100 * (without['pose'] - without['chance']):+.1f} points")
"""),
    ("md", r"""
## Investigating: how strong is the adversary?

In eq. 5 the adversarial term pulls on $E_p$ against the reconstruction term, and its pull depends on $\beta$
*relative to the scale of the reconstruction error*. That scale depends on how $\lVert\cdot\rVert^2$ is
reduced. We follow the paper's notation and **sum** the squared error over the 64×64 pixels (and average over
the batch). The public code instead **averages** over the pixels (`nn.MSELoss`), which makes the reconstruction
term 4,096 times smaller for the same images, and so makes $\beta = 0.1$ thousands of times stronger relative to
it. The paper does not say which it used. The ratio $\beta L_{adv} / L_{rec}$ at the end of each run shows how
much of the objective the adversary held:
"""),
    ("code", r"""
def adversary_share(log, beta):
    tail = log[-max(1, len(log) // 10):]
    return beta * np.mean([r["adv_pose"] for r in tail]) / np.mean([r["rec"] for r in tail])

for beta, log in logs.items():
    if log and beta:
        print(f"β = {beta:g}, summed errors: β·L_adv / L_rec = {adversary_share(log, beta):.4f}, "
              f"C's final accuracy {np.mean([r['disc_acc'] for r in log[-max(1, len(log) // 10):]]):.3f}")
"""),
    ("md", r"""
To test whether the adversary was simply too weak, we train a third model exactly like the $\beta = 0.1$ one but
with the public code's **mean** reduction, and put it through the same grid and the same probes. The call is the
same experiment with one setting changed:
"""),
    ("code", r"""
mean_run = norb_ablation(train_set, test_set, betas=(0.1,), overrides={"train.reduction": "mean"})
mean_model, mean_row = mean_run.models[0.1], mean_run.table[0]
mean_log = pretrained.model_log(model_name(0.1, {"train.reduction": "mean"}))
if mean_log:
    tail = mean_log[-max(1, len(mean_log) // 10):]
    print(f"β = 0.1, mean over pixels: β·L_adv / L_rec = {adversary_share(mean_log, 0.1):.2f}, "
          f"C's final accuracy {np.mean([r['disc_acc'] for r in tail]):.3f}")
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, (title, model) in zip(axes, (("β = 0.1, summed errors", result.models[0.1]), ("β = 0.1, mean errors (public code)", mean_model))):
    ax.imshow(image_grid(swap_grid(model, content_frames, pose_frames)), interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
plt.tight_layout()
plt.show()
"""),
    ("md", r"""
The mean reduction changes more than the adversary's weight: it also rescales the reconstruction against the
similarity term. So the fair comparison for the mean-error $\beta = 0.1$ model is a $\beta = 0$ model with mean
errors too. That control's weights are not committed (the repository keeps its checkpoints small); its probe
results are, in `checkpoints/norb_controls_cpu.json`, written by the call below when it trains the control
(`python -m drnet_core norb-ablation --controls` does the same from a terminal):
"""),
    ("code", r"""
from drnet_core.experiments import norb_control_rows

(mean_control,) = norb_control_rows(train_set, test_set)
print(f"{mean_control['name']}: trained for {mean_control['steps']} steps in {mean_control['wall_time_s'] / 60:.1f} min "
      f"on {mean_control['hardware']}")
"""),
    ("code", r"""
print(f"{'':30s} {'h_c':>7s} {'h_p':>7s}")
rows = (("β = 0.1, summed errors", with_adv), ("β = 0,   summed errors", without),
        ("β = 0.1, mean errors", mean_row), ("β = 0,   mean errors", mean_control))
for label, row in rows:
    print(f"{label:30s} {100 * row['content']:6.1f}% {100 * row['pose']:6.1f}%")
print(f"{'chance':30s} {100 * with_adv['chance']:6.1f}%")
print()
print(f"{'reproduced' if with_adv['pose'] < without['pose'] else 'NOT reproduced':15s} "
      "with summed errors, the pose code knows less about the object with the adversary than without it")
print(f"{'reproduced' if mean_row['pose'] < mean_control['pose'] else 'NOT reproduced':15s} "
      "with the public code's mean errors, the pose code knows less about the object with the adversary than without it")
print(f"{'reproduced' if mean_row['content'] >= 0.85 else 'NOT reproduced':15s} "
      "with the public code's weighting, content classifies well (≥ 85 %)")
"""),
    ("code", r"""
assert 0 <= mean_row["content"] <= 1 and 0 <= mean_row["pose"] <= 1
assert 0 <= mean_control["content"] <= 1 and 0 <= mean_control["pose"] <= 1 and mean_control["beta"] == 0
""", ["remove-cell"]),
    ("md", r"""
### Reading the result

Three things make these numbers harder to read than they look.

* **Pose carries some category information legitimately.** Airplanes are wide and flat, human figures tall and
  thin: the silhouette at a given angle differs by category, and a 10-dimensional pose vector that encodes the
  angle well may still say "tall" or "wide". The paper's clean model scores 60.9 % on $h_p$, far above chance,
  for this reason. What the adversary removes is what is *constant within a clip* beyond what the angle needs.
* **The weight of the adversary is set by $\beta$ and by the loss scaling together**, as the investigation above
  measures. A $\beta$ tuned with one reduction is a different experiment under the other.
* **The size of $h_p$ matters as much as $\beta$.** The public code's issue tracker reports that on NORB, without
  the adversary, the factors still separate when $|h_p| = 2$ and fail when $|h_p| = 10$: a tiny pose vector has no
  room for content. The paper's $|h_p| = 10$ leaves room, so the adversary has work to do.

The stand-in's objects are far simpler than smallNORB's toys, and the `cpu` models are a quarter of the paper's
width and train for 3,000 steps (the cell that loads them prints how long each took), so the numbers here are not the paper's; what
carries over is the comparison between the runs. In the `ci` profile the models train for seconds and the numbers
mean nothing; the `paper` profile trains the full-width networks for 60,000 steps on a GPU.
"""),
    ("code", "import drnet_core.report\ndrnet_core.report.print_run_info()", ["remove-input"]),
]
notebook(cells, "book/03_norb_ablation.ipynb", timeout=1200)
