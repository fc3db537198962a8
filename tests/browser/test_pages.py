"""The published book in a real browser (headless Debian Chromium driven by Playwright), offline.

Run after `make book` (``make test`` does both). Checks every chapter page: it loads with HTTP 200,
asks for nothing outside this machine, raises no JavaScript error, every image decodes, notebook
pages show their outputs, and moving an explorer slider changes the shown frame. A screenshot of
the Moving MNIST page is saved under _build/screenshots/.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]  # fmt: skip
PAGES = [
    "book/intro.html",
    "book/01_losses.html",
    "book/02_moving_mnist.html",
    "book/03_norb_ablation.html",
    "book/04_kth_prediction.html",
    "book/05_inception_score.html",
    "book/06_cpu_budget.html",
]

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI installs it", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else __import__("playwright.sync_api").sync_api


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    if not (HTML / "book" / "intro.html").is_file():
        pytest.fail(f"{HTML} has no built book: run `make book` first")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(HTML)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser_context(server):
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(), executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1200, "height": 900}
        )
        external: list[str] = []

        def route(r):
            url = r.request.url
            if url.startswith(server) or url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                external.append(url)
                r.abort("internetdisconnected")

        ctx.route("**/*", route)
        ctx.external = external
        yield ctx
        ctx.close()


def _open(ctx, base: str, path: str):
    page = ctx.new_page()
    report = {"pageerrors": [], "console_errors": [], "http_errors": []}
    page.on("pageerror", lambda e: report["pageerrors"].append(str(e)))
    page.on("console", lambda m: m.type == "error" and report["console_errors"].append(m.text))
    page.on("response", lambda r: r.status >= 400 and report["http_errors"].append(f"{r.status} {r.url}"))
    response = page.goto(base + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, response, report


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_offline_without_errors(browser_context, server, path):
    page, response, report = _open(browser_context, server, path)
    assert response.status == 200
    assert not browser_context.external, f"requests outside this machine: {browser_context.external}"
    assert not report["pageerrors"] and not report["http_errors"], report
    # pydata-sphinx-theme logs "Got invalid theme mode" once in a fresh browser profile; it is harmless.
    harmless = ("favicon", "Got invalid theme mode")
    assert not [m for m in report["console_errors"] if not any(h in m for h in harmless)], report
    broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))")
    assert not broken, f"images that do not decode: {broken}"
    if not path.endswith("intro.html"):
        text = page.locator("body").inner_text()
        assert "profile=cpu" in text, "the published chapters must run the cpu profile (the provenance line says which ran)"
        assert page.locator(".cell_output").count() > 3
        assert page.locator("img").count() >= 2
        assert page.locator("mjx-container").count() > 0, "math must render with the vendored MathJax"
    page.close()


@pytest.mark.parametrize("path", [p for p in PAGES if not p.endswith("intro.html")])
def test_code_and_printed_lines_fit_the_page(browser_context, server, path):
    """No code cell or printed output needs a horizontal scroll bar at a laptop's width (lines of about 88 characters)."""
    page, _, _ = _open(browser_context, server, path)
    wide = page.evaluate(
        """[...document.querySelectorAll('.cell_input pre, .cell_output pre')]
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => `${e.scrollWidth - e.clientWidth}px too wide: ${e.textContent.trim().split('\\n')[0].slice(0, 70)}`)"""
    )
    assert page.locator(".cell_input pre").count() > 3
    assert not wide, f"blocks wider than the page: {wide}"
    page.close()


def test_norb_explorer_has_ten_pose_sliders(browser_context, server):
    page, _, _ = _open(browser_context, server, "book/03_norb_ablation.html")
    assert page.locator(".sprite-viewer").count() == 11, "ten pose dimensions plus the content picker"
    page.close()


def test_kth_explorer_has_five_pose_sliders(browser_context, server):
    page, _, _ = _open(browser_context, server, "book/04_kth_prediction.html")
    assert page.locator(".sprite-viewer").count() == 6, "five pose dimensions plus the content picker"
    page.close()


def test_explorer_slider_changes_the_frame(browser_context, server):
    page, _, _ = _open(browser_context, server, "book/02_moving_mnist.html")
    viewers = page.locator(".sprite-viewer")
    assert viewers.count() >= 6, "one viewer per pose dimension plus one for content"
    viewer = viewers.first
    frame = viewer.locator(".sprite-frame")
    before = frame.evaluate("e => getComputedStyle(e).backgroundPosition")
    viewer.locator("input[type=range]").evaluate("e => { e.value = 7; e.dispatchEvent(new Event('input', {bubbles: true})); }")
    after = frame.evaluate("e => getComputedStyle(e).backgroundPosition")
    assert before != after
    viewer.locator("input[type=range]").focus()
    page.keyboard.press("ArrowRight")
    assert frame.evaluate("e => getComputedStyle(e).backgroundPosition") != after
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "moving_mnist.png"), full_page=True)
    assert (SHOTS / "moving_mnist.png").stat().st_size > 10_000
    page.close()
