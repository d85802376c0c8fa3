"""Checks for the exercises of the chapter *Stochastic gradient descent*."""

from __future__ import annotations

import torch

from ._core import Case, run_cases


# --- ex-sgd-per-example: the per-example gradients of least squares, without loops or autograd ------

def per_example_gradients(theta, X, y):
    """Row i is ∇f_i(θ) for f_i(θ) = ½(x_iᵀθ − y_i)²: the residual times the features, (x_iᵀθ − y_i)·x_i."""
    return (X @ theta - y)[:, None] * X


def _mean_gradient(theta, X, y):
    return per_example_gradients(theta, X, y).mean(0)


def _summed_gradient(theta, X, y):
    return X.T @ (X @ theta - y)


def _flipped_sign(theta, X, y):
    return (y - X @ theta)[:, None] * X


def _doubled(theta, X, y):
    return 2 * per_example_gradients(theta, X, y)


def _times_theta(theta, X, y):
    return (X @ theta - y)[:, None] * theta


def _squared_residual(theta, X, y):
    return 0.5 * (X @ theta - y)[:, None] ** 2 * X


def _without_target(theta, X, y):
    return (X @ theta)[:, None] * X


def check_per_example(learner):
    def case(name, n, d, seed):
        g = torch.Generator().manual_seed(seed)
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        return Case(name, (torch.randn(d, generator=g, dtype=torch.float64), X,
                           torch.randn(n, generator=g, dtype=torch.float64)))
    cases = [case("n=6, d=3", 6, 3, 0), case("n=20, d=5", 20, 5, 1), case("one example (n=1, d=4)", 1, 4, 2),
             case("one feature (n=7, d=1)", 7, 1, 3), case("more features than examples (n=3, d=8)", 3, 8, 4)]
    zero = torch.zeros(3, dtype=torch.float64)
    X = torch.tensor([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]], dtype=torch.float64)
    cases.append(Case("θ = 0: the gradients are −y_i·x_i", (zero, X, torch.tensor([1.0, -2.0], dtype=torch.float64))))
    mistakes = {  # the first matching hint is shown
        "this is the mean over the examples, the full gradient (shape (d,)): return one row per example, "
        "shape (n, d)": _mean_gradient,
        "this is the sum over the examples (Xᵀ r, shape (d,)): return one row per example, shape (n, d)":
            _summed_gradient,
        "the sign is flipped: the residual is x_iᵀθ − y_i, not y_i − x_iᵀθ": _flipped_sign,
        "twice too large: the ½ in front of the square cancels the 2 from differentiating it": _doubled,
        "each row is scaled θ; the chain rule gives the residual times the example's features x_i": _times_theta,
        "the residual is squared: that is the loss f_i times x_i, not its gradient": _squared_residual,
        "the target y_i is missing from the residual x_iᵀθ − y_i": _without_target,
    }
    return run_cases("ex-sgd-per-example", learner, per_example_gradients, cases, mistakes=mistakes)


# --- ex-sgd-noise-floor: the stationary expected loss of noisy SGD on a·x1² + b·x2² ------------------

def noise_floor(a, b, lr, noise_std):
    """Each coordinate with curvature c follows x ← (1 − 2ηc)x − ησξ. Its stationary variance solves
    v = (1 − 2ηc)²v + η²σ², so v = ησ² / (4c(1 − ηc)), and it adds c·v = ησ² / (4(1 − ηc)) to E[f]."""
    def share(c):
        return lr * noise_std ** 2 / (4 * (1 - lr * c))
    return share(a) + share(b)


def _small_lr(a, b, lr, noise_std):
    return 2 * lr * noise_std ** 2 / 4


def _sigma_not_squared(a, b, lr, noise_std):
    return sum(lr * noise_std / (4 * (1 - lr * c)) for c in (a, b))


def _variance_not_loss(a, b, lr, noise_std):
    return sum(lr * noise_std ** 2 / (4 * c * (1 - lr * c)) for c in (a, b))


def _curvature_c(a, b, lr, noise_std):
    # x ← (1 − ηc)x − ησξ: v = ησ² / (c(2 − ηc)), share c·v
    return sum(lr * noise_std ** 2 / (2 - lr * c) for c in (a, b))


def _noise_variance_eta(a, b, lr, noise_std):
    # noise of variance ησ² instead of η²σ²
    return sum(noise_std ** 2 / (4 * (1 - lr * c)) for c in (a, b))


def _one_coordinate(a, b, lr, noise_std):
    return lr * noise_std ** 2 / (4 * (1 - lr * b))


def check_noise_floor(learner):
    cases = [Case("x1² + 2x2², η=0.1, σ=1", (1.0, 2.0, 0.1, 1.0)),
             Case("x1² + 2x2², η=0.025, σ=1", (1.0, 2.0, 0.025, 1.0)),
             Case("x1² + 2x2², η=0.1, σ=3", (1.0, 2.0, 0.1, 3.0)),
             Case("0.1x1² + 5x2², η=0.15, σ=0.5", (0.1, 5.0, 0.15, 0.5)),
             Case("round bowl 3x1² + 3x2², η=0.2, σ=2", (3.0, 3.0, 0.2, 2.0)),
             Case("no noise: σ=0", (1.0, 2.0, 0.1, 0.0))]
    mistakes = {
        "this is the small-η approximation ησ²/4 per coordinate; keep the factor 1/(1 − ηc)": _small_lr,
        "σ appears unsquared: the noise ησξ has variance η²σ²": _sigma_not_squared,
        "this is the total variance E[x1²] + E[x2²]; E[f] weights each coordinate's variance by its "
        "curvature (a·E[x1²] + b·E[x2²])": _variance_not_loss,
        "the gradient of c·x² is 2c·x, so the contraction factor is 1 − 2ηc, not 1 − ηc": _curvature_c,
        "the noise added per step is ησξ, whose variance is η²σ² (not ησ²)": _noise_variance_eta,
        "only one coordinate is counted: add the shares of both": _one_coordinate,
    }
    return run_cases("ex-sgd-noise-floor", learner, noise_floor, cases, mistakes=mistakes, rtol=1e-6)


CHECKS = {"ex-sgd-per-example": check_per_example, "ex-sgd-noise-floor": check_noise_floor}
