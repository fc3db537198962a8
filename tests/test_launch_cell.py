"""The first cell of every chapter makes a launched notebook (Colab, Binder) work: it clones the repository and
installs it where drnet_core is missing, and does nothing where it is installed."""

import json
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("0*.ipynb"))


def _setup_cell(path: Path) -> str:
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return "".join(cells[0]["source"])


def _config_url() -> str:
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.M)
    assert match, "_config.yml must give repository.url"
    return match.group(1)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_starts_with_the_setup_cell_and_the_configured_url(path):
    cell = _setup_cell(path)
    assert 'find_spec("drnet_core") is None' in cell
    assert f'REPOSITORY = "{_config_url()}"' in cell, "the launch cell must clone the repository that _config.yml names"


def test_the_setup_cell_does_nothing_where_the_package_is_installed():
    result = subprocess.run([sys.executable, "-c", _setup_cell(CHAPTERS[0]) + "\nprint('untouched', 'target' in dir())"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0 and "untouched False" in result.stdout, result.stderr


@pytest.mark.slow
def test_the_setup_cell_clones_installs_and_finds_the_weights(tmp_path):
    """A throwaway venv that sees this environment's packages (torch, numpy, …) but not drnet_core: the test
    environment's site-packages is put on its path by a .pth line (its own .pth files, among them the editable
    drnet_core, are not run from there). The cell clones a local copy of the repository through file://."""
    origin = tmp_path / "origin"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(origin)], check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "colab"
    work.mkdir()
    probe = (
        "import importlib.util\nassert importlib.util.find_spec('drnet_core') is None, 'the venv must not see drnet_core'\n"
        + _setup_cell(CHAPTERS[0])
        + "\nfrom drnet_experiments.pretrained import weights_path\nprint('weights', weights_path('mnist', 'cpu').is_file())"
    )
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "DRNET_REPOSITORY": f"file://{origin}", "HOME": str(tmp_path)}
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=work, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "weights True" in result.stdout
    assert (work / "drnet-book" / "checkpoints" / "mnist_cpu.pt").is_file()
