"""Keep every chapter's Colab cell pointing at the repository named in _config.yml.

The first cell of each chapter notebook is tagged ``remove-cell`` (hidden in the book) and installs
``optimlab`` when, and only when, the notebook runs on Colab::

    import importlib.util
    import sys

    REPOSITORY = "https://github.com/<owner>/<repo>"
    if "google.colab" in sys.modules and importlib.util.find_spec("optimlab") is None:
        %pip install -q "git+{REPOSITORY}"

``repository.url`` in ``_config.yml`` is the single place where the URL is written by hand. This script
rewrites the ``REPOSITORY = "..."`` line of every chapter to match it, changing nothing else in the file.

    python tools/sync_colab_cell.py            # rewrite the notebooks that are out of date
    python tools/sync_colab_cell.py --check    # change nothing; exit 1 if a notebook is out of date
    python tools/sync_colab_cell.py --print-cell   # print the cell a new chapter starts with
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
CONFIG = ROOT / "_config.yml"

TAG = "remove-cell"
REPOSITORY_LINE = re.compile(r'^(?P<indent>\s*)REPOSITORY\s*=\s*(?P<quote>["\'])(?P<url>[^"\']*)(?P=quote)\s*$')
# What else the cell must contain, so that a first cell that merely happens to be hidden is not mistaken for it.
REQUIRED_PATTERNS = {
    "the Colab test": re.compile(r"[\"']google\.colab[\"']\s+in\s+sys\.modules"),
    "the installed-already test": re.compile(r"find_spec\(\s*[\"']optimlab[\"']\s*\)"),
    "%pip install": re.compile(r"%pip\s+install\b"),
    "git+{REPOSITORY}": re.compile(r"git\+\{REPOSITORY\}"),
}

CELL_TEMPLATE = '''\
# Runs on Colab only: install the course package from its repository (elsewhere it is already installed).
import importlib.util
import sys

REPOSITORY = "{url}"
if "google.colab" in sys.modules and importlib.util.find_spec("optimlab") is None:
    %pip install -q "git+{{REPOSITORY}}"'''


def repository_url(config_path: Path = CONFIG) -> str:
    """``repository.url`` from _config.yml, checked for the form the launch buttons need."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url")
    if not url or not isinstance(url, str):
        raise SystemExit(f"{config_path.name}: repository.url is missing")
    if url.endswith(".git") or url.endswith("/"):
        raise SystemExit(f"{config_path.name}: repository.url must not end with '.git' or '/': {url!r}")
    return url


def chapter_notebooks(chapters_dir: Path = CHAPTERS) -> list[Path]:
    return sorted(p for p in chapters_dir.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _source_lines(cell: dict) -> list[str]:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    return text.splitlines(keepends=True)


def inspect(path: Path, url: str) -> tuple[list[str], str | None]:
    """Problems with the notebook's Colab cell, and the file's new text when only the URL is stale."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    cells = nb.get("cells", [])
    if not cells:
        return [f"{path.name}: the notebook has no cells"], None
    first = cells[0]
    problems = []
    if first.get("cell_type") != "code":
        problems.append(f"{path.name}: the first cell must be the Colab code cell")
    if TAG not in first.get("metadata", {}).get("tags", []):
        problems.append(f"{path.name}: the first cell must be tagged {TAG!r}")
    lines = _source_lines(first)
    text = "".join(lines)
    missing = [name for name, pattern in REQUIRED_PATTERNS.items() if not pattern.search(text)]
    if missing:
        problems.append(f"{path.name}: the first cell is not the Colab install cell (missing {missing})")
    matches = [i for i, line in enumerate(lines) if REPOSITORY_LINE.match(line.rstrip("\n"))]
    if len(matches) != 1:
        problems.append(f"{path.name}: the first cell must contain exactly one line REPOSITORY = \"...\"")
    if problems:
        return problems, None

    index = matches[0]
    old_line = lines[index]
    m = REPOSITORY_LINE.match(old_line.rstrip("\n"))
    if m["url"] == url:
        return [], None
    new_line = f'{m["indent"]}REPOSITORY = "{url}"' + ("\n" if old_line.endswith("\n") else "")
    # Replace the JSON-encoded line in the file's own text, so the rest of the file keeps its formatting.
    old_json, new_json = json.dumps(old_line, ensure_ascii=False), json.dumps(new_line, ensure_ascii=False)
    if raw.count(old_json) == 1:
        new_raw = raw.replace(old_json, new_json)
    else:  # the line is stored in an unusual way: fall back to rewriting the whole notebook
        lines[index] = new_line
        first["source"] = lines if isinstance(first.get("source"), list) else "".join(lines)
        new_raw = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    check = json.loads(new_raw)
    assert "".join(_source_lines(check["cells"][0])).count(f'REPOSITORY = "{url}"') == 1
    return [f"{path.name}: REPOSITORY is {m['url']!r}, _config.yml says {url!r}"], new_raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a notebook is out of date")
    parser.add_argument("--print-cell", action="store_true", help="print the Colab cell for a new chapter")
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: chapters/*.ipynb)")
    args = parser.parse_args(argv)

    url = repository_url()
    if args.print_cell:
        print(CELL_TEMPLATE.format(url=url))
        return 0

    notebooks = args.notebooks or chapter_notebooks()
    failures = 0
    for path in notebooks:
        problems, new_raw = inspect(path, url)
        if new_raw is not None and not args.check:
            path.write_text(new_raw, encoding="utf-8")
            print(f"updated {path.name}: REPOSITORY = {url!r}")
            continue
        for problem in problems:
            print(problem, file=sys.stderr)
        failures += bool(problems)
    if failures:
        hint = "run `python tools/sync_colab_cell.py`" if args.check else "fix the first cell by hand"
        print(f"{failures} notebook(s) out of date; {hint} "
              "(`--print-cell` shows what the cell should be)", file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(notebooks)} notebook(s): Colab cell in sync with {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
