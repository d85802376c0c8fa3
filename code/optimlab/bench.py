"""Time one optimizer step: optimlab's implementations against torch's.

Usage::

    python -m optimlab.bench                       # Adam, AdamW, SGD+momentum at 1e5, 1e6, 1e7 parameters
    python -m optimlab.bench --sizes 1e6,1e7 --repeats 15 --optimizers Adam

For each optimizer, size and layout ("few large" tensors, or "200 small" ones of equal size)
the step is timed for optimlab's three implementations (the for-loop, ``foreach=True`` and
``fused=True``, all derived from the same ``update``) and torch's three: the for-loop
(``foreach=False``, what the optimizers here are compared with), ``foreach`` (one kernel per
operation over all tensors) and ``fused`` (one kernel for the whole update). The
implementations take turns, step by step in a shuffled order, on the same float32 parameters
and gradients, so a busy machine slows them alike; after a warm-up the table reports the
median time of one step in milliseconds and ratios of ours to torch's. A second, independent
copy of torch's for-loop optimizer runs alongside; its ratio to the first is what identical
code gets on the same machine, the noise level against which the other ratios should be read.

An optimizer step over millions of parameters reads and writes a few arrays of that size: it
is limited by memory bandwidth, not arithmetic. The table gives the *effective bandwidth* of
the fused steps, the bytes a step must move (Adam and AdamW read θ, g, m, v and write θ, m, v:
28 bytes per float32 parameter; SGD with momentum reads θ, g, b and writes θ, b: 20 bytes)
divided by the median time, next to the bandwidth this machine reaches with ``a.add_(b)``
over tensors of the same size (12 bytes per element), timed in the same rounds. The first
step of ``fused=True`` compiles the update (Inductor); its time is reported separately and
not counted in the medians (it is much shorter when Inductor's on-disk cache already holds the
kernels of an earlier run).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from typing import Callable

import torch

from . import optim as ours

LAYOUTS = {"few large": 4, "200 small": 200}  # number of tensors the parameters are split into

OPTIMIZERS = {  # (our class, torch's class, arguments, bytes moved per float32 parameter per step)
    "Adam": (ours.Adam, torch.optim.Adam, {"lr": 1e-3}, 28),
    "AdamW": (ours.AdamW, torch.optim.AdamW, {"lr": 1e-3}, 28),
    "SGD": (ours.SGD, torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9}, 20),
}

IMPLEMENTATIONS = ("ours", "ours foreach", "ours fused", "for-loop", "foreach", "fused")
# A second, independent torch for-loop optimizer: its ratio to the first shows how much two
# runs of the *same* code differ on this machine, the noise level of the other ratios.
REFERENCE = "for-loop again"


def make_optimizers(name, params):
    """One optimizer per implementation, each with its own state, over the same tensors."""
    our_cls, torch_cls, kwargs, _ = OPTIMIZERS[name]
    return {
        "ours": our_cls(params, **kwargs),
        "ours foreach": our_cls(params, **kwargs, foreach=True),
        "ours fused": our_cls(params, **kwargs, fused=True),
        "for-loop": torch_cls(params, **kwargs, foreach=False),
        "foreach": torch_cls(params, **kwargs, foreach=True),
        "fused": torch_cls(params, **kwargs, fused=True),
        REFERENCE: torch_cls(params, **kwargs, foreach=False),
    }


def interleaved_medians(contenders: dict[str, Callable[[], object]], repeats: int = 15, warmup: int = 2,
                        seed: int = 0) -> dict[str, float]:
    """Median seconds of each callable; every round calls each once, in a shuffled order."""
    if int(repeats) != repeats or repeats < 1:
        raise ValueError(f"Invalid repeats: {repeats!r} (expected an integer >= 1)")
    rng = random.Random(seed)
    order = list(contenders)
    times = {k: [] for k in order}
    for i in range(warmup + repeats):
        rng.shuffle(order)
        for k in order:
            t0 = time.perf_counter()
            contenders[k]()
            elapsed = time.perf_counter() - t0
            if i >= warmup:
                times[k].append(elapsed)
    return {k: statistics.median(v) for k, v in times.items()}


def time_step(name: str, size: int, n_tensors: int, repeats: int, warmup: int, seed: int = 0):
    """Median milliseconds per step of each implementation (and of ``add_``, "add"), and compile seconds."""
    gen = torch.Generator().manual_seed(seed)
    base, extra = divmod(size, n_tensors)
    sizes = [base + (i < extra) for i in range(n_tensors)]
    params = []
    for n in sizes:
        p = torch.randn(n, generator=gen).requires_grad_()
        p.grad = torch.randn(n, generator=gen) * 1e-2
        params.append(p)
    optimizers = make_optimizers(name, params)
    t0 = time.perf_counter()
    optimizers["ours fused"].step()  # compiles
    compile_s = time.perf_counter() - t0
    a, b = torch.randn(size, generator=gen), torch.randn(size, generator=gen)
    contenders = {**{k: o.step for k, o in optimizers.items()}, "add": lambda: a.add_(b)}
    seconds = interleaved_medians(contenders, repeats, warmup, seed)
    return {k: 1e3 * v for k, v in seconds.items()}, compile_s


def parse_sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",") if s.strip()]


def format_size(n: int) -> str:
    exponent = len(str(n)) - 1
    return f"1e{exponent}" if n == 10 ** exponent else f"{n:,}"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m optimlab.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e5,1e6,1e7"),
                        help="total numbers of parameters, comma-separated (default 1e5,1e6,1e7)")
    parser.add_argument("--repeats", type=int, default=31, help="timed steps per case (default 31)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS),
                        help=f"comma-separated, from {', '.join(OPTIMIZERS)}")
    parser.add_argument("--layouts", default=",".join(LAYOUTS),
                        help=f"comma-separated, from {', '.join(LAYOUTS)}")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    names = [s.strip() for s in args.optimizers.split(",")]
    layouts = [s.strip() for s in args.layouts.split(",")]
    print(f"torch {torch.__version__}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} thread(s), float32; "
          f"median of {args.repeats} steps after {args.warmup} warm-up steps, ms/step")
    print()
    header = ["optimizer", "layout", "parameters", *(f"{k} (ms)" for k in IMPLEMENTATIONS),
              "ours / for-loop", "ours fused / fused", "noise: for-loop again / for-loop",
              "ours fused GB/s", "fused GB/s", "add_ GB/s", "ours fused: compile (s)"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|")
    rows = []
    for name in names:
        for layout in layouts:
            for size in args.sizes:
                ms, compile_s = time_step(name, size, LAYOUTS[layout], args.repeats, args.warmup)
                moved = OPTIMIZERS[name][3] * size  # bytes a step must read and write
                row = {"optimizer": name, "layout": layout, "size": size, **ms,
                       "ratio": ms["ours"] / ms["for-loop"],
                       "fused ratio": ms["ours fused"] / ms["fused"],
                       "noise": ms[REFERENCE] / ms["for-loop"],
                       "ours fused GB/s": moved / ms["ours fused"] / 1e6,
                       "fused GB/s": moved / ms["fused"] / 1e6,
                       "add_ GB/s": 12 * size / ms["add"] / 1e6,
                       "compile_s": compile_s}
                rows.append(row)
                cells = [name, layout, format_size(size), *(f"{ms[k]:.3f}" for k in IMPLEMENTATIONS),
                         f"{row['ratio']:.2f}", f"{row['fused ratio']:.2f}", f"{row['noise']:.2f}",
                         f"{row['ours fused GB/s']:.1f}", f"{row['fused GB/s']:.1f}",
                         f"{row['add_ GB/s']:.1f}", f"{compile_s:.1f}"]
                print("| " + " | ".join(cells) + " |", flush=True)
    return rows


if __name__ == "__main__":
    main()
