"""The grader against hostile submissions: every attack ends with the right grade and no trace outside.

One command-line run grades three notebooks with ``--jobs 2`` (a correct one next to an attacker, so
that one could reach the other): a submission that attacks the verdict (replaces the checks, patches
numpy and the comparison, reads the caller's frame, imports the references, returns an object equal
to everything) and a submission that attacks the machine (reads the host's files, the instructor's
private checks and the chapters; deletes and writes files outside; opens a socket to the host's
loopback; allocates 3.5 GB; leaves processes behind to rewrite the grades later; forks without end;
writes into the course package; looks for other kernels to inject code into). Both answer wrongly
and must score 0; the correct one must score full marks. Then the traces are checked from outside.

Needs a working ``bwrap``; skipped where none can run (CI installs it from tools/test.sh).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell

import optimlab
from optimlab.exercises import all_checks
from optimlab.exercises._core import Answer, call_learner, judge, plan_check, run_cases
from optimlab.homework import SubmissionGrade, ExerciseGrade, _sandbox, main, student_edition
from optimlab.homework._codec import CodecError, Opaque, decode, dumps, encode, loads
from optimlab.homework._report import (GradebookError, apply_gradebook, feedback, gradescope, load_manual,
                                       load_points, load_roster, write_gradebook, write_gradescope)

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "homework_chapter.ipynb"
FIXTURE_CHECKS = ROOT / "tests" / "fixtures" / "homework_checks.py"
TOKEN = "7319.25"          # a `sleep` duration no other process uses: finds what the attacks left behind
SECRET = "instructor-secret-5d41402abc"

def _sandbox_problem() -> str | None:
    try:
        _sandbox.check_available()
    except _sandbox.SandboxError as exc:
        return str(exc)
    return None


needs_bwrap = pytest.mark.skipif(_sandbox_problem() is not None, reason=f"no sandbox here: {_sandbox_problem()}")


def _package_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(optimlab.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _submission(answer_body: str, *cells: str) -> nbformat.NotebookNode:
    """The fixture's homework edition with the stub's body replaced and ``cells`` after its setup cell."""
    nb, _ = student_edition(nbformat.read(FIXTURE, as_version=4), FIXTURE.name)
    for cell in nb.cells:
        if "raise NotImplementedError" in cell.source:
            head = cell.source.split("    raise NotImplementedError")[0]
            cell.source = head + answer_body
    position = next(i for i, c in enumerate(nb.cells) if "from optimlab.exercises import check" in c.source) + 1
    nb.cells[position:position] = [new_code_cell(source) for source in cells]
    return nb


VERDICT_ATTACKS = [
    # replace the check with one that always passes
    "import optimlab.exercises as ex\nfrom optimlab.exercises import CheckResult\n"
    "ex.register_checks({'ex-hwfix-scale': lambda answer: CheckResult('ex-hwfix-scale', 'passed', 3, 3)},"
    " replace=True)\nex.all_checks = lambda: {'ex-hwfix-scale': lambda answer: CheckResult('ex-hwfix-scale',"
    " 'passed', 3, 3)}",
    # make every comparison succeed
    "import numpy, torch, builtins\nnumpy.allclose = lambda *a, **k: True\nnumpy.isclose = lambda *a, **k: True\n"
    "torch.allclose = lambda *a, **k: True\nimport optimlab.exercises._core as core\n"
    "core._close = lambda *a, **k: True\ncore.judge = lambda plan, answers: core.CheckResult(plan.exercise_id,"
    " 'passed', len(plan.cases), len(plan.cases))",
    # import the references from the package (the book's solutions)
    "stolen = []\nfor name in ('gradient_descent', 'adam', 'sgd'):\n    try:\n"
    "        stolen.append(__import__('optimlab.exercises.' + name, fromlist=['_']))\n    except ImportError:\n"
    "        pass",
]
# the answer: the expected value from a calling frame or a stolen reference when there is one, an object
# equal to everything for numbers, else a wrong answer (the factor added)
CHEATING_ANSWER = """    import inspect
    for frame in inspect.stack():
        for key in ("expected", "reference"):
            if key in frame.frame.f_locals:
                found = frame.frame.f_locals[key]
                return found(x, factor) if callable(found) else found
    class Always:
        def __eq__(self, other):
            return True
    if stolen:
        return stolen[0].best_lr(x, factor)
    if np.ndim(x) == 0:
        return Always()
    return x + factor
