"""What a student does in JupyterLab: open a notebook that runs the Moving MNIST explorer, run it, move a pose
slider, and see the drawn frame change (a live kernel redraws it; the published book only steps through frames).

Starts JupyterLab headless on a free local port with this environment's kernel, and drives Debian's Chromium
through Playwright.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI installs it", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

EXPLORER = [
    "from drnet_core.explore import PoseExplorer\nfrom drnet_experiments.mnist_swaps import swap_pairs\n"
    "from drnet_experiments.pretrained import load_or_train_drnet\n\n"
    "model = load_or_train_drnet('cpu')\npairs = swap_pairs(6)\n"
    "PoseExplorer(model, pairs.content_frames[:3], pairs.pose_frames[0]).show()",
]
TOKEN = "drnet-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab():
    root = Path(tempfile.mkdtemp())
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": s}
             for i, s in enumerate(EXPLORER)]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (root / "explorer.ipynb").write_text(json.dumps(notebook))
    port = _free_port()
    jupyter = Path(sys.executable).with_name("jupyter")
    server = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={root}",
         f"--IdentityProvider.token={TOKEN}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
         "--ServerApp.disable_check_xsrf=True", "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "DRNET_PROFILE": "cpu"},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start within 60 s")
    yield base
    server.terminate()
    server.wait(timeout=30)


def test_moving_a_pose_slider_redraws_the_frame_in_jupyterlab(lab):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(f"{lab}/lab/tree/explorer.ipynb?token={TOKEN}", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook", timeout=120_000)
        page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('notebook:run-all-cells')", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000)
        select = page.locator(".jp-Dialog button:has-text('Select')")
        try:  # a fresh JupyterLab may ask which kernel to start, as it asks a student: take the proposed one
            select.wait_for(timeout=10_000)
            select.click()
        except sync_api.TimeoutError:
            pass
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=180_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # do not wait for it
        handle = page.locator(".widget-slider .noUi-handle").first
        try:
            handle.wait_for(timeout=180_000)
        except sync_api.TimeoutError:
            page.screenshot(path=str(Path(tempfile.gettempdir()) / "jupyterlab_no_slider.png"))
            raise
        image = page.locator(".jupyter-widgets img, .widget-image").first
        image.wait_for(timeout=60_000)
        before = image.get_attribute("src")
        handle.focus()
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        page.wait_for_function("([sel, old]) => document.querySelector(sel).getAttribute('src') !== old",
                               arg=[".jupyter-widgets img, .widget-image", before], timeout=60_000)
        assert image.get_attribute("src") != before
        browser.close()
