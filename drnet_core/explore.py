"""Latent-space explorers: sliders over the pose code, a picker over content (book/02_moving_mnist.ipynb).

Two renderings of the same explorer, in one output (the "dual-output" pattern):

* in Jupyter, Colab or Binder (a live kernel), ipywidgets sliders set each pose dimension and a
  picker chooses the content; the decoded frame is redrawn on every move;
* in the published HTML, where no kernel runs, the output's ``text/html`` is a set of
  ``<input type="range">`` viewers over sprite sheets of precomputed frames: each sweeps one pose
  dimension (the others held at the starting pose), or steps through the content choices.

The book sets ``nb_mime_priority_overrides`` so that it shows the HTML, and Jupyter shows the widget.
With unit-norm codes (the paper's), the slider values are renormalised before decoding.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from drnet_core.viz import to_image


def png_bytes(frame: torch.Tensor, zoom: int = 2) -> bytes:
    """One (C, H, W) frame in [0, 1] as PNG bytes, enlarged ``zoom`` times with nearest-neighbour."""
    image = to_image(frame)
    if zoom > 1:
        image = image.repeat(zoom, axis=0).repeat(zoom, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def sprite_html(frames: torch.Tensor, labels: Sequence[str] | None = None, title: str = "", zoom: int = 2) -> str:
    """A range input over K precomputed frames (K, C, H, W): a sprite sheet and ten lines of JavaScript.

    Works offline and over file://; needs no library and no kernel.
    """
    k, _, h, w = frames.shape
    labels = list(labels) if labels is not None else [str(i) for i in range(k)]
    if len(labels) != k:
        raise ValueError(f"{k} frames but {len(labels)} labels")
    strip = torch.cat(list(frames), dim=-1)  # (C, H, K*W)
    data = base64.b64encode(png_bytes(strip, zoom)).decode()
    uid = f"sprite-{uuid.uuid4().hex[:10]}"
    fw, fh = w * zoom, h * zoom
    label_js = "[" + ",".join(f'"{s}"' for s in labels) + "]"
    return (
        f'<div class="sprite-viewer" id="{uid}" style="display:inline-block;margin:4px 12px 4px 0">'
        f'<div style="font-size:0.85em">{title}</div>'
        f'<div class="sprite-frame" role="img" aria-label="{title}" style="width:{fw}px;height:{fh}px;'
        f"background-image:url(data:image/png;base64,{data});background-size:{fw * k}px {fh}px;"
        'background-position:0px 0px;background-repeat:no-repeat;image-rendering:pixelated"></div>'
        f'<input type="range" min="0" max="{k - 1}" value="0" step="1" aria-label="{title}" style="width:{fw}px">'
        f"<output>{labels[0]}</output></div>"
        f'<script>(function(){{var r=document.getElementById("{uid}"),f=r.querySelector(".sprite-frame"),'
        f'i=r.querySelector("input"),o=r.querySelector("output"),L={label_js};'
        f'i.addEventListener("input",function(){{var k=+i.value;f.style.backgroundPosition=(-k*{fw})+"px 0px";'
        "o.textContent=L[k];});})();</script>"
    )


class WithFallback:
    """Shows ``widget`` where a widget manager runs (Jupyter), and ``fallback_html`` where only HTML renders (the book)."""

    def __init__(self, widget: object, fallback_html: str) -> None:
        self.widget, self.fallback_html = widget, fallback_html

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict:
        data = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude))
        data["text/html"] = self.fallback_html
        return data


class PoseExplorer:
    """Decode a chosen content with a pose set by sliders. ``explorer.show()`` returns the dual output.

    Args:
        model: a DRNet (in eval mode).
        content_frames: (N, C, H, W) frames whose content the picker offers.
        pose_frame: (C, H, W) frame whose pose the sliders start from.
        sweep: number of precomputed values per pose dimension in the static fallback.
    """

    def __init__(self, model: torch.nn.Module, content_frames: torch.Tensor, pose_frame: torch.Tensor, sweep: int = 17, zoom: int = 2) -> None:
        self.model, self.zoom, self.sweep = model.eval(), zoom, sweep
        with torch.no_grad():
            self.contents, self.skips = model.encode_content(content_frames, return_skips=True)
            self.base_pose = model.encode_pose(pose_frame[None])[0]
        self.l2 = model.config.code_norm == "l2"
        self.limit = 1.0

    @torch.no_grad()
    def render(self, pose: Sequence[float] | torch.Tensor, content_index: int = 0) -> torch.Tensor:
        """The decoded frame (C, H, W) for a pose vector (renormalised for unit-norm models) and a content choice."""
        p = torch.as_tensor(pose, dtype=torch.float32)[None]
        if self.l2:
            p = torch.nn.functional.normalize(p, dim=1)
        skips = [s[content_index : content_index + 1] for s in self.skips] if self.skips else None
        return self.model.decode(self.contents[content_index : content_index + 1], p, skips)[0]

    def sweep_values(self) -> np.ndarray:
        return np.linspace(-self.limit, self.limit, self.sweep)

    @torch.no_grad()
    def static_html(self) -> str:
        """The book's explorer: one range input per pose dimension, and one over the content choices."""
        parts = []
        for dim in range(self.base_pose.numel()):
            frames = []
            for value in self.sweep_values():
                pose = self.base_pose.clone()
                pose[dim] = float(value)
                frames.append(self.render(pose))
            parts.append(sprite_html(torch.stack(frames), [f"{v:+.2f}" for v in self.sweep_values()], f"pose dim {dim}", self.zoom))
        contents = torch.stack([self.render(self.base_pose, i) for i in range(len(self.contents))])
        parts.append(sprite_html(contents, [f"clip {i}" for i in range(len(self.contents))], "content", self.zoom))
        return '<div class="pose-explorer">' + "".join(parts) + "</div>"

    def widget(self) -> object:
        """The live explorer: a FloatSlider per pose dimension, a content picker and the decoded image."""
        import ipywidgets as widgets

        sliders = [
            widgets.FloatSlider(value=float(v), min=-self.limit, max=self.limit, step=0.02, description=f"pose {i}", continuous_update=True)
            for i, v in enumerate(self.base_pose.tolist())
        ]
        picker = widgets.Dropdown(options=[(f"clip {i}", i) for i in range(len(self.contents))], value=0, description="content")
        image = widgets.Image(format="png", value=png_bytes(self.render(self.base_pose), self.zoom))

        def redraw(_change: object = None) -> None:
            image.value = png_bytes(self.render([s.value for s in sliders], picker.value), self.zoom)

        for control in [*sliders, picker]:
            control.observe(redraw, names="value")
        self._controls = (sliders, picker, image)
        return widgets.HBox([image, widgets.VBox([picker, *sliders])])

    def show(self) -> WithFallback:
        return WithFallback(self.widget(), self.static_html())
