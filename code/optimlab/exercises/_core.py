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


def run_cases(exercise_id: str, learner: Callable, reference: Callable, cases: list[Case], *,
              mistakes: dict[str, Callable] | None = None, atol: float = 1e-6, rtol: float = 1e-5,
              max_messages: int = 3) -> CheckResult:
    """Compare ``learner`` with ``reference`` on every case.

    ``mistakes`` maps a hint ("the learning rate is applied twice") to a wrong variant of the
    reference; when the learner's answer matches a variant, that hint is shown. Inputs are
    deep-copied for each call, so a learner that modifies its arguments cannot change what the
    reference sees.
    """
    if not callable(learner):
        return CheckResult(exercise_id, ERROR, 0, len(cases),
                           (f"expected a function, got {type(learner).__name__}",))
    passed, messages = 0, []
    for case in cases:
        expected = reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        try:
            got = learner(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except NotImplementedError:
            return CheckResult(exercise_id, NOT_IMPLEMENTED, 0, len(cases), ())
        except Exception as exc:  # a learner's bug is reported, never raised
            where = traceback.extract_tb(exc.__traceback__)[-1]
            messages.append(f"case '{case.name}' raised {type(exc).__name__}: {exc} (line {where.lineno})")
            continue
        if _close(expected, got, atol, rtol):
            passed += 1
            continue
        message = f"case '{case.name}': expected {_show(expected)}, got {_show(got)}"
        for hint, wrong in (mistakes or {}).items():
            try:
                if _close(wrong(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs)), got, atol, rtol):
                    message += f" -- likely mistake: {hint}"
                    break
            except Exception:
                continue
        messages.append(message)
    status = PASSED if passed == len(cases) else FAILED
    if len(messages) > max_messages:
        messages = messages[:max_messages] + [f"... and {len(messages) - max_messages} more failing cases"]
    return CheckResult(exercise_id, status, passed, len(cases), tuple(messages))
