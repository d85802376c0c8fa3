"""The sandbox a submission runs in: bubblewrap, resource limits, and nothing of the grader's.

:func:`command` builds the ``bwrap`` command line. Inside, the sandbox sees:

* the system's programs and libraries (``/usr`` and its links), read-only; of ``/etc`` only what the
  dynamic linker and fonts need, plus a ``passwd`` that names the student alone;
* the Python environment (``sys.prefix``), read-only;
* the course package at ``/opt/course/optimlab``, read-only, with ``optimlab.exercises`` replaced
  by a stand-in that has the checking machinery but no chapter's checks or references, and whose
  ``check()`` only says that the grader checks;
* ``/job``: the submission's own folder (notebook inputs, answers, its working directory, its
  ``/tmp``), the only place it can write;
* its own ``/proc``, a minimal ``/dev``, no network but a private loopback (``--unshare-net``), its
  own process, IPC and host-name namespaces.

It does not see the repository (chapters, solutions), the instructor's ``--checks`` files, the
grades being written, other submissions or their kernels. When the grader runs as root the runner
drops to an unprivileged user id of its own before the notebook starts, so the process limit counts
against that id. ``--die-with-parent`` and the PID namespace end every process the submission
started when its runner ends or the grader kills it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

JOB = "/job"
COURSE = "/opt/course"
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "alternatives", "mime.types")

_STAND_IN = '''"""A stand-in for ``optimlab.exercises`` inside the grading sandbox: the machinery without any
chapter's checks, references or solutions. The grader checks the answers outside."""

from ._core import (ERROR, FAILED, NOT_IMPLEMENTED, PASSED, Answer, Case, CheckPlan, CheckResult,
                    call_learner, judge, plan_check, run_cases)

GRADED_OUTSIDE = "graded outside"


def all_checks() -> dict:
    return {}


def register_checks(checks: dict, *, replace: bool = False) -> None:
    for exercise_id, fn in checks.items():
        if not callable(fn):
            raise TypeError(f"the check for {exercise_id!r} is not callable")


def check(exercise_id: str, answer) -> CheckResult:
    return CheckResult(exercise_id, GRADED_OUTSIDE, 0, 0,
                       ("this notebook is being graded: the grader checks the answers itself",))
