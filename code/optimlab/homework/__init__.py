"""The homework edition of the book: student notebooks without solutions, and a grader.

From the repository root::

    python -m optimlab.homework build [--out homework_build] [chapters/x.ipynb ...]
    python -m optimlab.homework grade alice.ipynb bob.ipynb [--json grades.json] [--csv grades.csv]
    python -m optimlab.homework scan homework_build

``build`` follows the exercise conventions of CONTRIBUTING: solution directives and gated solution
blocks are removed, and a reference cell's lines between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` become ``raise NotImplementedError(...)``. ``grade`` runs each submission in
its own sandbox (bubblewrap: no network, a read-only system, nothing of the grader's in view, limits
on memory, processes and time), calls the learner's functions there on each check's inputs, and
judges the returned values in its own process against the references, which never enter the
sandbox (see ``docs/homework.md`` for the threat model).
"""

from ._build import BuildSummary, build, leftovers, scan, student_edition
from ._grade import CellIssue, ExerciseGrade, SubmissionGrade, grade_many, grade_notebook, load_checks
from ._sandbox import Limits, SandboxError
from ._notebook import Exercise, HomeworkError, find_exercises, stub_source
from ._report import (apply_gradebook, feedback, gradescope, load_manual, load_points, load_roster, table, write_csv,
                      write_feedback, write_gradebook, write_gradescope, write_json)

__all__ = ["BuildSummary", "build", "leftovers", "scan", "student_edition", "CellIssue", "ExerciseGrade",
           "SubmissionGrade", "grade_many", "grade_notebook", "load_checks", "Limits", "SandboxError", "Exercise",
           "HomeworkError", "find_exercises", "stub_source", "apply_gradebook", "feedback", "gradescope",
           "load_manual", "load_points", "load_roster", "table", "write_csv", "write_feedback", "write_gradebook",
           "write_gradescope", "write_json", "main"]


def main(argv=None) -> int:
    from .__main__ import main as _main

    return _main(argv)
