"""Checks for the exercises of the chapter *Fast optimizers*."""

from __future__ import annotations

from ._core import Case, run_cases


# --- ex-fast-bytes: the bytes one step moves ---------------------------------------------------------

def bytes_per_step(n, state, param_bytes=4, state_bytes=4):
    """Least bytes of an in-place step: read θ, g and the state, write θ and the state."""
    return n * (3 * param_bytes + 2 * state * state_bytes)   # θ, g in, θ out; state in and out


def _state_read_only(n, state, param_bytes=4, state_bytes=4):
    return n * (3 * param_bytes + state * state_bytes)


def _gradient_forgotten(n, state, param_bytes=4, state_bytes=4):
    return n * (2 * param_bytes + 2 * state * state_bytes)


def _gradient_written(n, state, param_bytes=4, state_bytes=4):
    return n * (4 * param_bytes + 2 * state * state_bytes)


def _one_dtype(n, state, param_bytes=4, state_bytes=4):
    return n * (3 + 2 * state) * param_bytes


def check_bytes(learner):
    cases = [
        Case("plain SGD, 10⁶ float32 parameters", (10 ** 6, 0)),
        Case("SGD with momentum, 10⁶ float32", (10 ** 6, 1)),
        Case("Adam, 10⁷ float32", (10 ** 7, 2)),
        Case("Adam, float32 parameters, bfloat16 state", (10 ** 6, 2), {"param_bytes": 4, "state_bytes": 2}),
        Case("Adam, bfloat16 parameters, float32 state", (10 ** 6, 2), {"param_bytes": 2, "state_bytes": 4}),
        Case("Adam, float64 everywhere", (1000, 2), {"param_bytes": 8, "state_bytes": 8}),
        Case("Adafactor-like: 0.01 numbers of state per parameter", (10 ** 6, 0.01)),
        Case("no parameters", (0, 2)),
    ]
    mistakes = {
        "the state is read and also written back: count it twice": _state_read_only,
        "the gradient is read too: θ in, g in, θ out is 3 parameter-sized arrays": _gradient_forgotten,
        "the gradient is only read, never written: 3 parameter-sized transfers, not 4": _gradient_written,
        "the state has its own dtype: use state_bytes for the state, param_bytes for θ and g": _one_dtype,
    }
    return run_cases("ex-fast-bytes", learner, bytes_per_step, cases, mistakes=mistakes, atol=1e-9, rtol=1e-12)


# --- ex-fast-bound: the least time of a step -----------------------------------------------------

def step_time_bound(n, flops, bytes_, peak_flops, bandwidth):
    """Least seconds for n parameters at flops FLOPs and bytes_ bytes each: max(arithmetic, memory)."""
    compute = n * flops / peak_flops        # seconds if only arithmetic counted
    memory = n * bytes_ / bandwidth         # seconds if only memory traffic counted
    return max(compute, memory)             # both must happen: the slower one bounds


def _sum(n, flops, bytes_, peak_flops, bandwidth):
    return n * flops / peak_flops + n * bytes_ / bandwidth


def _min(n, flops, bytes_, peak_flops, bandwidth):
    return min(n * flops / peak_flops, n * bytes_ / bandwidth)


def _memory_only(n, flops, bytes_, peak_flops, bandwidth):
    return n * bytes_ / bandwidth


def _compute_only(n, flops, bytes_, peak_flops, bandwidth):
    return n * flops / peak_flops


def check_bound(learner):
    cases = [
        Case("Adam, 10⁶ parameters, 30 GB/s, 50 GFLOP/s", (10 ** 6, 13, 28, 50e9, 30e9)),
        Case("SGD, 10⁷ parameters, 20 GB/s, 100 GFLOP/s", (10 ** 7, 2, 12, 100e9, 20e9)),
        Case("an arithmetic-heavy rule: 400 FLOPs per 28 bytes", (10 ** 6, 400, 28, 50e9, 30e9)),
        Case("a GPU: 10⁸ parameters, 4 TB/s, 60 TFLOP/s", (10 ** 8, 13, 28, 60e12, 4e12)),
        Case("exactly at the balance point", (1000, 10, 10, 1e9, 1e9)),
    ]
    mistakes = {
        "the two do not add up: arithmetic and memory traffic overlap, so the bound is the larger of the two":
            _sum,
        "that is the memory time alone (or the smaller of the two); for an arithmetic-heavy rule the "
        "FLOPs take longer: both must happen, take the larger": _memory_only,
        "that is the arithmetic time alone (or the smaller of the two); an optimizer step is usually "
        "limited by memory: both must happen, take the larger": _compute_only,
    }
    return run_cases("ex-fast-bound", learner, step_time_bound, cases, mistakes=mistakes, atol=0, rtol=1e-9)


CHECKS = {"ex-fast-bytes": check_bytes, "ex-fast-bound": check_bound}
