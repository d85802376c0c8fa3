"""Command line: ``python -m optimlab.benchmark run ...`` and ``python -m optimlab.benchmark report DIR``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .protocol import run_study
from .spaces import OPTIMIZERS
from .workloads import WORKLOADS


def _names(text: str, known: dict, what: str) -> list[str]:
    if text == "all":
        return list(known)
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n not in known:
            raise SystemExit(f"unknown {what} {n!r}; known: {', '.join(known)}")
    return names


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m optimlab.benchmark",
                                     description="A small AlgoPerf: tune, rerun over seeds, report.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run or resume a study")
    run.add_argument("--workloads", default="all", help=f"comma-separated, or all ({', '.join(WORKLOADS)})")
    run.add_argument("--optimizers", default="all",
                     help=f"comma-separated, or all ({', '.join(OPTIMIZERS)})")
    run.add_argument("--budget", type=int, default=8, help="tuning trials per optimizer and workload")
    run.add_argument("--seeds", type=int, default=5, help="reruns of the best trial")
    run.add_argument("--out", default="benchmark_results", help="folder of the results")
    run.add_argument("--jobs", type=int, default=1, help="worker processes")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    report = sub.add_parser("report", help="figures and tables of a study")
    report.add_argument("out", help="folder of the results")
    report.add_argument("--figures", default=None, help="where to write the figures (default OUT/figures)")
    args = parser.parse_args(argv)
    if args.command == "run":
        start = time.time()
        ran = run_study(args.out, _names(args.workloads, WORKLOADS, "workload"),
                        _names(args.optimizers, OPTIMIZERS, "optimizer"), args.budget, args.seeds,
                        jobs=args.jobs, progress=not args.no_progress, argv=argv)
        wall = time.time() - start
        meta_path = Path(args.out) / "study.json"
        meta = json.loads(meta_path.read_text())
        meta.setdefault("runs", []).append({"wall_seconds": round(wall, 1), "trials_run": ran,
                                            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        meta_path.write_text(json.dumps(meta, indent=1))
        print(f"ran {ran['tune']} tuning and {ran['seed']} seed trials in {wall:.0f} s; results in {args.out}")
    else:
        from .report import write_report
        print(write_report(args.out, args.figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
