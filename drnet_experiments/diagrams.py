"""Figures of the model for a lecture slide, drawn in matplotlib so that they render offline (paper Fig. 1 and 2).

* :func:`training_diagram`: the two updates of one DRNET iteration. Left, C learns on pairs of pose codes (eq. 3)
  while E_p is frozen. Right, E_c, E_p and D learn on eq. 5 (L_rec of eq. 1, L_sim of eq. 2, L_adv of eq. 4)
  while C is frozen.
* :func:`prediction_diagram`: forward prediction (section 3.1, eq. 6-7). An LSTM rolls the pose forward. Each
  step is conditioned on h_c from the last observed frame, which D then decodes together with the predicted pose.

Drawn in book/01_losses.ipynb and book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

#: One colour per role: frames, encoders, codes, decoder, discriminator, losses, the LSTM.
COLOURS = {
    "frame": "#e8e8e8",
    "content": "#9ecae1",
    "pose": "#fdae6b",
    "decoder": "#a1d99b",
    "disc": "#bcbddc",
    "loss": "#ffffff",
    "lstm": "#fdd0a2",
}


class _Box:
    """A drawn box: its centre and the midpoints of its four edges, where arrows start and end."""

    def __init__(self, x: float, y: float, width: float, height: float) -> None:
        self.centre = (x, y)
        self.left, self.right = (x - width / 2, y), (x + width / 2, y)
        self.top, self.bottom = (x, y + height / 2), (x, y - height / 2)


def _box(ax: plt.Axes, xy: tuple[float, float], text: str, role: str, width: float = 1.3, height: float = 0.6,
         frozen: bool = False) -> _Box:
    """A rounded box centred at ``xy``; a frozen network is drawn hatched and labelled so."""
    x, y = xy
    patch = FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.04",
                           facecolor=COLOURS[role], edgecolor="black", linewidth=1.2 if role != "loss" else 0.8,
                           linestyle="--" if role == "loss" else "-")
    ax.add_patch(patch)
    if frozen:  # a light hatch under the label
        ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.04",
                                    facecolor="none", edgecolor="#777777", linewidth=0, hatch="///"))
    label = text + ("\n(frozen)" if frozen else "")
    ax.text(x, y, label, ha="center", va="center", fontsize=10,
            bbox={"facecolor": COLOURS[role], "edgecolor": "none", "pad": 1.0} if frozen else None)
    return _Box(x, y, width, height)


def _arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float], dashed: bool = False, label: str = "") -> None:
    """An arrow between two points on box edges (``_Box.right``, ``.left``, ``.top``, ``.bottom``)."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, linewidth=1.1,
                                 linestyle="--" if dashed else "-", color="black", shrinkA=2, shrinkB=2))
    if label:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.15, label, ha="center", fontsize=8)


def _canvas(ax: plt.Axes, title: str, width: float, height: float) -> None:
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)