'''


class SandboxError(RuntimeError):
    """No sandbox can be made here (bwrap missing or refused); the message says what to do."""


@dataclass
class Limits:
    """Per-process resource limits inside the sandbox (``resource.setrlimit``)."""
    memory: int = 2 * 1024 ** 3          # address space, bytes
    cpu: int | None = None               # CPU seconds per process (None: the run's wall-clock bound)
    processes: int = 256                 # processes and threads of the sandbox user, together
    file_size: int = 64 * 1024 ** 2      # bytes in any one file it writes
    open_files: int = 1024


def parse_size(text: str) -> int:
    """``"2G"``, ``"512M"``, ``"1.5G"`` or a number of bytes."""
    text = str(text).strip().upper().removesuffix("B").removesuffix("I")
    factor = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}.get(text[-1:], 1)
    number = float(text[:-1] if factor > 1 else text)
    if number <= 0:
        raise ValueError(f"Invalid size: {text}")
    return int(number * factor)


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def _package_dir() -> Path:
    import optimlab

    return Path(optimlab.__file__).resolve().parent


def prepare(root: Path, uid: int | None) -> Path:
    """Lay out a job under the private folder ``root``: ``root/job`` (bound at ``/job``), the
    stand-in for ``optimlab.exercises`` and ``root/etc``. Returns the job folder."""
    job = root / "job"
    for sub in ("out", "work", "home", "tmp", "in"):
        (job / sub).mkdir(parents=True, exist_ok=True)
        (job / sub).chmod(0o755)   # the sandbox's setup enters them before it drops to the student's id
    job.chmod(0o755)               # (root keeps them private: it is 0700)
    root.chmod(0o700)
    stand_in = root / "exercises"
    stand_in.mkdir()
    shutil.copyfile(_package_dir() / "exercises" / "_core.py", stand_in / "_core.py")
    (stand_in / "__init__.py").write_text(_STAND_IN, encoding="utf-8")
    etc = root / "etc"
    etc.mkdir()
    student = uid if uid is not None else os.getuid()
    (etc / "passwd").write_text(f"student:x:{student}:{student}:student:{JOB}/home:/bin/sh\n")
    (etc / "group").write_text(f"student:x:{student}:\n")
    for path in [stand_in, etc]:   # readable by the sandbox's user whatever the umask
        path.chmod(0o755)
        for item in path.iterdir():
            item.chmod(0o644)
    if uid is not None:
        for path in [job, *job.rglob("*")]:
            os.chown(path, uid, uid)
    return job


def _parents(path: str) -> list[str]:
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


def command(root: Path, runner_args: list[str], *, uid: int | None) -> list[str]:
    """The ``bwrap`` command that runs ``python -m optimlab.homework._runner /job ...`` for the job
    laid out in ``root`` by :func:`prepare`."""
    bwrap = _bwrap()
    if bwrap is None:
        raise SandboxError("bubblewrap (`bwrap`) is not installed")
    args = [bwrap]
    bound: list[str] = []

    def covered(path: str) -> bool:
        return any(path == b or path.startswith(b.rstrip("/") + "/") for b in bound)

    def ro_bind(source: str, target: str | None = None):
        target = target or source
        for parent in _parents(target):
            if not covered(parent) and parent not in made:
                args.extend(["--perms", "0755", "--dir", parent])
                made.add(parent)
        args.extend(["--ro-bind", source, target])
        bound.append(target)

    made: set[str] = set()
    ro_bind("/usr")
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args.extend(["--symlink", os.readlink(path), str(path)])
        elif path.is_dir():
            ro_bind(str(path))
    for name in _ETC:
        if (Path("/etc") / name).exists():
            ro_bind(f"/etc/{name}")
    ro_bind(str(root / "etc" / "passwd"), "/etc/passwd")
    ro_bind(str(root / "etc" / "group"), "/etc/group")
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    prefixes.add(os.path.realpath(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))))
    for prefix in sorted(prefixes, key=len):
        if not covered(prefix):
            ro_bind(prefix)
    ro_bind(str(_package_dir()), f"{COURSE}/optimlab")
    args.extend(["--ro-bind", str(root / "exercises"), f"{COURSE}/optimlab/exercises"])
    args.extend(["--bind", str(root / "job"), JOB, "--bind", str(root / "job" / "tmp"), "/tmp",
                 "--dev", "/dev", "--proc", "/proc", "--chdir", f"{JOB}/work",
                 "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 "--hostname", "grading", "--die-with-parent", "--new-session"])
    if uid is not None:   # root: drop to uid inside (the runner's first act); keep only what that needs
        args.extend(["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"])
    else:
        args.append("--unshare-user")
    python_bin = os.path.dirname(os.path.realpath(sys.executable))
    env = {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": f"{JOB}/home", "USER": "student",
           "LOGNAME": "student", "PYTHONPATH": COURSE, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
           "TMPDIR": "/tmp", "LANG": "C.UTF-8", "MPLCONFIGDIR": f"{JOB}/home/.matplotlib",
           "JUPYTER_RUNTIME_DIR": f"{JOB}/home/.runtime", "JUPYTER_PLATFORM_DIRS": "1",
           "IPYTHONDIR": f"{JOB}/home/.ipython"}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if name in os.environ:
            env[name] = os.environ[name]
    args.append("--clearenv")
    for name, value in env.items():
        args.extend(["--setenv", name, value])
    args.extend([os.path.realpath(sys.executable), "-s", "-m", "optimlab.homework._runner", JOB, *runner_args])
    return args


def apply_limits(limits: Limits, uid: int | None):
    """A ``preexec_fn`` that sets ``limits`` in the child before it starts the sandbox."""
    import resource

    def setup():
        if uid is None:  # the count is per user: leave room for the grader's own processes
            mine = sum(1 for entry in os.scandir("/proc") if entry.name.isdigit() and _owner(entry.path) == os.getuid())
            processes = limits.processes + mine
        else:
            processes = limits.processes
        for which, value in ((resource.RLIMIT_AS, limits.memory), (resource.RLIMIT_CPU, limits.cpu),
                             (resource.RLIMIT_NPROC, processes), (resource.RLIMIT_FSIZE, limits.file_size),
                             (resource.RLIMIT_NOFILE, limits.open_files), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(which, (value, value))
    return setup


def _owner(path: str) -> int:
    try:
        return os.stat(path).st_uid
    except OSError:
        return -1


_PROBED: dict = {}


def check_available() -> None:
    """Raise :class:`SandboxError` unless a sandbox like the grader's can start here (probed once)."""
    if "error" not in _PROBED:
        error = None
        bwrap = _bwrap()
        if bwrap is None:
            error = "bubblewrap (`bwrap`) is not installed; on Debian or Ubuntu: apt-get install bubblewrap"
        else:
            probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
                     "--unshare-net", "--die-with-parent"]
            if os.geteuid() != 0:
                probe.append("--unshare-user")
            try:
                run = subprocess.run([*probe, "true"], capture_output=True, text=True, timeout=30)
                if run.returncode != 0:
                    error = f"bubblewrap cannot create a sandbox here: {run.stderr.strip()[:300]}"
            except (OSError, subprocess.TimeoutExpired) as exc:
                error = f"bubblewrap cannot create a sandbox here: {exc}"
        _PROBED["error"] = error
    if _PROBED["error"]:
        raise SandboxError(_PROBED["error"])
