"""Checks for the exercises of the chapter *Adam*."""

from __future__ import annotations

import math

import torch

from ._core import Case, run_cases


# --- ex-adam-step: one step of torch's Adam -------------------------------------------------------

def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """m_t = β1 m + (1−β1) g, v_t = β2 v + (1−β2) g², θ_t = θ − η m̂_t / (√v̂_t + ε) with
    m̂_t = m_t / (1 − β1ᵗ), v̂_t = v_t / (1 − β2ᵗ); returns (θ_t, m_t, v_t)."""
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return theta - lr * m_hat / (v_hat.sqrt() + eps), m, v


def _variant(theta, grad, m, v, t, lr, beta1, beta2, eps, *, correct_m=True, correct_v=True, eps_where="after",
             t_used=None):
    t_used = t if t_used is None else t_used
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t_used) if correct_m else m
    v_hat = v / (1 - beta2 ** t_used) if correct_v else v
    if eps_where == "after":
        denom = v_hat.sqrt() + eps
    elif eps_where == "inside":
        denom = (v_hat + eps).sqrt()
    else:  # "uncorrected": the paper's efficient form, ε added to √v before the correction
        denom = (v.sqrt() + eps) / math.sqrt(1 - beta2 ** t_used)
    return theta - lr * m_hat / denom, m, v


def _no_correction(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _variant(theta, grad, m, v, t, lr, beta1, beta2, eps, correct_m=False, correct_v=False)


def _only_m_corrected(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _variant(theta, grad, m, v, t, lr, beta1, beta2, eps, correct_v=False)


def _only_v_corrected(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _variant(theta, grad, m, v, t, lr, beta1, beta2, eps, correct_m=False)


def _eps_inside(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _variant(theta, grad, m, v, t, lr, beta1, beta2, eps, eps_where="inside")


def _eps_before_correction(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _variant(theta, grad, m, v, t, lr, beta1, beta2, eps, eps_where="uncorrected")


def _next_t(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _variant(theta, grad, m, v, t, lr, beta1, beta2, eps, t_used=t + 1)


def _betas_swapped(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _variant(theta, grad, m, v, t, lr, beta2, beta1, eps)


def _weights_swapped(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = (1 - beta1) * m + beta1 * grad
    v = (1 - beta2) * v + beta2 * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return theta - lr * m_hat / (v_hat.sqrt() + eps), m, v


def _raw_gradient(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad ** 2
    v_hat = v_new / (1 - beta2 ** t)
    return theta - lr * grad / (v_hat.sqrt() + eps), m_new, v_new


def check_adam_step(learner):
    g = torch.Generator().manual_seed(11)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    zeros = lambda *shape: torch.zeros(*shape, dtype=torch.float64)  # noqa: E731
    cases = [
        Case("first step (t = 1), defaults", (rand(5), rand(5), zeros(5), zeros(5), 1)),
        Case("t = 3, random state", (rand(2, 3), rand(2, 3), 0.1 * rand(2, 3), 0.01 * rand(2, 3) ** 2, 3),
             {"lr": 0.01}),
        Case("t = 50, betas (0.8, 0.99)", (rand(4), rand(4), 0.3 * rand(4), rand(4) ** 2, 50),
             {"lr": 0.1, "beta1": 0.8, "beta2": 0.99}),
        Case("tiny gradients, eps = 1e-3, t = 2", (rand(4), 1e-4 * rand(4), 1e-4 * rand(4), 1e-8 * rand(4) ** 2, 2),
             {"lr": 0.05, "eps": 1e-3}),
        Case("t = 10000 (corrections ≈ 1)", (rand(3), rand(3), 0.1 * rand(3), rand(3) ** 2, 10000)),
        Case("0-d tensors, t = 1", (torch.tensor(1.0, dtype=torch.float64), torch.tensor(-0.5, dtype=torch.float64),
                                   torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64), 1),
             {"lr": 0.2, "eps": 0.1}),
    ]
    mistakes = {  # the first matching hint is shown: the most specific ones come first
        "no bias correction: divide m by 1 − β1ᵗ and v by 1 − β2ᵗ": _no_correction,
        "only m is bias-corrected: v needs its own correction 1 − β2ᵗ (the early steps are far too large)":
            _only_m_corrected,
        "only v is bias-corrected: m needs its own correction 1 − β1ᵗ": _only_v_corrected,
        "ε is inside the square root; torch adds it after: √v̂ + ε": _eps_inside,
        "ε is added to √v before the bias correction (the paper's 'efficient' form); torch adds it to √v̂":
            _eps_before_correction,
        "the corrections use t + 1: at step t they are 1 − β1ᵗ and 1 − β2ᵗ (t starts at 1)": _next_t,
        "β1 and β2 are swapped: β1 (0.9) averages g, β2 (0.999) averages g²": _betas_swapped,
        "β and 1 − β are swapped: the old average keeps the weight β": _weights_swapped,
        "the step uses the raw gradient instead of the first moment m̂": _raw_gradient,
    }
    return run_cases("ex-adam-step", learner, adam_step, cases, mistakes=mistakes, atol=1e-10, rtol=1e-7)


# --- ex-adam-uncorrected: how much larger an uncorrected step is ---------------------------------

def uncorrected_ratio(beta1, beta2, t):
    """For a constant gradient and ε = 0: the step of Adam *without* bias correction divided by the step
    with it, (1 − β1ᵗ) / √(1 − β2ᵗ)."""
    return (1 - beta1 ** t) / math.sqrt(1 - beta2 ** t)


def check_uncorrected_ratio(learner):
    cases = [Case("default betas, t=1", (0.9, 0.999, 1)), Case("default betas, t=10", (0.9, 0.999, 10)),
             Case("default betas, t=1000", (0.9, 0.999, 1000)), Case("betas (0.5, 0.9), t=3", (0.5, 0.9, 3)),
             Case("betas (0, 0.99), t=1", (0.0, 0.99, 1)), Case("betas (0.9, 0.9), t=5", (0.9, 0.9, 5)),
             Case("default betas, t=100000", (0.9, 0.999, 100000))]
    mistakes = {
        "the square root is missing: the step divides by √v, so the correction of v enters as √(1 − β2ᵗ)":
            lambda b1, b2, t: (1 - b1 ** t) / (1 - b2 ** t),
        "the ratio is upside down: uncorrected / corrected = (1 − β1ᵗ) / √(1 − β2ᵗ)":
            lambda b1, b2, t: math.sqrt(1 - b2 ** t) / (1 - b1 ** t),
        "β1 and β2 are swapped": lambda b1, b2, t: (1 - b2 ** t) / math.sqrt(1 - b1 ** t),
        "that is the ratio when only m is left uncorrected; the question drops both corrections":
            lambda b1, b2, t: 1 - b1 ** t,
        "that is the ratio when only v is left uncorrected; the question drops both corrections":
            lambda b1, b2, t: 1 / math.sqrt(1 - b2 ** t),
    }
    return run_cases("ex-adam-uncorrected", learner, uncorrected_ratio, cases, mistakes=mistakes)


CHECKS = {"ex-adam-step": check_adam_step, "ex-adam-uncorrected": check_uncorrected_ratio}
