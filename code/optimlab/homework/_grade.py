"""Grading a submitted notebook: run it in a fresh kernel, then run each exercise's check there.

Time limits, from the inside out:

* each check runs under an alarm inside the kernel (``check_timeout``); if the learner's code
  defeats the alarm, the cell is interrupted, and if that fails too the kernel is killed;
* each notebook cell has ``cell_timeout``: past it the kernel is interrupted and grading goes on
  with the next cell; a kernel that ignores the interrupt is killed;
* all notebook cells together have ``total_timeout``: cells not started by then are skipped.

A kernel that dies or is killed is replaced (at most ``max_restarts`` times): the new kernel runs
the notebook again without the cells that broke the previous one, then the remaining checks.
So grading one notebook takes at most about
``(max_restarts + 1) * (startup + total_timeout + checks * (check_timeout + 10))`` seconds.

Only the submission's cells run, plus the grader's one-line calls into
:mod:`optimlab.homework._kernel`; the kernel starts in an empty temporary folder, so no file
handed in beside the notebook is imported. This bounds time, not mischief: a submission can still
do anything its user may do, so grade untrusted work inside a container or as an unprivileged user.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import secrets
import signal
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from time import monotonic

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ._kernel import MIME
from ._notebook import find_exercises

GRACE = 5.0                         # seconds after a limit before a stuck kernel is killed
CHECK_STATUSES_WITH_SCORE = ("passed", "failed")
_KERNEL_MODULE = "optimlab.homework._kernel"

_quiet = logging.getLogger("optimlab.homework.execution")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


@dataclass
class ExerciseGrade:
    """The outcome of one exercise in one submission. ``score`` is in [0, 1]; ``None`` for an
    exercise graded by hand (no automatic check)."""
    id: str
    name: str | None
    status: str
    score: float | None
    passed: int = 0
    total: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def hint(self) -> str:
        if self.messages:
            return self.messages[0]
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

    @property
    def score(self) -> float:
        return sum(item.score for item in self.exercises if item.score is not None)

    @property
    def max_score(self) -> int:
        return sum(1 for item in self.exercises if item.score is not None)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["score"], data["max_score"] = round(self.score, 4), self.max_score
        for item, grade in zip(data["exercises"], self.exercises):
            item["hint"] = grade.hint
        return data


@dataclass
class _Step:
    kind: str            # setup, cell, check
    source: str
    cell: int = 0        # position in the submission (kind "cell")
    exercise: str = ""   # kind "check"


@dataclass
class _Outcome:
    kind: str            # ok, error, timeout, killed, died, skipped, not run
    detail: str = ""
    payload: dict | None = None


class _Client(NotebookClient):
    """A notebook client that keeps the execute replies and drops the notebook's own outputs
    (grading needs only errors and the checks' results; an endless print cannot fill memory)."""

    def __init__(self, nb, keep_outputs: set[int], **kwargs):
        super().__init__(nb, **kwargs)
        self.keep_outputs = keep_outputs
        self.replies: dict[int, dict] = {}
        self.on_cell_executed = self._remember

    def _remember(self, cell, cell_index, execute_reply):
        self.replies[cell_index] = execute_reply

    def output(self, outs, msg, display_id, cell_index):
        if cell_index not in self.keep_outputs or len(outs) >= 50:
            return None
        return super().output(outs, msg, display_id, cell_index)


def _call(function: str, *args) -> str:
    arguments = ", ".join(repr(arg) for arg in args)
    return f"__import__({_KERNEL_MODULE!r}, fromlist=['_']).{function}({arguments});"


async def _kill(client) -> None:
    try:
        if client.km is not None:
            if hasattr(signal, "SIGKILL"):
                await client.km.signal_kernel(signal.SIGKILL)
            else:  # pragma: no cover - no SIGKILL on Windows
                await client.km.shutdown_kernel(now=True)
    except Exception:
        pass


async def _run_step(client: _Client, cell, index: int, limit: float) -> _Outcome:
    client.timeout_func = lambda cell: limit
    started = monotonic()
    killed = {"done": False}

    def kill_now():
        killed["done"] = True
        asyncio.ensure_future(_kill(client))

    watchdog = asyncio.get_running_loop().call_later(limit + GRACE, kill_now)
    try:
        await asyncio.wait_for(client.async_execute_cell(cell, index), limit + GRACE + 30)
    except DeadKernelError:
        return _Outcome("killed" if killed["done"] else "died")
    except (asyncio.TimeoutError, CellTimeoutError):
        await _kill(client)
        return _Outcome("killed")
    finally:
        watchdog.cancel()
    reply = (client.replies.pop(index, None) or {}).get("content", {})
    elapsed = monotonic() - started
    payload = None
    for output in cell.get("outputs", []):
        data = output.get("data", {}).get(MIME) if output.get("output_type") == "display_data" else None
        if isinstance(data, dict):
            payload = data
    if reply.get("status") == "error":
        if reply.get("ename") == "KeyboardInterrupt" and elapsed >= 0.9 * limit:
            return _Outcome("timeout", f"interrupted after {limit:.0f} s", payload)
        return _Outcome("error", f"{reply.get('ename', 'Error')}: {reply.get('evalue', '')}", payload)
    return _Outcome("ok", "", payload)


async def _execute(plan: list[_Step], *, cell_timeout: float, total_timeout: float, check_timeout: float,
                   kernel_name: str, workdir: str, max_restarts: int) -> tuple[dict[int, _Outcome], int]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(step.source) for step in plan])
    keep = {index for index, step in enumerate(plan) if step.kind == "check"}
    broke: dict[int, _Outcome] = {}        # steps that killed a kernel: never run again
    deadline = None
    restarts = 0
    while True:
        outcomes: dict[int, _Outcome] = {}
        manager = AsyncKernelManager(kernel_name=kernel_name)
        if os.name == "posix":  # local sockets in the private work folder instead of TCP ports
            manager.transport, manager.ip = "ipc", os.path.join(workdir, "kernel")
        client = _Client(nb, keep, km=manager, timeout=int(cell_timeout), allow_errors=True,
                         interrupt_on_timeout=True, shutdown_kernel="immediate", startup_timeout=60,
                         iopub_timeout=4, record_timing=False, log=_quiet,
                         resources={"metadata": {"path": workdir}})
        broken = None
        async with client.async_setup_kernel(cleanup_kc=True):
            for index, step in enumerate(plan):
                if index in broke:
                    continue
                if step.kind == "cell":
                    if deadline is None:  # the overall limit starts with the notebook's first cell
                        deadline = monotonic() + total_timeout
                    remaining = deadline - monotonic()
                    if remaining < 1:
                        outcomes[index] = _Outcome("skipped", "the notebook ran past its overall time limit")
                        continue
                    limit = min(cell_timeout, remaining)
                elif step.kind == "check":
                    limit = check_timeout + GRACE
                else:
                    limit = max(cell_timeout, 60)
                outcome = await _run_step(client, nb.cells[index], index, limit)
                outcomes[index] = outcome
                if outcome.kind in ("killed", "died"):
                    broke[index] = outcome
                    broken = index
                    break
        if broken is None or restarts >= max_restarts:
            return {**outcomes, **broke}, restarts
        restarts += 1


