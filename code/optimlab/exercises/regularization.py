"""Checks for the exercises of the chapter *Regularization meets optimization*."""

from __future__ import annotations

import torch

from ._core import Case, run_cases

F64 = torch.float64


def _randn(*shape, seed: int, scale: float = 1.0, shift: float = 0.0) -> torch.Tensor:
    return shift + scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


# --- ex-reg-batch-norm: batch normalization of an (N, C) batch in training mode --------------------

def batch_norm_train(x, gamma, beta, eps=1e-5):
    """y = γ (x − μ_B) / sqrt(σ²_B + ε) + β per column, with the biased batch variance σ²_B."""
    mu = x.mean(dim=0)
    var = ((x - mu) ** 2).mean(dim=0)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def _unbiased(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(dim=0), x.var(dim=0, unbiased=True)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def _eps_outside(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
    return gamma * (x - mu) / (torch.sqrt(var) + eps) + beta


def _no_eps(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
    return gamma * (x - mu) / torch.sqrt(var) + beta


def _per_example(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(dim=1, keepdim=True), x.var(dim=1, unbiased=False, keepdim=True)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


def _no_affine(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
    return (x - mu) / torch.sqrt(var + eps)


def _swapped_affine(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
    return beta * (x - mu) / torch.sqrt(var + eps) + gamma


def _divided_by_variance(x, gamma, beta, eps=1e-5):
    mu, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
    return gamma * (x - mu) / (var + eps) + beta


def _not_centred(x, gamma, beta, eps=1e-5):
    var = x.var(dim=0, unbiased=False)
    return gamma * x / torch.sqrt(var + eps) + beta


def check_batch_norm(learner):
    cases = [
        Case("8 examples, 3 channels", (_randn(8, 3, seed=1), _randn(3, seed=2), _randn(3, seed=3))),
        Case("2 examples (the smallest batch)", (_randn(2, 4, seed=4), _randn(4, seed=5), _randn(4, seed=6))),
        Case("channels with large means and scales",
             (_randn(16, 3, seed=7, scale=5.0, shift=20.0), _randn(3, seed=8), _randn(3, seed=9))),
        Case("gamma = 1, beta = 0", (_randn(6, 2, seed=10), torch.ones(2, dtype=F64), torch.zeros(2, dtype=F64))),
        Case("a nearly constant channel (eps matters)",
             (torch.cat([_randn(10, 1, seed=11, scale=1e-3), _randn(10, 1, seed=12)], dim=1),
              torch.ones(2, dtype=F64), torch.zeros(2, dtype=F64))),
        Case("eps = 0.5", (_randn(5, 3, seed=13, scale=0.5), _randn(3, seed=14), _randn(3, seed=15)),
             {"eps": 0.5}),
    ]
    mistakes = {  # the first matching hint is shown
        "the variance is unbiased (divides by N − 1); batch norm normalizes with the biased variance "
        "(divide by N)": _unbiased,
        "ε is outside the square root: use sqrt(σ² + ε)": _eps_outside,
        "ε is missing: use sqrt(σ² + ε)": _no_eps,
        "the statistics are taken over each example's features (dim=1); batch norm averages each "
        "channel over the batch (dim=0)": _per_example,
        "γ and β are not applied: y = γ x̂ + β": _no_affine,
        "γ and β are swapped: γ scales, β shifts": _swapped_affine,
        "divided by the variance; divide by the standard deviation sqrt(σ² + ε)": _divided_by_variance,
        "the mean is not subtracted": _not_centred,
    }
    return run_cases("ex-reg-batch-norm", learner, batch_norm_train, cases, mistakes=mistakes)


# --- ex-reg-running-stats: the running mean and variance of batch norm after one batch ------------

def update_running_stats(running_mean, running_var, x, momentum=0.1):
    """New (running_mean, running_var) after the batch x of shape (N, C), as torch's BatchNorm1d does:
    μ̄ ← (1 − α) μ̄ + α μ_B and σ̄² ← (1 − α) σ̄² + α σ²_B · N/(N − 1) (the unbiased variance)."""
    mu = x.mean(dim=0)
    var_unbiased = x.var(dim=0, unbiased=True)
    return ((1 - momentum) * running_mean + momentum * mu,
            (1 - momentum) * running_var + momentum * var_unbiased)


def _biased_running_var(running_mean, running_var, x, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * x.mean(dim=0),
            (1 - momentum) * running_var + momentum * x.var(dim=0, unbiased=False))


def _momentum_on_old(running_mean, running_var, x, momentum=0.1):
    return (momentum * running_mean + (1 - momentum) * x.mean(dim=0),
            momentum * running_var + (1 - momentum) * x.var(dim=0, unbiased=True))


def _std_not_var(running_mean, running_var, x, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * x.mean(dim=0),
            (1 - momentum) * running_var + momentum * x.std(dim=0, unbiased=True))


def _replaced(running_mean, running_var, x, momentum=0.1):
    return x.mean(dim=0), x.var(dim=0, unbiased=True)


def _per_example_stats(running_mean, running_var, x, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * x.mean(dim=1),
            (1 - momentum) * running_var + momentum * x.var(dim=1, unbiased=True))


def check_running_stats(learner):
    zeros, ones = torch.zeros(3, dtype=F64), torch.ones(3, dtype=F64)
    cases = [
        Case("a square batch: 3 examples of 3 channels", (zeros, ones, _randn(3, 3, seed=39, scale=2.0))),
        Case("first batch from the initial statistics (0, 1)", (zeros, ones, _randn(8, 3, seed=30, shift=2.0))),
        Case("later batch", (_randn(3, seed=31), _randn(3, seed=32).abs() + 0.5,
                             _randn(16, 3, seed=33, scale=3.0))),
        Case("momentum = 0.5", (_randn(3, seed=34), ones * 2, _randn(4, 3, seed=35)), {"momentum": 0.5}),
        Case("2 examples (N/(N − 1) = 2)", (zeros, ones, _randn(2, 3, seed=36))),
        Case("momentum = 1 (only the new batch counts)", (_randn(3, seed=37), ones, _randn(5, 3, seed=38)),
             {"momentum": 1.0}),
    ]
    mistakes = {
        "the running variance uses the biased batch variance; torch stores the unbiased one "
        "(multiply σ²_B by N/(N − 1))": _biased_running_var,
        "momentum weighs the old value; in torch it is the weight of the new batch statistic, "
        "μ̄ ← (1 − α) μ̄ + α μ_B": _momentum_on_old,
        "the running variance averages standard deviations; average variances": _std_not_var,
        "the running statistics are replaced by the batch statistics instead of averaged": _replaced,
        "the statistics are taken over each example (dim=1); average each channel over the batch (dim=0)":
            _per_example_stats,
    }
    return run_cases("ex-reg-running-stats", learner, update_running_stats, cases, mistakes=mistakes)


CHECKS = {"ex-reg-batch-norm": check_batch_norm, "ex-reg-running-stats": check_running_stats}