"""


def _machine_attacks(outside: Path, grades: Path, port: int) -> list[str]:
    late = outside / "late.txt"
    later = (f"import time, socket\ntime.sleep(2)\nopen({str(grades)!r}, 'w').write('rewritten')\n"
             f"open({str(late)!r}, 'w').write('still here')\n"
             f"socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'late')\n")
    return [
        # read the host's files, the chapters, the instructor's private checks; show them in an error
        "leak = []\nfor path in ['/etc/passwd', '/etc/shadow', " + repr(str(ROOT / "chapters")) + ", "
        + repr(str(outside / "private_checks.py")) + ", " + repr(str(FIXTURE_CHECKS)) + "]:\n    try:\n"
        "        import os\n        leak.append(open(path).read() if os.path.isfile(path) else str(os.listdir(path)))\n"
        "    except Exception as exc:\n        leak.append(type(exc).__name__)\nraise RuntimeError(' '.join(leak))",
        # delete a file outside the submission, write another one
        f"import os\nos.remove({str(outside / 'canary.txt')!r})",
        f"open({str(outside / 'pwned.txt')!r}, 'w').write('pwned')",
        # the host's loopback
        f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hello')",
        # memory beyond the limit
        "hog = bytearray(3_500_000_000)",
        # processes left behind: detached with setsid, double-forked
        f"import subprocess, sys, os\nsubprocess.Popen([sys.executable, '-c', {later!r}], start_new_session=True)\n"
        f"if os.fork() == 0:\n    os.setsid()\n    os.execv('/bin/sleep', ['sleep', '{TOKEN}'])",
        # fork without end
        f"import subprocess\nkids = []\ntry:\n    for _ in range(300):\n"
        f"        kids.append(subprocess.Popen(['sleep', '{TOKEN}']))\nfinally:\n    print(len(kids))\n"
        "    for kid in kids:\n        kid.kill()\n        kid.wait()",
        # a file larger than the limit, then the course package itself
        "with open('big.bin', 'wb') as handle:\n    handle.write(b'0' * 100_000_000)",
        "import optimlab.exercises._core as core\nopen(core.__file__, 'a').write('\\n# changed\\n')",
        # an endless error stream, for the grader to hold in memory
        "import os\nfor _ in range(20):\n    os.write(2, b'x' * 10_000_000)",
        # links from the job folder to the grader's files, for the grader to read back
        f"import os\nos.symlink({str(outside / 'run.json')!r}, '/job/out/run.json')\n"
        f"os.symlink({str(outside / 'run.json')!r}, '/job/out/answers-0.json')",
        # another kernel's connection file, to run code in it
        "import glob\nfrom jupyter_client import BlockingKernelClient\n"
        "found = [path for pattern in ('/tmp/**/kernel-*.json', '/root/.local/share/jupyter/runtime/*.json', "
        "'/run/user/*/jupyter/runtime/*.json') for path in glob.glob(pattern, recursive=True)]\nfor path in found:\n    client = BlockingKernelClient(connection_file=path)\n"
        "    client.load_connection_file()\n    client.start_channels()\n"
        "    client.execute('scale = lambda x, factor: 0 * x')\nprint(found)",
    ]


class _Listener:
    """A TCP listener on the host's 127.0.0.1 that records every connection."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.seen: list[bytes] = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.seen.append(connection.recv(100) or b"(connected)")
                except OSError:
                    self.seen.append(b"(connected)")

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.server.close()


def _leftovers() -> list[str]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if TOKEN in cmdline or "still here" in cmdline:
                found.append(f"{entry.name}: {cmdline[:120]}")
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    if _sandbox_problem() is not None:
        pytest.skip(f"no sandbox here: {_sandbox_problem()}")
    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("hostile")
    outside, work = base / "outside", base / "class"
    outside.mkdir()
    work.mkdir()
    (outside / "canary.txt").write_text("keep me")
    private = outside / "private_checks.py"
    private.write_text(f"# {SECRET}\n" + FIXTURE_CHECKS.read_text())
    (outside / "run.json").write_text(json.dumps({"failed": SECRET, "status": "answered", "answers": []}))
    grades = base / "grades.json"
    listener = _Listener()
    nbformat.write(nbformat.read(FIXTURE, as_version=4), work / "a_correct.ipynb")
    nbformat.write(_submission("    return x + factor\n", *_machine_attacks(outside, grades, listener.port)),
                   work / "b_machine.ipynb")
    nbformat.write(_submission(CHEATING_ANSWER, *VERDICT_ATTACKS), work / "c_verdict.ipynb")
    nbformat.write(student_edition(nbformat.read(FIXTURE, as_version=4), FIXTURE.name)[0], work / "d_unfilled.ipynb")
    package = _package_digest()
    run = subprocess.run([sys.executable, "-m", "optimlab.homework", "grade", "class", "--checks", str(private),
                          "--jobs", "2", "--timeout", "20", "--check-timeout", "5", "--json", str(grades),
                          "--csv", str(base / "grades.csv")], capture_output=True, text=True, timeout=300, cwd=base)
    written = grades.read_bytes() if grades.exists() else b""
    time.sleep(2)                          # what was left behind had time to act (it waits 2 s)
    traces = {"listener": list(listener.seen), "leftovers": _leftovers(), "grades_after": grades.read_bytes(),
              "package": _package_digest() == package}
    listener.close()
    yield {"run": run, "outside": outside, "csv": base / "grades.csv", "grades": json.loads(written or b"{}"), "written": written, **traces}


