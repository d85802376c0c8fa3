"""Checks for the exercises of the chapter *Adam's relatives*."""

from __future__ import annotations

import math

import torch

from ._core import Case, run_cases


# --- ex-relatives-adamax-step: one step of torch's Adamax -----------------------------------------

def adamax_step(theta, grad, m, u, t, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """m_t = β1 m + (1−β1) g, u_t = max(β2 u, |g| + ε), θ_t = θ − η m_t / ((1 − β1ᵗ) u_t);
    returns (θ_t, m_t, u_t)."""
    m = beta1 * m + (1 - beta1) * grad
    u = torch.maximum(beta2 * u, grad.abs() + eps)
    return theta - lr * m / ((1 - beta1 ** t) * u), m, u


def _adamax_variant(theta, grad, m, u, t, lr, beta1, beta2, eps, *, eps_where="inside", correct_m=True,
                    correct_u=False, norm="max", abs_grad=True, weights_swapped=False):
    m = (1 - beta1) * m + beta1 * grad if weights_swapped else beta1 * m + (1 - beta1) * grad
    size = grad.abs() if abs_grad else grad
    if norm == "average":
        u = beta2 * u + (1 - beta2) * size
    elif eps_where == "inside":
        u = torch.maximum(beta2 * u, size + eps)
    else:
        u = torch.maximum(beta2 * u, size)
    denom = u / (1 - beta2 ** t) if correct_u else u
    if eps_where == "outside":
        denom = denom + eps
    m_hat = m / (1 - beta1 ** t) if correct_m else m
    return theta - lr * m_hat / denom, m, u


def _variant(**options):
    def wrong(theta, grad, m, u, t, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        return _adamax_variant(theta, grad, m, u, t, lr, beta1, beta2, eps, **options)
    return wrong


_eps_outside = _variant(eps_where="outside")
_u_corrected = _variant(correct_u=True)
_m_uncorrected = _variant(correct_m=False)
_signed_gradient = _variant(abs_grad=False)
_u_averaged = _variant(norm="average")
_weights_swapped = _variant(weights_swapped=True)


def check_adamax_step(learner):
    g = torch.Generator().manual_seed(5)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    zeros = lambda *shape: torch.zeros(*shape, dtype=torch.float64)  # noqa: E731
    cases = [
        Case("first step (t = 1), defaults", (rand(5), rand(5), zeros(5), zeros(5), 1)),
        Case("t = 4, random state, lr 0.01", (rand(2, 3), rand(2, 3), 0.1 * rand(2, 3), rand(2, 3).abs(), 4),
             {"lr": 0.01}),
        Case("t = 30, betas (0.8, 0.9), a large old u", (rand(4), 0.1 * rand(4), 0.1 * rand(4),
                                                           5 + rand(4).abs(), 30),
             {"lr": 0.1, "beta1": 0.8, "beta2": 0.9}),
        Case("t = 2, eps = 0.5 (large next to |g|)", (rand(4), 0.1 * rand(4), 0.1 * rand(4),
                                                       0.6 + 0.1 * rand(4).abs(), 2),
             {"lr": 0.05, "eps": 0.5}),
        Case("t = 3, negative gradients", (rand(3), -rand(3).abs() - 1, zeros(3), 0.5 * torch.ones(3,
                                           dtype=torch.float64), 3), {"lr": 0.2}),
        Case("0-d tensors, t = 1, eps 0.1", (torch.tensor(1.0, dtype=torch.float64),
                                             torch.tensor(-0.5, dtype=torch.float64),
                                             torch.tensor(0.0, dtype=torch.float64),
                                             torch.tensor(0.0, dtype=torch.float64), 1), {"lr": 0.2, "eps": 0.1}),
    ]
    mistakes = {  # the first matching hint is shown: the most specific ones come first
        "u is an average of |g|; Adamax takes the maximum max(β2 u, |g| + ε)": _u_averaged,
        "u is bias-corrected: a maximum is not biased towards zero, only m is corrected": _u_corrected,
        "m is not bias-corrected: the step divides by 1 − β1ᵗ": _m_uncorrected,
        "ε is added after the maximum; torch adds it to |g| inside it: max(β2 u, |g| + ε)": _eps_outside,
        "the maximum takes the signed gradient; it needs its size |g|": _signed_gradient,
        "β and 1 − β are swapped: the old average keeps the weight β1": _weights_swapped,
    }
    return run_cases("ex-relatives-adamax-step", learner, adamax_step, cases, mistakes=mistakes,
                     atol=1e-10, rtol=1e-7)


# --- ex-relatives-nadam-warmup: how long NAdam's momentum takes to warm up -----------------------

def steps_to_reach(fraction, psi=0.004):
    """The first step t at which NAdam's momentum μ_t = β1(1 − ½·0.96^(tψ)) is at least
    ``fraction`` · β1 (for 0.5 < fraction < 1 and ψ > 0): the smallest integer
    t ≥ ln(2(1 − fraction)) / (ψ ln 0.96), and at least 1."""
    bound = math.log(2 * (1 - fraction)) / (psi * math.log(0.96))
    return max(1, math.ceil(bound))


def check_steps_to_reach(learner):
    cases = [Case("fraction 0.9, default psi", (0.9,)), Case("fraction 0.99, default psi", (0.99,)),
             Case("fraction 0.999, default psi", (0.999,)), Case("fraction 0.75, psi 0.004", (0.75, 0.004)),
             Case("fraction 0.6, psi 0.04", (0.6, 0.04)), Case("fraction 0.95, psi 0.4", (0.95, 0.4)),
             Case("fraction 0.51, psi 0.5 (reached at once)", (0.51, 0.5))]
    mistakes = {
        "the ½ is missing: 1 − μ_t/β1 = ½·0.96^(tψ), so 0.96^(tψ) ≤ 2(1 − fraction)":
            lambda f, psi=0.004: max(1, math.ceil(math.log(1 - f) / (psi * math.log(0.96)))),
        "ψ is missing: the exponent is t·ψ, not t":
            lambda f, psi=0.004: max(1, math.ceil(math.log(2 * (1 - f)) / math.log(0.96))),
        "rounded down: the answer is the first whole step at or past the bound (round up)":
            lambda f, psi=0.004: max(1, math.floor(math.log(2 * (1 - f)) / (psi * math.log(0.96)))),
        "not a whole step: round the bound up to an integer":
            lambda f, psi=0.004: math.log(2 * (1 - f)) / (psi * math.log(0.96)),
    }
    return run_cases("ex-relatives-nadam-warmup", learner, steps_to_reach, cases, mistakes=mistakes,
                     atol=0, rtol=0)


CHECKS = {"ex-relatives-adamax-step": check_adamax_step, "ex-relatives-nadam-warmup": check_steps_to_reach}