def _plan(nb, exercises, *, check_timeout: float, token: str, extra_checks) -> list[_Step]:
    plan = []
    if extra_checks:
        plan.append(_Step("setup", _call("load_checks", [str(Path(p).resolve()) for p in extra_checks])))
    for number, cell in enumerate(nb.cells, start=1):
        if (cell.cell_type == "code" and cell.source.strip()
                and "skip-execution" not in cell.metadata.get("tags", [])):
            plan.append(_Step("cell", cell.source, cell=number))
    for item in exercises:
        if item.checked and item.name:
            plan.append(_Step("check", _call("grade", item.id, item.name, float(check_timeout), token),
                              exercise=item.id))
    return plan


def grade_notebook(path, *, cell_timeout: float = 60, total_timeout: float = 600, check_timeout: float = 30,
                   extra_checks=(), kernel_name: str = "python3", max_restarts: int = 2) -> SubmissionGrade:
    """Grade one submitted notebook; never raises for anything the submission does."""
    result = SubmissionGrade(str(path))
    path = Path(path)
    started = monotonic()
    try:
        nb = nbformat.read(path, as_version=4)
        exercises = find_exercises(nb)
    except Exception as exc:
        result.status, result.note = "unreadable", f"{type(exc).__name__}: {exc}"
        return result
    token = secrets.token_hex(8)
    plan = _plan(nb, exercises, check_timeout=check_timeout, token=token, extra_checks=extra_checks)
    try:
        with tempfile.TemporaryDirectory(prefix="optimlab-grading-") as workdir:
            outcomes, result.restarts = asyncio.run(_execute(
                plan, cell_timeout=cell_timeout, total_timeout=total_timeout, check_timeout=check_timeout,
                kernel_name=kernel_name, workdir=workdir, max_restarts=max_restarts))
    except Exception as exc:  # the kernel could not start, or the machinery failed
        result.status, result.note = "kernel failed", f"{type(exc).__name__}: {exc}"
        outcomes = {}

    checks: dict[str, _Outcome] = {}
    for index, step in enumerate(plan):
        outcome = outcomes.get(index, _Outcome("not run", "no kernel was left to run it"))
        if step.kind == "setup" and outcome.kind != "ok":
            result.note = f"loading the instructor's checks failed: {outcome.detail or outcome.kind}"
        elif step.kind == "cell":
            if outcome.kind not in ("skipped", "not run"):
                result.cells_run += 1
            if outcome.kind != "ok" and result.status == "graded":
                detail = outcome.detail or {"killed": "stopped responding; the kernel was killed",
                                            "died": "the kernel died"}.get(outcome.kind, "")
                result.issues.append(CellIssue(step.cell, outcome.kind, detail))
        elif step.kind == "check":
            checks[step.exercise] = outcome

    for item in exercises:
        if not item.checked:
            result.exercises.append(ExerciseGrade(item.id, None, "manual", None))
            continue
        if not item.name:
            result.exercises.append(ExerciseGrade(item.id, None, "missing", 0.0, messages=[
                "no function to check: neither a check cell nor a stub names it"]))
            continue
        outcome = checks.get(item.id, _Outcome("not run"))
        payload = outcome.payload if outcome.payload and outcome.payload.get("token") == token else None
        if payload is not None:
            score = float(payload.get("score", 0.0)) if payload.get("status") in CHECK_STATUSES_WITH_SCORE else 0.0
            result.exercises.append(ExerciseGrade(
                item.id, item.name, str(payload.get("status")), max(0.0, min(1.0, score)),
                int(payload.get("passed", 0)), int(payload.get("total", 0)),
                [str(m) for m in payload.get("messages", [])]))
            continue
        status, message = {
            "timeout": ("timeout", f"the check did not finish within {check_timeout:g} s"),
            "killed": ("timeout", "the check hung the kernel, which was killed"),
            "died": ("error", "the kernel died during the check"),
            "error": ("error", f"the check could not run: {outcome.detail}"),
        }.get(outcome.kind, ("not run", "the check could not run (no working kernel)"))
        result.exercises.append(ExerciseGrade(item.id, item.name, status, 0.0, messages=[message]))
    result.seconds = round(monotonic() - started, 1)
    return result


def grade_many(paths, *, jobs: int = 1, on_done=None, **options) -> list[SubmissionGrade]:
    """Grade several notebooks, ``jobs`` at a time (each in its own process and kernel); returns the
    grades in the order of ``paths`` and calls ``on_done(grade)`` as each one finishes."""
    paths = list(paths)
    if jobs <= 1 or len(paths) <= 1:
        grades = []
        for path in paths:
            grades.append(grade_notebook(path, **options))
            if on_done:
                on_done(grades[-1])
        return grades
    grades: list[SubmissionGrade | None] = [None] * len(paths)
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
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
