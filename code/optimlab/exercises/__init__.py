"""Exercise checks for every chapter.

Each chapter has a module here (``optimlab.exercises.gradient_descent``, ...) whose ``CHECKS``
maps an exercise id (the ``:label:`` of its ``{exercise}`` directive) to a function that takes
the learner's answer and returns a :class:`CheckResult`. Modules are found automatically, so a
new chapter only adds its own module.

In a notebook::

    from optimlab.exercises import check
    check("ex-gd-step", gd_step)
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from ._core import ERROR, FAILED, NOT_IMPLEMENTED, PASSED, Case, CheckResult, run_cases

__all__ = ["Case", "CheckResult", "run_cases", "check", "all_checks",
           "PASSED", "FAILED", "NOT_IMPLEMENTED", "ERROR"]


@lru_cache(maxsize=None)
def all_checks() -> dict:
    """Every registered check, by exercise id, gathered from the chapter modules of this package."""
    checks = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for exercise_id, fn in getattr(module, "CHECKS", {}).items():
            if exercise_id in checks:
                raise RuntimeError(f"exercise id {exercise_id!r} is registered twice")
            checks[exercise_id] = fn
    return checks


def check(exercise_id: str, answer) -> CheckResult:
    """Check ``answer`` (usually the learner's function) for exercise ``exercise_id``."""
    checks = all_checks()
    if exercise_id not in checks:
        raise KeyError(f"unknown exercise id {exercise_id!r}; known ids: {sorted(checks)}")
    return checks[exercise_id](answer)
