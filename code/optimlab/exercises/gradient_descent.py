"""Checks for the exercises of the chapter *Gradient descent*."""

from __future__ import annotations

import torch

from ..objectives import cosh, quadratic_2d, rosenbrock, rotated_quadratic, saddle, x_cos
from ._core import Case, run_cases


# --- ex-gd-best-lr: the learning rate that makes gradient descent fastest on a·x1² + b·x2² ---------

def best_lr(a, b):
    """Gradient descent on a·x1² + b·x2² multiplies x_i by 1 − 2η·a_i; the worst factor is smallest
    when the two extremes balance: 1 − 2ηa = −(1 − 2ηb), so η = 1 / (a + b)."""
    return 1.0 / (a + b)


def check_best_lr(learner):
    cases = [Case("a=1, b=2", (1.0, 2.0)), Case("a=0.1, b=2", (0.1, 2.0)), Case("a=b=1", (1.0, 1.0)),
             Case("a=5, b=0.5", (5.0, 0.5)), Case("a=1e-3, b=1e3", (1e-3, 1e3))]
    mistakes = {
        "the curvature of a·x² is 2a, not a (this answer is twice too large)": lambda a, b: 2.0 / (a + b),
        "that is the largest stable learning rate divided by two (1 / (2·max curvature)); balance the "
        "fastest and the slowest coordinate instead": lambda a, b: 1.0 / (2 * max(a, b)),
        "that is the largest stable learning rate (1 / max(a, b)): there the steepest coordinate "
        "oscillates forever": lambda a, b: 1.0 / max(a, b),
        "that learning rate solves the slowest coordinate in one step but diverges in the other":
            lambda a, b: 1.0 / (2 * min(a, b)),
    }
    return run_cases("ex-gd-best-lr", learner, best_lr, cases, mistakes=mistakes)


# --- ex-gd-safe-newton: Newton's step where it goes downhill, a gradient step elsewhere -------------

def safe_newton_step(objective, x, lr=0.1):
    """x − H⁻¹∇f(x) when the Hessian H is positive definite, otherwise x − lr·∇f(x)."""
    g, H = objective.grad(x), objective.hessian(x)
    if bool((torch.linalg.eigvalsh(H) > 0).all()):
        return x - torch.linalg.solve(H, g)
    return x - lr * g


def _always_newton(objective, x, lr=0.1):
    return x - torch.linalg.solve(objective.hessian(x), objective.grad(x))


def _always_gradient(objective, x, lr=0.1):
    return x - lr * objective.grad(x)


def _hessian_times_gradient(objective, x, lr=0.1):
    g, H = objective.grad(x), objective.hessian(x)
    return x - H @ g if bool((torch.linalg.eigvalsh(H) > 0).all()) else x - lr * g


def _newton_uphill(objective, x, lr=0.1):
    g, H = objective.grad(x), objective.hessian(x)
    return x + torch.linalg.solve(H, g) if bool((torch.linalg.eigvalsh(H) > 0).all()) else x - lr * g


def _diagonal_only(objective, x, lr=0.1):
    g, H = objective.grad(x), objective.hessian(x)
    return x - g / torch.diagonal(H) if bool((torch.diagonal(H) > 0).all()) else x - lr * g


def _determinant_test(objective, x, lr=0.1):
    g, H = objective.grad(x), objective.hessian(x)
    return x - torch.linalg.solve(H, g) if bool(torch.linalg.det(H) > 0) else x - lr * g


def check_safe_newton(learner):
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    cases = [
        Case("cosh(x) at x=1.5 (convex)", (cosh(), t(1.5))),
        Case("x cos(0.5x) at x=2 (f'' < 0)", (x_cos(0.5), t(2.0)), {"lr": 0.5}),
        Case("x cos(0.5x) at x=6 (f'' > 0)", (x_cos(0.5), t(6.0))),
        Case("x1² + 2x2² at (-4, 3)", (quadratic_2d(1.0, 2.0), t(-4.0, 3.0))),
        Case("rotated quadratic at (-3, 2.5)", (rotated_quadratic(), t(-3.0, 2.5))),
        Case("Rosenbrock at (-1.5, 2)", (rosenbrock(), t(-1.5, 2.0))),
        Case("Rosenbrock at (0, 1) (indefinite Hessian)", (rosenbrock(), t(0.0, 1.0)), {"lr": 1e-3}),
        Case("saddle x1² − x2² at (1, 1)", (saddle(), t(1.0, 1.0))),
        Case("−(x1² + 2x2²) at (1, 1): both eigenvalues < 0, det H > 0",
             (_negated(quadratic_2d(1.0, 2.0)), t(1.0, 1.0))),
    ]
    mistakes = {  # the first matching hint is shown: the most specific ones come first
        "det H > 0 does not make H positive definite (two negative eigenvalues also give det > 0): "
        "test the eigenvalues": _determinant_test,
        "the Newton step is taken even where the Hessian is not positive definite (there it heads for "
        "a maximum or a saddle)": _always_newton,
        "this is a plain gradient step everywhere: use H⁻¹∇f where H is positive definite": _always_gradient,
        "the gradient is multiplied by H; Newton's step solves H·d = ∇f (multiply by H⁻¹)": _hessian_times_gradient,
        "the Newton step is added; it should be subtracted (x − H⁻¹∇f)": _newton_uphill,
        "only the diagonal of H is used: solve with the whole Hessian": _diagonal_only,
    }
    return run_cases("ex-gd-safe-newton", learner, safe_newton_step, cases, mistakes=mistakes)


def _negated(objective):
    from dataclasses import replace
    return replace(objective, name="negated " + objective.name, f=lambda x: -objective.f(x))


CHECKS = {"ex-gd-best-lr": check_best_lr, "ex-gd-safe-newton": check_safe_newton}
