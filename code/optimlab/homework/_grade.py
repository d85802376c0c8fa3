"""Grading a submitted notebook: answers come from a sandbox, verdicts from the grader's own process.

For each submission the grader

1. finds the notebook's exercises and, for each checked one, asks its check what it would compare
   (:func:`optimlab.exercises.plan_check`): the cases' inputs, the reference, the known mistakes,
   the tolerances. Checks come from the package and from the instructor's ``--checks`` files, which
   are loaded here and never shown to the submission;
2. writes the notebook's cells and the cases' inputs into a private job folder and starts the
   runner (:mod:`optimlab.homework._runner`) in a sandbox (:mod:`optimlab.homework._sandbox`): it
   runs the cells in a fresh kernel, then calls the learner's function on each case and writes the
   returned values as plain JSON (:mod:`optimlab.homework._codec`);
3. reads the answers back as data and judges them with :func:`optimlab.exercises.judge`, in this
   process, where the submission cannot reach.

So nothing a submission does to its own interpreter (patching numpy or the checks, reading the
caller's frame) changes a verdict, and with the sandbox it cannot see or touch anything outside its
job folder. Time limits are enforced by the runner (see its docstring); the whole run also has a
wall-clock bound, past which the sandbox and everything in it is killed.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib.util
import json
import multiprocessing
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from time import monotonic

import nbformat

from . import _sandbox
from ._codec import CodecError, decode, encode
from ._notebook import find_exercises
from ._sandbox import Limits, SandboxError  # noqa: F401  (SandboxError: raised from here)

GRACE = 5.0
CHECK_STATUSES_WITH_SCORE = ("passed", "failed")
MAX_ANSWERS_BYTES = 64 * 1024 ** 2      # what the grader reads of one exercise's answers
MAX_RUN_BYTES = 4 * 1024 ** 2


@dataclass
class ExerciseGrade:
    """The outcome of one exercise in one submission. ``score`` is in [0, 1]; ``None`` for an
    exercise graded by hand (no automatic check). ``max_points`` weighs the exercise (1 unless a
    points file says otherwise); ``manual_points`` is a hand-entered score, for prose exercises."""
    id: str
    name: str | None
    status: str
    score: float | None
    passed: int = 0
    total: int = 0
    messages: list[str] = field(default_factory=list)
    max_points: float = 1.0
    manual_points: float | None = None

    @property
    def points(self) -> float | None:
        """``score × max_points`` for a checked exercise, the hand-entered points otherwise (None
        while a manual exercise has none)."""
        if self.score is not None:
            return self.score * self.max_points
        return self.manual_points

    @property
    def hint(self) -> str:
        if self.messages:
            return self.messages[0]
        if self.status == "manual" and self.manual_points is not None:
            return "graded by hand"
        return {"passed": f"all {self.total} cases agree with the reference",
                "not implemented": "the stub still raises NotImplementedError",
                "manual": "no automatic check: grade by hand"}.get(self.status, "")


@dataclass
class CellIssue:
    """A notebook cell that did not run cleanly (``cell`` counts every cell from 1, as Jupyter shows them)."""
    cell: int
    kind: str        # error, timeout, killed, died, skipped, not run
    detail: str = ""


@dataclass
class SubmissionGrade:
    file: str
    status: str = "graded"          # graded, unreadable, kernel failed
    exercises: list[ExerciseGrade] = field(default_factory=list)
    issues: list[CellIssue] = field(default_factory=list)
    cells_run: int = 0
    restarts: int = 0
    seconds: float = 0.0
    note: str = ""
    student: str = ""               # from the roster, else the file name without .ipynb

    def __post_init__(self):
        self.student = self.student or Path(self.file).stem

    @property
    def score(self) -> float:
        """The sum of the checked exercises' scores, each in [0, 1] (unweighted)."""
        return sum(item.score for item in self.exercises if item.score is not None)

    @property
    def max_score(self) -> int:
        return sum(1 for item in self.exercises if item.score is not None)

    @property
    def points(self) -> float:
        """Every exercise's points, checked and hand-graded, weighted by the points file."""
        return sum(item.points for item in self.exercises if item.points is not None)

    @property
    def max_points(self) -> float:
        return sum(item.max_points for item in self.exercises)

    @property
    def complete(self) -> bool:
        """Whether every exercise has its points (no prose exercise still waiting for a hand grade)."""
        return self.status == "graded" and all(item.points is not None for item in self.exercises)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["score"], data["max_score"] = round(self.score, 4), self.max_score
        data["points"], data["max_points"] = round(self.points, 4), self.max_points
        data["complete"] = self.complete
        for item, grade in zip(data["exercises"], self.exercises):
            item["hint"] = grade.hint
            item["points"] = None if grade.points is None else round(grade.points, 4)
        return data


