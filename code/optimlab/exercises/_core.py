"""Checking a learner's function against the reference, with hints that say what went wrong.

A check runs the learner's function and the reference on the same cases (random inputs and
edge cases), compares the results, and -- when they differ -- tries the known wrong variants
of the reference (``mistakes``): if the learner's answer matches one of them, the hint names
that mistake ("the bias correction is missing", "eps is inside the square root", ...).
"""

from __future__ import annotations

import copy
import html
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

PASSED, FAILED, NOT_IMPLEMENTED, ERROR = "passed", "failed", "not implemented", "error"


@dataclass(frozen=True)
class Case:
    """One input to a checked function: a short name for messages, positional and keyword arguments."""
    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """What a check found. ``score`` is the fraction of cases passed (0 when not implemented)."""
    exercise_id: str
    status: str
    passed: int
    total: int
    messages: tuple = ()

    @property
    def score(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return self.status == PASSED

    def summary(self) -> str:
        if self.status == PASSED:
            head = f"[{self.exercise_id}] passed: all {self.total} cases agree with the reference."
        elif self.status == NOT_IMPLEMENTED:
            head = f"[{self.exercise_id}] not implemented yet: replace the `raise NotImplementedError` with your code."
        else:
            head = f"[{self.exercise_id}] {self.status}: {self.passed} of {self.total} cases agree with the reference."
        return "\n".join([head, *("  - " + m for m in self.messages)])

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        colour = {PASSED: "#1a7f37", NOT_IMPLEMENTED: "#9a6700"}.get(self.status, "#cf222e")
        lines = html.escape(self.summary()).split("\n")
        body = "<br>".join(lines[1:])
        return (f'<div class="optimlab-check" style="border-left:4px solid {colour};padding:0.4em 0.8em;'
                f'margin:0.4em 0"><strong style="color:{colour}">{lines[0]}</strong>'
                f'{"<br>" + body if body else ""}</div>')


def _to_numpy(value: Any):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        return type(value)(_to_numpy(v) for v in value)
    return value


def _close(expected: Any, got: Any, atol: float, rtol: float) -> bool:
    expected, got = _to_numpy(expected), _to_numpy(got)
    if isinstance(expected, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(expected)
                and all(_close(e, g, atol, rtol) for e, g in zip(expected, got)))
    try:
        e, g = np.asarray(expected, dtype=float), np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return expected == got
    return e.shape == g.shape and bool(np.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True))


def _show(value: Any) -> str:
    value = _to_numpy(value)
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=6, threshold=8, separator=", ")
        return f"{text} (shape {value.shape})" if value.ndim else text
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


@dataclass(frozen=True)
class CheckPlan:
    """What one :func:`run_cases` call compares: the grader records it, sends the cases' inputs to
    the learner's function wherever that runs, and judges the answers that come back with
    :func:`judge`, where the learner cannot reach the reference."""
    exercise_id: str
    reference: Callable
    cases: tuple
    mistakes: dict
    atol: float = 1e-6
    rtol: float = 1e-5
    max_messages: int = 3


@dataclass(frozen=True)
class Answer:
    """What the learner's function did on one case: returned ``value``, or raised (``kind`` is
    ``"not implemented"`` or ``"error"``, with ``message`` saying what and where)."""
    kind: str            # value, not implemented, error
    value: Any = None
    message: str = ""


class _Recorder:
    """Stands in for the learner while a check is planned: :func:`run_cases` records its plan here."""

    def __init__(self):
        self.plans: list[CheckPlan] = []

    def __call__(self, *args, **kwargs):
        raise TypeError("a check being planned called the learner's function outside run_cases")


def plan_check(check: Callable) -> list[CheckPlan]:
    """The :class:`CheckPlan` of every :func:`run_cases` call that ``check`` makes (without running
    any learner); raises ``TypeError`` for a check that does not use :func:`run_cases`."""
    recorder = _Recorder()
    check(recorder)
    if not recorder.plans:
        raise TypeError("the check does not compare through run_cases")
    return recorder.plans


def call_learner(learner: Callable, case: Case) -> Answer:
    """Call ``learner`` on a deep copy of ``case``'s inputs; its exceptions become an :class:`Answer`."""
    try:
        return Answer("value", learner(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs)))
    except NotImplementedError:
        return Answer(NOT_IMPLEMENTED)
    except Exception as exc:  # a learner's bug is reported, never raised
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return Answer(ERROR, message=f"raised {type(exc).__name__}: {exc} (line {where.lineno})")


def judge(plan: CheckPlan, answers: list[Answer]) -> CheckResult:
    """Compare the learner's ``answers`` (one per case, in order) with the reference: the verdict of
    :func:`run_cases`. A missing answer counts as a failed case."""
    cases, mistakes = plan.cases, plan.mistakes or {}
    if any(answer.kind == NOT_IMPLEMENTED for answer in answers):
        return CheckResult(plan.exercise_id, NOT_IMPLEMENTED, 0, len(cases), ())
    passed, messages = 0, []
    for number, case in enumerate(cases):
        expected = plan.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        answer = answers[number] if number < len(answers) else Answer(ERROR, message="gave no answer")
        if answer.kind != "value":
            messages.append(f"case '{case.name}' {answer.message}")
            continue
        got = answer.value
        if _close(expected, got, plan.atol, plan.rtol):
            passed += 1
            continue
        message = f"case '{case.name}': expected {_show(expected)}, got {_show(got)}"
        for hint, wrong in mistakes.items():
            try:
                if _close(wrong(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs)), got, plan.atol, plan.rtol):
                    message += f" -- likely mistake: {hint}"
                    break
            except Exception:
                continue
        messages.append(message)
    status = PASSED if passed == len(cases) else FAILED
    if len(messages) > plan.max_messages:
        messages = messages[:plan.max_messages] + [f"... and {len(messages) - plan.max_messages} more failing cases"]
    return CheckResult(plan.exercise_id, status, passed, len(cases), tuple(messages))


def run_cases(exercise_id: str, learner: Callable, reference: Callable, cases: list[Case], *,
              mistakes: dict[str, Callable] | None = None, atol: float = 1e-6, rtol: float = 1e-5,
              max_messages: int = 3) -> CheckResult:
    """Compare ``learner`` with ``reference`` on every case.

    ``mistakes`` maps a hint ("the learning rate is applied twice") to a wrong variant of the
    reference; when the learner's answer matches a variant, that hint is shown. Inputs are
    deep-copied for each call, so a learner that modifies its arguments cannot change what the
    reference sees.

    The work is split in two halves, :func:`call_learner` on each case and :func:`judge` on the
    answers, so that a grader can run the first half in a sandbox and the second in its own process
    (:func:`plan_check` records what a check would compare).
    """
    plan = CheckPlan(exercise_id, reference, tuple(cases), dict(mistakes or {}), atol, rtol, max_messages)
    if isinstance(learner, _Recorder):
        learner.plans.append(plan)
        return CheckResult(exercise_id, "planned", 0, len(cases), ())
    if not callable(learner):
        return CheckResult(exercise_id, ERROR, 0, len(cases),
                           (f"expected a function, got {type(learner).__name__}",))
    answers = []
    for case in cases:
        answers.append(call_learner(learner, case))
        if answers[-1].kind == NOT_IMPLEMENTED:
            break
    return judge(plan, answers)
