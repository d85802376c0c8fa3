"""The homework edition: building student notebooks without solutions, and grading submissions.

The fixture chapter (tests/fixtures/homework_chapter.ipynb) has one checked exercise, one answered in
prose and one gated solution whose code has no markers; its check lives in
tests/fixtures/homework_checks.py and reaches the grader through ``--checks``. Grading tests start
real kernels (a few seconds each), so each scenario is one submission graded once.
"""

from __future__ import annotations

import csv
import signal
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from optimlab.homework import (HomeworkError, build, find_exercises, grade_many, grade_notebook, leftovers, main,
                               stub_source, student_edition)
from optimlab.homework._kernel import _limited
from optimlab.homework._sandbox import SandboxError, check_available

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "homework_chapter.ipynb"
FIXTURE_CHECKS = ROOT / "tests" / "fixtures" / "homework_checks.py"
CHAPTER = ROOT / "chapters" / "gradient_descent.ipynb"


def _sandbox_problem() -> str | None:
    try:
        check_available()
    except SandboxError as exc:
        return str(exc)
    return None


needs_sandbox = pytest.mark.skipif(_sandbox_problem() is not None,
                                   reason=f"no sandbox can be made here: {_sandbox_problem()}")


STUB = ('def scale(x, factor):\n    """Return ``x`` times ``factor``."""\n'
        '    raise NotImplementedError("ex-hwfix-scale: write your solution here")')


def _read(path):
    return nbformat.read(path, as_version=4)


def _student(path=FIXTURE):
    return student_edition(_read(path), Path(path).name)


def _submission(tmp_path, name, answer_body, insert=()):
    """The fixture's homework edition with the stub's body replaced and extra code cells inserted
    (``insert``: pairs of position in the edition and source)."""
    nb, _ = _student()
    stub = next(cell for cell in nb.cells if cell.metadata.get("optimlab_homework"))
    stub.source = "def scale(x, factor):\n" + answer_body
    for position, source in sorted(insert, reverse=True):
        nb.cells.insert(position, new_code_cell(source))
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path, nb


def _cell_number(nb, source):
    return next(number for number, cell in enumerate(nb.cells, start=1) if cell.source == source)


# ---------------------------------------------------------------- building the student edition

def test_student_edition_removes_every_solution():
    book = _read(FIXTURE)
    student, summary = _student()
    text = nbformat.writes(student)
    for trace in ("BEGIN SOLUTION", "END SOLUTION", "{solution", "product = np.multiply(x, factor)", "return product",
                  "sends every input to the same output", "A loop over the values",
                  "print(value, scale(value, 10))"):
        assert trace not in text, trace
    assert not any("solution" in cell.metadata.get("tags", []) for cell in student.cells)
    assert leftovers(student) == []
    assert summary.stubs == ["ex-hwfix-scale"] and summary.warnings == []
    assert _read(FIXTURE) == book                       # the book notebook is left as it was
    nbformat.validate(student)


def test_student_edition_keeps_the_rest_and_puts_the_stub_where_the_student_works():
    book = _read(FIXTURE)
    student, _ = _student()
    sources = [cell.source for cell in student.cells]
    stub_at = sources.index(STUB)
    assert ":label: ex-hwfix-scale" in sources[stub_at - 1]           # right under its exercise
    assert sources[stub_at + 1] == 'check("ex-hwfix-scale", scale)'    # the check cell is kept
    assert student.cells[stub_at].metadata["optimlab_homework"] == {"exercise": "ex-hwfix-scale",
                                                                     "name": "scale"}
    assert "tags" not in student.cells[stub_at].metadata
    # the prose exercise shared its cell with its solution: the exercise stays, the solution goes
    why = next(s for s in sources if ":label: ex-hwfix-why" in s)
    assert why.endswith("```") and "{solution}" not in why
    # every cell of the book that is not a solution is still there, in order
    book_sources = [cell.source for cell in book.cells]
    assert sources[1:] == book_sources[0:4] + [STUB, book_sources[7], why, book_sources[9]] + book_sources[14:]
    assert why == book_sources[8][:book_sources[8].index("```{solution}")].rstrip()
    assert student.cells[1].metadata["tags"] == ["remove-cell"]
    assert student.metadata["optimlab_homework"]["exercises"] == [
        {"id": "ex-hwfix-scale", "name": "scale", "checked": True},
        {"id": "ex-hwfix-why", "name": None, "checked": False},
        {"id": "ex-hwfix-table", "name": None, "checked": False}]


def test_outputs_are_cleared():
    book = _read(FIXTURE)
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
            cell.execution_count = 7
    student, _ = student_edition(book)
    assert all(cell.outputs == [] and cell.execution_count is None
               for cell in student.cells if cell.cell_type == "code")


