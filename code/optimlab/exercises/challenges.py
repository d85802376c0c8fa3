"""Checks for the exercises of the chapter *Optimization and deep learning: the challenges*."""

from __future__ import annotations

import math

import torch

from ..landscape import classify_hessian, kind_from_eigenvalues
from ._core import Case, run_cases

# --- ex-challenges-classify: minimum, maximum, saddle or degenerate from the Hessian ---------------


def classify(hessian, tol=1e-8):
    """The second-derivative test at a critical point, with eigenvalues |λ| <= tol·max(1, max|λ|)
    counted as zero (the same test as ``optimlab.landscape.classify_hessian``)."""
    return classify_hessian(hessian, tol)


def _eigenvalues(hessian):
    return torch.linalg.eigvalsh(torch.as_tensor(hessian, dtype=torch.float64))




def _diagonal_signs(hessian, tol=1e-8):
    d = torch.diagonal(torch.as_tensor(hessian, dtype=torch.float64))
    return kind_from_eigenvalues(d, tol * max(1.0, float(d.abs().max())))


def _determinant_test(hessian, tol=1e-8):
    det = float(torch.linalg.det(torch.as_tensor(hessian, dtype=torch.float64)))
    if abs(det) <= tol:
        return "degenerate"
    return "minimum" if det > 0 else "saddle"


def _no_tolerance(hessian, tol=1e-8):
    return kind_from_eigenvalues(_eigenvalues(hessian), 0.0)


def _ignores_tol_argument(hessian, tol=1e-8):
    return classify_hessian(hessian, 1e-8)


def _zero_first(hessian, tol=1e-8):
    values = _eigenvalues(hessian)
    zero = tol * max(1.0, float(values.abs().max()))
    if bool((values.abs() <= zero).any()):
        return "degenerate"
    return kind_from_eigenvalues(values, zero)


def _no_maximum(hessian, tol=1e-8):
    kind = classify_hessian(hessian, tol)
    return "saddle" if kind == "maximum" else kind


def check_classify(learner):
    t = lambda rows: torch.tensor(rows, dtype=torch.float64)  # noqa: E731
    diag = lambda *v: torch.diag(torch.tensor(v, dtype=torch.float64))  # noqa: E731
    g = torch.Generator().manual_seed(0)
    A = torch.randn(4, 4, generator=g, dtype=torch.float64)
    cases = [
        Case("diag(1, 2)", (diag(1.0, 2.0),)),
        Case("diag(-1, -3)", (diag(-1.0, -3.0),)),
        Case("[[1, 2], [2, 1]] (positive diagonal, eigenvalues 3 and -1)", (t([[1.0, 2.0], [2.0, 1.0]]),)),
        Case("[[-2, 1], [1, -2]]", (t([[-2.0, 1.0], [1.0, -2.0]]),)),
        Case("diag(2, -1)", (diag(2.0, -1.0),)),
        Case("diag(1, 0)", (diag(1.0, 0.0),)),
        Case("diag(1, 1e-12) (a rounding-size eigenvalue)", (diag(1.0, 1e-12),)),
        Case("diag(1, -1, 0) (both signs and a zero)", (diag(1.0, -1.0, 0.0),)),
        Case("[[0]] (the second derivative of x³ at 0)", (t([[0.0]]),)),
        Case("[[6.5]]", (t([[6.5]]),)),
        Case("zeros(2, 2)", (torch.zeros(2, 2, dtype=torch.float64),)),
        Case("diag(1, 1e-3) with tol=1e-2", (diag(1.0, 1e-3),), {"tol": 1e-2}),
        Case("random 4×4 AᵀA + 0.1 I", (A.T @ A + 0.1 * torch.eye(4, dtype=torch.float64),)),
        Case("random 4×4 symmetric", ((A + A.T) / 2,)),
        Case("−(AᵀA + 0.1 I)", (-(A.T @ A + 0.1 * torch.eye(4, dtype=torch.float64)),)),
    ]
    mistakes = {  # the first matching hint is shown: the most specific ones come first
        "the signs of the diagonal entries are not the signs of the eigenvalues: use "
        "torch.linalg.eigvalsh": _diagonal_signs,
        "a zero eigenvalue was tested first: with a positive and a negative eigenvalue the point is a "
        "saddle whatever the others are": _zero_first,
        "det H > 0 does not make a minimum (two negative eigenvalues also give det > 0), and det H < 0 "
        "only means a saddle in 2-D: use the eigenvalues": _determinant_test,
        "all eigenvalues negative is a maximum, not a saddle": _no_maximum,
        "the `tol` argument is ignored: use the tol you are given": _ignores_tol_argument,
        "eigenvalues are compared with exactly 0: computed eigenvalues are never exactly zero, so treat "
        "|λ| <= tol·max(1, max|λ|) as zero": _no_tolerance,
    }
    return run_cases("ex-challenges-classify", learner, classify, cases, mistakes=mistakes)


