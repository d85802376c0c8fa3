"""Grades as a table for the terminal, as JSON and as CSV (one row per submission and exercise)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ._grade import SubmissionGrade

CSV_COLUMNS = ["file", "file_status", "exercise", "name", "status", "score", "passed", "total", "hint"]


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def short_hint(hint: str, width: int = 80) -> str:
    """A hint cut to ``width``; a named likely mistake is kept in preference to the values."""
    head, found, mistake = hint.partition(" -- likely mistake: ")
    if found:
        hint = f"likely mistake: {mistake}"
    return _cut(hint, width)


def table(grade: SubmissionGrade) -> str:
    """A submission's grades as text: cell problems, one line per exercise, the total."""
    issues = {}
    for issue in grade.issues:
        issues[issue.kind] = issues.get(issue.kind, 0) + 1
    counts = "".join(f", {n} {kind}" for kind, n in issues.items())
    lines = [f"== {grade.file}  ({grade.status} in {grade.seconds:.1f} s; {grade.cells_run} cells run{counts}"
             + (f"; {grade.restarts} kernel restarts" if grade.restarts else "") + ")"]
    if grade.note:
        lines.append(f"  note: {grade.note}")
    for issue in grade.issues:
        lines.append(f"  cell {issue.cell}: {issue.kind}" + (f": {_cut(issue.detail, 90)}" if issue.detail else ""))
    if grade.exercises:
        width_id = max(8, *(len(e.id) for e in grade.exercises))
        width_name = max(4, *(len(e.name or "-") for e in grade.exercises))
        lines.append(f"  {'exercise':<{width_id}}  {'name':<{width_name}}  {'status':<15}  score  hint")
        for item in grade.exercises:
            score = "-" if item.score is None else f"{item.score:.2f}"
            lines.append(f"  {item.id:<{width_id}}  {item.name or '-':<{width_name}}  {item.status:<15}  "
                         f"{score:>5}  {short_hint(item.hint)}")
    elif grade.status == "graded":
        lines.append("  no exercises found in this notebook")
    share = f" ({100 * grade.score / grade.max_score:.0f}%)" if grade.max_score else ""
    lines.append(f"  total: {grade.score:.2f} / {grade.max_score}{share}")
    return "\n".join(lines)


def write_json(grades: list[SubmissionGrade], path) -> None:
    data = {"format": 1, "submissions": [grade.as_dict() for grade in grades]}
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_csv(grades: list[SubmissionGrade], path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for grade in grades:
            if not grade.exercises:
                writer.writerow({"file": grade.file, "file_status": grade.status, "hint": grade.note})
            for item in grade.exercises:
                writer.writerow({
                    "file": grade.file, "file_status": grade.status, "exercise": item.id,
                    "name": item.name or "", "status": item.status,
                    "score": "" if item.score is None else f"{item.score:.4g}",
                    "passed": item.passed, "total": item.total, "hint": item.hint})
