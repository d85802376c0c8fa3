r"""Counting and timing for the chapter *Fast optimizers*: bytes, FLOPs, bandwidth, and the generated kernel.

An optimizer step over :math:`n` parameters with :math:`s` numbers of state per parameter, all
updated in place, must at least read the parameter, its gradient and the state, and write the
parameter and the state back:

.. math::  \text{bytes per step} = n\,(3\,b_\theta + 2\,s\,b_s),

with :math:`b_\theta` the bytes of one parameter (and of its gradient) and :math:`b_s` those of
one number of state. :func:`state_numbers` reads :math:`s` off an optimizer's actual state,
:func:`step_bytes` evaluates the formula. Dividing the FLOPs of the update by these bytes gives
its *arithmetic intensity*; :func:`attainable` is the roofline bound of Williams, Waterman and
Patterson (2009), :math:`\min(P, I B)` for a peak FLOP rate :math:`P` and a bandwidth :math:`B`.

Timings (:func:`interleaved_medians`, :func:`add_bandwidth`, :func:`matmul_rate`,
:func:`step_breakdown`) take turns between the contenders and report medians, so that a busy
machine slows them alike. :func:`kernel_loop` cuts the vectorised loop out of the C++ code that
Inductor generates and makes it readable in a narrow column.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import statistics
import textwrap
import time
from typing import Callable

import torch

from .bench import interleaved_medians  # noqa: F401  (the benchmark's timer, shown here too)

__all__ = ["FLOPS_PER_PARAMETER", "state_numbers", "step_bytes", "intensity", "attainable",
           "interleaved_medians", "add_bandwidth", "matmul_rate", "ladder", "step_breakdown", "ops_run",
           "kernel_loop"]

# FLOPs per parameter of one step, counted on the update as this package writes it (an fma
# counts 2, a square root 1, a division 1):
#   SGD:            θ ← θ − η g                              mul, add                        2
#   SGD, momentum:  b ← μ b + g;  θ ← θ − η b                mul, add; mul, add              4
#   Adam:           m ← m + (1−β1)(g − m)                     sub, mul, add                   3
#                   v ← β2 v + (1−β2) g²                      mul; mul, mul, add              4
#                   d ← √v / √(1−β2ᵗ) + ε                     sqrt, div, add                  3
#                   θ ← θ − η/(1−β1ᵗ) · m / d                 div, mul, add                   3
FLOPS_PER_PARAMETER = {"SGD": 2, "SGD, momentum": 4, "Adam": 13}


def state_numbers(optimizer_cls, shape=(64, 32), **kwargs) -> float:
    """Numbers of state per parameter that ``optimizer_cls`` keeps after one step (``step`` not counted).

    One float32 parameter of ``shape`` gets a gradient of ones and one step; the state tensors
    the optimizer then holds (except the step count) are counted and divided by the parameter's size.
    """
    param = torch.zeros(shape, requires_grad=True)
    optimizer = optimizer_cls([param], **kwargs)
    param.grad = torch.ones(shape)
    optimizer.step()
    count = sum(v.numel() for k, v in optimizer.state[param].items()
                if isinstance(v, torch.Tensor) and k != "step")
    return count / param.numel()


def _check_nonnegative(name, value):
    if not value >= 0:
        raise ValueError(f"Invalid {name}: {value!r} (expected a number >= 0)")


def step_bytes(n: float, state: float, param_bytes: float = 4, state_bytes: float | None = None) -> float:
    """Least bytes one in-place step moves: read θ, g and the state, write θ and the state.

    ``n`` parameters of ``param_bytes`` bytes each (the gradient has the parameter's dtype),
    ``state`` numbers of state per parameter of ``state_bytes`` bytes each (default: the
    parameter's): ``n (3 b_θ + 2 s b_s)``.
    """
    for name, value in (("n", n), ("state", state), ("param_bytes", param_bytes)):
        _check_nonnegative(name, value)
    state_bytes = param_bytes if state_bytes is None else state_bytes
    _check_nonnegative("state_bytes", state_bytes)
    return n * (3 * param_bytes + 2 * state * state_bytes)   # read θ, g, state; write θ, state


def intensity(flops: float, bytes_moved: float) -> float:
    """Arithmetic intensity in FLOP per byte."""
    _check_nonnegative("flops", flops)
    if not bytes_moved > 0:
        raise ValueError(f"Invalid bytes_moved: {bytes_moved!r} (expected a number > 0)")
    return flops / bytes_moved


def attainable(intensity: float, peak_flops: float, bandwidth: float) -> float:
    """The roofline: the FLOP rate a computation of this intensity can reach, ``min(P, I·B)``."""
    for name, value in (("intensity", intensity), ("peak_flops", peak_flops), ("bandwidth", bandwidth)):
        _check_nonnegative(name, value)
    return min(peak_flops, intensity * bandwidth)


# --- timing -----------------------------------------------------------------------------------

def add_bandwidth(n: int = 10 ** 6, repeats: int = 15, seed: int = 0) -> float:
    """Bytes per second of ``a.add_(b)`` over float32 vectors of ``n`` entries (12 bytes per entry)."""
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, generator=gen), torch.randn(n, generator=gen)
    seconds = interleaved_medians({"add": lambda: a.add_(b)}, repeats=repeats)["add"]
    return 12 * n / seconds


def matmul_rate(n: int = 256, repeats: int = 7, seed: int = 0) -> float:
    """FLOP per second of a float32 ``n × n`` matrix product (``2 n³`` FLOPs)."""
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    seconds = interleaved_medians({"mm": lambda: a @ b}, repeats=repeats)["mm"]
    return 2 * n ** 3 / seconds


def ladder(optimizers: dict, size: int = 10 ** 6, n_tensors: int = 4, repeats: int = 15, warmup: int = 2,
           seed: int = 0, **kwargs):
    """Median seconds per step of several implementations of one optimizer, on the same tensors.

    ``optimizers`` maps a name to ``(cls, extra_kwargs)``: e.g. ``{"ours, fused": (Adam,
    {"fused": True})}``. ``size`` float32 parameters are split into ``n_tensors`` tensors of
    (nearly) equal size, with fixed random gradients; every optimizer gets ``kwargs`` and its
    extra arguments and updates the same tensors. Each takes one untimed first step (where a
    compiled implementation compiles); returns the medians and the seconds of those first steps
    (wall clock and CPU time of this process).
    """
    gen = torch.Generator().manual_seed(seed)
    base, extra = divmod(size, n_tensors)
    params = []
    for i in range(n_tensors):
        p = torch.randn(base + (i < extra), generator=gen).requires_grad_()
        p.grad = torch.randn(p.shape, generator=gen) * 1e-2
        params.append(p)
    built = {name: cls(params, **kwargs, **more) for name, (cls, more) in optimizers.items()}
    first = {}
    for name, opt in built.items():
        wall, cpu = time.perf_counter(), time.process_time()
        opt.step()
        first[name] = (time.perf_counter() - wall, time.process_time() - cpu)
    medians = interleaved_medians({k: o.step for k, o in built.items()}, repeats, warmup, seed)
    return medians, first


def step_breakdown(model: torch.nn.Module, loss_fn, x, y, optimizers: dict, repeats: int = 15,
                   warmup: int = 2, seed: int = 0) -> dict[str, dict[str, float]]:
    """Median seconds of forward, backward and optimizer step of one training step, per optimizer.

    ``optimizers`` maps a name to an optimizer over ``model``'s parameters. The optimizers take
    turns, step by step in a shuffled order; each round's forward, backward and step are timed
    separately (``zero_grad`` is not counted).
    """
    rng = random.Random(seed)
    order = list(optimizers)
    times = {k: {"forward": [], "backward": [], "step": []} for k in order}
    for i in range(warmup + repeats):
        rng.shuffle(order)
        for k in order:
            opt = optimizers[k]
            opt.zero_grad()
            t0 = time.perf_counter()
            loss = loss_fn(model(x), y)
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            if i >= warmup:
                for part, dt in (("forward", t1 - t0), ("backward", t2 - t1), ("step", t3 - t2)):
                    times[k][part].append(dt)
    return {k: {part: statistics.median(v) for part, v in parts.items()} for k, parts in times.items()}


@contextlib.contextmanager
def _quiet_stderr():
    """Send the process's file descriptor 2 to /dev/null (the profiler's C++ logging writes there)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def ops_run(fn: Callable[[], object], contains: str = "") -> list[str]:
    """The names of the operators (``aten::...``) that ``torch.profiler`` records while ``fn()`` runs.

    Only names containing ``contains`` are returned, sorted and without repeats. The profiler's
    own log lines on standard error are silenced.
    """
    with _quiet_stderr(), torch.profiler.profile() as prof:
        fn()
    return sorted({e.key for e in prof.key_averages() if contains in e.key})


# --- the generated kernel ---------------------------------------------------------------------

_SIMPLIFY = [
    (re.compile(r"static_cast<int64_t>\((-?\w+?)L?\)"), r"\1"),   # static_cast<int64_t>(16L) → 16
    (re.compile(r"at::vec::Vectorized<float>"), "Vec"),
    (re.compile(r"static_cast<(\w+)>\("), r"\1("),                  # static_cast<float>(x) → float(x)
    (re.compile(r"c10::convert<(\w+)>\("), r"\1("),
    (re.compile(r"\b(\d+)L\b"), r"\1"),
]


_CONSTANT = re.compile(r"^auto (tmp\d+) = (?:float|double)\(([-+]?[0-9.]+(?:e[-+]?\d+)?)\);$")
_BROADCAST = re.compile(r"^auto (tmp\d+) = (Vec\([-+]?[0-9.]+(?:e[-+]?\d+)?\));$")


def _inline_constants(body: list[str]) -> list[str]:
    """Drop ``auto tmp3 = float(0.9);`` and ``auto tmp4 = Vec(0.9);`` lines, writing the value where they are used."""
    names, out = {}, []
    for line in body:
        for name, value in names.items():
            line = re.sub(rf"\b{name}\b", value, line)
        match = _CONSTANT.match(line) or _BROADCAST.match(line)
        if match:
            names[match.group(1)] = match.group(2)
        else:
            out.append(line)
    return out


def kernel_loop(code: str, width: int = 76, inline_constants: bool = True) -> str:
    """The vectorised body of the first loop of the first C++ kernel in Inductor's output ``code``.

    Inductor's CPU kernel walks each tensor in chunks of a vector's width: a main branch
    (``if(C10_LIKELY(...))``) that loads, computes and stores whole vectors, and a tail for the
    last few elements. This returns the ``for`` line and the main branch's body, with the casts
    shortened (``at::vec::Vectorized<float>`` → ``Vec``, ``static_cast<T>(x)`` → ``T(x)``),
    dedented and wrapped to ``width`` columns. With ``inline_constants`` the lines that only
    name a constant (``auto tmp3 = float(0.9);``, ``auto tmp4 = Vec(tmp3);``) are dropped and
    the constant is written where it is used (``tmp2 * Vec(0.9)``).
    """
    lines = code.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("for(int64_t x0"))
        branch = next(i for i in range(start, len(lines)) if "C10_LIKELY" in lines[i])
    except StopIteration:
        raise ValueError("no vectorised loop found in this code (is it Inductor's C++ output?)") from None
    body, depth = [], 0
    for line in lines[branch + 1:]:
        depth += line.count("{") - line.count("}")
        if depth <= 0:
            break                                   # the end of the main branch
        if line.strip() != "{":
            body.append(line.strip())
    head = lines[start].strip()
    for pattern, replacement in _SIMPLIFY:
        head = pattern.sub(replacement, head)
        body = [pattern.sub(replacement, line) for line in body]
    if inline_constants:
        body = _inline_constants(body)
    out = []
    for line in [head] + ["    " + b for b in body]:
        out.extend(textwrap.wrap(line, width, subsequent_indent=" " * 8, break_long_words=False,
                                 break_on_hyphens=False) or [""])
    return "\n".join(out)