def test_stub_source_indentation_signature_and_errors():
    method = ("class Rule:\n    def step(self, x):\n        \"\"\"One step.\"\"\"\n        y = 2 * x\n"
              "        # BEGIN SOLUTION\n        if y > 0:\n            return y\n        return -y\n"
              "        # END SOLUTION\n\n    def other(self):\n        # begin solution\n        return 1\n"
              "        # end solution\n")
    stub, top_level = stub_source(method, "ex-a")
    assert stub == ("class Rule:\n    def step(self, x):\n        \"\"\"One step.\"\"\"\n        y = 2 * x\n"
                    "        raise NotImplementedError(\"ex-a: write your solution here\")\n\n"
                    "    def other(self):\n        raise NotImplementedError(\"ex-a: write your solution here\")")
    assert not top_level
    stub, top_level = stub_source("x = 1\n# BEGIN SOLUTION\ny = x + 1\n# END SOLUTION\nprint(y)", "ex-b")
    assert stub == 'x = 1\nraise NotImplementedError("ex-b: write your solution here")\nprint(y)' and top_level
    assert stub_source("def f():\n    return 1", "ex-c") is None
    for broken in ("# BEGIN SOLUTION\nx = 1", "x = 1\n# END SOLUTION",
                   "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n# END SOLUTION",
                   "if True:\n# BEGIN SOLUTION\n    pass\n# END SOLUTION"):
        with pytest.raises(HomeworkError):
            stub_source(broken, "ex-d")


def _chapter(*cells):
    return new_notebook(cells=list(cells), metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                     "display_name": "Python 3"}})


def _solution_cell(source):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["solution"]
    return cell


def test_colon_fences_top_level_stubs_and_the_exercise_label_as_owner():
    nb = _chapter(
        new_markdown_cell(":::{exercise}\n:label: ex-t-sum\nCompute `total`.\n:::\n\n"
                          "::::{solution} ex-t-sum\n:class: dropdown\n:::{note}\nnested\n:::\nSum it.\n::::\n\nAfter."),
        _solution_cell("values = [1, 2]\n# BEGIN SOLUTION\ntotal = sum(values)\n# END SOLUTION"),
        new_code_cell('check("ex-t-sum", total)'))
    student, summary = student_edition(nb)
    assert [cell.source for cell in student.cells[1:]] == [
        ":::{exercise}\n:label: ex-t-sum\nCompute `total`.\n:::\n\nAfter.",
        'values = [1, 2]\nraise NotImplementedError("ex-t-sum: write your solution here")',
        'check("ex-t-sum", total)']
    assert student.cells[2].metadata["tags"] == ["raises-exception"]   # it raises when run
    assert summary.exercises == [{"id": "ex-t-sum", "name": "total", "checked": True}]


@pytest.mark.parametrize("cells, message", [
    ([new_markdown_cell("```{solution-end}\n```")], "without solution-start"),
    ([new_markdown_cell("```{exercise}\n:label: ex-t\n```"), new_markdown_cell("```{solution-start} ex-t\n```"),
      new_code_cell("x = 1")], "never closed"),
    ([_solution_cell("# BEGIN SOLUTION\nx = 1\n# END SOLUTION")], "before any exercise"),
    ([new_markdown_cell("```{exercise}\n:label: ex-t\n```"), new_code_cell("# BEGIN SOLUTION\nx = 1\n# END SOLUTION")],
     "solution marker"),                                  # markers in a cell someone forgot to tag
    ([new_markdown_cell("````{exercise}\n:label: ex-t\n```{solution} ex-t\nanswer\n```\n````")],
     "solution directive"),                               # a solution nested where the build does not look
])
def test_build_refuses_what_it_cannot_convert_or_would_leak(cells, message):
    with pytest.raises(HomeworkError, match=message):
        student_edition(_chapter(*cells))


