"""A small AlgoPerf: every optimizer of the course on four workloads, compared by one protocol.

* :mod:`~optimlab.benchmark.workloads`: the workloads (model, data, loss, validation target, budget)
  and :func:`~optimlab.benchmark.workloads.train`, one trial;
* :mod:`~optimlab.benchmark.spaces`: the optimizers, their workload-independent search spaces and
  the Halton sampling of trials;
* :mod:`~optimlab.benchmark.protocol`: tune, select on the validation split, rerun over seeds; the
  resumable, parallel study;
* :mod:`~optimlab.benchmark.stats`: bootstrap intervals, performance profiles and their score,
  learning-rate sensitivity;
* :mod:`~optimlab.benchmark.report`: tables and figures of a study.

``python -m optimlab.benchmark run --out DIR`` runs a study, ``... report DIR`` summarises it.
"""

from .protocol import best_trial, load_study, run_study, run_trial
from .spaces import OPTIMIZERS, halton, sample
from .workloads import WORKLOADS, train

__all__ = ["WORKLOADS", "OPTIMIZERS", "train", "halton", "sample", "run_trial", "run_study",
           "best_trial", "load_study"]
