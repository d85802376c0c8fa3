"""Command line: ``python -m optimlab.homework {build,grade,scan} ...`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._build import build, scan
from ._grade import grade_many
from ._report import (GradebookError, apply_gradebook, load_manual, load_points, load_roster, table, write_csv,
                      write_feedback, write_gradebook, write_gradescope, write_json)
from ._sandbox import Limits, SandboxError, check_available, parse_size


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m optimlab.homework",
        description="Student editions of the chapters (no solutions) and grading of submitted notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)

    make = commands.add_parser("build", help="write the homework edition of chapters",
                               description="Write each chapter without its solutions: reference code "
                               "between the markers becomes a stub that raises NotImplementedError.")
    make.add_argument("chapters", nargs="*", type=Path,
                      help="notebooks or folders of notebooks (default: chapters/)")
    make.add_argument("--out", type=Path, default=Path("homework_build"), help="output folder (default: %(default)s)")
    make.add_argument("--strict", action="store_true",
                      help="also refuse a notebook that repeats lines of a removed solution elsewhere")

    grade = commands.add_parser("grade", help="grade submitted notebooks",
                                description="Run each submission in its own sandbox (bubblewrap): its "
                                "cells in a fresh kernel, then the learner's functions on the checks' "
                                "inputs; the answers are compared with the references outside the "
                                "sandbox. Exit status 0 once every submission is graded (whatever the "
                                "scores), 1 when a kernel could not be started or no sandbox can be "
                                "made, 2 for a usage error.")
    grade.add_argument("submissions", nargs="+", type=Path,
                       help="notebooks, or folders whose notebooks are all graded")
    grade.add_argument("--timeout", type=float, default=60, metavar="SECONDS",
                       help="time limit per notebook cell (default: %(default)g)")
    grade.add_argument("--total-timeout", type=float, default=600, metavar="SECONDS",
                       help="time limit for all the notebook's cells together (default: %(default)g)")
    grade.add_argument("--check-timeout", type=float, default=30, metavar="SECONDS",
                       help="time limit per exercise check (default: %(default)g)")
    grade.add_argument("--checks", type=Path, action="append", default=[], metavar="FILE",
                       help="a Python file with a CHECKS dict, used in addition to (and instead of, for "
                       "the same id) the packaged checks; may be repeated")
    grade.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="grade N submissions at a time, each in its own kernel (default: %(default)s)")
    grade.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: %(default)s)")
    grade.add_argument("--memory", default="2G", metavar="SIZE",
                       help="address-space limit of each process in the sandbox (default: %(default)s)")
    grade.add_argument("--max-processes", type=int, default=256, metavar="N",
                       help="processes and threads a submission may have at once (default: %(default)s)")
    grade.add_argument("--max-file-size", default="64M", metavar="SIZE",
                       help="largest file a submission may write (default: %(default)s)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="grade without a sandbox, with your own rights: only for notebooks you trust")
    grade.add_argument("--points", type=Path, metavar="FILE",
                       help="points per exercise, TOML or JSON: default = 1 and [points] ex-id = 2")
    grade.add_argument("--manual", type=Path, metavar="CSV",
                       help="hand grades for prose exercises: columns student, exercise, points[, comment]")
    grade.add_argument("--roster", type=Path, metavar="CSV",
                       help="student ids: columns student, file (else the file name without .ipynb)")
    grade.add_argument("--json", type=Path, metavar="FILE", help="write every grade as JSON")
    grade.add_argument("--csv", type=Path, metavar="FILE", help="write one row per submission and exercise")
    grade.add_argument("--gradebook", type=Path, metavar="FILE", help="write one row per student (CSV)")
    grade.add_argument("--feedback", type=Path, metavar="DIR", help="write <student>.md for each student")
    grade.add_argument("--gradescope", type=Path, metavar="PATH",
                       help="Gradescope results.json: a .json file for one submission, else a folder "
                       "with <student>/results.json")

    check = commands.add_parser("scan", help="look for solution text left in homework notebooks")
    check.add_argument("paths", nargs="+", type=Path, help="notebooks or folders of notebooks")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "build":
        chapters = args.chapters or [Path("chapters")]
        missing = [str(path) for path in chapters if not path.exists()]
        if missing:
            print(f"not found: {', '.join(missing)}", file=sys.stderr)
            return 2
        return 1 if build(chapters, args.out, strict=args.strict) else 0
    if args.command == "scan":
        return 1 if scan(args.paths) else 0

    for path in [*args.checks, args.points, args.manual, args.roster]:
        if path is not None and not path.is_file():
            print(f"file not found: {path}", file=sys.stderr)
            return 2
    try:
        limits = Limits(memory=parse_size(args.memory), processes=args.max_processes,
                        file_size=parse_size(args.max_file_size))
        points = load_points(args.points) if args.points else None
        manual = load_manual(args.manual) if args.manual else None
        roster = load_roster(args.roster) if args.roster else None
    except (ValueError, GradebookError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.unsafe_no_sandbox:
        try:
            check_available()
        except SandboxError as exc:
            print(f"refusing to grade: {exc}.\nEvery submission runs in a sandbox; to grade notebooks you trust "
                  "without one, pass --unsafe-no-sandbox.", file=sys.stderr)
            return 1
    else:
        print("warning: grading without a sandbox (--unsafe-no-sandbox): submissions run with your rights",
              file=sys.stderr)
    submissions = []
    for path in args.submissions:
        submissions.extend(sorted(path.glob("*.ipynb")) if path.is_dir() else [path])
    grades = grade_many(submissions, jobs=args.jobs, on_done=lambda grade: print(table(grade), flush=True),
                        cell_timeout=args.timeout, total_timeout=args.total_timeout,
                        check_timeout=args.check_timeout, extra_checks=args.checks, kernel_name=args.kernel,
                        sandbox=not args.unsafe_no_sandbox, limits=limits)
    for warning in apply_gradebook(grades, points=points, manual=manual, roster=roster):
        print(f"warning: {warning}", file=sys.stderr)
    if len(grades) > 1:
        print(f"== {len(grades)} submissions: "
              + ", ".join(f"{g.file} {g.score:.2f}/{g.max_score}" for g in grades))
    if args.json:
        write_json(grades, args.json)
    if args.csv:
        write_csv(grades, args.csv)
    if args.gradebook:
        write_gradebook(grades, args.gradebook, roster)
    if args.feedback:
        write_feedback(grades, args.feedback)
    if args.gradescope:
        try:
            write_gradescope(grades, args.gradescope)
        except GradebookError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    failed = [grade.file for grade in grades if grade.status == "kernel failed"]
    if failed:
        print(f"grading could not run for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
