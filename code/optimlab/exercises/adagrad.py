"""Checks for the exercises of the chapter *AdaGrad*."""

from __future__ import annotations

import torch

from ._core import Case, run_cases

F64 = torch.float64


# --- ex-adagrad-step: one AdaGrad step in torch's form -------------------------------------------------

def adagrad_step(theta, grad, state_sum, lr, eps=1e-10):
    """G ← G + g², θ ← θ − lr·g / (√G + eps); returns (θ, G)."""
    new_sum = state_sum + grad * grad
    return theta - lr * grad / (new_sum.sqrt() + eps), new_sum


def _step_eps_inside(theta, grad, state_sum, lr, eps=1e-10):
    new_sum = state_sum + grad * grad
    return theta - lr * grad / (new_sum + eps).sqrt(), new_sum


def _step_old_sum(theta, grad, state_sum, lr, eps=1e-10):
    return theta - lr * grad / (state_sum.sqrt() + eps), state_sum + grad * grad


def _step_no_sqrt(theta, grad, state_sum, lr, eps=1e-10):
    new_sum = state_sum + grad * grad
    return theta - lr * grad / (new_sum + eps), new_sum


def _step_abs_sum(theta, grad, state_sum, lr, eps=1e-10):
    new_sum = state_sum + grad.abs()
    return theta - lr * grad / (new_sum.sqrt() + eps), new_sum


def _step_sum_not_returned(theta, grad, state_sum, lr, eps=1e-10):
    new_sum = state_sum + grad * grad
    return theta - lr * grad / (new_sum.sqrt() + eps), state_sum


def _step_ascent(theta, grad, state_sum, lr, eps=1e-10):
    new_sum = state_sum + grad * grad
    return theta + lr * grad / (new_sum.sqrt() + eps), new_sum


def _step_sqrt_of_sum_of_abs(theta, grad, state_sum, lr, eps=1e-10):
    new_sum = state_sum + grad * grad
    return theta - lr * grad / (state_sum.sqrt() + grad.abs() + eps), new_sum


def check_adagrad_step(learner):
    g = torch.Generator().manual_seed(7)
    randn = lambda *shape: torch.randn(*shape, generator=g, dtype=F64)  # noqa: E731
    t = lambda *v: torch.tensor(v, dtype=F64)  # noqa: E731
    cases = [
        Case("first step (G = 0), gradients of different sizes", (t(-4.0, 3.0), t(-0.8, 12.0), t(0.0, 0.0), 0.4)),
        Case("a later step", (t(1.0, -2.0, 0.5), t(0.3, -0.1, 2.0), t(4.0, 0.25, 1.0), 0.1)),
        Case("random 3×4 tensors", (randn(3, 4), randn(3, 4), randn(3, 4).abs() * 3, 0.01)),
        Case("small gradients, eps=1e-6", (t(0.5, 0.5), t(1e-3, -1e-4), t(1e-6, 0.0), 1.0), {"eps": 1e-6}),
        Case("a zero gradient with G = 0", (t(2.0, 1.0), t(0.0, 1.0), t(0.0, 0.0), 0.5)),
        Case("large accumulated G", (t(0.0, 0.0), t(1.0, -1.0), t(99.0, 399.0), 1.0)),
    ]
    mistakes = {  # the first matching hint is shown: the most specific ones come first
        "the returned accumulator is the old one: return G + g²": _step_sum_not_returned,
        "the step uses the old accumulator; add g² to G first, then divide by √G": _step_old_sum,
        "eps is inside the square root (√(G + eps)); torch adds it outside: √G + eps": _step_eps_inside,
        "the square root is missing: divide by √G + eps, not by G + eps": _step_no_sqrt,
        "the accumulator sums |g|; it sums the squares g²": _step_abs_sum,
        "the step goes uphill: subtract lr·g / (√G + eps)": _step_ascent,
        "the denominator is √G_old + |g|; it is the root of the new sum, √(G_old + g²)": _step_sqrt_of_sum_of_abs,
    }
    return run_cases("ex-adagrad-step", learner, adagrad_step, cases, mistakes=mistakes)


# --- ex-adagrad-effective-lr: per-coordinate effective learning rates after T steps ------------------

def effective_lrs(grads, lr, eps=1e-10, initial=0.0):
    """lr / (√(initial + Σ_t g_t²) + eps) per coordinate."""
    total = initial + (grads * grads).sum(dim=0)
    return lr / (total.sqrt() + eps)


def _eff_sum_over_coordinates(grads, lr, eps=1e-10, initial=0.0):
    total = initial + (grads * grads).sum(dim=1)
    return lr / (total.sqrt() + eps)


def _eff_mean(grads, lr, eps=1e-10, initial=0.0):
    total = initial + (grads * grads).mean(dim=0)
    return lr / (total.sqrt() + eps)


def _eff_square_of_sum(grads, lr, eps=1e-10, initial=0.0):
    total = initial + grads.sum(dim=0) ** 2
    return lr / (total.sqrt() + eps)


def _eff_no_sqrt(grads, lr, eps=1e-10, initial=0.0):
    total = initial + (grads * grads).sum(dim=0)
    return lr / (total + eps)


def _eff_without_initial(grads, lr, eps=1e-10, initial=0.0):
    return lr / ((grads * grads).sum(dim=0).sqrt() + eps)


def _eff_eps_inside(grads, lr, eps=1e-10, initial=0.0):
    return lr / (initial + (grads * grads).sum(dim=0) + eps).sqrt()


def check_effective_lrs(learner):
    g = torch.Generator().manual_seed(11)
    every_tenth = torch.zeros(100, 2, dtype=F64)
    every_tenth[:, 0] = 1.0
    every_tenth[::10, 1] = 1.0
    signs = torch.tensor([[1.0, -2.0, 0.5], [-1.0, 2.0, 0.5], [1.0, -2.0, -0.5], [-1.0, 2.0, 0.0]], dtype=F64)
    cases = [
        Case("coordinate 1 updated every tenth step", (every_tenth, 0.1)),
        Case("gradients that change sign", (signs, 1.0)),
        Case("random 20×5 history", (torch.randn(20, 5, generator=g, dtype=F64), 0.01)),
        Case("one step", (torch.tensor([[3.0, -4.0]], dtype=F64), 0.5)),
        Case("initial accumulator 0.1", (torch.randn(6, 3, generator=g, dtype=F64), 0.1), {"initial": 0.1}),
        Case("eps = 1e-3 and a silent coordinate", (torch.tensor([[1e-2, 0.0], [2e-2, 0.0]], dtype=F64), 1.0),
             {"eps": 1e-3}),
    ]
    mistakes = {
        "the sum runs over the coordinates (dim 1); sum over time, dim 0": _eff_sum_over_coordinates,
        "the squares are averaged over time; AdaGrad sums them (that is what makes its rates decay)": _eff_mean,
        "the gradients are summed before squaring (signs cancel); sum the squares g_t²": _eff_square_of_sum,
        "the square root is missing: lr / (√G + eps)": _eff_no_sqrt,
        "the initial accumulator value G_0 is not added": _eff_without_initial,
        "eps is inside the square root; torch's form is lr / (√G + eps)": _eff_eps_inside,
    }
    return run_cases("ex-adagrad-effective-lr", learner, effective_lrs, cases, mistakes=mistakes)


CHECKS = {"ex-adagrad-step": check_adagrad_step, "ex-adagrad-effective-lr": check_effective_lrs}
