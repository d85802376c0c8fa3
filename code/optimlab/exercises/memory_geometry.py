"""Checks for the exercises of the chapter *Memory and geometry*."""

from __future__ import annotations

import math

import torch

from ._core import Case, run_cases


# --- ex-memory-factored: Adafactor's rank-one estimate -----------------------------------------------

def factored_second_moment(v):
    """V̂ = R C / mean_i(R) with R the row means (m × 1) and C the column means (1 × n) of v ≥ 0."""
    R = v.mean(dim=1, keepdim=True)                     # R_i = mean_j v_ij
    C = v.mean(dim=0, keepdim=True)                     # C_j = mean_i v_ij
    return R @ C / R.mean()                             # V̂ = R C / mean_i(R_i)


def _sums(v):
    R, C = v.sum(dim=1, keepdim=True), v.sum(dim=0, keepdim=True)
    return R @ C / R.mean()


def _not_normalised(v):
    return v.mean(dim=1, keepdim=True) @ v.mean(dim=0, keepdim=True)


def _divided_by_column_sum(v):
    R, C = v.mean(dim=1, keepdim=True), v.mean(dim=0, keepdim=True)
    return R @ C / C.sum()


def _square_root_estimate(v):
    R, C = v.sqrt().mean(dim=1, keepdim=True), v.sqrt().mean(dim=0, keepdim=True)
    return (R @ C / R.mean()) ** 2


def check_factored(learner):
    g = torch.Generator().manual_seed(7)
    rand = lambda *shape: torch.rand(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    rank_one = rand(4, 1) @ rand(1, 6)
    cases = [
        Case("random 3 × 5", (rand(3, 5),)),
        Case("tall 7 × 2", (rand(7, 2) ** 3,)),
        Case("an exact rank-one matrix is reproduced", (rank_one,)),
        Case("a zero column (a pixel that is always blank)", (torch.cat([rand(4, 3), torch.zeros(4, 1)], 1),)),
        Case("squared gradients of a 6 × 4 matrix", (torch.randn(6, 4, generator=g, dtype=torch.float64) ** 2,)),
        Case("1 × 5 (a single row)", (rand(1, 5),)),
    ]
    mistakes = {
        "these are sums, not means: with sums R C / mean(R) is m times too large, m the number of rows "
        "(divide by sum(R) or use means throughout)": _sums,
        "the normaliser is missing: R C must be divided by mean_i(R), the mean of the whole matrix": _not_normalised,
        "divide by the mean of R (the mean of all entries), not by the sum of C": _divided_by_column_sum,
        "the factors average √v, not v: Adafactor factors the second moment itself": _square_root_estimate,
    }
    return run_cases("ex-memory-factored", learner, factored_second_moment, cases, mistakes=mistakes,
                     atol=1e-12, rtol=1e-9)


# --- ex-memory-ns: the Newton–Schulz iteration -------------------------------------------------------

NS = (3.4445, -4.7750, 2.0315)


def newton_schulz(x, coefficients=NS, steps=5):
    """X ← x / ‖x‖_F, then ``steps`` times X ← aX + (bA + cA²)X with A = X Xᵀ."""
    a, b, c = coefficients
    X = x / x.norm()                                    # ‖X‖_F = 1: every σ ≤ 1
    for _ in range(steps):
        A = X @ X.T                                     # A = X Xᵀ
        X = a * X + (b * A + c * A @ A) @ X             # σ ↦ aσ + bσ³ + cσ⁵
    return X


def _no_normalisation(x, coefficients=NS, steps=5):
    a, b, c = coefficients
    X = x.clone()
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X


def _spectral_normalisation(x, coefficients=NS, steps=5):
    a, b, c = coefficients
    X = x / torch.linalg.matrix_norm(x, ord=2)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X


def _powers_swapped(x, coefficients=NS, steps=5):
    a, b, c = coefficients
    X = x / x.norm()
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (c * A + b * A @ A) @ X
    return X


def _one_step_short(x, coefficients=NS, steps=5):
    return newton_schulz(x, coefficients, steps - 1)


def _polar_factor(x, coefficients=NS, steps=5):
    U, _, Vh = torch.linalg.svd(x, full_matrices=False)
    return U @ Vh


def check_newton_schulz(learner):
    g = torch.Generator().manual_seed(11)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    cases = [
        Case("wide 3 × 5, torch's coefficients", (rand(3, 5),)),
        Case("tall 6 × 2", (rand(6, 2),)),
        Case("square 4 × 4, scaled by 100", (100 * rand(4, 4),)),
        Case("the classic cubic (1.5, −0.5, 0), 8 steps", (rand(3, 4),), {"coefficients": (1.5, -0.5, 0.0), "steps": 8}),
        Case("one step", (rand(5, 3),), {"steps": 1}),
        Case("zero steps: only the normalisation", (rand(2, 3),), {"steps": 0}),
    ]
    mistakes = {
        "the matrix is not normalised first: divide by its Frobenius norm so that every σ ≤ 1": _no_normalisation,
        "this divides by the largest singular value; the iteration divides by the Frobenius norm "
        "(cheap, and also ≥ σ_max)": _spectral_normalisation,
        "b and c are swapped: b multiplies A (σ³), c multiplies A² (σ⁵)": _powers_swapped,
        "one step short: the loop runs `steps` times": _one_step_short,
        "this is the exact U Vᵀ from an SVD; the iteration only approximates it": _polar_factor,
    }
    return run_cases("ex-memory-ns", learner, newton_schulz, cases, mistakes=mistakes, atol=1e-9, rtol=1e-7)


# --- ex-memory-state: how many numbers Adafactor keeps -------------------------------------------------

def adafactor_state_numbers(shape):
    """Numbers in Adafactor's ``row_var`` and ``col_var`` (or ``variance``) for a tensor of ``shape``,
    not counting the step."""
    shape = tuple(shape)
    if len(shape) < 2:
        return math.prod(shape)                         # a vector or scalar: the whole V
    batch, (m, n) = math.prod(shape[:-2]), shape[-2:]
    return batch * (m + n)                              # one R (m) and one C (n) per m × n slice


def _no_batch(shape):
    shape = tuple(shape)
    return math.prod(shape) if len(shape) < 2 else shape[-2] + shape[-1]


def _full(shape):
    return math.prod(tuple(shape))


def _all_dims_summed(shape):
    shape = tuple(shape)
    return math.prod(shape) if len(shape) < 2 else sum(shape)


def _vectors_factored(shape):
    shape = tuple(shape)
    if len(shape) == 0:
        return 1
    if len(shape) == 1:
        return shape[0] + 1
    return adafactor_state_numbers(shape)


def check_state_numbers(learner):
    shapes = [(64, 64), (10, 64), (4096, 16384), (3, 8, 5), (2, 3, 4, 5), (7,), (), (1, 9)]
    cases = [Case(f"shape {s}", (s,)) for s in shapes]
    mistakes = {
        "the leading dimensions are batch dimensions: each m × n slice has its own R and C": _no_batch,
        "that is the full matrix: Adafactor keeps only row and column statistics for 2-D and up": _full,
        "only the last two dimensions are factored; the leading ones multiply the count": _all_dims_summed,
        "a vector keeps its whole second moment (n numbers): it is not factored": _vectors_factored,
    }
    return run_cases("ex-memory-state", learner, adafactor_state_numbers, cases, mistakes=mistakes)


CHECKS = {"ex-memory-factored": check_factored, "ex-memory-ns": check_newton_schulz,
          "ex-memory-state": check_state_numbers}
