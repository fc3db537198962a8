"""Sphinx extension: drop duplicate <script> entries from each page.

sphinx-thebe 0.3.1 registers an inline script with filename=None and Sphinx 7.4 re-adds registry
scripts with filename '', so the inline `const THEBE_JS_URL` is emitted twice and every page logs
"Identifier 'THEBE_JS_URL' has already been declared". The browser test checks for page errors.
"""

from __future__ import annotations


def _dedupe(app, pagename, templatename, context, doctree):  # noqa: ANN001 - Sphinx's signature
    files = context.get("script_files")
    if not files:
        return
    seen, unique = set(), []
    for js in files:
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted((getattr(js, "attributes", {}) or {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):  # noqa: ANN001
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