def load_checks(paths) -> dict:
    """The ``CHECKS`` of each Python file in ``paths`` (an instructor's own checks), later files
    winning; loaded in the grader's process only, never registered for the submission to see."""
    checks = {}
    for number, path in enumerate(paths):
        spec = importlib.util.spec_from_file_location(f"_optimlab_private_checks_{number}", Path(path).resolve())
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        checks.update(dict(getattr(module, "CHECKS", {})))
    return checks


def _failure_of_call(kind: str, detail: str, check_timeout: float) -> tuple[str, str]:
    return {
        "timeout": ("timeout", f"the check did not finish within {check_timeout:g} s"),
        "killed": ("timeout", "the check hung the kernel, which was killed"),
        "died": ("error", "the kernel died during the check"),
        "error": ("error", f"the check could not run: {detail}"),
    }.get(kind, ("not run", "the check could not run (no working kernel)"))


def _read(job: Path, name: str, limit: int):
    """JSON from ``job/name``, a file the sandbox wrote, or None (missing, too large, not JSON).

    Read after the sandbox has ended, without following links: a submission that replaced its
    ``out`` folder or a file in it by a link to a file of the grader's gets nothing read."""
    import stat

    path = folder = job
    try:
        for part in Path(name).parts[:-1]:
            folder = folder / part
            if not stat.S_ISDIR(os.lstat(folder).st_mode):   # a link to a folder is not a folder here
                return None
        path = job / name
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
                return None
            return json.loads(handle.read(limit + 1).decode("utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return None


def _answers(data) -> list | str:
    """The learner's answers from an answers file, as :class:`~optimlab.exercises.Answer` objects,
    or the status other than "answered" (missing, timeout, error) with its message."""
    from optimlab.exercises._core import ERROR, NOT_IMPLEMENTED, Answer

    answers = []
    for item in data.get("answers", []) if isinstance(data.get("answers"), list) else []:
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind == "value":
            try:
                answers.append(Answer("value", decode(item.get("value"))))
            except (CodecError, RecursionError, ValueError, TypeError, OverflowError) as exc:
                answers.append(Answer(ERROR, message=f"returned a value the grader cannot read ({exc})"))
        elif kind == "not implemented":
            answers.append(Answer(NOT_IMPLEMENTED))
            break
        else:
            answers.append(Answer(ERROR, message=str(item.get("message", "failed") if isinstance(item, dict)
                                                     else "failed")[:500]))
    return answers


def _verdict(exercise_id: str, name: str, plans, answers) -> ExerciseGrade:
    """Judge ``answers`` (all cases of all ``plans``, in order) against the references."""
    from optimlab.exercises._core import NOT_IMPLEMENTED, PASSED, judge

    results, start = [], 0
    for plan in plans:
        results.append(judge(plan, answers[start:start + len(plan.cases)]))
        start += len(plan.cases)
    if any(answer.kind == NOT_IMPLEMENTED for answer in answers):
        return ExerciseGrade(exercise_id, name, NOT_IMPLEMENTED, 0.0, 0, sum(len(p.cases) for p in plans))
    passed, total = sum(r.passed for r in results), sum(r.total for r in results)
    status = PASSED if all(r.status == PASSED for r in results) else "failed"
    messages = [str(m) for r in results for m in r.messages]
    return ExerciseGrade(exercise_id, name, status, passed / total if total else 0.0, passed, total, messages)


def _sandbox_uid() -> int | None:
    """An unprivileged user id for this submission when the grader runs as root; else None."""
    return 61000 + secrets.randbelow(4000) if os.geteuid() == 0 else None


def _kill_group(process: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows: no process groups to kill
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _run(root: Path, job: Path, *, sandbox: bool, limits: Limits, wall_limit: float) -> tuple[bool, str]:
    """Run the job; returns (finished, note)."""
    if sandbox:
        uid = job.stat().st_uid if os.geteuid() == 0 else None
        argv = _sandbox.command(root, ["--uid", str(uid)] if uid is not None else [], uid=uid)
        env, cwd = None, None
        preexec = _sandbox.apply_limits(limits, uid)
    else:
        package_parent = str(_sandbox._package_dir().parent)
        argv = [sys.executable, "-m", "optimlab.homework._runner", str(job)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_parent, os.environ.get("PYTHONPATH", "")])}
        cwd, preexec = str(job / "work"), None
    # the sandbox's error stream goes to a file outside the job folder (bounded by the file size
    # limit in the sandbox), never into the grader's memory
    with open(root / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True, preexec_fn=preexec)
        try:
            process.wait(timeout=wall_limit)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return False, f"grading ran past its overall limit of {wall_limit:.0f} s and was stopped"
        finally:
            if process.poll() is None:
                _kill_group(process)
    if not sandbox and hasattr(os, "killpg"):  # what it left in its process group ends with it
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    with open(root / "stderr.txt", "rb") as stderr:
        stderr.seek(max(0, os.fstat(stderr.fileno()).st_size - 500))
        return True, stderr.read().decode("utf-8", "replace").strip()


def grade_notebook(path, *, cell_timeout: float = 60, total_timeout: float = 600, check_timeout: float = 30,
                   extra_checks=(), kernel_name: str = "python3", max_restarts: int = 2, sandbox: bool = True,
                   limits: Limits | None = None) -> SubmissionGrade:
    """Grade one submitted notebook; never raises for anything the submission does.

    With ``sandbox=True`` (the default) it raises :class:`SandboxError` when no sandbox can be made
    here; ``sandbox=False`` runs the submission with the grader's own rights (trusted work only).
    """
    from optimlab.exercises import all_checks
    from optimlab.exercises._core import plan_check

    if sandbox:
        _sandbox.check_available()
    limits = limits or Limits()
    result = SubmissionGrade(str(path))
    path = Path(path)
    started = monotonic()
    try:
        nb = nbformat.read(path, as_version=4)
        exercises = find_exercises(nb)
    except Exception as exc:
        result.status, result.note = "unreadable", f"{type(exc).__name__}: {exc}"
        return result
    checks = {**all_checks(), **load_checks(extra_checks)}

    cells = []
    for number, cell in enumerate(nb.cells, start=1):
        if (cell.cell_type == "code" and cell.source.strip()
                and "skip-execution" not in cell.metadata.get("tags", [])):
            cells.append((number, cell.source))
    planned: dict[str, tuple] = {}        # exercise id -> (plans, call index)
    decided: dict[str, ExerciseGrade] = {}
    calls = []
    for item in exercises:
        if not (item.checked and item.name):
            continue
        if item.id not in checks:
            decided[item.id] = ExerciseGrade(item.id, item.name, "no check", 0.0,
                                             messages=[f"no check is registered for {item.id}"])
            continue
        try:
            plans = plan_check(checks[item.id])
            inputs = {"cases": [{"args": encode(case.args, allow_pickle=True),
                                 "kwargs": encode(case.kwargs, allow_pickle=True)}
                                for plan in plans for case in plan.cases]}
        except Exception as exc:
            decided[item.id] = ExerciseGrade(item.id, item.name, "error", 0.0, messages=[
                f"the check could not be prepared: {type(exc).__name__}: {exc}"])
            continue
        number = len(calls)
        calls.append({"exercise": item.id, "expression": item.name, "inputs": f"in/{number}.json",
                      "outputs": f"out/answers-{number}.json", "_inputs": inputs})
        planned[item.id] = (plans, number)

    steps, answers_data = [], {}
    with tempfile.TemporaryDirectory(prefix="optimlab-grading-") as tmp:
        root = Path(tmp)
        uid = _sandbox_uid() if sandbox else None
        job = _sandbox.prepare(root, uid)
        for call in calls:
            (job / call["inputs"]).write_text(json.dumps(call.pop("_inputs")), encoding="utf-8")
        (job / "job.json").write_text(json.dumps({
            "cells": [source for _, source in cells], "calls": calls, "cell_timeout": cell_timeout,
            "total_timeout": total_timeout, "check_timeout": check_timeout, "kernel_name": kernel_name,
            "max_restarts": max_restarts}), encoding="utf-8")
        if uid is not None:
            for item in [job / "in", *(job / "in").iterdir(), job / "job.json"]:
                os.chown(item, uid, uid)
        wall = (max_restarts + 1) * (60 + total_timeout + len(calls) * (check_timeout + GRACE + 30)) + 60
        if limits.cpu is None:
            limits = dataclasses.replace(limits, cpu=int(wall))
        finished, note = _run(root, job, sandbox=sandbox, limits=limits, wall_limit=wall)
        run = _read(job, "out/run.json", MAX_RUN_BYTES)
        for call_index in range(len(calls)):
            answers_data[call_index] = _read(job, f"out/answers-{call_index}.json", MAX_ANSWERS_BYTES)
    if not isinstance(run, dict) or "failed" in run or not isinstance(run.get("outcomes"), list):
        result.status = "kernel failed"
        result.note = (str(run["failed"]) if isinstance(run, dict) and "failed" in run
                       else (note if not finished else f"the sandbox ended without a report{': ' + note if note else ''}"))
    else:
        steps = run["outcomes"]
        result.restarts = int(run.get("restarts", 0)) if isinstance(run.get("restarts"), int) else 0
        for index, (number, _) in enumerate(cells):
            kind, detail = (steps[index] if index < len(steps) and isinstance(steps[index], list)
                            and len(steps[index]) == 2 else ("not run", ""))
            kind, detail = str(kind)[:20], str(detail)[:2000]
            if kind not in ("skipped", "not run"):
                result.cells_run += 1
            if kind != "ok":
                detail = detail or {"killed": "stopped responding; the kernel was killed",
                                    "died": "the kernel died"}.get(kind, "")
                result.issues.append(CellIssue(number, kind, detail))
        if not finished:
            result.note = note

    for item in exercises:
        if not item.checked:
            result.exercises.append(ExerciseGrade(item.id, None, "manual", None))
            continue
        if not item.name:
            result.exercises.append(ExerciseGrade(item.id, None, "missing", 0.0, messages=[
                "no function to check: neither a check cell nor a stub names it"]))
            continue
        if item.id in decided:
            result.exercises.append(decided[item.id])
            continue
        plans, number = planned[item.id]
        data = answers_data.get(number)
        if isinstance(data, dict) and data.get("status") == "answered":
            result.exercises.append(_verdict(item.id, item.name, plans, _answers(data)))
            continue
        if isinstance(data, dict) and data.get("status") in ("missing", "timeout", "error"):
            status = str(data["status"])
            result.exercises.append(ExerciseGrade(item.id, item.name, status, 0.0,
                                                  messages=[str(data.get("message", ""))[:500]]))
            continue
        step = len(cells) + number
        kind, detail = "not run", ""
        if result.status == "graded" and step < len(steps) and isinstance(steps[step], list) and len(steps[step]) == 2:
            kind, detail = str(steps[step][0]), str(steps[step][1])[:500]
        status, message = _failure_of_call(kind, detail, check_timeout)
        result.exercises.append(ExerciseGrade(item.id, item.name, status, 0.0, messages=[message]))
    result.seconds = round(monotonic() - started, 1)
    return result


def grade_many(paths, *, jobs: int = 1, on_done=None, **options) -> list[SubmissionGrade]:
    """Grade several notebooks, ``jobs`` at a time (each in its own process and sandbox); returns the
    grades in the order of ``paths`` and calls ``on_done(grade)`` as each one finishes."""
    from optimlab.exercises import all_checks

    paths = list(paths)
    if options.get("sandbox", True):
        _sandbox.check_available()
    all_checks()  # import every chapter's checks (and torch): a bad check module fails here, once
    if jobs <= 1 or len(paths) <= 1:
        grades = []
        for path in paths:
            grades.append(grade_notebook(path, **options))
            if on_done:
                on_done(grades[-1])
        return grades
    grades: list[SubmissionGrade | None] = [None] * len(paths)
    # Fresh worker processes (spawn), not forks: a fork of a process whose torch already runs
    # thread pools can deadlock in the child (seen when grading from a process that trained).
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=context) as pool:
        futures = {pool.submit(grade_notebook, path, **options): index for index, path in enumerate(paths)}
        for future in concurrent.futures.as_completed(futures):
            index = futures[future]
            try:
                grades[index] = future.result()
            except Exception as exc:  # the worker process itself failed
                grades[index] = SubmissionGrade(str(paths[index]), "kernel failed",
                                                note=f"{type(exc).__name__}: {exc}")
            if on_done:
                on_done(grades[index])
    return grades
