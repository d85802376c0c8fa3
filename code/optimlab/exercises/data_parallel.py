"""Checks for the exercises of the chapter *Data-parallel optimization*."""

from __future__ import annotations

import torch

from ..distributed import ring_allreduce_bytes
from ..large_batch import goyal_warmup_lr
from ._core import Case, run_cases

F64 = torch.float64


# --- ex-dp-ring-bytes: bytes each process sends in a ring all-reduce ---------------------------------

def check_ring_bytes(learner):
    cases = [Case(f"n={n}, p={p}", (n, p)) for n, p in
             [(1000, 1), (1000, 2), (1000, 4), (4e6, 8), (12, 3), (1e9, 1024)]]
    mistakes = {
        "that is only the reduce-scatter half: the summed chunks must also travel round the ring "
        "(all-gather), another (p − 1)/p · n": lambda n, p: (p - 1) / p * n,
        "each of the 2(p − 1) messages carries one chunk of n/p bytes, not the whole tensor":
            lambda n, p: 2 * (p - 1) * n,
        "the traffic depends on p: with one process nothing is sent": lambda n, p: 2 * n,
    }
    return run_cases("ex-dp-ring-bytes", learner, ring_allreduce_bytes, cases, mistakes=mistakes)


# --- ex-dp-unequal-shards: the full batch's gradient from the shards' mean gradients -----------------

def full_batch_gradient(shard_means, sizes):
    """Σ_k n_k ḡ_k / Σ_k n_k: the mean gradient over the union of the shards."""
    weights = torch.as_tensor(sizes, dtype=shard_means.dtype)
    return (weights[:, None] * shard_means).sum(0) / weights.sum()


def _plain_average(shard_means, sizes):
    return shard_means.mean(0)


def _weighted_sum(shard_means, sizes):
    weights = torch.as_tensor(sizes, dtype=shard_means.dtype)
    return (weights[:, None] * shard_means).sum(0)


def _divided_by_p(shard_means, sizes):
    weights = torch.as_tensor(sizes, dtype=shard_means.dtype)
    return (weights[:, None] * shard_means).sum(0) / len(sizes)


def check_full_batch_gradient(learner):
    gen = torch.Generator().manual_seed(0)
    cases = []
    for sizes in ([3, 3], [4, 3], [1, 7, 2], [10, 1, 1, 1], [5]):
        means = torch.randn(len(sizes), 4, generator=gen, dtype=F64)
        cases.append(Case(f"sizes {sizes}", (means, sizes)))
    mistakes = {
        "the plain average of the shards' means weights a shard of 1 example like a shard of 100; "
        "weight each mean by its shard's size": _plain_average,
        "the weighted sum must be divided by the total number of examples": _weighted_sum,
        "divide by the number of examples Σ n_k, not by the number of processes p": _divided_by_p,
    }
    return run_cases("ex-dp-unequal-shards", learner, full_batch_gradient, cases, mistakes=mistakes)


# --- ex-dp-warmup: Goyal et al.'s gradual warmup to the linearly scaled rate --------------------------

def warmup_lr(t, base_lr, k, warmup_steps):
    """The rate of update t (from 0): from base_lr linearly to k·base_lr over warmup_steps, then k·base_lr."""
    return goyal_warmup_lr(t, k * base_lr, k, warmup_steps)


def _from_zero(t, base_lr, k, warmup_steps):
    return k * base_lr * min(t, warmup_steps) / warmup_steps


def _unscaled(t, base_lr, k, warmup_steps):
    return base_lr


def _one_late(t, base_lr, k, warmup_steps):
    return warmup_lr(t + 1, base_lr, k, warmup_steps)


def check_warmup_lr(learner):
    cases = [Case(f"t={t}, η={lr}, k={k}, W={w}", (t, lr, k, w)) for t, lr, k, w in
             [(0, 0.1, 8, 10), (5, 0.1, 8, 10), (10, 0.1, 8, 10), (25, 0.1, 8, 10), (3, 0.02, 32, 7),
              (0, 1.0, 1, 5), (4, 0.5, 2, 4)]]
    mistakes = {
        "Goyal et al.'s warmup starts from the small batch's rate η, not from 0": _from_zero,
        "after the warmup the rate is the linearly scaled k·η": _unscaled,
        "the first update (t = 0) uses exactly η; the rate reaches kη at t = W": _one_late,
    }
    return run_cases("ex-dp-warmup", learner, warmup_lr, cases, mistakes=mistakes)


CHECKS = {"ex-dp-ring-bytes": check_ring_bytes, "ex-dp-unequal-shards": check_full_batch_gradient,
          "ex-dp-warmup": check_warmup_lr}
