"""Exercise checks for every chapter.

Each chapter has a module here (``optimlab.exercises.gradient_descent``, ...) whose ``CHECKS``
maps an exercise id (the ``:label:`` of its ``{exercise}`` directive) to a function that takes
the learner's answer and returns a :class:`CheckResult`. Modules are found automatically, so a
new chapter only adds its own module.

In a notebook::

    from optimlab.exercises import check
    check("ex-gd-best-lr", best_lr)
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from ._core import ERROR, FAILED, NOT_IMPLEMENTED, PASSED, Case, CheckResult, run_cases

__all__ = ["Case", "CheckResult", "run_cases", "check", "all_checks", "register_checks",
           "PASSED", "FAILED", "NOT_IMPLEMENTED", "ERROR"]

# Checks added at run time with register_checks (an instructor's private checks, a test's own).
_EXTRA_CHECKS: dict = {}


@lru_cache(maxsize=None)
def _package_checks() -> dict:
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


def all_checks() -> dict:
    """Every registered check, by exercise id: the chapter modules of this package, then those
    added with :func:`register_checks`."""
    return {**_package_checks(), **_EXTRA_CHECKS}


all_checks.cache_clear = _package_checks.cache_clear  # as when all_checks itself was cached


def register_checks(checks: dict, *, replace: bool = False) -> None:
    """Add checks that do not live in this package, e.g. an instructor's private grading checks.

    ``checks`` maps exercise ids to check functions, like a chapter module's ``CHECKS``. An id that
    is already registered raises ``ValueError`` unless ``replace`` is true, in which case the new
    check is used from now on.
    """
    if not replace:
        taken = sorted(set(checks) & set(all_checks()))
        if taken:
            raise ValueError(f"exercise ids already registered: {taken}")
    for exercise_id, fn in checks.items():
        if not callable(fn):
            raise TypeError(f"the check for {exercise_id!r} is not callable")
    _EXTRA_CHECKS.update(checks)


def check(exercise_id: str, answer) -> CheckResult:
    """Check ``answer`` (usually the learner's function) for exercise ``exercise_id``."""
    checks = all_checks()
    if exercise_id not in checks:
        raise KeyError(f"unknown exercise id {exercise_id!r}; known ids: {sorted(checks)}")
    return checks[exercise_id](answer)
