"""Checks for the exercises of the chapter *RMSProp*."""

from __future__ import annotations

import math

import torch

from ._core import Case, run_cases


# --- ex-rmsprop-step: one step of torch's RMSprop ------------------------------------------------

def rmsprop_step(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    """v_t = αv_{t−1} + (1−α)g_t², θ_t = θ_{t−1} − ηg_t / (√v_t + ε); returns (θ_t, v_t)."""
    v = alpha * square_avg + (1 - alpha) * grad ** 2
    return theta - lr * grad / (v.sqrt() + eps), v


def _eps_inside(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad ** 2
    return theta - lr * grad / (v + eps).sqrt(), v


def _old_average(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad ** 2
    return theta - lr * grad / (square_avg.sqrt() + eps), v


def _weights_swapped(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    v = (1 - alpha) * square_avg + alpha * grad ** 2
    return theta - lr * grad / (v.sqrt() + eps), v


def _no_one_minus_alpha(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + grad ** 2
    return theta - lr * grad / (v.sqrt() + eps), v


def _no_sqrt(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad ** 2
    return theta - lr * grad / (v + eps), v


def _uphill(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad ** 2
    return theta + lr * grad / (v.sqrt() + eps), v


def _adagrad_sum(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
    v = square_avg + grad ** 2
    return theta - lr * grad / (v.sqrt() + eps), v


def check_rmsprop_step(learner):
    g = torch.Generator().manual_seed(2024)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    cases = [
        Case("first step (v = 0), defaults", (rand(5), rand(5), torch.zeros(5, dtype=torch.float64))),
        Case("random state, lr=0.1, alpha=0.9", (rand(3, 4), rand(3, 4), rand(3, 4) ** 2), {"lr": 0.1, "alpha": 0.9}),
        Case("small gradients, eps=1e-3", (rand(6), 1e-3 * rand(6), 1e-6 * rand(6) ** 2),
             {"lr": 0.05, "alpha": 0.95, "eps": 1e-3}),
        Case("a zero gradient: full step of nothing, v decays", (rand(4), torch.zeros(4, dtype=torch.float64),
                                                               rand(4) ** 2), {"alpha": 0.5}),
        Case("alpha=0: divide by |g| (sign descent)", (rand(5), rand(5), rand(5) ** 2), {"lr": 0.2, "alpha": 0.0}),
        Case("0-d tensors", (torch.tensor(1.5, dtype=torch.float64), torch.tensor(-2.0, dtype=torch.float64),
                             torch.tensor(0.25, dtype=torch.float64)), {"lr": 0.3, "alpha": 0.8, "eps": 0.1}),
    ]
    mistakes = {
        "ε is inside the square root, √(v + ε); torch adds it outside, √v + ε": _eps_inside,
        "the step divides by the previous average v_{t−1}: update the average first, then divide by √v_t":
            _old_average,
        "α and 1 − α are swapped: the old average keeps the weight α, the new g² gets 1 − α": _weights_swapped,
        "the new g² is added without the factor (1 − α)": _no_one_minus_alpha,
        "the square root is missing: divide by √v_t + ε, not by v_t + ε": _no_sqrt,
        "the step goes uphill: subtract η g / (√v + ε)": _uphill,
        "this is Adagrad's running sum (v + g²), not RMSprop's leaky average": _adagrad_sum,
    }
    return run_cases("ex-rmsprop-step", learner, rmsprop_step, cases, mistakes=mistakes, atol=1e-10, rtol=1e-7)


# --- ex-rmsprop-warmup: how much larger than η the first steps are -------------------------------

def step_ratio(alpha, t):
    """For a constant gradient, v_0 = 0 and ε = 0, RMSprop's t-th step is η / √(1 − αᵗ) in size."""
    return 1.0 / math.sqrt(1.0 - alpha ** t)


def check_step_ratio(learner):
    cases = [Case("alpha=0.99, t=1", (0.99, 1)), Case("alpha=0.99, t=10", (0.99, 10)),
             Case("alpha=0.9, t=1", (0.9, 1)), Case("alpha=0.9, t=5", (0.9, 5)),
             Case("alpha=0.999, t=100", (0.999, 100)), Case("alpha=0.5, t=3", (0.5, 3)),
             Case("alpha=0.9, t=300 (long after the start)", (0.9, 300)), Case("alpha=0, t=1", (0.0, 1))]
    mistakes = {
        "the square root is missing: v_t = (1 − αᵗ) g², and the step divides by √v_t": lambda a, t: 1 / (1 - a ** t),
        "that is the first step's ratio at every t: the average fills up, so use αᵗ": lambda a, t: 1 / math.sqrt(1 - a),
        "the ratio is upside down: the step is η g / √v_t = η / √(1 − αᵗ)": lambda a, t: math.sqrt(1 - a ** t),
        "off by one: after t updates from v_0 = 0 the weights sum to 1 − αᵗ": lambda a, t: 1 / math.sqrt(1 - a ** (t + 1)),
    }
    return run_cases("ex-rmsprop-warmup", learner, step_ratio, cases, mistakes=mistakes)


CHECKS = {"ex-rmsprop-step": check_rmsprop_step, "ex-rmsprop-warmup": check_step_ratio}