@needs_bwrap
def test_grade_command_reference_passes_and_unfilled_stub_scores_zero(hostile):
    """The book's notebook, graded next to an attacker, passes; the untouched homework edition runs end
    to end and scores 0; the JSON and CSV keep the command line's order and their columns."""
    run, data = hostile["run"], hostile["grades"]
    assert run.returncode == 0, run.stderr
    assert "total: 1.00 / 1 (100%)" in run.stdout and "total: 0.00 / 1 (0%)" in run.stdout
    assert [s["file"] for s in data["submissions"]] == [
        "class/a_correct.ipynb", "class/b_machine.ipynb", "class/c_verdict.ipynb", "class/d_unfilled.ipynb"]
    reference, unfilled = data["submissions"][0], data["submissions"][3]
    for grade in (reference, unfilled):
        assert grade["status"] == "graded" and grade["issues"] == [] and grade["restarts"] == 0
        assert [e["status"] for e in grade["exercises"][1:]] == ["manual", "manual"]
        assert [e["score"] for e in grade["exercises"][1:]] == [None, None]
    assert reference["exercises"][0] | {"hint": None} == {
        "id": "ex-hwfix-scale", "name": "scale", "status": "passed", "score": 1.0, "passed": 3, "total": 3,
        "messages": [], "hint": None, "points": 1.0, "max_points": 1.0, "manual_points": None}
    assert (reference["score"], reference["max_score"], reference["cells_run"]) == (1.0, 1, 6)
    assert (reference["student"], reference["points"], reference["max_points"]) == ("a_correct", 1.0, 3.0)
    first = unfilled["exercises"][0]
    assert (first["status"], first["score"], unfilled["score"], unfilled["cells_run"]) == ("not implemented", 0.0, 0.0, 5)

    rows = list(csv.DictReader(hostile["csv"].open(newline="")))
    assert len(rows) == 12 and list(rows[0]) == ["file", "file_status", "exercise", "name", "status", "score",
                                                "passed", "total", "hint"]
    assert [(r["file"], r["exercise"], r["status"], r["score"]) for r in rows[:3] + rows[9:]] == [
        ("class/a_correct.ipynb", "ex-hwfix-scale", "passed", "1"),
        ("class/a_correct.ipynb", "ex-hwfix-why", "manual", ""),
        ("class/a_correct.ipynb", "ex-hwfix-table", "manual", ""),
        ("class/d_unfilled.ipynb", "ex-hwfix-scale", "not implemented", "0"),
        ("class/d_unfilled.ipynb", "ex-hwfix-why", "manual", ""),
        ("class/d_unfilled.ipynb", "ex-hwfix-table", "manual", "")]


@needs_bwrap
def test_attacks_on_the_verdict_score_zero(hostile):
    verdict = hostile["grades"]["submissions"][2]
    scale = verdict["exercises"][0]
    assert verdict["file"].endswith("c_verdict.ipynb") and verdict["issues"] == []   # every attack cell ran
    assert (scale["status"], scale["passed"], scale["total"], verdict["score"]) == ("failed", 0, 3, 0.0)
    assert any("likely mistake: the factor is added" in m for m in scale["messages"])
    assert any("got <Always" in m for m in scale["messages"])        # equal to everything, equal to nothing here