def training_diagram() -> plt.Figure:
    """Paper Fig. 1: the C step (left) and the E_c / E_p / D step (right) of one iteration."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.4), gridspec_kw={"width_ratios": [1, 1.5]})
    _canvas(left, "C step (eq. 3): $E_p$ frozen, C learns", 6.4, 5.2)
    rows = ((3.9, "$x_i^t$", "$x_i^{t+k}$", "same clip:\ntarget 1"), (1.3, "$x_i^t$", "$x_j^{t+k}$", "different\nclips: target 0"))
    for y, first, second, target in rows:
        disc = _box(left, (3.9, y), "C", "disc", width=0.7, height=0.6)
        for offset, frame in ((0.6, first), (-0.6, second)):
            image = _box(left, (0.5, y + offset), frame, "frame", width=0.8, height=0.45)
            encoder = _box(left, (2.1, y + offset), "$E_p$", "pose", width=1.0, height=0.55, frozen=True)
            _arrow(left, image.right, encoder.left)
            _arrow(left, encoder.right, disc.left)
        loss = _box(left, (5.5, y), "BCE\n" + target, "loss", width=1.5, height=0.8)
        _arrow(left, disc.right, loss.left)

    _canvas(right, "Encoder step (eq. 5): C frozen; $E_c$, $E_p$ and D learn", 10.0, 5.2)
    x_t = _box(right, (0.5, 4.2), "$x^t$", "frame", width=0.8, height=0.45)
    x_tk = _box(right, (0.5, 2.5), "$x^{t+k}$", "frame", width=0.8, height=0.45)
    ec_t = _box(right, (2.0, 4.2), "$E_c$", "content", width=0.9)
    ec_tk = _box(right, (2.0, 2.5), "$E_c$", "content", width=0.9)
    ep_tk = _box(right, (2.0, 0.9), "$E_p$", "pose", width=0.9)
    _arrow(right, x_t.right, ec_t.left)
    _arrow(right, x_tk.right, ec_tk.left)
    _arrow(right, x_tk.bottom, ep_tk.left)
    hc_t = _box(right, (3.9, 4.2), "$h_c^t$", "content", width=0.9, height=0.5)
    hc_tk = _box(right, (3.9, 2.5), "$h_c^{t+k}$\n(no gradient)", "content", width=1.5, height=0.65)
    hp_tk = _box(right, (3.9, 0.9), "$h_p^{t+k}$", "pose", width=0.9, height=0.5)
    _arrow(right, ec_t.right, hc_t.left)
    _arrow(right, ec_tk.right, hc_tk.left)
    _arrow(right, ep_tk.right, hp_tk.left)
    decoder = _box(right, (5.9, 4.2), "D", "decoder", width=0.8)
    _arrow(right, hc_t.right, decoder.left)
    _arrow(right, hp_tk.top, decoder.bottom)
    rec = _box(right, (8.5, 4.2), "$L_{rec}$ (eq. 1)\n$\\|D(h_c^t, h_p^{t+k}) - x^{t+k}\\|^2$", "loss", width=2.4, height=0.8)
    _arrow(right, decoder.right, rec.left)
    sim = _box(right, (8.5, 2.5), "$L_{sim}$ (eq. 2)\n$\\|h_c^t - h_c^{t+k}\\|^2$", "loss", width=2.0, height=0.8)
    _arrow(right, hc_tk.right, sim.left, dashed=True)
    _arrow(right, (hc_t.right[0] - 0.2, hc_t.bottom[1]), sim.top, dashed=True)
    disc = _box(right, (5.9, 0.9), "C", "disc", width=0.9, height=0.6, frozen=True)
    _arrow(right, hp_tk.right, disc.left, label="pairs of $h_p$")
    adv = _box(right, (8.5, 0.9), "$L_{adv}$ (eq. 4)\nBCE, target 1/2", "loss", width=2.0, height=0.8)
    _arrow(right, disc.right, adv.left)
    right.text(5.0, -0.05, "total: $L_{rec} + \\alpha L_{sim} + \\beta L_{adv}$  (eq. 5)", ha="center", fontsize=10)
    fig.tight_layout()
    return fig


def prediction_diagram(n_observed: int = 3, n_predicted: int = 3) -> plt.Figure:
    """Paper Fig. 2: the LSTM rolls h_p forward, conditioned at every step on h_c of the last observed frame (eq. 6-7)."""
    steps = n_observed + n_predicted
    gap = 2.0
    width = gap * steps + 0.6
    fig, ax = plt.subplots(figsize=(width + 0.4, 4.6))
    _canvas(ax, "Forward prediction (eq. 6-7): only the pose is predicted; the content is held fixed", width, 5.0)
    last = n_observed - 1
    content = _box(ax, (width / 2, 0.45), f"$h_c = E_c(x^{{{n_observed}}})$, the last observed frame's content", "content",
                   width=width - 0.6, height=0.5)
    previous = None
    for i in range(steps):
        x = 0.9 + gap * i
        lstm = _box(ax, (x, 2.9), "LSTM", "lstm", width=1.3, height=0.5)
        if i < n_observed:
            pose = _box(ax, (x - 0.15, 1.7), f"$E_p(x^{{{i + 1}}})$", "pose", width=0.95, height=0.45)
            _arrow(ax, pose.top, (pose.top[0], lstm.bottom[1]))
        _arrow(ax, (x + 0.5, content.top[1]), (x + 0.5, lstm.bottom[1]), dashed=True)
        if previous is not None:
            _arrow(ax, previous.right, lstm.left, label="" if i <= n_observed else "$\\tilde h_p$")
        if i >= last:
            out = _box(ax, (x + gap / 2, 4.2), f"D → $\\tilde x^{{{i + 2}}}$", "decoder", width=1.3, height=0.5)
            _arrow(ax, lstm.top, out.left)
        previous = lstm
    ax.text(0.2, 4.2, "observed frames: the true poses\nafter them: its own predictions\n(dashed: $h_c$ at every step)",
            fontsize=8, va="center")
    fig.tight_layout()
    return fig
