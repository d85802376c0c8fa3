"""A local Sphinx extension for the course book (loaded through `sphinx.local_extensions` in _config.yml).

Sphinx 7.4 writes an inline script twice when an extension registers it after the builder started (it keeps
the script once with the file name ``None`` and once with ``''``). sphinx-thebe registers
``const THEBE_JS_URL = ...`` that way, and the second copy is a JavaScript error on every page
("Identifier 'THEBE_JS_URL' has already been declared"). This extension drops the repeated copies.
"""

from __future__ import annotations


def _key(script) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
