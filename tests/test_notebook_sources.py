"""The chapters are their own sources: stored .ipynb without outputs, and ruff-clean code cells."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    assert CHAPTERS and all(f"book/{path.stem}" in toc for path in CHAPTERS)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_a_stored_chapter_carries_no_outputs(path):
    notebook = json.loads(path.read_text())
    dirty = [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing (Edit > Clear Outputs of All Cells)"


def test_ruff_checks_the_code_cells():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run([ruff, "check", *map(str, CHAPTERS)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    listed = subprocess.run([ruff, "check", "--show-files", "book"], capture_output=True, text=True, cwd=ROOT).stdout
    assert all(path.name in listed for path in CHAPTERS), "ruff must see the notebooks"
