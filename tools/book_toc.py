"""The documents of the book, in reading order, as listed in _toc.yml (comments are not entries)."""

from pathlib import Path

import yaml


def toc_docs(root: Path) -> list[str]:
    """Every ``root``/``file`` entry of ``root/_toc.yml``, walking parts, chapters and sections."""
    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    yield node[key]
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key) or []:
                    yield from walk(child)
    return list(walk(yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))))