@needs_bwrap
def test_attacks_on_the_machine_score_zero_and_leave_no_trace(hostile):
    machine = hostile["grades"]["submissions"][1]
    assert machine["file"].endswith("b_machine.ipynb") and machine["score"] == 0.0
    assert machine["exercises"][0]["status"] == "failed"
    issues = {issue["cell"]: issue for issue in machine["issues"]}
    details = " ".join(issue["detail"] for issue in machine["issues"])
    # nothing of the host, the chapters or the private checks reached the report
    assert "RuntimeError" in details and "FileNotFoundError" in details
    assert "root:x:0:0" not in details and SECRET not in hostile["written"].decode()
    assert "gradient_descent.ipynb" not in details and "check_scale" not in details
    assert "MemoryError" in details
    assert "Read-only file system" in details or "Permission denied" in details
    assert "File too large" in details
    assert len(issues) >= 9
    # outside the submission: the canary kept, nothing written, no connection, no process left
    outside = hostile["outside"]
    assert (outside / "canary.txt").read_text() == "keep me"
    assert sorted(p.name for p in outside.iterdir()) == ["canary.txt", "private_checks.py", "run.json"]
    assert hostile["listener"] == []
    assert hostile["leftovers"] == []
    assert hostile["grades_after"] == hostile["written"]
    assert hostile["package"]
    assert len(hostile["written"]) < 100_000                     # the error stream went nowhere near the report


# ---------------------------------------------------------------- refusing without a sandbox

def test_the_grader_refuses_without_a_sandbox_unless_told(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_sandbox, "_bwrap", lambda: None)
    monkeypatch.setattr(_sandbox, "_PROBED", {})
    assert main(["grade", str(FIXTURE), "--json", str(tmp_path / "g.json")]) == 1
    err = capsys.readouterr().err
    assert "refusing to grade" in err and "bwrap" in err and "--unsafe-no-sandbox" in err
    assert not (tmp_path / "g.json").exists()


# ---------------------------------------------------------------- verdicts from outside, without kernels

def test_every_packaged_check_splits_into_inputs_and_a_verdict_outside():
    """For each chapter's check: the reference, called through the two halves (inputs encoded and
    decoded as they cross the sandbox, answers encoded and decoded back), passes; a wrong answer
    fails exactly as run_cases says."""
    for exercise_id, check in all_checks().items():
        plans = plan_check(check)
        for plan in plans:
            answers = []
            for case in plan.cases:
                args = decode(json.loads(json.dumps(encode(case.args, allow_pickle=True))), allow_pickle=True)
                kwargs = decode(json.loads(json.dumps(encode(case.kwargs, allow_pickle=True))), allow_pickle=True)
                value = plan.reference(*args, **kwargs)
                answers.append(Answer("value", loads(dumps(value))))
            assert judge(plan, answers).status == "passed", exercise_id

            def zero(*args, **kwargs):
                return 0.0
            direct = run_cases(plan.exercise_id, zero, plan.reference, list(plan.cases), mistakes=plan.mistakes,
                               atol=plan.atol, rtol=plan.rtol)
            split = judge(plan, [call_learner(zero, case) for case in plan.cases])
            assert split == direct, exercise_id


def test_a_check_that_does_not_use_run_cases_cannot_be_planned():
    with pytest.raises(TypeError, match="run_cases"):
        plan_check(lambda learner: learner(1))


def test_answers_decode_only_to_plain_data():
    tensor = torch.tensor([[1.5, float("nan")], [float("inf"), -0.0]], dtype=torch.float64)
    value = loads(dumps((tensor, [np.arange(3, dtype=np.int32), {"a": 1 + 2j}], None, "s", True, 2 ** 70)))
    assert torch.equal(value[0].isnan(), tensor.isnan()) and value[0].dtype == torch.float64
    assert value[0][1, 0] == float("inf") and value[1][0].dtype == np.int32 and value[1][1] == {"a": 1 + 2j}
    assert value[2:] == (None, "s", True, 2 ** 70)

    class Sneaky(float):
        def __eq__(self, other):
            return True

    assert type(loads(dumps(Sneaky(2.0)))) is float
    weird = loads(dumps(object()))
    assert isinstance(weird, Opaque) and weird != weird and not (weird == 1)
    for text in ['{"$": "pickle", "data": "gASVAAAAAAAAAAAu"}', '{"$": "tensor", "dtype": "float64", "shape": [9],'
                 ' "data": [1]}', '{"$": "tensor", "dtype": "object", "shape": [1], "data": [1]}',
                 '{"$": "ndarray", "dtype": "float64", "shape": [100000, 100000], "data": []}',
                 "[" * 5000 + "]" * 5000, '{"$": "tuple", "items": 3}', "not json"]:
        with pytest.raises(CodecError):
            loads(text)


# ---------------------------------------------------------------- points, hand grades, exports

