"""Checks for the exercises of the chapter *Adadelta*."""

from __future__ import annotations

import torch

from ._core import Case, run_cases


# --- ex-adadelta-step: one step of torch's Adadelta -----------------------------------------------

def adadelta_step(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    """v_t = ρv_{t−1} + (1−ρ)g_t², Δ_t = √(u_{t−1}+ε)/√(v_t+ε)·g_t, u_t = ρu_{t−1} + (1−ρ)Δ_t²,
    θ_t = θ_{t−1} − ηΔ_t; returns (θ_t, v_t, u_t)."""
    v = rho * square_avg + (1 - rho) * grad ** 2
    delta = (acc_delta + eps).sqrt() / (v + eps).sqrt() * grad
    u = rho * acc_delta + (1 - rho) * delta ** 2
    return theta - lr * delta, v, u


def _eps_outside(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * square_avg + (1 - rho) * grad ** 2
    delta = (acc_delta.sqrt() + eps) / (v.sqrt() + eps) * grad
    u = rho * acc_delta + (1 - rho) * delta ** 2
    return theta - lr * delta, v, u


def _old_square_avg(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * square_avg + (1 - rho) * grad ** 2
    delta = (acc_delta + eps).sqrt() / (square_avg + eps).sqrt() * grad
    u = rho * acc_delta + (1 - rho) * delta ** 2
    return theta - lr * delta, v, u


def _ratio_upside_down(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * square_avg + (1 - rho) * grad ** 2
    delta = (v + eps).sqrt() / (acc_delta + eps).sqrt() * grad
    u = rho * acc_delta + (1 - rho) * delta ** 2
    return theta - lr * delta, v, u


def _lr_in_accumulator(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * square_avg + (1 - rho) * grad ** 2
    delta = (acc_delta + eps).sqrt() / (v + eps).sqrt() * grad
    u = rho * acc_delta + (1 - rho) * (lr * delta) ** 2
    return theta - lr * delta, v, u


def _gradient_in_accumulator(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * square_avg + (1 - rho) * grad ** 2
    delta = (acc_delta + eps).sqrt() / (v + eps).sqrt() * grad
    u = rho * acc_delta + (1 - rho) * grad ** 2
    return theta - lr * delta, v, u


def _new_acc_delta(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    v = rho * square_avg + (1 - rho) * grad ** 2
    first = (acc_delta + eps).sqrt() / (v + eps).sqrt() * grad
    u = rho * acc_delta + (1 - rho) * first ** 2
    delta = (u + eps).sqrt() / (v + eps).sqrt() * grad
    return theta - lr * delta, v, u


def _lr_ignored(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    return adadelta_step(theta, grad, square_avg, acc_delta, 1.0, rho, eps)


def _uphill(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    new_theta, v, u = adadelta_step(theta, grad, square_avg, acc_delta, lr, rho, eps)
    return 2 * theta - new_theta, v, u


def check_adadelta_step(learner):
    g = torch.Generator().manual_seed(7)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    zeros = lambda n: torch.zeros(n, dtype=torch.float64)  # noqa: E731
    cases = [
        Case("first step (both averages 0), defaults", (rand(5), rand(5), zeros(5), zeros(5))),
        Case("random state, defaults", (rand(3, 2), rand(3, 2), rand(3, 2) ** 2, 1e-4 * rand(3, 2) ** 2)),
        Case("lr=0.5, rho=0.95", (rand(4), rand(4), rand(4) ** 2, 1e-3 * rand(4) ** 2), {"lr": 0.5, "rho": 0.95}),
        Case("large eps=0.01", (rand(4), 0.1 * rand(4), 0.01 * rand(4) ** 2, 0.01 * rand(4) ** 2),
             {"eps": 1e-2, "lr": 2.0}),
        Case("a zero gradient", (rand(3), zeros(3), rand(3) ** 2, rand(3) ** 2), {"rho": 0.5}),
        Case("0-d tensors", (torch.tensor(0.5, dtype=torch.float64), torch.tensor(3.0, dtype=torch.float64),
                             torch.tensor(4.0, dtype=torch.float64), torch.tensor(0.09, dtype=torch.float64)),
             {"lr": 0.3, "rho": 0.8, "eps": 0.01}),
    ]
    mistakes = {  # the first matching hint is shown
        "ε is added outside the square roots; Adadelta adds it inside both: √(u + ε) / √(v + ε)": _eps_outside,
        "the denominator uses the previous average of g²: update v first, then divide by √(v_t + ε)":
            _old_square_avg,
        "the ratio is upside down: the step is √(u_{t−1} + ε) / √(v_t + ε) · g (units of θ on top)":
            _ratio_upside_down,
        "acc_delta averages the update scaled by lr; torch averages Δ before the learning rate multiplies it":
            _lr_in_accumulator,
        "acc_delta averages g²; it should average the squared updates Δ²": _gradient_in_accumulator,
        "the numerator uses the already-updated acc_delta; use u_{t−1}, then update it with Δ_t":
            _new_acc_delta,
        "lr is ignored: torch multiplies the step by lr (default 1.0)": _lr_ignored,
        "the step goes uphill: subtract lr·Δ": _uphill,
    }
    return run_cases("ex-adadelta-step", learner, adadelta_step, cases, mistakes=mistakes, atol=1e-10, rtol=1e-7)


CHECKS = {"ex-adadelta-step": check_adadelta_step}
