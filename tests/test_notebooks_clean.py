"""The chapter notebooks as committed: clean, listed in the toc, with the Colab cell and well-formed exercises.

These tests read the notebooks only; nothing is executed (the book build does that once).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import book_toc  # noqa: E402
CHAPTERS = ROOT / "chapters"
NOTEBOOKS = sorted(p for p in CHAPTERS.glob("*.ipynb"))
LABEL = re.compile(r"^ex-(?P<chapter>[a-z0-9]+)-(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)$")
EXERCISE_OPEN = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<kind>exercise|exercise-start)\}(?P<arg>.*)$")
SOLUTION_OPEN = re.compile(r"^\s*(`{3,}|:{3,})\{(solution|solution-start)\}\s*(?P<target>\S*)")
OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](?P<id>ex-[^"']+)["']""")


def toc_docs() -> list[str]:
    return book_toc.toc_docs(ROOT)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def exercises(nb: dict) -> list[tuple[int, str | None]]:
    """(cell index, label or None) for every exercise directive in the notebook's markdown cells."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        lines = source(cell).splitlines()
        for i, line in enumerate(lines):
            if not EXERCISE_OPEN.match(line):
                continue
            label = None
            rest = lines[i + 1:]
            if rest and rest[0].strip() == "---":  # options as a YAML block
                end = next((j for j in range(1, len(rest)) if rest[j].strip() == "---"), None)
                options = yaml.safe_load("\n".join(rest[1:end])) if end else None
                label = (options or {}).get("label")
            else:  # options as :key: value lines
                for option_line in rest:
                    m = OPTION.match(option_line)
                    if not m:
                        break
                    if m["key"] == "label":
                        label = m["value"]
            found.append((index, label))
    return found


def ids(paths):
    return [p.stem for p in paths]


def test_toc_lists_every_chapter_notebook():
    listed = toc_docs()
    duplicates = [doc for doc, n in Counter(listed).items() if n > 1]
    assert not duplicates, f"listed more than once in _toc.yml: {duplicates}"
    unlisted = sorted(f"chapters/{p.stem}" for p in NOTEBOOKS if f"chapters/{p.stem}" not in listed)
    assert not unlisted, f"chapter notebooks missing from _toc.yml (add a `- file:` line): {unlisted}"
    missing = [doc for doc in listed if not any((ROOT / f"{doc}{ext}").exists() for ext in (".ipynb", ".md"))]
    assert not missing, f"_toc.yml lists documents that do not exist (comment them out): {missing}"
    stray = sorted(p.name for p in CHAPTERS.glob("*.md"))
    assert not stray, f"chapters are notebooks; markdown files in chapters/: {stray}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_committed_without_outputs(path):
    nb = load(path)
    dirty = [i for i, cell in enumerate(nb["cells"])
             if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} have outputs or execution counts; clear them before "
                       "committing (the book build executes the notebook)")
    assert "widgets" not in nb.get("metadata", {}), (
        f"{path.name}: saved widget state in the notebook metadata makes the page request missing scripts; "
        "clear it")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_kernel_is_plain_python3(path):
    kernelspec = load(path).get("metadata", {}).get("kernelspec", {})
    assert kernelspec.get("name") == "python3", (
        f"{path.name}: kernelspec name is {kernelspec.get('name')!r}; the build and Colab run 'python3'")


def _sync_tool():
    spec = importlib.util.spec_from_file_location("sync_colab_cell", ROOT / "tools" / "sync_colab_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_first_cell_is_the_colab_cell_in_sync(path):
    tool = _sync_tool()
    problems, _ = tool.inspect(path, tool.repository_url())
    assert not problems, "\n".join(problems) + "\n(the cell: python tools/sync_colab_cell.py --print-cell)"


def test_sync_tool_check_mode_passes():
    result = subprocess.run([sys.executable, "tools/sync_colab_cell.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sync_tool_rewrites_only_the_repository_line(tmp_path):
    tool = _sync_tool()
    cell = tool.CELL_TEMPLATE.format(url="https://github.com/someone/elsewhere")
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "colab", "outputs": [],
                     "metadata": {"tags": ["remove-cell"]}, "source": cell.splitlines(keepends=True)},
                    {"cell_type": "markdown", "id": "text", "metadata": {}, "source": ["# Title"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "chapter.ipynb"
    before = json.dumps(nb, indent=1) + "\n"
    path.write_text(before, encoding="utf-8")
    url = tool.repository_url()
    problems, new_text = tool.inspect(path, url)
    assert problems and new_text is not None
    assert tool.main([str(path)]) == 0
    after = path.read_text(encoding="utf-8")
    assert f'REPOSITORY = \\"{url}\\"' in after
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(changed) == 1 and len(before.splitlines()) == len(after.splitlines())
    assert tool.main(["--check", str(path)]) == 0


def test_exercise_labels_are_unique_and_well_formed():
    labels, problems = Counter(), []
    prefix_owner: dict[str, str] = {}
    for path in NOTEBOOKS:
        nb = load(path)
        found = exercises(nb)
        prefixes = set()
        for index, label in found:
            if not label:
                problems.append(f"{path.name}, cell {index}: exercise without a :label:")
                continue
            m = LABEL.match(label)
            if not m:
                problems.append(f"{path.name}, cell {index}: label {label!r} is not of the form "
                                "ex-<chapter>-<name> (lowercase letters, digits, hyphens)")
                continue
            labels[label] += 1
            prefixes.add(m["chapter"])
        if len(prefixes) > 1:
            problems.append(f"{path.name}: exercise labels use several chapter parts {sorted(prefixes)}; use one")
        for prefix in prefixes:
            if prefix in prefix_owner:
                problems.append(f"{path.name}: the chapter part 'ex-{prefix}-' is already used by "
                                f"{prefix_owner[prefix]}")
            prefix_owner[prefix] = path.name

        own = {label for _, label in found if label}
        for index, cell in enumerate(nb["cells"]):
            text = source(cell)
            if cell["cell_type"] == "markdown":
                for line in text.splitlines():
                    m = SOLUTION_OPEN.match(line)
                    if m and m["target"] not in own:
                        problems.append(f"{path.name}, cell {index}: solution for {m['target']!r}, which is "
                                        "not an exercise of this chapter")
            elif cell["cell_type"] == "code":
                for m in CHECK_CALL.finditer(text):
                    if m["id"] not in own:
                        problems.append(f"{path.name}, cell {index}: check({m['id']!r}) names no exercise "
                                        "of this chapter")
    problems += [f"label {label!r} is used {n} times" for label, n in labels.items() if n > 1]
    assert not problems, "\n".join(problems)


def test_checked_exercises_have_registered_checks():
    called = {}
    for path in NOTEBOOKS:
        for cell in load(path)["cells"]:
            if cell["cell_type"] == "code":
                for m in CHECK_CALL.finditer(source(cell)):
                    called[m["id"]] = path.name
    if not called:
        pytest.skip("no chapter calls check(...) yet")
    from optimlab.exercises import all_checks

    registered = all_checks()
    unknown = sorted(f"{label} ({where})" for label, where in called.items() if label not in registered)
    assert not unknown, f"check(...) calls with no entry in any optimlab.exercises.<chapter>.CHECKS: {unknown}"
