"""Checks for the exercises of the chapter *Averaging and schedule-free training*."""

from __future__ import annotations

import torch

from ._core import Case, run_cases

F64 = torch.float64


# --- ex-avg-running-mean: the running mean in one line --------------------------------------------

def running_mean(avg, x, t):
    """The mean of x_1..x_t from the mean of x_1..x_{t-1}: avg + (x − avg)/t."""
    return avg + (x - avg) / t


def check_running_mean(learner):
    gen = torch.Generator().manual_seed(0)
    cases = [Case(f"t={t}", (torch.randn(3, generator=gen, dtype=F64), torch.randn(3, generator=gen, dtype=F64), t))
             for t in (1, 2, 5, 100)]
    mistakes = {
        "the new value's weight is 1/t, not 1/(t − 1)": lambda avg, x, t: avg + (x - avg) / max(t - 1, 1),
        "that is an exponential average with a fixed weight; the mean's weight 1/t shrinks":
            lambda avg, x, t: avg + 0.5 * (x - avg),
        "(avg + x)/2 weights the newest value like all the others together": lambda avg, x, t: (avg + x) / 2,
    }
    return run_cases("ex-avg-running-mean", learner, running_mean, cases, mistakes=mistakes)


# --- ex-avg-x-from-y: the evaluation point of Schedule-Free from what is stored --------------------

def x_from_y(y, z, beta):
    """x = (y − (1 − β) z) / β, since y = (1 − β) z + β x."""
    return (y - (1 - beta) * z) / beta


def check_x_from_y(learner):
    gen = torch.Generator().manual_seed(1)
    cases = [Case(f"β={b}", (torch.randn(4, generator=gen, dtype=F64), torch.randn(4, generator=gen, dtype=F64), b))
             for b in (0.9, 0.5, 0.99, 0.2)]
    mistakes = {
        "β and 1 − β are swapped: y = (1 − β) z + β x": lambda y, z, b: (y - b * z) / (1 - b),
        "solve y = (1 − β) z + β x for x: divide by β": lambda y, z, b: y - (1 - b) * z,
    }
    return run_cases("ex-avg-x-from-y", learner, x_from_y, cases, mistakes=mistakes)


# --- ex-avg-sf-weights: the averaging weights c_{t+1} of Schedule-Free --------------------------------

def sf_weights(lrs, r=0.0, power=2.0):
    """c_{t+1} = w_t / Σ_{s≤t} w_s with w_t = t^r (max_{s≤t} γ_s)^power, for t = 1..len(lrs)."""
    out, total, lr_max = [], 0.0, -1.0
    for t, lr in enumerate(lrs, start=1):
        lr_max = max(lr_max, lr)
        w = t ** r * lr_max ** power
        total += w
        out.append(w / total if total > 0 else 0.0)
    return torch.tensor(out, dtype=F64)


def _current_lr(lrs, r=0.0, power=2.0):
    out, total = [], 0.0
    for t, lr in enumerate(lrs, start=1):
        w = t ** r * lr ** power
        total += w
        out.append(w / total if total > 0 else 0.0)
    return torch.tensor(out, dtype=F64)


def _uniform(lrs, r=0.0, power=2.0):
    return torch.tensor([1.0 / t for t in range(1, len(lrs) + 1)], dtype=F64)


def check_sf_weights(learner):
    warm = [0.1 * min(1.0, t / 4) for t in range(1, 9)]
    cases = [Case("constant rate", ([0.5] * 6,)), Case("warmup over 4 steps", (warm,)),
             Case("warmup, r = 1", (warm, 1.0)), Case("warmup, power 1", (warm, 0.0, 1.0)),
             Case("rate that falls", ([0.3, 0.2, 0.1, 0.05],))]
    mistakes = {
        "the weight uses the largest rate so far, max_{s≤t} γ_s, not the current one": _current_lr,
        "with warmup the weights are not uniform: small early rates get small weights": _uniform,
    }
    return run_cases("ex-avg-sf-weights", learner, sf_weights, cases, mistakes=mistakes)


CHECKS = {"ex-avg-running-mean": check_running_mean, "ex-avg-x-from-y": check_x_from_y,
          "ex-avg-sf-weights": check_sf_weights}