def _graded(file, scale_score, status="failed"):
    return SubmissionGrade(file, exercises=[
        ExerciseGrade("ex-a", "f", status, scale_score, passed=int(3 * scale_score), total=3,
                      messages=[] if status == "passed" else ["case 'x': expected 1, got 2", "case 'y': more"]),
        ExerciseGrade("ex-prose", None, "manual", None)])


def test_points_hand_grades_roster_and_exports(tmp_path):
    (tmp_path / "points.toml").write_text('default = 1\n[points]\nex-a = 4\n"ex-prose" = 2\n')
    (tmp_path / "manual.csv").write_text("student,exercise,points,comment\ns001,ex-prose,1.5,clear argument\n"
                                         "s002,ex-prose,9,\nghost,ex-prose,1,\n")
    (tmp_path / "roster.csv").write_text("student,file\ns001,alice.ipynb\ns002,bob.ipynb\ns003,carol.ipynb\n")
    grades = [_graded("class/alice.ipynb", 1.0, "passed"), _graded("class/bob.ipynb", 1 / 3)]
    warnings = apply_gradebook(grades, points=load_points(tmp_path / "points.toml"),
                               manual=load_manual(tmp_path / "manual.csv"), roster=load_roster(tmp_path / "roster.csv"))
    assert any("outside 0..2" in w for w in warnings) and any("ghost" in w for w in warnings)
    alice, bob = grades
    assert (alice.student, alice.points, alice.max_points, alice.complete) == ("s001", 5.5, 6.0, True)
    assert (bob.student, round(bob.points, 6), bob.score) == ("s002", round(4 / 3 + 2, 6), 1 / 3)   # 9 clipped to 2
    assert alice.as_dict()["score"] == 1.0 and alice.as_dict()["points"] == 5.5     # score kept, points added

    text = feedback(alice)
    assert "# Feedback for s001" in text and "| `ex-prose` | manual | 1.50 / 2 | clear argument |" in text
    assert "**Total: 5.50 / 6**" in text
    assert "case 'y': more" in feedback(bob)

    results = gradescope(bob)
    assert results["score"] == round(bob.points, 4)
    assert results["tests"][0] == {"name": "ex-a", "max_score": 4.0, "score": round(4 / 3, 4), "status": "failed",
                                   "output": "case 'x': expected 1, got 2", "visibility": "visible"}
    [one] = write_gradescope([bob], tmp_path / "results.json")
    assert json.loads(one.read_text()) == results
    assert [p.relative_to(tmp_path).as_posix() for p in write_gradescope(grades, tmp_path / "gs")] == [
        "gs/s001/results.json", "gs/s002/results.json"]
    with pytest.raises(GradebookError):
        write_gradescope(grades, tmp_path / "both.json")

    write_gradebook(grades, tmp_path / "book.csv", load_roster(tmp_path / "roster.csv"))
    rows = list(csv.reader((tmp_path / "book.csv").open(newline="")))
    assert rows[0] == ["student", "file", "status", "ex-a", "ex-prose", "total", "max_total", "complete"]
    assert rows[1] == ["s001", "class/alice.ipynb", "graded", "4", "1.5", "5.5", "6", "yes"]
    assert rows[2][:5] == ["s002", "class/bob.ipynb", "graded", "1.333", "2"]
    assert rows[3] == ["s003", "", "missing", "", "", "0", "", "no"]

    (tmp_path / "bad.toml").write_text("[points]\nex-a = -1\n")
    with pytest.raises(GradebookError, match="ex-a"):
        load_points(tmp_path / "bad.toml")
    (tmp_path / "bad.csv").write_text("student,points\ns,1\n")
    with pytest.raises(GradebookError, match="exercise"):
        load_manual(tmp_path / "bad.csv")


def test_the_grader_reads_no_link_the_sandbox_left(tmp_path):
    from optimlab.homework._grade import _read

    job, host = tmp_path / "job", tmp_path / "host"
    (job / "out").mkdir(parents=True)
    host.mkdir()
    (host / "run.json").write_text(json.dumps({"failed": SECRET}))
    (job / "out" / "answers-0.json").write_text('{"status": "answered"}')
    assert _read(job, "out/answers-0.json", 1000) == {"status": "answered"}
    assert _read(job, "out/answers-0.json", 5) is None                    # larger than the limit
    (job / "out" / "run.json").symlink_to(host / "run.json")
    assert _read(job, "out/run.json", 1000) is None                       # a link to a grader's file
    shutil.rmtree(job / "out")
    (job / "out").symlink_to(host)
    assert _read(job, "out/run.json", 1000) is None                       # a link to a grader's folder
