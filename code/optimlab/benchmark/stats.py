"""Statistics of a study: bootstrap intervals, performance profiles and their score, sensitivity.

Performance profiles (Dolan and Moré; AlgoPerf's scoring). Let :math:`t_{o,w}` be the time (steps or
seconds) optimizer :math:`o` needs to reach workload :math:`w`'s target, :math:`\\infty` if it never
does. Its ratio to the fastest is :math:`r_{o,w} = t_{o,w} / \\min_{o'} t_{o',w}` and its profile
is the share of workloads it solves within a factor :math:`\\tau` of the fastest,

.. math:: \\rho_o(\\tau) = \\frac{1}{|W|}\\, \\#\\{w : r_{o,w} \\le \\tau\\}.

The score is the normalised area under the profile for :math:`\\tau \\in [1, \\tau_{\\max}]`,
:math:`\\frac{1}{\\tau_{\\max} - 1}\\int_1^{\\tau_{\\max}} \\rho_o(\\tau)\\, d\\tau`, with
:math:`\\tau_{\\max} = 4` as in AlgoPerf. The profile is a step function, so the integral is exact:
each workload contributes :math:`(\\tau_{\\max} - r_{o,w}) / (\\tau_{\\max} - 1)` when
:math:`r_{o,w} \\le \\tau_{\\max}` and nothing otherwise, divided by :math:`|W|`. A score of 1 means
fastest everywhere; 0 means never within a factor 4 of the fastest. (AlgoPerf integrates over a
grid of :math:`\\tau` and takes medians over several studies; one study is all this machine affords.)
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

__all__ = ["bootstrap_ci", "ratios", "profile", "profile_score", "summarize", "times_to_target",
           "sensitivity", "TAU_MAX"]

TAU_MAX = 4.0
INF = float("inf")


def bootstrap_ci(values, statistic=np.mean, level: float = 0.95, n_boot: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` of ``values``.

    Resample the values with replacement ``n_boot`` times, compute the statistic of each resample,
    and return the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of those statistics.
    Values may be infinite (a run that never reached the target); the quantiles are order
    statistics (no interpolation), so an infinite bound stays infinite instead of becoming NaN.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"Invalid values: shape {x.shape} (expected a non-empty 1-D sequence)")
    if not 0.0 < level < 1.0:
        raise ValueError(f"Invalid level: {level} (expected 0 < level < 1)")
    rng = np.random.default_rng(seed)
    resamples = x[rng.integers(0, len(x), size=(n_boot, len(x)))]
    with np.errstate(invalid="ignore"):
        stats = np.sort(statistic(resamples, axis=1))
    lo = np.quantile(stats, (1 - level) / 2, method="inverted_cdf")
    hi = np.quantile(stats, (1 + level) / 2, method="inverted_cdf")
    return float(lo), float(hi)


def ratios(times: dict) -> dict:
    """``{optimizer: {workload: t}}`` -> ``{optimizer: {workload: r}}``, r = t / fastest t."""
    workloads = sorted({w for per in times.values() for w in per})
    best = {w: min(times[o].get(w, INF) for o in times) for w in workloads}
    out = {}
    for o, per in times.items():
        out[o] = {}
        for w in workloads:
            t = per.get(w, INF)
            out[o][w] = t / best[w] if math.isfinite(t) and best[w] > 0 else INF
    return out


def profile(ratio_of: dict, taus) -> np.ndarray:
    """ρ(τ) for each τ in ``taus``: the share of workloads whose ratio is at most τ."""
    r = np.array(list(ratio_of.values()), dtype=float)
    return (r[None, :] <= np.asarray(taus, dtype=float)[:, None]).mean(axis=1)


def profile_score(ratio_of: dict, tau_max: float = TAU_MAX) -> float:
    """Normalised area under ρ(τ) for τ in [1, tau_max] (exact for the step function)."""
    if tau_max <= 1:
        raise ValueError(f"Invalid tau_max: {tau_max} (expected tau_max > 1)")
    r = np.array(list(ratio_of.values()), dtype=float)
    return float(np.where(r <= tau_max, (tau_max - r) / (tau_max - 1), 0.0).mean())


def summarize(trials: list[dict]) -> dict:
    """Group a study's trials: ``{(workload, optimizer): {"tune": [...], "seed": [...], "default": [...]}}``."""
    groups = defaultdict(lambda: {"tune": [], "seed": [], "default": []})
    for t in trials:
        groups[(t["workload"], t["optimizer"])][t["kind"]].append(t)
    for g in groups.values():
        for kind in g:
            g[kind].sort(key=lambda t: t["index"])
    return dict(groups)


def _steps(t, key="steps_to_target"):
    v = t[key]
    return INF if v is None else float(v)


def times_to_target(groups: dict, key: str = "steps_to_target") -> dict:
    """``{optimizer: {workload: median over seeds}}`` of steps (or seconds) to the target.

    The median is infinite when more than half the seeds miss the target (AlgoPerf's rule)."""
    out = defaultdict(dict)
    for (w, o), g in groups.items():
        if g["seed"]:
            values = sorted(_steps(t, key) for t in g["seed"])
            n = len(values)
            med = values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])
            out[o][w] = med
    return dict(out)


def sensitivity(groups: dict, workload: str, optimizer: str, name: str = "lr") -> dict:
    """The tuning trials of one pair, sorted by ``name``: its values, the final errors, which reached
    the target, and the share of the search space (of the trials) that reached it."""
    g = groups[(workload, optimizer)]["tune"]
    trials = sorted(g, key=lambda t: t["hparams"][name])
    reached = [t["steps_to_target"] is not None for t in trials]
    return {"values": [t["hparams"][name] for t in trials],
            "final_error": [t["final_error"] for t in trials],
            "reached": reached,
            "share_reached": float(np.mean(reached)) if trials else float("nan")}
