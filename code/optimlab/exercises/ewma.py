"""Checks for the exercises of the chapter *Exponentially weighted averages*."""

from __future__ import annotations

import torch

from ..optim.moments import bias_correction, ewma_sq_
from ._core import Case, run_cases

F64 = torch.float64


# --- ex-ewma-weights: the weights of the bias-corrected average on x_1, ..., x_t --------------------

def ewma_weights(beta, t):
    """(1 − β) β^(t − s) / (1 − β^t) for s = 1, ..., t: the weight of x_s in m̂_t."""
    ages = torch.arange(t - 1, -1, -1, dtype=F64)
    return (1 - beta) * beta ** ages / (1 - beta ** t)


def _weights_uncorrected(beta, t):
    return (1 - beta) * beta ** torch.arange(t - 1, -1, -1, dtype=F64)


def _weights_by_age(beta, t):
    return (1 - beta) * beta ** torch.arange(t, dtype=F64) / (1 - beta ** t)


def _weights_without_one_minus_beta(beta, t):
    return beta ** torch.arange(t - 1, -1, -1, dtype=F64) / (1 - beta ** t)


def _weights_shifted_exponent(beta, t):
    return (1 - beta) * beta ** torch.arange(t, 0, -1, dtype=F64) / (1 - beta ** t)


def _weights_roles_swapped(beta, t):
    return beta * (1 - beta) ** torch.arange(t - 1, -1, -1, dtype=F64) / (1 - (1 - beta) ** t)


def check_ewma_weights(learner):
    cases = [Case("β=0.9, t=1", (0.9, 1)), Case("β=0.9, t=5", (0.9, 5)), Case("β=0.5, t=8", (0.5, 8)),
             Case("β=0.99, t=30", (0.99, 30)), Case("β=0.3, t=12", (0.3, 12)), Case("β=0, t=4", (0.0, 4))]
    mistakes = {
        "the weights are in order of age (x_t first); return them for x_1, ..., x_t in that order":
            _weights_by_age,
        "the division by the bias correction 1 − β^t is missing (these weights sum to 1 − β^t)":
            _weights_uncorrected,
        "the factor 1 − β is missing from the weights": _weights_without_one_minus_beta,
        "the exponent is off by one: the newest value x_t has age 0, so its weight has β⁰":
            _weights_shifted_exponent,
        "β and 1 − β are swapped: the old average is multiplied by β, the new value by 1 − β":
            _weights_roles_swapped,
    }
    return run_cases("ex-ewma-weights", learner, ewma_weights, cases, mistakes=mistakes)


# --- ex-ewma-rms: the bias-corrected root mean square of a stream ------------------------------------

def debiased_rms(xs, beta):
    """√(v_t / (1 − β^t)), t = 1, ..., T, with v_t = β v_{t−1} + (1 − β) x_t² from v_0 = 0."""
    v, out = torch.zeros((), dtype=F64), []
    for t, x in enumerate(xs, start=1):
        ewma_sq_(v, x, beta)
        out.append(torch.sqrt(v / bias_correction(beta, t)))
    return torch.stack(out)


def _square_averages(xs, beta, *, correct="inside", square_first=True):
    v, out = torch.zeros((), dtype=F64), []
    for t, x in enumerate(xs, start=1):
        v = beta * v + (1 - beta) * (x * x if square_first else x)
        if correct == "inside":
            out.append(torch.sqrt(v / bias_correction(beta, t)) if square_first else
                       (v / bias_correction(beta, t)).abs())
        elif correct == "outside":
            out.append(torch.sqrt(v) / bias_correction(beta, t))
        else:
            out.append(torch.sqrt(v))
    return torch.stack(out)


def _rms_uncorrected(xs, beta):
    return _square_averages(xs, beta, correct="none")


def _rms_corrected_after_root(xs, beta):
    return _square_averages(xs, beta, correct="outside")


def _rms_of_the_mean(xs, beta):
    return _square_averages(xs, beta, square_first=False)


def _rms_without_root(xs, beta):
    v, out = torch.zeros((), dtype=F64), []
    for t, x in enumerate(xs, start=1):
        v = beta * v + (1 - beta) * x * x
        out.append(v / bias_correction(beta, t))
    return torch.stack(out)


def _rms_shifted_correction(xs, beta):
    v, out = torch.zeros((), dtype=F64), []
    for t, x in enumerate(xs, start=1):
        v = beta * v + (1 - beta) * x * x
        out.append(torch.sqrt(v / bias_correction(beta, t + 1)))
    return torch.stack(out)


def check_debiased_rms(learner):
    g = torch.Generator().manual_seed(3)
    randn = lambda n: torch.randn(n, generator=g, dtype=F64)  # noqa: E731
    cases = [
        Case("constant stream of 2s, β=0.9", (torch.full((6,), 2.0, dtype=F64), 0.9)),
        Case("one value, β=0.999", (torch.tensor([-3.0], dtype=F64), 0.999)),
        Case("20 normal values, β=0.9", (randn(20), 0.9)),
        Case("50 normal values around 1, β=0.99", (1 + randn(50), 0.99)),
        Case("alternating ±1, β=0.5", (torch.tensor([1.0, -1.0] * 5, dtype=F64), 0.5)),
        Case("β=0 (no memory)", (randn(7), 0.0)),
    ]
    mistakes = {
        "the average of the values is squared (or its size taken); average the squares x_t² instead":
            _rms_of_the_mean,
        "the square root is missing": _rms_without_root,
        "the bias correction is missing (divide v_t by 1 − β^t)": _rms_uncorrected,
        "the bias correction divides after the square root; divide v_t by 1 − β^t, then take the root":
            _rms_corrected_after_root,
        "the bias correction uses β^(t+1): the first update has t = 1": _rms_shifted_correction,
    }
    return run_cases("ex-ewma-rms", learner, debiased_rms, cases, mistakes=mistakes)


CHECKS = {"ex-ewma-weights": check_ewma_weights, "ex-ewma-rms": check_debiased_rms}
