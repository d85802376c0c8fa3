"""Grades as a table for the terminal, as JSON and CSV, and what an instructor's gradebook needs:
points per exercise, hand grades merged from a CSV, student ids from a roster, a feedback file per
student, Gradescope's ``results.json`` and a gradebook CSV with one row per student."""

from __future__ import annotations

import csv
import json
import re
import tomllib
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


# ------------------------------------------------------------------ points, hand grades, students

class GradebookError(ValueError):
    """A points, roster or hand-grades file that cannot be read; the message names the file and line."""


def load_points(path) -> tuple[dict, float]:
    """Points per exercise from a TOML or JSON file: ``{"default": 1, "points": {"ex-...": 2}}``
    (or a flat mapping of ids to points). Returns (points by id, default)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise GradebookError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise GradebookError(f"{path}: expected a mapping of exercise ids to points")
    default = data.get("default", 1)
    table_ = data.get("points", {k: v for k, v in data.items() if k != "default"})
    points = {}
    for key, value in [("default", default), *table_.items()]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise GradebookError(f"{path}: points for {key!r} must be a number >= 0, got {value!r}")
        points[key] = float(value)
    return {k: v for k, v in points.items() if k != "default"}, points["default"]


def _rows(path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in required if name not in (reader.fieldnames or [])]
            if missing:
                raise GradebookError(f"{path}: missing column(s) {', '.join(missing)} "
                                     f"(found: {', '.join(reader.fieldnames or [])})")
            return [(number, row) for number, row in enumerate(reader, start=2)]
    except OSError as exc:
        raise GradebookError(f"{path}: {exc}") from None


def load_manual(path) -> dict:
    """Hand grades from a CSV with columns ``student, exercise, points`` (and optionally ``comment``):
    ``{(student, exercise id): (points, comment)}``."""
    grades = {}
    for number, row in _rows(path, ("student", "exercise", "points")):
        try:
            points = float(row["points"])
        except (TypeError, ValueError):
            raise GradebookError(f"{path}, line {number}: points must be a number, got {row['points']!r}") from None
        grades[(row["student"].strip(), row["exercise"].strip())] = (points, (row.get("comment") or "").strip())
    return grades


def load_roster(path) -> dict:
    """A roster CSV with columns ``student`` and ``file`` (the notebook's file name): ``{file name: student}``."""
    return {Path(row["file"].strip()).name: row["student"].strip()
            for _, row in _rows(path, ("student", "file")) if row["file"].strip()}


def apply_gradebook(grades: list[SubmissionGrade], *, points: tuple[dict, float] | None = None,
                    manual: dict | None = None, roster: dict | None = None) -> list[str]:
    """Set each submission's student id (roster, else the file name), each exercise's points, and
    merge the hand grades. Returns warnings (a hand grade above the maximum, for a student or an
    exercise not found)."""
    by_id, default = points or ({}, 1.0)
    warnings, used = [], set()
    for grade in grades:
        if roster is not None:
            grade.student = roster.get(Path(grade.file).name, grade.student)
            if Path(grade.file).name not in roster:
                warnings.append(f"{grade.file} is not in the roster; its student id is {grade.student!r}")
        for item in grade.exercises:
            item.max_points = by_id.get(item.id, default)
            entry = (manual or {}).get((grade.student, item.id))
            if entry is None:
                continue
            used.add((grade.student, item.id))
            value, comment = entry
            if item.score is not None:
                warnings.append(f"{grade.student}, {item.id}: a hand grade for a checked exercise is ignored")
                continue
            if not 0 <= value <= item.max_points:
                warnings.append(f"{grade.student}, {item.id}: {value:g} points is outside 0..{item.max_points:g}; "
                                "clipped")
                value = min(max(value, 0.0), item.max_points)
            item.manual_points = value
            if comment:
                item.messages = [comment]
    for student, exercise in sorted(set(manual or {}) - used):
        warnings.append(f"hand grade for {student}, {exercise}: no such student or exercise among the submissions")
    return warnings


# ------------------------------------------------------------------ exports

def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._") or "student"


def feedback(grade: SubmissionGrade) -> str:
    """A student's feedback as Markdown: each exercise's result and hint, cell problems, the total."""
    lines = [f"# Feedback for {grade.student}", "", f"Notebook: `{Path(grade.file).name}`", ""]
    if grade.status != "graded":
        lines += [f"**This notebook could not be graded** ({grade.status}): {grade.note}", ""]
    if grade.exercises:
        lines += ["| exercise | result | points | hint |", "| --- | --- | --- | --- |"]
        for item in grade.exercises:
            got = "–" if item.points is None else f"{item.points:.2f}"
            hint = _cut(item.hint, 300).replace("|", "\\|")
            lines.append(f"| `{item.id}` | {item.status} | {got} / {item.max_points:g} | {hint} |")
        lines.append("")
    details = [(item, m) for item in grade.exercises for m in item.messages[1:]]
    if details:
        lines += ["## More on the failing cases", ""] + [f"- `{item.id}`: {_cut(m, 400)}" for item, m in details] + [""]
    if grade.issues:
        lines += ["## Cells that did not run cleanly", ""]
        lines += [f"- cell {issue.cell}: {issue.kind}" + (f": {_cut(issue.detail, 200)}" if issue.detail else "")
                  for issue in grade.issues] + [""]
    pending = "" if grade.complete else " (some exercises are still to be graded by hand)"
    lines.append(f"**Total: {grade.points:.2f} / {grade.max_points:g}**{pending}")
    return "\n".join(lines) + "\n"


def write_feedback(grades: list[SubmissionGrade], folder) -> list[Path]:
    """One Markdown file per student, ``<student>.md``, in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for grade in grades:
        path = folder / f"{_safe_name(grade.student)}.md"
        path.write_text(feedback(grade), encoding="utf-8")
        written.append(path)
    return written


def gradescope(grade: SubmissionGrade) -> dict:
    """The submission in Gradescope's autograder format (``results.json``)."""
    tests = []
    for item in grade.exercises:
        test = {"name": item.id, "max_score": item.max_points, "output": item.hint,
                "visibility": "visible"}
        if item.points is not None:
            test["score"] = round(item.points, 4)
        if item.score is not None:
            test["status"] = "passed" if item.status == "passed" else "failed"
        tests.append(test)
    output = "" if grade.status == "graded" else f"{grade.status}: {grade.note}"
    return {"score": round(grade.points, 4), "output": output, "tests": tests}


def write_gradescope(grades: list[SubmissionGrade], path) -> list[Path]:
    """Gradescope's ``results.json``: at ``path`` itself for one submission given a ``.json`` path
    (as the autograder expects), else ``path/<student>/results.json`` for each."""
    path = Path(path)
    if path.suffix == ".json":
        if len(grades) != 1:
            raise GradebookError("a single results.json holds one submission; give a folder for several")
        targets = [(path, grades[0])]
    else:
        targets = [(path / _safe_name(grade.student) / "results.json", grade) for grade in grades]
    for target, grade in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(gradescope(grade), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [target for target, _ in targets]


def write_gradebook(grades: list[SubmissionGrade], path, roster: dict | None = None) -> None:
    """One row per student: ``student, file, status, <points per exercise>..., total, max_total,
    complete``. Students of the roster without a submission get a row with status ``missing``."""
    ids: list[str] = []
    for grade in grades:
        ids += [item.id for item in grade.exercises if item.id not in ids]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "file", "status", *ids, "total", "max_total", "complete"])
        for grade in sorted(grades, key=lambda g: g.student):
            points = {item.id: item.points for item in grade.exercises}
            writer.writerow([grade.student, grade.file, grade.status,
                             *("" if points.get(i) is None else f"{points[i]:.4g}" for i in ids),
                             f"{grade.points:.4g}", f"{grade.max_points:g}", "yes" if grade.complete else "no"])
        handed_in = {grade.student for grade in grades}
        for student in sorted(set((roster or {}).values()) - handed_in):
            writer.writerow([student, "", "missing", *("" for _ in ids), "0", "", "no"])
