"""Inside the sandbox: run a submission's cells in a fresh kernel, then the answer calls.

Started by the grader as ``python -m optimlab.homework._runner JOB_DIR [--uid UID]``. ``JOB_DIR/job.json``
lists the notebook's cells, the answer calls (one per checked exercise, see
:func:`optimlab.homework._kernel.answer`) and the time limits; the outcome of every step goes to
``JOB_DIR/out/run.json``. Neither file is trusted by the grader: the submission runs as the same user
in the same sandbox and may rewrite them, which changes nothing but its own report.

Time limits, from the inside out:

* each answer call runs under an alarm inside the kernel (``check_timeout``); if the learner's code
  defeats the alarm, the cell is interrupted, and if that fails too the kernel is killed;
* each notebook cell has ``cell_timeout``: past it the kernel is interrupted and grading goes on
  with the next cell; a kernel that ignores the interrupt is killed;
* all notebook cells together have ``total_timeout``: cells not started by then are skipped.

A kernel that dies or is killed is replaced (at most ``max_restarts`` times): the new kernel runs
the notebook again without the cells that broke the previous one, then the remaining calls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from time import monotonic

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

GRACE = 5.0                         # seconds after a limit before a stuck kernel is killed
_KERNEL_MODULE = "optimlab.homework._kernel"

_quiet = logging.getLogger("optimlab.homework.execution")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


@dataclass
class _Step:
    kind: str            # setup, cell, call
    source: str


@dataclass
class _Outcome:
    kind: str            # ok, error, timeout, killed, died, skipped, not run
    detail: str = ""


class _Client(NotebookClient):
    """A notebook client that keeps the execute replies and drops every output (grading needs only
    errors; the answers travel in files; an endless print cannot fill memory)."""

    def __init__(self, nb, **kwargs):
        super().__init__(nb, **kwargs)
        self.replies: dict[int, dict] = {}
        self.on_cell_executed = self._remember

    def _remember(self, cell, cell_index, execute_reply):
        self.replies[cell_index] = execute_reply

    def output(self, outs, msg, display_id, cell_index):
        return None


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
    if reply.get("status") == "error":
        if reply.get("ename") == "KeyboardInterrupt" and elapsed >= 0.9 * limit:
            return _Outcome("timeout", f"interrupted after {limit:.0f} s")
        return _Outcome("error", f"{reply.get('ename', 'Error')}: {reply.get('evalue', '')}")
    return _Outcome("ok", "")


async def _execute(plan: list[_Step], *, cell_timeout: float, total_timeout: float, check_timeout: float,
                   kernel_name: str, workdir: str, max_restarts: int) -> tuple[dict[int, _Outcome], int]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(step.source) for step in plan])
    broke: dict[int, _Outcome] = {}        # steps that killed a kernel: never run again
    deadline = None
    restarts = 0
    while True:
        outcomes: dict[int, _Outcome] = {}
        manager = AsyncKernelManager(kernel_name=kernel_name)
        if os.name == "posix":  # local sockets in the private work folder instead of TCP ports
            manager.transport, manager.ip = "ipc", os.path.join(workdir, "kernel")
        client = _Client(nb, km=manager, timeout=int(cell_timeout), allow_errors=True,
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
                elif step.kind == "call":
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


def _drop_privileges(uid: int) -> None:
    """From root (the sandbox's setup) to ``uid``, for good: no groups, no capabilities left."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("could not drop privileges")


def run(job_dir: str) -> dict:
    with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as handle:
        job = json.load(handle)
    plan = [_Step("setup", _call("quiet_checks"))]
    plan += [_Step("cell", source) for source in job["cells"]]
    for call in job["calls"]:
        plan.append(_Step("call", _call("answer", call["exercise"], call["expression"], float(job["check_timeout"]),
                                        os.path.join(job_dir, call["inputs"]),
                                        os.path.join(job_dir, call["outputs"]))))
    work = os.path.join(job_dir, "work")
    os.makedirs(work, exist_ok=True)
    outcomes, restarts = asyncio.run(_execute(
        plan, cell_timeout=job["cell_timeout"], total_timeout=job["total_timeout"],
        check_timeout=job["check_timeout"], kernel_name=job["kernel_name"], workdir=work,
        max_restarts=job["max_restarts"]))
    missing = _Outcome("not run", "no kernel was left to run it")
    return {"outcomes": [[outcomes.get(i, missing).kind, outcomes.get(i, missing).detail[:2000]]
                         for i in range(1, len(plan))],      # the notebook's cells, then the calls
            "restarts": restarts}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    job_dir = argv[0]
    if "--uid" in argv:
        _drop_privileges(int(argv[argv.index("--uid") + 1]))
    out = os.path.join(job_dir, "out", "run.json")
    try:
        result = run(job_dir)
    except Exception as exc:  # the kernel could not start, or the machinery failed
        result = {"failed": f"{type(exc).__name__}: {exc}"[:2000]}
    with open(out + ".part", "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(out + ".part", out)  # replaces whatever the submission put there, a link included
    return 0


if __name__ == "__main__":
    sys.exit(main())
