"""The grader's side inside the student's kernel: call the learner's function on the cases' inputs.

The runner (:mod:`optimlab.homework._runner`) sends one cell per checked exercise that calls
:func:`answer`. It reads the inputs the grader wrote, calls the function the notebook defined on each
case under a time limit, and writes what came back as plain JSON (:mod:`optimlab.homework._codec`).
No check and no reference is ever here: the grader compares the answers in its own process, so
nothing the notebook does to this interpreter can change a verdict. Nothing here raises into the
notebook: a learner's function that raises, loops forever or swallows exceptions still ends in an
answer file.
"""

from __future__ import annotations

import json
import signal
import threading

class CheckTimeout(BaseException):
    """Raised by the alarm when a check runs past its limit (a BaseException, so that a learner's
    ``except Exception`` cannot swallow it)."""

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


def quiet_checks() -> None:
    """Make the notebook's own ``check(...)`` cells return at once: the grader checks outside. (In
    the sandbox ``optimlab.exercises`` is already a stand-in without checks; this also covers
    grading without a sandbox.)"""
    import optimlab.exercises as exercises
    from optimlab.exercises._core import CheckResult

    def check(exercise_id, answer):
        return CheckResult(exercise_id, "graded outside", 0, 0,
                           ("this notebook is being graded: the grader checks the answers itself",))

    exercises.check = check


def _write(path: str, data: dict) -> None:
    import os

    with open(path + ".part", "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, allow_nan=False, separators=(",", ":")))
    os.replace(path + ".part", path)  # replaces whatever the notebook put there, a link included


def answer(exercise_id: str, expression: str, seconds: float | None, inputs: str, outputs: str) -> None:
    """Call the notebook's ``expression`` (usually a function name) on every case in the file
    ``inputs`` and write the answers to the file ``outputs``: ``{"status": ..., "answers": [...]}``,
    each answer ``{"kind": "value", "value": <encoded>}`` or ``{"kind": "error" | "not implemented",
    "message": ...}``. Stops at the first ``NotImplementedError``, like ``run_cases``."""
    from IPython import get_ipython

    from ._codec import CodecError, decode, encode

    found = {"id": exercise_id, "status": "error", "answers": [], "message": "the answers could not be written"}
    try:
        with open(inputs, encoding="utf-8") as handle:
            cases = json.load(handle)["cases"]
    except Exception as exc:
        found["message"] = f"the grader's inputs could not be read: {type(exc).__name__}: {exc}"
        cases = None

    def body():
        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
        try:
            if expression.isidentifier():
                learner = namespace[expression]
            else:
                learner = eval(expression, namespace)  # the notebook's own expression, in its own namespace
        except (KeyError, NameError):
            return {"status": "missing", "message": f"`{expression}` is not defined in the notebook"}
        except Exception as exc:
            return {"status": "error", "message": f"evaluating `{expression}` raised {type(exc).__name__}: {exc}"}
        if not callable(learner):
            return {"status": "error", "message": f"expected a function, got {type(learner).__name__}"}
        answers = []
        for case in cases:
            args, kwargs = decode(case["args"], allow_pickle=True), decode(case["kwargs"], allow_pickle=True)
            try:
                value = learner(*args, **kwargs)
            except NotImplementedError:
                answers.append({"kind": "not implemented"})
                break
            except Exception as exc:  # a learner's bug is reported, never raised
                line, tb = 0, exc.__traceback__
                while tb is not None:  # the innermost frame: where the learner's code raised
                    line, tb = tb.tb_lineno, tb.tb_next
                answers.append({"kind": "error", "message": f"raised {type(exc).__name__}: {exc} (line {line})"})
                continue
            try:
                answers.append({"kind": "value", "value": encode(value)})
            except (CodecError, RecursionError, ValueError, TypeError) as exc:
                answers.append({"kind": "error", "message": f"returned a value the grader cannot read ({exc})"})
        return {"status": "answered", "answers": answers}

    if cases is not None:
        try:
            result, timed_out = _limited(body, seconds)
        except Exception as exc:  # pragma: no cover - body catches what it can
            result, timed_out = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}, False
        if timed_out or result is None:
            result = {"status": "timeout", "message": f"the check did not finish within {seconds:g} s "
                                                      "(an endless loop, or far too slow)"}
        found.update(result)
    try:
        _write(outputs, found)
    except Exception as exc:  # too large for the file size limit, or not JSON
        _write(outputs, {"id": exercise_id, "status": "error", "answers": [],
                         "message": f"the answers could not be written: {type(exc).__name__}"})
