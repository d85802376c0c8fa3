"""Show the package's own source code in a notebook, highlighted, so the text never holds a copy.

>>> from optimlab.optim import SGD
>>> show_source(SGD.update)           # one method
>>> show_source(SGD, docstring=False) # a whole class, without its docstring

The result displays as highlighted HTML in Jupyter and on the book's pages (inline styles, so no
stylesheet is needed) and as plain text elsewhere.
"""

from __future__ import annotations

import ast
import html
import inspect
import textwrap
from pathlib import Path

from .utils import public_name

__all__ = ["Source", "show_source"]

_WRAPPED_LINE = "display:block;white-space:pre-wrap;overflow-wrap:anywhere;padding-left:8ch;text-indent:-8ch"


class Source:
    """Source code of one object: ``.code`` (text), ``.name``, ``.location`` (file within the package
    and line range); displays highlighted."""

    def __init__(self, code: str, name: str, location: str):
        self.code, self.name, self.location = code, name, location

    def __repr__(self) -> str:
        return f"# {self.name} ({self.location})\n{self.code}"

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        body = highlight(self.code, PythonLexer(), HtmlFormatter(noclasses=True, style="friendly", nobackground=True,
                                                                 linespans="src-line"))
        # Lines wider than the page wrap with a hanging indent instead of hiding their end (where the
        # comment with the equation usually stands) behind a horizontal scroll bar.
        body = body.replace('<span id="src-line-', f'<span style="{_WRAPPED_LINE}" id="src-line-')
        return (f'<div class="optimlab-source" style="border:1px solid #d0d7de;border-radius:6px;margin:0.5em 0;'
                f'background:#f6f8fa;color:#1f2328;overflow-x:auto">'
                f'<div style="font-size:0.8em;padding:0.3em 0.8em;border-bottom:1px solid #d0d7de;color:#57606a">'
                f'<code style="background:none;color:inherit">{html.escape(self.name)}</code> &middot; '
                f'{html.escape(self.location)}</div>'
                f'<div style="padding:0 0.8em;font-size:0.85em">{body}</div></div>')


def _without_docstring(code: str) -> str:
    tree = ast.parse(code)
    node = tree.body[0]
    first = node.body[0] if getattr(node, "body", None) else None
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return code
    lines = code.splitlines()
    del lines[first.lineno - 1:first.end_lineno]
    if first.lineno - 1 < len(lines) and not lines[first.lineno - 1].strip():
        del lines[first.lineno - 1]  # the blank line after the docstring
    return "\n".join(lines)


def _location(obj) -> str:
    target = inspect.unwrap(obj)
    path = Path(inspect.getsourcefile(target))
    parts = path.parts
    package_root = max((i for i, p in enumerate(parts) if p == "optimlab"), default=None)
    shown = "/".join(parts[package_root:]) if package_root is not None else path.name
    lines, start = inspect.getsourcelines(target)
    return f"{shown}, lines {start}–{start + len(lines) - 1}"


def show_source(obj, *, docstring: bool = True) -> Source:
    """The source of a class, function or method (e.g. ``SGD.update``), to display in a notebook.

    ``docstring=False`` leaves out the object's own docstring (not the comments)."""
    code = textwrap.dedent(inspect.getsource(obj)).rstrip("\n")
    if not docstring:
        code = _without_docstring(code)
    return Source(code, public_name(obj), _location(obj))
