"""The protocol: tune on a budget, pick the best trial on the validation split, rerun over seeds.

For every (workload, optimizer) pair:

1. **tune**: ``budget`` trials, the points of the optimizer's search space drawn by
   :func:`~optimlab.benchmark.spaces.sample`, all with the tuning seed 0;
2. **select**: the best trial is the one that reaches the validation target in the fewest steps;
   if none reaches it, the one with the lowest final validation error;
3. **rerun**: the best hyperparameters with fresh seeds 1, ..., ``seeds`` (new initial weights and
   minibatch orders), so the reported numbers are not the lucky draw that won the tuning;
4. one more trial at torch's default hyperparameters (seed 0), for the comparison with no tuning.

Every trial is a JSON file ``DIR/trials/<workload>/<optimizer>/<kind>-<i>.json``, written when
the trial ends (atomically): a run that is stopped and started again skips the files it finds.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import gzip
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .spaces import OPTIMIZERS, sample
from .workloads import WORKLOADS, train

__all__ = ["trial_path", "run_trial", "plan_tuning", "best_trial", "run_study", "load_study", "save_snapshot",
           "environment"]


def trial_path(out: Path, workload: str, optimizer: str, kind: str, index: int) -> Path:
    return Path(out) / "trials" / workload / optimizer / f"{kind}-{index}.json"


def run_trial(workload: str, optimizer: str, hparams: dict, seed: int, kind: str, index: int) -> dict:
    """Train once and return the trial's record (its hyperparameters, seed and results)."""
    import torch
    torch.set_num_threads(1)
    spec = OPTIMIZERS[optimizer]
    result = train(workload, lambda model: spec.build(model, hparams), seed)
    return {"workload": workload, "optimizer": optimizer, "kind": kind, "index": index,
            "hparams": hparams, "seed": seed, **result}


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)                            # a trial file is either whole or absent


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def plan_tuning(workload: str, optimizer: str, budget: int) -> list[tuple]:
    """The tuning trials and the default trial as ``(workload, optimizer, hparams, seed, kind, i)``."""
    spec = OPTIMIZERS[optimizer]
    jobs = [(workload, optimizer, hp, 0, "tune", i) for i, hp in enumerate(sample(spec, budget))]
    jobs.append((workload, optimizer, dict(spec.defaults), 0, "default", 0))
    return jobs


def _key(record: dict) -> tuple:
    steps = record["steps_to_target"]
    return (steps if steps is not None else float("inf"), record["final_error"], record["index"])


def best_trial(records: list[dict]) -> dict:
    """Fewest steps to the target; if no trial reaches it, the lowest final validation error."""
    tuned = [r for r in records if r["kind"] == "tune"]
    if not tuned:
        raise ValueError("best_trial needs at least one tuning trial")
    return min(tuned, key=_key)


def environment(argv: list[str] | None = None) -> dict:
    """Commit, machine, library versions and the command of a study."""
    import numpy
    import torch
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "commit": commit,
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpu_count": os.cpu_count(), "python": platform.python_version()},
        "versions": {"torch": torch.__version__, "numpy": numpy.__version__},
        "command": "python -m optimlab.benchmark " + " ".join(argv if argv is not None else sys.argv[1:]),
    }


def _done(out, job) -> bool:
    """A trial is done when its file exists and holds the same hyperparameters and seed (a trial
    whose search space or best trial has changed since is run again)."""
    record = _read(trial_path(out, job[0], job[1], job[4], job[5]))
    return record is not None and record["hparams"] == job[2] and record["seed"] == job[3]


def _execute(jobs, out, pool, progress, desc):
    todo = [j for j in jobs if not _done(out, j)]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc=desc, unit="trial")
    if pool is None:
        for job in todo:
            _write(trial_path(out, job[0], job[1], job[4], job[5]), run_trial(*job))
            if bar:
                bar.update()
    else:
        futures = [pool.submit(run_trial, *job) for job in todo]
        for future in as_completed(futures):
            record = future.result()
            _write(trial_path(out, record["workload"], record["optimizer"], record["kind"],
                              record["index"]), record)
            if bar:
                bar.update()
    if bar:
        bar.close()
    return len(todo)


def run_study(out, workloads, optimizers, budget: int, seeds: int, jobs: int = 1,
              progress: bool = True, argv: list[str] | None = None) -> dict:
    """Run (or resume) the study; returns the number of trials run in each phase."""
    out = Path(out)
    for name in workloads:
        if name not in WORKLOADS:
            raise ValueError(f"Invalid workload: {name!r} (expected one of {', '.join(WORKLOADS)})")
    for name in optimizers:
        if name not in OPTIMIZERS:
            raise ValueError(f"Invalid optimizer: {name!r} (expected one of {', '.join(OPTIMIZERS)})")
    if budget < 1:
        raise ValueError(f"Invalid budget: {budget} (expected budget >= 1)")
    if seeds < 1:
        raise ValueError(f"Invalid seeds: {seeds} (expected seeds >= 1)")
    out.mkdir(parents=True, exist_ok=True)
    config = {"workloads": list(workloads), "optimizers": list(optimizers), "budget": budget,
              "seeds": seeds, "jobs": jobs}
    meta_path = out / "study.json"
    meta = _read(meta_path) or {}
    meta.update({"config": config, "environment": environment(argv)})
    _write(meta_path, meta)
    ran = {"tune": 0, "seed": 0}
    # spawned workers: a fork of a process running torch thread pools can deadlock
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) if jobs > 1 else None
    try:
        for w in workloads:                          # workload by workload: finished ones are whole
            tuning = [j for o in optimizers for j in plan_tuning(w, o, budget)]
            ran["tune"] += _execute(tuning, out, pool, progress, f"{w}: tune")
            reruns = []
            for o in optimizers:
                best = best_trial([_read(trial_path(out, *j[:2], j[4], j[5]))
                                   for j in plan_tuning(w, o, budget)])
                reruns += [(w, o, best["hparams"], s, "seed", s) for s in range(1, seeds + 1)]
            ran["seed"] += _execute(reruns, out, pool, progress, f"{w}: seeds")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return ran


#: The committed study, packed into the package so that a chapter can read it wherever the package
#: is installed (on Colab too); ``save_snapshot`` writes it from the study folder.
SNAPSHOT = Path(__file__).with_name("study.json.gz")


def load_study(out=None) -> dict:
    """``{"meta": study.json, "trials": [record, ...]}`` of a study folder, or of the packaged
    snapshot of the committed study when ``out`` is None."""
    if out is None:
        with gzip.open(SNAPSHOT, "rt") as f:
            return json.load(f)
    out = Path(out)
    trials = [json.loads(p.read_text()) for p in sorted((out / "trials").glob("*/*/*.json"))]
    return {"meta": _read(out / "study.json") or {}, "trials": trials}


def save_snapshot(out, path=SNAPSHOT) -> Path:
    """Pack the study folder ``out`` into one gzipped JSON file (by default the packaged snapshot)."""
    study = load_study(out)
    with gzip.GzipFile(path, "wb", mtime=0) as f:       # mtime 0: the same study gives the same bytes
        f.write(json.dumps(study, sort_keys=True).encode())
    return Path(path)