# --- ex-challenges-tanh-steps: gradient-descent steps to get off the tanh plateau -------------------

def steps_to_cross(x0, lr, max_steps=100_000):
    """Steps of x ← x − lr·(1 − tanh²x) from x0 > 0 until x <= 0 (max_steps if that never happens)."""
    x, steps = x0, 0
    while x > 0 and steps < max_steps:
        x -= lr * (1 - math.tanh(x) ** 2)
        steps += 1
    return steps


def _with_gradient(gradient, offset=0, sign=1):
    def wrong(x0, lr, max_steps=100_000):
        x, steps = x0, 0
        while x > 0 and steps < max_steps:
            x -= sign * lr * gradient(x)
            steps += 1
        return steps + offset
    return wrong


_tanh_as_gradient = _with_gradient(math.tanh)
_sech_not_squared = _with_gradient(lambda x: 1 / math.cosh(x))
_one_minus_tanh = _with_gradient(lambda x: 1 - math.tanh(x))
_counts_the_start = _with_gradient(lambda x: 1 - math.tanh(x) ** 2, offset=1)
_one_short = _with_gradient(lambda x: 1 - math.tanh(x) ** 2, offset=-1)
_ascent = _with_gradient(lambda x: 1 - math.tanh(x) ** 2, sign=-1)


def check_tanh_steps(learner):
    cases = [Case("x0=2, lr=1", (2.0, 1.0)), Case("x0=3, lr=1", (3.0, 1.0)), Case("x0=4, lr=1", (4.0, 1.0)),
             Case("x0=1, lr=1", (1.0, 1.0)), Case("x0=2, lr=0.5", (2.0, 0.5)), Case("x0=0.5, lr=0.1", (0.5, 0.1)),
             Case("x0=3, lr=2", (3.0, 2.0)), Case("x0=0.001, lr=1 (one step crosses)", (1e-3, 1.0)),
             Case("x0=4, lr=0.1, max_steps=500 (stops early)", (4.0, 0.1), {"max_steps": 500})]
    mistakes = {
        "the gradient of tanh is 1 − tanh²(x), not tanh(x)": _tanh_as_gradient,
        "the gradient of tanh is 1/cosh²(x) = 1 − tanh²(x): the square is missing": _sech_not_squared,
        "the gradient of tanh is 1 − tanh²(x): the square of tanh is missing": _one_minus_tanh,
        "one step too many: count the steps taken, not the iterates visited (x0 is step 0)": _counts_the_start,
        "one step too few: the step that makes x <= 0 counts": _one_short,
        "the step goes uphill: subtract lr·f'(x)": _ascent,
    }
    return run_cases("ex-challenges-tanh-steps", learner, steps_to_cross, cases, mistakes=mistakes)


CHECKS = {"ex-challenges-classify": check_classify, "ex-challenges-tanh-steps": check_tanh_steps}
