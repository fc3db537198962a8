import re

import torch

from drnet_core import DRNet, ModelConfig
from drnet_core.explore import PoseExplorer, WithFallback, png_bytes, sprite_html


def test_png_bytes_is_a_png_of_the_zoomed_size():
    from io import BytesIO

    from PIL import Image

    data = png_bytes(torch.rand(3, 8, 6), zoom=3)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(BytesIO(data)).size == (18, 24)


def test_sprite_html_covers_every_frame():
    html = sprite_html(torch.rand(5, 3, 8, 8), title="t", zoom=2)
    assert 'max="4"' in html and "background-size:80px 16px" in html
    assert re.search(r"\(-k\*16\)", html), "each step moves the sprite by one frame width"


def test_explorer_redraws_and_carries_both_renderings():
    torch.manual_seed(0)
    model = DRNet(ModelConfig(nf=4)).eval()
    explorer = PoseExplorer(model, torch.rand(3, 3, 64, 64), torch.rand(3, 64, 64), sweep=3)
    shown = explorer.show()
    assert isinstance(shown, WithFallback)
    bundle = shown._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" in bundle
    assert bundle["text/html"].count('class="sprite-viewer"') == model.config.pose_dim + 1
    sliders, picker, image = explorer._controls
    before = image.value
    sliders[0].value = -sliders[0].value if abs(sliders[0].value) > 0.2 else 0.9
    assert image.value != before, "moving a pose slider must redraw the frame"
    before = image.value
    picker.value = 2
    assert image.value != before, "picking another content must redraw the frame"