def test_build_and_scan_commands(tmp_path, capsys):
    out = tmp_path / "homework"
    assert main(["build", "--out", str(out), str(FIXTURE.parent)]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["homework_chapter.ipynb"]
    assert main(["scan", str(out)]) == 0
    leaky = _read(out / "homework_chapter.ipynb")
    leaky.cells[-1].source += "\n# BEGIN SOLUTION"
    leaky.cells[-2].metadata["tags"] = ["solution"]
    nbformat.write(leaky, out / "leaky.ipynb")
    assert main(["scan", str(out / "leaky.ipynb")]) == 1
    assert "solution marker" in capsys.readouterr().out
    bad = tmp_path / "bad.ipynb"
    nbformat.write(_chapter(new_markdown_cell("```{solution-end}\n```")), bad)
    assert build([bad], tmp_path / "refused", log=lambda line: None) == 1
    assert not (tmp_path / "refused").exists()
    # a line of a removed solution repeated elsewhere is a warning; --strict refuses it
    echo = _read(FIXTURE)
    echo.cells.append(new_code_cell("    product = np.multiply(x, factor)  "))
    nbformat.write(echo, tmp_path / "echo.ipynb")
    lines = []
    assert build([tmp_path / "echo.ipynb"], tmp_path / "loose", log=lines.append) == 0
    assert any("repeats a line of a removed solution" in line for line in lines)
    assert build([tmp_path / "echo.ipynb"], tmp_path / "strict", strict=True, log=lines.append) == 1


def test_exercises_are_found_in_the_book_and_in_the_homework_edition():
    expected = [("ex-hwfix-scale", "scale", True), ("ex-hwfix-why", None, False), ("ex-hwfix-table", None, False)]
    student, _ = _student()
    for nb in (_read(FIXTURE), student):
        assert [(e.id, e.name, e.checked) for e in find_exercises(nb)] == expected
    # a student who deletes the stub and the check cell still has the exercise in the manifest
    student.cells = [cell for cell in student.cells if cell.cell_type == "markdown" or "scale" not in cell.source]
    assert [(e.id, e.name, e.checked) for e in find_exercises(student)] == expected
    student.cells = [cell for cell in student.cells if "ex-hwfix-scale" not in cell.source]
    assert [(e.id, e.name, e.checked) for e in find_exercises(student)] == expected


def test_check_time_limit_fires_again_when_the_answer_swallows_the_first_interruption():
    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timer on this platform")

    def stubborn():
        try:
            while True:
                pass
        except BaseException:
            pass
        while True:
            pass

    handler = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    value, timed_out = _limited(stubborn, 0.3)
    assert timed_out and value is None and time.monotonic() - started < 5
    time.sleep(0.2)                                   # no alarm is left armed after the limit
    assert _limited(lambda: 42, 5) == (42, False)
    assert signal.getsignal(signal.SIGALRM) == handler


# ---------------------------------------------------------------- grading (starts kernels)

@needs_sandbox
def test_endless_loops_and_exceptions_are_graded_within_the_limits(tmp_path):
    endless_cell, failing_cell = "while True:\n    pass", "1 / 0"
    path, nb = _submission(tmp_path, "loops", "    while True:\n        x = x\n",
                           insert=[(4, endless_cell), (4, failing_cell)])
    started = time.monotonic()
    grade = grade_notebook(path, cell_timeout=4, check_timeout=2, extra_checks=[FIXTURE_CHECKS])
    assert time.monotonic() - started < 90
    issues = {(i.cell, i.kind) for i in grade.issues}
    assert (_cell_number(nb, endless_cell), "timeout") in issues
    assert (_cell_number(nb, failing_cell), "error") in issues
    # the notebook's own check cell returns at once in grading (the grader checks outside the notebook)
    assert len(grade.issues) == 2 and grade.restarts == 0      # the cells after the loops ran cleanly
    scale = grade.exercises[0]
    assert (scale.status, scale.score, grade.score) == ("timeout", 0.0, 0.0)
    assert "did not finish within 2 s" in scale.hint


@needs_sandbox
def test_a_crashing_kernel_is_replaced_and_the_rest_still_graded(tmp_path):
    """A cell that kills the kernel, a cell that ignores interrupts, an answer that raises."""
    exit_cell = "import os\nos._exit(3)"
    deaf_cell = ("import time\nwhile True:\n    try:\n        time.sleep(0.01)\n"
                 "    except BaseException:\n        pass")
    path, nb = _submission(tmp_path, "crash", "    raise ValueError('no idea')\n",
                           insert=[(5, exit_cell), (6, deaf_cell)])
    started = time.monotonic()
    grade = grade_notebook(path, cell_timeout=4, check_timeout=2, extra_checks=[FIXTURE_CHECKS])
    assert time.monotonic() - started < 120
    issues = [(i.cell, i.kind) for i in grade.issues]
    assert issues == [(_cell_number(nb, exit_cell), "died"), (_cell_number(nb, deaf_cell), "killed")]
    assert grade.restarts == 2 and grade.status == "graded"
    scale = grade.exercises[0]
    assert (scale.status, scale.score, scale.total) == ("failed", 0.0, 3)
    assert "raised ValueError: no idea" in scale.hint


@needs_sandbox
def test_the_overall_limit_skips_the_remaining_cells(tmp_path):
    """Also: a student who deleted the exercise's cells still has it graded (from the manifest)."""
    path = tmp_path / "slow.ipynb"
    nb = _chapter(*[new_code_cell("import time\ntime.sleep(60)") for _ in range(3)], new_code_cell("print('never')"))
    nb.metadata["optimlab_homework"] = _student()[0].metadata["optimlab_homework"]
    nbformat.write(nb, path)
    started = time.monotonic()
    grade = grade_notebook(path, cell_timeout=2, total_timeout=5, extra_checks=[FIXTURE_CHECKS])
    assert time.monotonic() - started < 45
    kinds = [(i.cell, i.kind) for i in grade.issues]
    # cells 1 and 2 use up the 5 s (the second one perhaps only its rest); the print is never reached
    assert kinds[:2] == [(1, "timeout"), (2, "timeout")] and kinds[-1] == (4, "skipped")
    assert kinds[2] in ((3, "timeout"), (3, "skipped")) and len(kinds) == 4
    assert [(e.id, e.status, e.score) for e in grade.exercises] == [
        ("ex-hwfix-scale", "missing", 0.0), ("ex-hwfix-why", "manual", None), ("ex-hwfix-table", "manual", None)]
    assert "`scale` is not defined" in grade.exercises[0].hint and grade.max_score == 1


@needs_sandbox
def test_a_kernel_that_cannot_start_fails_the_command(tmp_path, capsys):
    assert main(["grade", str(FIXTURE), "--kernel", "no-such-kernel", "--checks", str(FIXTURE_CHECKS),
                 "--csv", str(tmp_path / "g.csv")]) == 1
    out = capsys.readouterr()
    assert "kernel failed" in out.out and "could not run" in out.err
    rows = list(csv.DictReader((tmp_path / "g.csv").open(newline="")))
    assert [(r["file_status"], r["status"]) for r in rows] == [("kernel failed", "not run"),
                                                               ("kernel failed", "manual"), ("kernel failed", "manual")]


@needs_sandbox
def test_an_unreadable_submission_is_reported(tmp_path):
    path = tmp_path / "notes.ipynb"
    path.write_text("this is not a notebook")
    grade = grade_notebook(path)
    assert grade.status == "unreadable" and grade.max_score == 0 and grade.note


# ---------------------------------------------------------------- the real chapters

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_every_chapter_has_a_clean_homework_edition(chapter):
    book = _read(chapter)
    checked = [e.id for e in find_exercises(book) if e.checked]
    student, summary = student_edition(book, chapter.name)
    assert leftovers(student) == [] and sorted(summary.stubs) == sorted(checked)
    text = nbformat.writes(student)
    assert "BEGIN SOLUTION" not in text and "{solution" not in text
    assert [(e.id, e.name) for e in find_exercises(student)] == [(e.id, e.name) for e in find_exercises(book)]


@needs_sandbox
@pytest.mark.skipif(not CHAPTER.exists(), reason="chapters/gradient_descent.ipynb is not written yet")
def test_gradient_descent_chapter_homework(tmp_path):
    book = _read(CHAPTER)
    checked = [e.id for e in find_exercises(book) if e.checked]
    assert checked, "the chapter should have at least one checked exercise"
    student, _ = student_edition(book, CHAPTER.name)
    path = tmp_path / "gradient_descent.ipynb"
    nbformat.write(student, path)

    reference, unfilled = grade_many([CHAPTER, path], jobs=2, cell_timeout=120)
    assert reference.issues == []
    assert {e.id: e.status for e in reference.exercises if e.id in checked} == {i: "passed" for i in checked}
    assert reference.score == reference.max_score == len(checked)

    assert all(i.kind == "error" and "NotImplementedError" in i.detail for i in unfilled.issues)
    assert {e.id: (e.status, e.score) for e in unfilled.exercises if e.id in checked} == {
        i: ("not implemented", 0.0) for i in checked}


def test_register_checks_adds_and_replaces_without_touching_the_package_checks():
    from optimlab import exercises

    packaged = dict(exercises.all_checks())
    try:
        exercises.register_checks({"ex-hwfix-extra": lambda answer: answer})
        assert exercises.all_checks() == {**packaged, "ex-hwfix-extra": exercises.all_checks()["ex-hwfix-extra"]}
        with pytest.raises(ValueError, match="already registered"):
            exercises.register_checks({"ex-hwfix-extra": lambda answer: answer})
        exercises.register_checks({"ex-hwfix-extra": lambda answer: "replaced"}, replace=True)
        assert exercises.check("ex-hwfix-extra", None) == "replaced"
        with pytest.raises(TypeError):
            exercises.register_checks({"ex-hwfix-other": 3})
    finally:
        exercises._EXTRA_CHECKS.clear()
    assert exercises.all_checks() == packaged
