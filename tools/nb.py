"""Tiny helper to write notebooks from a list of (kind, source, tags) cells, without outputs."""

from __future__ import annotations

import nbformat


def notebook(cells: list[tuple], path: str, timeout: int = 900) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "mystnb": {"execution_timeout": timeout},
    }
    for cell in cells:
        kind, source = cell[0], cell[1].strip("\n")
        tags = list(cell[2]) if len(cell) > 2 else []
        new = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if tags:
            new.metadata["tags"] = tags
        nb.cells.append(new)
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:02d}"
    nbformat.write(nb, path)
