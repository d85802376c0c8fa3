"""Checks for the exercises of the chapter *Minibatch SGD*."""

from __future__ import annotations

import torch

from ._core import Case, run_cases


# --- ex-minibatch-gradient: the gradient of the mean squared error of a linear model, vectorised -------

def minibatch_gradient(w, b, X, y):
    """Gradients of mean((Xw + b − y)²): (2/B)·Xᵀr for w and (2/B)·Σr for b, with r = Xw + b − y."""
    residual = X @ w + b - y
    return 2 * X.T @ residual / len(y), 2 * residual.mean()


def _without_two(w, b, X, y):
    g_w, g_b = minibatch_gradient(w, b, X, y)
    return g_w / 2, g_b / 2


def _summed(w, b, X, y):
    g_w, g_b = minibatch_gradient(w, b, X, y)
    return g_w * len(y), g_b * len(y)


def _flipped(w, b, X, y):
    g_w, g_b = minibatch_gradient(w, b, X, y)
    return -g_w, -g_b


def _bias_summed(w, b, X, y):
    g_w, g_b = minibatch_gradient(w, b, X, y)
    return g_w, g_b * len(y)


def _divided_by_features(w, b, X, y):
    residual = X @ w + b - y
    return 2 * X.T @ residual / X.shape[1], 2 * residual.sum() / X.shape[1]


def _without_bias_in_residual(w, b, X, y):
    residual = X @ w - y
    return 2 * X.T @ residual / len(y), 2 * residual.mean()


def _bias_gradient_is_w_gradient_sum(w, b, X, y):
    g_w, _ = minibatch_gradient(w, b, X, y)
    return g_w, g_w.sum()


def _per_example(w, b, X, y):
    residual = X @ w + b - y
    return 2 * residual[:, None] * X, 2 * residual


def check_minibatch_gradient(learner):
    def case(name, batch, d, seed):
        g = torch.Generator().manual_seed(seed)
        args = (torch.randn(d, generator=g, dtype=torch.float64), torch.randn((), generator=g, dtype=torch.float64),
                torch.randn(batch, d, generator=g, dtype=torch.float64), torch.randn(batch, generator=g, dtype=torch.float64))
        return Case(name, args)
    cases = [case("B=10, d=3", 10, 3, 0), case("B=4, d=6", 4, 6, 1), case("B=1 (SGD), d=5", 1, 5, 2),
             case("B=64, d=10", 64, 10, 3), case("one feature (B=7, d=1)", 7, 1, 4)]
    mistakes = {  # the first matching hint is shown
        "these are the per-example gradients (one row per example): average them over the batch": _per_example,
        "the factor 2 from differentiating the square is missing": _without_two,
        "these are sums over the batch; the loss is a mean, so divide by B": _summed,
        "the sign is flipped: the residual is Xw + b − y": _flipped,
        "the gradient for b is a sum; like the one for w it is an average over the batch": _bias_summed,
        "divided by the number of features; divide by the batch size B = len(y)": _divided_by_features,
        "the bias b is missing from the residual Xw + b − y": _without_bias_in_residual,
        "the gradient for b is the average of 2·r_i, not the sum of the gradient for w":
            _bias_gradient_is_w_gradient_sum,
    }
    return run_cases("ex-minibatch-gradient", learner, minibatch_gradient, cases, mistakes=mistakes)


# --- ex-minibatch-variance: the variance of a minibatch mean, with and without replacement -------------

def minibatch_variance(sigma2, n, batch_size, replacement):
    """σ²/B with replacement; σ²/B · (n − B)/(n − 1) without (the finite population correction)."""
    if replacement:
        return sigma2 / batch_size
    return sigma2 / batch_size * (n - batch_size) / (n - 1)


def _no_correction(sigma2, n, batch_size, replacement):
    return sigma2 / batch_size


def _correction_over_n(sigma2, n, batch_size, replacement):
    return sigma2 / batch_size if replacement else sigma2 / batch_size * (n - batch_size) / n


def _swapped(sigma2, n, batch_size, replacement):
    return minibatch_variance(sigma2, n, batch_size, not replacement)


def _not_divided(sigma2, n, batch_size, replacement):
    return sigma2 if replacement else sigma2 * (n - batch_size) / (n - 1)


def _standard_deviation(sigma2, n, batch_size, replacement):
    return minibatch_variance(sigma2, n, batch_size, replacement) ** 0.5


def _divided_by_b_squared(sigma2, n, batch_size, replacement):
    return minibatch_variance(sigma2, n, batch_size, replacement) / batch_size


def check_minibatch_variance(learner):
    cases = [Case("σ²=2, n=100, B=10, with replacement", (2.0, 100, 10, True)),
             Case("σ²=2, n=100, B=10, without", (2.0, 100, 10, False)),
             Case("σ²=5, n=354, B=100, without", (5.0, 354, 100, False)),
             Case("B=1 without replacement: same as with", (3.0, 50, 1, False)),
             Case("B=n without replacement: the whole set, no variance", (3.0, 50, 50, False)),
             Case("σ²=0.5, n=20, B=20, with replacement", (0.5, 20, 20, True)),
             Case("σ²=1, n=1000, B=250, without", (1.0, 1000, 250, False))]
    mistakes = {
        "without replacement the variance is smaller: multiply by the finite population correction "
        "(n − B)/(n − 1)": _no_correction,
        "with and without replacement are swapped": _swapped,
        "the correction is (n − B)/(n − 1), not (n − B)/n: at B = 1 it must be exactly 1":
            _correction_over_n,
        "the variance of a mean of B terms is divided by B": _not_divided,
        "this is the standard deviation; the exercise asks for the variance E‖g − ∇f‖²": _standard_deviation,
        "divided by B²: the B variances add up to Bσ², and (1/B)² · Bσ² = σ²/B": _divided_by_b_squared,
    }
    return run_cases("ex-minibatch-variance", learner, minibatch_variance, cases, mistakes=mistakes)


CHECKS = {"ex-minibatch-gradient": check_minibatch_gradient, "ex-minibatch-variance": check_minibatch_variance}
