"""Reading the exercise structure of a chapter notebook.

The conventions (see CONTRIBUTING, "Exercises"): an ``{exercise}`` directive with a ``:label:``
names each exercise; its solution is either a ``{solution}`` directive (prose) or a gated block
``{solution-start} <id>`` ... ``{solution-end}`` whose code cells are tagged ``solution``; in a
checked exercise the reference body sits between ``# BEGIN SOLUTION`` and ``# END SOLUTION``, and a
later code cell calls ``check("<id>", <name>)``.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

SOLUTION_TAG = "solution"
CELL_KEY = "optimlab_homework"  # cell and notebook metadata written by the homework build

_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
_DIRECTIVE = re.compile(r"^\s*\{(?P<name>[^}\s]+)\}\s*(?P<argument>.*?)\s*$")
_LABEL = re.compile(r"^\s*:?label:\s*(?P<label>\S+)", re.MULTILINE)
MARKER = re.compile(r"^(?P<indent>[ \t]*)#+\s*(?P<which>BEGIN|END)\s+SOLUTION\b", re.IGNORECASE)


class HomeworkError(ValueError):
    """A notebook that does not follow the exercise conventions closely enough to be converted."""


@dataclass
class Piece:
    """A stretch of markdown: plain text, or one fenced block (``directive`` set when it is one)."""
    text: str
    directive: str | None = None
    argument: str = ""
    body: str = ""


def split_markdown(text: str) -> list[Piece]:
    """Cut markdown into plain stretches and top-level fenced blocks (backticks, tildes or colons).

    A block ends at a line made only of its fence character, at least as long as the opening fence
    (an unclosed block runs to the end). Blocks nested inside a block stay inside it.
    """
    lines = text.splitlines(keepends=True)
    pieces: list[Piece] = []
    plain: list[str] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i].rstrip("\r\n"))
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            plain.append(lines[i])
            i += 1
            continue
        if plain:
            pieces.append(Piece("".join(plain)))
            plain = []
        char, size = opening["fence"][0], len(opening["fence"])
        end = i + 1
        while end < len(lines):
            stripped = lines[end].strip()
            if stripped and set(stripped) == {char} and len(stripped) >= size:
                break
            end += 1
        directive = _DIRECTIVE.match(opening["info"])
        pieces.append(Piece("".join(lines[i:end + 1]),
                            directive["name"] if directive else None,
                            directive["argument"] if directive else "",
                            "".join(lines[i + 1:end])))
        i = end + 1
    if plain:
        pieces.append(Piece("".join(plain)))
    return pieces


def exercise_label(piece: Piece) -> str | None:
    """The ``:label:`` of an ``{exercise}`` (or ``{exercise-start}``) block, if it has one."""
    found = _LABEL.search(piece.body)
    return found["label"] if found else None


def _without_magics(source: str) -> str:
    """IPython magics and shell escapes turned into ``pass`` so that ``ast`` can read the rest."""
    return "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in source.splitlines())


def parse_code(source: str) -> ast.Module | None:
    try:
        return ast.parse(_without_magics(source))
    except SyntaxError:
        return None


def check_calls(source: str) -> list[tuple[str, str]]:
    """``(exercise id, checked expression)`` for every ``check("<id>", <expr>)`` call in ``source``."""
    tree = parse_code(source)
    if tree is None:
        return []
    calls = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and len(node.args) >= 2):
            continue
        callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        first = node.args[0]
        if callee == "check" and isinstance(first, ast.Constant) and isinstance(first.value, str):
            calls.append((first.value, ast.unparse(node.args[1])))
    return calls


def defined_name(source: str) -> str | None:
    """The name bound by the last top-level ``def`` or ``class`` in ``source``."""
    tree = parse_code(source)
    names = [node.name for node in (tree.body if tree else [])
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return names[-1] if names else None


def stub_source(source: str, exercise_id: str) -> tuple[str, bool] | None:
    """Replace every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block by a ``raise NotImplementedError``.

    Returns ``(stub, raises_at_top_level)``, or ``None`` when ``source`` has no markers. The raise
    takes the indentation of its ``BEGIN`` line; everything outside the markers is kept.
    """
    message = json.dumps(f"{exercise_id}: write your solution here")
    out: list[str] = []
    indent = None
    top_level = False
    found = False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = MARKER.match(line)
        if marker is None:
            if indent is None:
                out.append(line)
            continue
        found = True
        if marker["which"].upper() == "BEGIN":
            if indent is not None:
                raise HomeworkError(f"{exercise_id}: BEGIN SOLUTION inside another one (line {number})")
            indent = marker["indent"]
        else:
            if indent is None:
                raise HomeworkError(f"{exercise_id}: END SOLUTION without BEGIN SOLUTION (line {number})")
            out.append(f"{indent}raise NotImplementedError({message})")
            top_level = top_level or indent == ""
            indent = None
    if indent is not None:
        raise HomeworkError(f"{exercise_id}: BEGIN SOLUTION is never closed by END SOLUTION")
    if not found:
        return None
    stub = "\n".join(out)
    if parse_code(source) is not None and parse_code(stub) is None:
        raise HomeworkError(f"{exercise_id}: the markers leave code that does not parse:\n{stub}")
    return stub, top_level


@dataclass
class Exercise:
    """One exercise of a notebook: its id, the expression its check receives, whether it is checked."""
    id: str
    name: str | None = None
    checked: bool = False
    _defined: str | None = field(default=None, repr=False)
    _checked_expr: str | None = field(default=None, repr=False)

    def resolve(self) -> "Exercise":
        self.name = self._checked_expr or self._defined or self.name
        self.checked = self.checked or self.name is not None
        return self

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "checked": self.checked}


def find_exercises(nb) -> list[Exercise]:
    """The exercises of a book chapter or of a homework edition, in order of appearance.

    The checked expression of an exercise comes from its ``check("<id>", <expr>)`` call; failing
    that, from the ``def`` in its reference cell (book) or from the stub's metadata (homework);
    failing that, from the manifest the build wrote into the notebook's metadata.
    """
    exercises: dict[str, Exercise] = {}
    manifest = [entry for entry in nb.metadata.get(CELL_KEY, {}).get("exercises", [])
                if isinstance(entry, dict) and isinstance(entry.get("id"), str)]
    for entry in manifest:  # the list handed out comes first, in its order
        exercises[entry["id"]] = Exercise(entry["id"])

    def get(exercise_id: str) -> Exercise:
        return exercises.setdefault(exercise_id, Exercise(exercise_id))

    current = None
    gated = None
    for cell in nb.cells:
        if cell.cell_type in ("markdown", "raw"):
            for piece in split_markdown(cell.source):
                if piece.directive in ("exercise", "exercise-start"):
                    label = exercise_label(piece)
                    if label:
                        current = label
                        get(label)
                elif piece.directive == "solution-start":
                    gated = piece.argument or current
                elif piece.directive == "solution-end":
                    gated = None
            continue
        if cell.cell_type != "code":
            continue
        homework = cell.metadata.get(CELL_KEY, {})
        if homework.get("exercise"):
            item = get(homework["exercise"])
            item._defined = item._defined or homework.get("name")
            item.checked = True
        if SOLUTION_TAG in cell.metadata.get("tags", []):
            owner = gated or current
            if owner and any(MARKER.match(line) for line in cell.source.splitlines()):
                item = get(owner)
                item._defined = defined_name(cell.source) or item._defined
                item.checked = True
        for exercise_id, expression in check_calls(cell.source):
            item = get(exercise_id)
            item._checked_expr = item._checked_expr or expression
            item.checked = True
    for entry in manifest:
        item = get(entry["id"])
        if isinstance(entry.get("name"), str):
            item._defined = item._defined or entry["name"]
        item.checked = item.checked or bool(entry.get("checked"))
    return [item.resolve() for item in exercises.values()]
