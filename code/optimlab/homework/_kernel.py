"""The grader's side inside the student's kernel: run one registered check under a time limit.

The grader sends cells that call these functions; each check's outcome comes back as a display
output of type :data:`MIME`. Nothing here raises into the notebook: a learner's function that
raises, loops forever or swallows exceptions still ends in a result.
"""

from __future__ import annotations

import importlib.util
import signal
import threading

MIME = "application/vnd.optimlab.grade+json"


class CheckTimeout(BaseException):
    """Raised by the alarm when a check runs past its limit (a BaseException, so that a learner's
    ``except Exception`` cannot swallow it)."""


def load_checks(paths) -> None:
    """Register the ``CHECKS`` of each Python file in ``paths`` (an instructor's own checks),
    replacing packaged checks with the same id."""
    from optimlab.exercises import register_checks

    for number, path in enumerate(paths):
        spec = importlib.util.spec_from_file_location(f"_optimlab_grading_checks_{number}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        register_checks(dict(getattr(module, "CHECKS", {})), replace=True)


def _limited(body, seconds: float | None):
    """Run ``body()``; returns ``(value, timed_out)``.

    The alarm fires at ``seconds`` and then every 50 ms until the body gives up, so an answer that
    catches the first interruption is interrupted again. Disarming is retried until it is not
    itself interrupted, so no alarm escapes after this returns.
    """
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        return body(), False
    state = {"armed": True, "fired": False}

    def on_alarm(signum, frame):
        if state["armed"]:
            state["fired"] = True
            raise CheckTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    value = None
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
            value = body()
        finally:
            while True:
                try:
                    state["armed"] = False
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    signal.signal(signal.SIGALRM, previous)
                    break
                except CheckTimeout:
                    continue
    except CheckTimeout:
        pass
    return value, state["fired"]


def grade(exercise_id: str, expression: str, seconds: float | None = None, token: str = "") -> None:
    """Check the learner's ``expression`` (usually a function name) for ``exercise_id`` and display
    the outcome (status, passed, total, score, messages) as :data:`MIME` data."""
    from IPython import get_ipython
    from IPython.display import display

    outcome = {"id": exercise_id, "name": expression, "token": token, "passed": 0, "total": 0,
               "score": 0.0, "messages": []}

    try:  # before the clock starts: the first call imports every chapter's checks (and torch)
        from optimlab.exercises import all_checks

        checks = all_checks()
    except Exception as exc:
        checks = {}
        outcome.update(status="error", messages=[f"loading the checks failed: {type(exc).__name__}: {exc}"])
    if exercise_id not in checks and "status" not in outcome:
        outcome.update(status="no check", messages=[f"no check is registered for {exercise_id}"])
    if "status" in outcome:
        display({MIME: outcome}, raw=True)
        return

    def body():
        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
        try:
            if expression.isidentifier():
                answer = namespace[expression]
            else:
                answer = eval(expression, namespace)  # the notebook's own expression, in its own namespace
        except (KeyError, NameError):
            return {"status": "missing", "messages": [f"`{expression}` is not defined in the notebook"]}
        except Exception as exc:
            return {"status": "error", "messages": [f"evaluating `{expression}` raised {type(exc).__name__}: {exc}"]}
        try:
            result = checks[exercise_id](answer)
        except NotImplementedError:
            return {"status": "not implemented", "messages": []}
        except Exception as exc:
            return {"status": "error", "messages": [f"the check raised {type(exc).__name__}: {exc}"]}
        return {"status": result.status, "passed": result.passed, "total": result.total,
                "score": float(result.score), "messages": [str(m) for m in result.messages]}

    try:
        found, timed_out = _limited(body, seconds)
    except Exception as exc:  # pragma: no cover - body catches what it can
        found, timed_out = {"status": "error", "messages": [f"{type(exc).__name__}: {exc}"]}, False
    if timed_out or found is None:
        found = {"status": "timeout", "messages": [f"the check did not finish within {seconds:g} s "
                                                   "(an endless loop, or far too slow)"]}
    outcome.update(found)
    if outcome["status"] != "passed":
        outcome["score"] = min(outcome["score"], 1.0) if outcome["status"] == "failed" else 0.0
    display({MIME: outcome}, raw=True)
