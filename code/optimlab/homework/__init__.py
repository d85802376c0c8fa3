"""The homework edition of the book: student notebooks without solutions, and a grader.

From the repository root::

    python -m optimlab.homework build [--out homework_build] [chapters/x.ipynb ...]
    python -m optimlab.homework grade alice.ipynb bob.ipynb [--json grades.json] [--csv grades.csv]
    python -m optimlab.homework scan homework_build

``build`` follows the exercise conventions of CONTRIBUTING: solution directives and gated solution
blocks are removed, and a reference cell's lines between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` become ``raise NotImplementedError(...)``. ``grade`` runs a submission in a
fresh kernel under time limits and applies each exercise's registered check
(:func:`optimlab.exercises.all_checks`) to the learner's function, in that kernel.
"""

from ._build import BuildSummary, build, leftovers, scan, student_edition
from ._grade import CellIssue, ExerciseGrade, SubmissionGrade, grade_many, grade_notebook, load_checks
from ._sandbox import Limits, SandboxError
from ._notebook import Exercise, HomeworkError, find_exercises, stub_source
from ._report import table, write_csv, write_json

__all__ = ["BuildSummary", "build", "leftovers", "scan", "student_edition", "CellIssue", "ExerciseGrade",
           "SubmissionGrade", "grade_many", "grade_notebook", "Exercise", "HomeworkError", "find_exercises", "stub_source",
           "table", "write_csv", "write_json", "main"]


def main(argv=None) -> int:
    from .__main__ import main as _main

    return _main(argv)
