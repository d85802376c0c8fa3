"""Checks for the exercises of the chapter *Comparing optimizers fairly*."""

from __future__ import annotations

import math

import numpy as np

from ._core import Case, run_cases

INF = math.inf


# --- ex-bench-score: the AlgoPerf score of one optimizer from its performance ratios --------------

def profile_score(ratios, tau_max=4.0):
    """(1/(τ_max − 1)) ∫_1^τ_max ρ(τ) dτ, ρ(τ) = share of the ratios ≤ τ: each ratio r ≤ τ_max
    adds (τ_max − r)/(τ_max − 1), and the sum is divided by the number of workloads."""
    r = np.asarray(ratios, dtype=float)
    return float(np.where(r <= tau_max, (tau_max - r) / (tau_max - 1), 0.0).mean())


def _score_over_tau_max(ratios, tau_max=4.0):
    r = np.asarray(ratios, dtype=float)
    return float(np.where(r <= tau_max, (tau_max - r) / tau_max, 0.0).mean())


def _score_unclipped(ratios, tau_max=4.0):
    r = np.asarray(ratios, dtype=float)
    return float(np.where(np.isfinite(r), (tau_max - r) / (tau_max - 1), 0.0).mean())


def _share_within(ratios, tau_max=4.0):
    return float((np.asarray(ratios, dtype=float) <= tau_max).mean())


def _score_over_solved(ratios, tau_max=4.0):
    r = np.asarray(ratios, dtype=float)
    solved = r[r <= tau_max]
    return float(((tau_max - solved) / (tau_max - 1)).mean()) if len(solved) else 0.0


def check_profile_score(learner):
    cases = [Case("fastest everywhere", ([1.0, 1.0, 1.0],)),
             Case("one ratio 2.5", ([2.5],)),
             Case("mixed, one unsolved", ([1.0, 2.0, INF],)),
             Case("beyond τ_max", ([1.0, 6.0, 3.0, 1.5],)),
             Case("nothing solved", ([INF, INF],)),
             Case("τ_max = 2", ([1.0, 1.5, 3.0],), {"tau_max": 2.0}),
             Case("τ_max = 10", ([1.2, 7.0, INF, 9.5, 11.0],), {"tau_max": 10.0})]
    mistakes = {
        "the area is divided by τ_max; the integral runs from 1 to τ_max, a length of τ_max − 1":
            _score_over_tau_max,
        "a ratio above τ_max must add nothing, not a negative amount": _score_unclipped,
        "that is ρ(τ_max), the share solved within τ_max; the score is the area under ρ(τ) from 1 "
        "to τ_max, so a workload solved at ratio r counts only from τ = r on": _share_within,
        "divide by the number of all workloads, not only those solved within τ_max":
            _score_over_solved,
    }
    return run_cases("ex-bench-score", learner, profile_score, cases, mistakes=mistakes)


# --- ex-bench-bootstrap: a percentile bootstrap interval of the mean ------------------------------

def bootstrap_interval(values, resamples, level=0.95):
    """The (1 − level)/2 and (1 + level)/2 quantiles (``np.quantile``, default method) of the means
    of ``values[resamples[b]]`` for each row b of the index array ``resamples``."""
    values, resamples = np.asarray(values, dtype=float), np.asarray(resamples)
    means = values[resamples].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _normal_interval(values, resamples, level=0.95):
    values = np.asarray(values, dtype=float)
    means = values[np.asarray(resamples)].mean(axis=1)
    z = 1.959963984540054 if level == 0.95 else 2.5758293035489 if level == 0.99 else 1.6448536269514722
    return float(values.mean() - z * means.std()), float(values.mean() + z * means.std())


def _quantiles_at_level(values, resamples, level=0.95):
    means = np.asarray(values, dtype=float)[np.asarray(resamples)].mean(axis=1)
    lo, hi = np.quantile(means, [1 - level, level])
    return float(lo), float(hi)


def _medians(values, resamples, level=0.95):
    meds = np.median(np.asarray(values, dtype=float)[np.asarray(resamples)], axis=1)
    lo, hi = np.quantile(meds, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _values_not_resampled(values, resamples, level=0.95):
    lo, hi = np.quantile(np.asarray(values, dtype=float), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _case(name, n, n_boot, seed, level=0.95, skew=False):
    rng = np.random.default_rng(seed)
    values = rng.exponential(1.0, n) if skew else rng.normal(0.05, 0.01, n)
    resamples = rng.integers(0, n, size=(n_boot, n))
    return Case(name, (values, resamples), {} if level == 0.95 else {"level": level})


def check_bootstrap_interval(learner):
    cases = [_case("5 seeds", 5, 200, 0), _case("20 values, skewed", 20, 500, 1, skew=True),
             _case("level 0.9", 12, 400, 2, level=0.9), _case("level 0.99", 30, 1000, 3, level=0.99),
             Case("all equal", (np.full(4, 0.03), np.zeros((50, 4), dtype=int)))]
    mistakes = {
        "that is a normal interval (mean ± z × spread of the resampled means); the percentile "
        "interval takes quantiles of the resampled means themselves": _normal_interval,
        "the quantiles must leave (1 − level)/2 on each side, e.g. 0.025 and 0.975 for level 0.95":
            _quantiles_at_level,
        "the statistic is the mean of each resample, not its median": _medians,
        "take the quantiles of the resampled means, not of the values": _values_not_resampled,
    }
    return run_cases("ex-bench-bootstrap", learner, bootstrap_interval, cases, mistakes=mistakes)


CHECKS = {"ex-bench-score": check_profile_score, "ex-bench-bootstrap": check_bootstrap_interval}
