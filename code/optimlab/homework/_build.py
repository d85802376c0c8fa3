"""The student edition of a chapter: the same notebook with every solution taken out."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ._notebook import (CELL_KEY, MARKER, SOLUTION_TAG, HomeworkError, defined_name, exercise_label,
                        find_exercises, split_markdown, stub_source)

FORMAT = 1
_DIRECTIVE_TEXT = re.compile(r"\{solution(?:-start|-end)?\}")
_MARKER_TEXT = re.compile(r"\b(?:BEGIN|END)\s+SOLUTION\b", re.IGNORECASE)

BANNER = """\
**Homework edition.** The solutions of this chapter's exercises are not included. Where a cell
raises `NotImplementedError`, replace that line with your code; the cell after it checks your
answer and says what went wrong."""


@dataclass
class BuildSummary:
    """What the build did to one notebook."""
    source: str
    stubs: list[str] = field(default_factory=list)        # exercise ids given a stub
    removed: list[str] = field(default_factory=list)      # "cell N: why" for every removed part
    exercises: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _clear(cell) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.metadata.pop("execution", None)


def student_edition(nb, source: str = "") -> tuple[object, BuildSummary]:
    """Return the homework edition of the book notebook ``nb`` (left unchanged) and a summary.

    * ``{solution}`` blocks are cut out of their markdown cell (the cell goes when nothing else is left);
    * everything from ``{solution-start}`` to ``{solution-end}`` goes, markdown and code alike,
      except code cells tagged ``solution`` that have markers: those become stubs in place;
    * a code cell tagged ``solution`` without markers goes whole, wherever it is;
    * outputs and execution counts are cleared; the notebook's metadata gets a manifest of the
      exercises (id and the name each check receives) for the grader.
    """
    summary = BuildSummary(source)
    nb = copy.deepcopy(nb)
    solution_lines: set[str] = set()
    kept = []
    current = None          # label of the last {exercise}
    gated = None            # exercise id of the open {solution-start} block, if any
    for number, cell in enumerate(nb.cells, start=1):
        tags = list(cell.metadata.get("tags", []))
        if cell.cell_type in ("markdown", "raw"):
            parts = []
            for piece in split_markdown(cell.source):
                if gated is not None:
                    if piece.directive == "solution-end":
                        gated = None
                    continue
                if piece.directive == "solution":
                    summary.removed.append(f"cell {number}: solution of {piece.argument or current}")
                    continue
                if piece.directive == "solution-start":
                    gated = piece.argument or current or ""
                    summary.removed.append(f"cell {number}: gated solution of {gated}")
                    continue
                if piece.directive == "solution-end":
                    raise HomeworkError(f"{source} cell {number}: solution-end without solution-start")
                if piece.directive in ("exercise", "exercise-start"):
                    current = exercise_label(piece) or current
                parts.append(piece.text)
            text = "".join(parts)
            if text.strip():
                cell.source = text if text == cell.source else re.sub(r"\n{3,}", "\n\n", text).rstrip()
                _clear(cell)
                kept.append(cell)
            continue
        if cell.cell_type != "code":
            kept.append(cell)
            continue
        if SOLUTION_TAG in tags:
            owner = gated or current
            if not owner:
                raise HomeworkError(f"{source} cell {number}: a `solution` cell before any exercise")
            stub = stub_source(cell.source, owner)
            inside = False
            for line in cell.source.splitlines():
                if MARKER.match(line):
                    inside = not inside
                elif stub is None or inside:
                    solution_lines.add(line.strip())
            if stub is None:
                summary.removed.append(f"cell {number}: solution code of {owner}")
                continue
            cell.source, top_level = stub
            tags.remove(SOLUTION_TAG)
            if top_level and "raises-exception" not in tags:
                tags.append("raises-exception")
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
            cell.metadata[CELL_KEY] = {"exercise": owner, "name": defined_name(cell.source)}
            summary.stubs.append(owner)
            _clear(cell)
            kept.append(cell)
            continue
        if gated is not None:
            summary.removed.append(f"cell {number}: code inside the gated solution of {gated}")
            solution_lines.update(line.strip() for line in cell.source.splitlines())
            continue
        _clear(cell)
        kept.append(cell)
    if gated is not None:
        raise HomeworkError(f"{source}: solution-start of {gated or 'an exercise'} is never closed")

    nb.cells = [nbformat.v4.new_markdown_cell(BANNER)] + kept
    summary.exercises = [item.as_dict() for item in find_exercises(nb)]
    nb.metadata[CELL_KEY] = {"format": FORMAT, "source": source, "exercises": summary.exercises}
    problems = leftovers(nb)
    if problems:
        raise HomeworkError(f"{source}: solution text is left in the homework edition:\n  "
                            + "\n  ".join(problems))
    summary.warnings = _repeated_lines(nb, solution_lines)
    return nb, summary


def leftovers(nb) -> list[str]:
    """Every trace of a solution in ``nb``: ``solution`` tags, marker lines, solution directives, outputs."""
    problems = []
    for number, cell in enumerate(nb.cells, start=1):
        if SOLUTION_TAG in cell.metadata.get("tags", []):
            problems.append(f"cell {number}: tagged `{SOLUTION_TAG}`")
        for line_number, line in enumerate(cell.source.splitlines(), start=1):
            if _MARKER_TEXT.search(line):
                problems.append(f"cell {number} line {line_number}: solution marker: {line.strip()}")
            if cell.cell_type != "code" and _DIRECTIVE_TEXT.search(line):
                problems.append(f"cell {number} line {line_number}: solution directive: {line.strip()}")
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"cell {number}: has outputs")
    return problems


def _repeated_lines(nb, solution_lines: set[str]) -> list[str]:
    """Lines of removed solution code that still appear elsewhere (worth a look, not always a leak)."""
    worth = {line for line in solution_lines
             if len(line) >= 24 and not line.startswith("#") and not line.endswith(":")}
    found = []
    for number, cell in enumerate(nb.cells, start=1):
        for line in cell.source.splitlines():
            if line.strip() in worth:
                found.append(f"cell {number} repeats a line of a removed solution: {line.strip()}")
    return found


def build(paths, out: str | Path = "homework_build", *, strict: bool = False, log=print) -> int:
    """Write the homework edition of every notebook in ``paths`` into ``out``; returns the failure count.

    A notebook that cannot be converted, or whose edition still holds solution text (with
    ``strict``, also one that repeats lines of a removed solution), is reported and not written.
    """
    out = Path(out)
    notebooks = []
    for path in map(Path, paths):
        notebooks.extend(sorted(path.glob("*.ipynb")) if path.is_dir() else [path])
    failures = 0
    for path in notebooks:
        if path.resolve().parent == out.resolve():
            log(f"skip {path}: it is in the output folder")
            continue
        try:
            nb = nbformat.read(path, as_version=4)
            student, summary = student_edition(nb, path.name)
        except (HomeworkError, OSError, ValueError) as exc:
            log(f"FAILED {path}: {exc}")
            failures += 1
            continue
        for warning in summary.warnings:
            log(f"warning {path.name}: {warning}")
        if strict and summary.warnings:
            log(f"FAILED {path}: refused with --strict because of the warnings above")
            failures += 1
            continue
        out.mkdir(parents=True, exist_ok=True)
        target = out / path.name
        nbformat.write(student, target)
        checked = [item["id"] for item in summary.exercises if item["checked"]]
        log(f"wrote {target}: {len(summary.exercises)} exercises ({len(checked)} checked), "
            f"{len(summary.stubs)} stubs, {len(summary.removed)} solution parts removed")
    return failures


def scan(paths, *, log=print) -> int:
    """Report solution text left in homework notebooks; returns how many notebooks have some."""
    dirty = 0
    for path in map(Path, paths):
        for notebook in (sorted(path.glob("*.ipynb")) if path.is_dir() else [path]):
            problems = leftovers(nbformat.read(notebook, as_version=4))
            if problems:
                dirty += 1
                log(f"{notebook}: solution text left:\n  " + "\n  ".join(problems))
            else:
                log(f"{notebook}: clean")
    return dirty
