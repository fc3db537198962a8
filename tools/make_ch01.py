"""Writes book/01_losses.ipynb (run: .venv/bin/python tools/make_ch01.py)."""

import sys

sys.path.insert(0, "tools")
from nb import notebook

VERSIONS = ("code", "import drnet_core.report\ndrnet_core.report.print_run_info()", ["remove-input"])

cells = [
    ("md", r"""
# The losses

DRNET learns to split each frame into **content** and **pose** with four loss terms (paper, section 3). This
chapter takes each one on small, hand-made tensors, so that its value can be checked with pencil and paper, and
then plays the adversarial game between the scene discriminator $C$ and the pose encoder $E_p$. It ends with a
tiny live training run whose curves show that game.

Everything here is imported from `drnet_core.losses`; the code you see is the code the tests check.
"""),
    ("code", r"""
import inspect
import math

import matplotlib.pyplot as plt
import torch

import drnet_core
from drnet_core import losses
from drnet_core.report import print_run_info

torch.manual_seed(0)
print_run_info()
"""),
    ("md", r"""
## Eq. 1 — reconstruction

The decoder gets the content of frame $x^t$ and the pose of frame $x^{t+k}$, and must produce $x^{t+k}$:

$$\mathcal{L}_{reconstruction} = \lVert D(E_c(x^t), E_p(x^{t+k})) - x^{t+k} \rVert_2^2 .$$

The paper writes a squared $\ell_2$ norm: a **sum over pixels**. We average that sum over the batch. Both public
implementations use `nn.MSELoss`, which averages over pixels too; that divides the term by $3 \times 64 \times 64 = 12{,}288$
and changes how hard it pulls against the other terms. `reduction="mean"` reproduces the public code.
"""),
    ("code", r"""
print(inspect.getsource(losses.reconstruction_loss))
target = torch.zeros(2, 1, 4, 4)
target[0, 0, 1:3, 1:3] = 1.0  # a 2×2 white square
target[1, 0, 0, :] = 1.0      # a white top row
prediction = torch.zeros(2, 1, 4, 4)
prediction[0, 0, 1:3, 1:3] = 0.5  # half-grey square: 4 pixels off by 0.5 → 4 × 0.25 = 1.0
prediction[1, 0, 0, :] = 1.0      # exact
rec_sum = losses.reconstruction_loss(prediction, target)
rec_mean = losses.reconstruction_loss(prediction, target, reduction="mean")
print(f"sum over pixels, mean over batch: {rec_sum.item():.4f}  (by hand: (1.0 + 0.0) / 2 = 0.5)")
print(f"mean over every element:          {rec_mean.item():.5f} (by hand: 1.0 / 32 = {1/32:.5f})")
"""),
    ("code", r"""
assert abs(rec_sum.item() - 0.5) < 1e-6 and abs(rec_mean.item() - 1 / 32) < 1e-7
""", ["remove-cell"]),
    ("md", r"""
## Eq. 2 — similarity

Content should change slowly within a clip, so the content codes of two frames of the same clip are pulled together:

$$\mathcal{L}_{similarity} = \lVert E_c(x^t) - E_c(x^{t+k}) \rVert_2^2 .$$

Our encoders normalise every code to unit length (paper, section 4.1), so this term lies between 0 (same
direction) and 4 (opposite directions); two orthogonal codes give 2.
"""),
    ("code", r"""
a = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
b = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
per_pair = [losses.similarity_loss(a[i : i + 1], b[i : i + 1]).item() for i in range(3)]
print("same, orthogonal, opposite:", per_pair)
print("batch mean:", losses.similarity_loss(a, b).item())
"""),
    ("code", r"""
assert per_pair == [0.0, 2.0, 4.0] and abs(losses.similarity_loss(a, b).item() - 2.0) < 1e-6
""", ["remove-cell"]),
    ("md", r"""
The similarity term alone has a trivial minimum: a constant content code. The reconstruction term forbids it,
because the decoder then could not tell clips apart. Together they ask for a code that is constant *within* a clip
and different *between* clips.

## Eq. 3 — the scene discriminator

$C$ reads two pose vectors and outputs the probability that they come from the same clip. It is trained with
binary cross-entropy on same-clip pairs $(h_{p,i}^t, h_{p,i}^{t+k})$, labelled 1, and different-clip pairs
$(h_{p,i}^t, h_{p,j}^{t+k})$, labelled 0:

$$-\mathcal{L}_{adversarial}(C) = \log C(E_p(x_i^t), E_p(x_i^{t+k})) + \log\big(1 - C(E_p(x_i^t), E_p(x_j^{t+k}))\big).$$

`C` emits a logit; the sigmoid lives inside the loss, which is numerically safer. Three discriminators, by hand:
"""),
    ("code", r"""
print(inspect.getsource(losses.discriminator_loss))
cases = {
    "confident and right": (torch.tensor([8.0, 8.0]), torch.tensor([-8.0, -8.0])),
    "unsure (C = 1/2)": (torch.zeros(2), torch.zeros(2)),
    "confident and wrong": (torch.tensor([-8.0, -8.0]), torch.tensor([8.0, 8.0])),
}
disc_values = {name: losses.discriminator_loss(same, diff).item() for name, (same, diff) in cases.items()}
for name, value in disc_values.items():
    print(f"{name:22s} L_adv(C) = {value:.4f}")
print(f"by hand, unsure: 2·log 2 = {2 * math.log(2):.4f}")
"""),
    ("code", r"""
assert disc_values["confident and right"] < 1e-3
assert abs(disc_values["unsure (C = 1/2)"] - 2 * math.log(2)) < 1e-6
assert disc_values["confident and wrong"] > 15
""", ["remove-cell"]),
    ("md", r"""
Where do the different-clip pairs come from? From the other clips of the same batch. We pair clip $i$ with clip
$i-1$ (a roll of the batch by one), which never pairs a clip with itself. A random permutation would, about once
per batch, label a same-clip pair "different" and teach $C$ nonsense.

## Eq. 4 — the pose encoder's side of the game

The pose encoder does *not* try to make $C$ wrong. It tries to make $C$ **unsure** on same-clip pairs, by
maximising the entropy of its output:

$$-\mathcal{L}_{adversarial}(E_p) = \tfrac12 \log C(\cdot) + \tfrac12 \log\big(1 - C(\cdot)\big).$$

This is the cross-entropy between $C$'s output and the target $\tfrac12$. Written as a function of $c = C(\cdot)$,
its derivative is $-\tfrac{1}{2c} + \tfrac{1}{2(1-c)}$, which is zero only at $c = \tfrac12$: there the loss is
$\log 2 \approx 0.693$, the entropy of a fair coin. Why not ask $E_p$ to make $C$ say "different"? Because then
the pose encoder would only have to fool one fixed $C$, for example by flipping some feature; asking for maximum
uncertainty leaves $E_p$ nothing to gain except removing the clip identity from the pose.
"""),
    ("code", r"""
c = torch.linspace(0.01, 0.99, 197)
logits = torch.log(c / (1 - c))
adv = torch.stack([losses.pose_adversarial_loss(lg.reshape(1)) for lg in logits])
logit_grid = logits.clone().requires_grad_()
torch.stack([losses.pose_adversarial_loss(lg.reshape(1)) for lg in logit_grid]).sum().backward()

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
ax1.plot(c, adv)
ax1.axhline(math.log(2), color="grey", ls="--", lw=1)
ax1.axvline(0.5, color="grey", ls=":", lw=1)
ax1.set_xlabel("C's output on a same-clip pair")
ax1.set_ylabel(r"$\mathcal{L}_{adv}(E_p)$")
ax1.set_title("minimum log 2 at C = 1/2")
ax2.plot(c, logit_grid.grad)
ax2.axhline(0, color="grey", lw=1)
ax2.set_xlabel("C's output")
ax2.set_ylabel("d loss / d logit")
ax2.set_title("E_p's push: towards C = 1/2 from both sides")
fig.tight_layout()
plt.show()
best = c[adv.argmin()].item()
print(f"minimum at C = {best:.3f}, value {adv.min().item():.4f} (log 2 = {math.log(2):.4f})")
"""),
    ("code", r"""
assert abs(best - 0.5) < 0.01 and abs(adv.min().item() - math.log(2)) < 1e-4
assert (logit_grid.grad[c < 0.49] < 0).all() and (logit_grid.grad[c > 0.51] > 0).all()
""", ["remove-cell"]),
    ("md", r"""
### What each player's gradient does

The two players look at the same same-clip logit $\ell = \operatorname{logit} C(h_p^t, h_p^{t+k})$:

* $C$ descends $-\log\sigma(\ell)$, whose gradient in $\ell$ is $\sigma(\ell) - 1 < 0$: $C$ always pushes $\ell$ **up**
  (more sure of "same"), and on different-clip pairs **down**.
* $E_p$ descends the eq. 4 loss, whose gradient in $\ell$ is $\sigma(\ell) - \tfrac12$: it pushes $\ell$ **towards 0**,
  and the chain rule carries that push into the pose encoder's weights only (the trainer freezes $C$ for this step,
  and the tests check that no gradient reaches $E_c$, $D$ or $C$).
"""),
    ("code", r"""
ell = torch.tensor([1.5], requires_grad=True)
losses.discriminator_loss(ell, torch.tensor([-1.5])).backward()
grad_C = ell.grad.item()
ell.grad = None
losses.pose_adversarial_loss(ell).backward()
grad_Ep = ell.grad.item()
print(f"at C = {torch.sigmoid(ell).item():.3f}: C's gradient on the logit {grad_C:+.3f} (descending raises it), "
      f"E_p's {grad_Ep:+.3f} (descending lowers it towards 0)")
"""),
    ("code", r"""
assert grad_C < 0 < grad_Ep
""", ["remove-cell"]),
    ("md", r"""
## Eq. 5 — the whole objective

$$\mathcal{L} = \mathcal{L}_{reconstruction} + \alpha\,\mathcal{L}_{similarity}
  + \beta\,\big(\mathcal{L}_{adversarial}(E_p) + \mathcal{L}_{adversarial}(C)\big)$$

with $\alpha = 1$ and $\beta = 0.1$ for MNIST (0.0001 for KTH). The terms are minimised in two alternating steps on
the same batch: first $C$ on $\beta\,\mathcal{L}_{adversarial}(C)$ with $E_p$ fixed, then $E_c$, $E_p$ and $D$ on
the rest with $C$ fixed.
"""),
    ("code", r"""
print(inspect.getsource(losses.total_loss))
print(inspect.getsource(drnet_core.Trainer.train_step))
"""),
    ("md", r"""
## The game, live

A tiny DRNET (width 8) on Moving MNIST, trained by the library's trainer for the number of steps that the current
profile asks for. Watch three things: the reconstruction falls; $C$'s accuracy rises above one half as it finds
clip identity in the pose; and the pose encoder's adversarial loss climbs above $\log 2$ whenever $C$ succeeds, then
pulls back as $E_p$ hides the identity again. This run is far too short to disentangle; the next chapter trains
for real.
"""),
    ("code", r"""
from data_utils import MovingMNIST

demo = drnet_core.experiment("losses_demo")
print(f"{demo.train.steps} steps, batch {demo.train.batch_size}, width nf={demo.model.nf}, β={demo.train.beta}")
trainer = drnet_core.Trainer(demo, MovingMNIST("train", seq_len=demo.data.seq_len), progress=False)
history = trainer.fit()
print(f"done in {trainer.wall_time:.1f} s ({history[-1]['samples_per_s']:.0f} samples/s)")
"""),
    ("code", r"""
from drnet_core.viz import plot_curves

fig = plot_curves(history, ["rec", "sim", "disc", "adv_pose", "disc_acc"], reference={"adv_pose": math.log(2), "disc_acc": 0.5, "disc": 2 * math.log(2)})
plt.show()
"""),
    ("code", r"""
import numpy as np

assert len(history) == demo.train.steps // demo.train.log_every
assert all(np.isfinite([h[k] for k in ("rec", "sim", "disc", "adv_pose")]).all() for h in history)
assert history[-1]["rec"] < 0.7 * history[0]["rec"], "the reconstruction loss must fall"
assert all(0.0 <= h["disc_acc"] <= 1.0 for h in history)
assert min(h["adv_pose"] for h in history) >= math.log(2) - 1e-4, "eq. 4 can never go below log 2"
""", ["remove-cell"]),
    ("md", r"""
The dashed lines mark the balance point of the game: $C$ at chance (accuracy ½, loss $2\log 2$) and $E_p$ at its
optimum ($\log 2$). The pose adversarial loss never goes below $\log 2$; that is a property of eq. 4, not of
training.
"""),
    VERSIONS,
]
notebook(cells, "book/01_losses.ipynb", timeout=600)
