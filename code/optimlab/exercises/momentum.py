"""Checks for the exercises of the chapter *Momentum and Nesterov*."""

from __future__ import annotations

import cmath
import math

from ._core import Case, run_cases


# --- ex-momentum-rate: the spectral radius of the heavy ball on one curvature -------------------------

def momentum_rate(lr, beta, lam):
    """The largest |z| among the roots of z² − (1 + β − ηλ) z + β."""
    trace = 1 + beta - lr * lam
    root = cmath.sqrt(trace * trace - 4 * beta)
    return max(abs((trace + root) / 2), abs((trace - root) / 2))


def _rate_gradient_descent(lr, beta, lam):
    return abs(1 - lr * lam)


def _rate_always_sqrt_beta(lr, beta, lam):
    return math.sqrt(beta)


def _rate_real_part_only(lr, beta, lam):
    trace = 1 + beta - lr * lam
    root = math.sqrt(max(trace * trace - 4 * beta, 0.0))
    return max(abs((trace + root) / 2), abs((trace - root) / 2))


def _rate_without_modulus(lr, beta, lam):
    trace = 1 + beta - lr * lam
    root = cmath.sqrt(trace * trace - 4 * beta)
    return max(((trace + root) / 2).real, ((trace - root) / 2).real)


def _rate_dampened_form(lr, beta, lam):
    trace = 1 + beta - (1 - beta) * lr * lam
    root = cmath.sqrt(trace * trace - 4 * beta)
    return max(abs((trace + root) / 2), abs((trace - root) / 2))


def _rate_det_squared(lr, beta, lam):
    trace = 1 + beta - lr * lam
    root = cmath.sqrt(trace * trace - 4 * beta * beta)
    return max(abs((trace + root) / 2), abs((trace - root) / 2))


def check_momentum_rate(learner):
    cases = [
        Case("complex roots: lr=0.6, β=0.5, λ=4", (0.6, 0.5, 4.0)),
        Case("complex roots: lr=0.6, β=0.5, λ=0.2", (0.6, 0.5, 0.2)),
        Case("real roots, oscillating: lr=0.6, β=0.25, λ=4", (0.6, 0.25, 4.0)),
        Case("real roots, creeping: lr=0.1, β=0.25, λ=0.2", (0.1, 0.25, 0.2)),
        Case("no momentum: lr=0.4, β=0, λ=4", (0.4, 0.0, 4.0)),
        Case("unstable: lr=1, β=0.3, λ=3", (1.0, 0.3, 3.0)),
        Case("on the stability limit: ηλ = 2 + 2β", (0.75, 0.5, 4.0)),
        Case("β=0.9, lr=0.01, λ=1", (0.01, 0.9, 1.0)),
    ]
    mistakes = {  # the first matching hint is shown: the most specific ones come first
        "this is gradient descent's factor |1 − ηλ|: the momentum term changes the roots": _rate_gradient_descent,
        "ρ = √β holds only when the roots are complex; with real roots one of them is larger":
            _rate_always_sqrt_beta,
        "complex roots are lost (a negative discriminant is clipped to 0): use a complex square root, "
        "e.g. cmath.sqrt, and take moduli": _rate_real_part_only,
        "take the modulus |z| of each root, not its (signed) real part": _rate_without_modulus,
        "this is the averaged form (ηλ multiplied by 1 − β); the exercise uses torch's summed momentum":
            _rate_dampened_form,
        "the constant term of the polynomial is β (the determinant of M), not β²": _rate_det_squared,
    }
    return run_cases("ex-momentum-rate", learner, momentum_rate, cases, mistakes=mistakes)


# --- ex-momentum-best: the heavy ball's optimal learning rate and momentum ---------------------------

def best_momentum(mu, L):
    """η = 4 / (√L + √μ)², β = ((√L − √μ) / (√L + √μ))²."""
    lr = (2 / (L ** 0.5 + mu ** 0.5)) ** 2
    beta = ((L ** 0.5 - mu ** 0.5) / (L ** 0.5 + mu ** 0.5)) ** 2
    return lr, beta


def _best_with_kappa(mu, L):
    return (2 / (L ** 0.5 + mu ** 0.5)) ** 2, ((L - mu) / (L + mu)) ** 2


def _best_beta_unsquared(mu, L):
    return (2 / (L ** 0.5 + mu ** 0.5)) ** 2, (L ** 0.5 - mu ** 0.5) / (L ** 0.5 + mu ** 0.5)


def _best_gd_lr(mu, L):
    return 2 / (mu + L), best_momentum(mu, L)[1]


def _best_lr_unsquared(mu, L):
    return 2 / (L ** 0.5 + mu ** 0.5), best_momentum(mu, L)[1]


def _best_swapped(mu, L):
    return tuple(reversed(best_momentum(mu, L)))


def check_best_momentum(learner):
    cases = [Case("μ=0.2, L=4", (0.2, 4.0)), Case("μ=1, L=100", (1.0, 100.0)), Case("μ=L=2", (2.0, 2.0)),
             Case("μ=0.01, L=1", (0.01, 1.0)), Case("μ=3, L=12", (3.0, 12.0))]
    mistakes = {
        "return the pair (lr, beta) in that order": _best_swapped,
        "β uses κ = L/μ where it needs √κ: β = ((√L − √μ)/(√L + √μ))²": _best_with_kappa,
        "β is the square of (√L − √μ)/(√L + √μ) (the rate √β is that ratio)": _best_beta_unsquared,
        "this is gradient descent's best learning rate 2/(μ + L); with momentum η = 4/(√L + √μ)²": _best_gd_lr,
        "the learning rate is the square of 2/(√L + √μ)": _best_lr_unsquared,
    }
    return run_cases("ex-momentum-best", learner, best_momentum, cases, mistakes=mistakes)


CHECKS = {"ex-momentum-rate": check_momentum_rate, "ex-momentum-best": check_best_momentum}
