r"""How well does a computation use the hardware? Time it and count its floating-point operations.

The same matrix product :math:`C = AB` can be computed one entry at a time, one column at a time,
a block of columns at a time, or in one call. The arithmetic is identical (``2 n k m`` FLOPs for
an ``n × k`` times ``k × m`` product: one multiplication and one addition per term); what changes
is how many Python-level calls it takes and how much work each call hands to the optimized
kernel underneath. :func:`time_matmuls` times the variants and reports GFLOP/s::

    >>> table = time_matmuls(n=128, blocks=(8, 64))
    >>> [t.name for t in table]
    ['element-wise', 'column-wise', 'blocks of 8 columns', 'blocks of 64 columns', 'one product']

:func:`time_updates` does the same for training: the time of one optimizer update (forward,
backward, step) as a function of the batch size, and hence the time per example.

Timings depend on the machine and on what else runs on it. Everything here is timed with one
thread by default (:func:`threads`), repeated, and summarised by the median; compare ratios
between variants measured in the same run, never absolute numbers between machines.
"""

from __future__ import annotations

import html
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["matmul_flops", "matmul_elementwise", "matmul_columnwise", "matmul_blocked", "matmul_full",
           "matmul_variants", "threads", "time_call", "Timing", "TimingTable", "time_matmuls",
           "time_updates"]


# --- the four ways of computing C = A B ---------------------------------------------------------

def matmul_flops(n: int, k: int, m: int) -> int:
    """Floating-point operations of an ``(n × k) @ (k × m)`` product, counted the usual way:
    ``n·m`` entries, each a sum of ``k`` products, i.e. ``k`` multiplications and ``k`` additions
    (the first addition is to zero), so ``2·n·k·m``."""
    for name, value in (("n", n), ("k", k), ("m", m)):
        if int(value) != value or value < 0:
            raise ValueError(f"Invalid {name}: {value!r} (expected an integer >= 0)")
    return 2 * int(n) * int(k) * int(m)


def _output(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"expected matrices of shapes (n, k) and (k, m), got {tuple(A.shape)} and {tuple(B.shape)}")
    return torch.empty(A.shape[0], B.shape[1], dtype=torch.result_type(A, B), device=A.device)


def matmul_elementwise(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``C[i, j] = A[i, :] · B[:, j]``: one dot product, and one Python call, per entry of C."""
    C = _output(A, B)
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            C[i, j] = torch.dot(A[i], B[:, j])
    return C


def matmul_columnwise(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``C[:, j] = A @ B[:, j]``: one matrix-vector product per column of C."""
    C = _output(A, B)
    for j in range(B.shape[1]):
        C[:, j] = A @ B[:, j]
    return C


def matmul_blocked(A: torch.Tensor, B: torch.Tensor, block: int = 64) -> torch.Tensor:
    """``C[:, j:j+block] = A @ B[:, j:j+block]``: one matrix product per block of ``block`` columns
    (the last block may be narrower)."""
    if int(block) != block or block < 1:
        raise ValueError(f"Invalid block: {block!r} (expected an integer >= 1)")
    C = _output(A, B)
    for j in range(0, B.shape[1], block):
        C[:, j:j + block] = A @ B[:, j:j + block]
    return C


def matmul_full(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``C = A @ B`` in a single call."""
    _output(A, B)
    return A @ B


def matmul_variants(blocks=(16, 64)) -> dict[str, Callable]:
    """The variants by name, from the most to the least Python work: element-wise, column-wise,
    one entry per width in ``blocks``, and the single product."""
    variants = {"element-wise": matmul_elementwise, "column-wise": matmul_columnwise}
    for b in blocks:
        variants[f"blocks of {b} columns"] = (lambda A, B, b=b: matmul_blocked(A, B, b))
    variants["one product"] = matmul_full
    return variants


# --- timing ---------------------------------------------------------------------------------------

@contextmanager
def threads(n: int | None = 1):
    """Run the block with ``torch.set_num_threads(n)`` and restore the previous count afterwards.
    ``n=None`` leaves the setting alone."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _synchronize(device) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable, *args, repeats: int = 5, warmup: int = 1, max_seconds: float | None = None,
              device=None, clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Call ``fn(*args)`` ``warmup`` times untimed, then up to ``repeats`` times timed; return the
    durations in seconds.

    With ``max_seconds``, timing stops early once the timed calls have taken that long in total
    (at least one call is always timed), so a slow variant costs about ``max_seconds`` rather than
    ``repeats`` times its duration. On a CUDA ``device`` each call is followed by a
    synchronisation, so that the time includes the work and not just its launch.
    """
    if int(repeats) != repeats or repeats < 1:
        raise ValueError(f"Invalid repeats: {repeats!r} (expected an integer >= 1)")
    if int(warmup) != warmup or warmup < 0:
        raise ValueError(f"Invalid warmup: {warmup!r} (expected an integer >= 0)")
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"Invalid max_seconds: {max_seconds!r} (expected max_seconds > 0 or None)")
    for _ in range(warmup):
        fn(*args)
    _synchronize(device)
    durations = []
    for _ in range(repeats):
        start = clock()
        fn(*args)
        _synchronize(device)
        durations.append(clock() - start)
        if max_seconds is not None and sum(durations) >= max_seconds:
            break
    return durations


@dataclass(frozen=True)
class Timing:
    """One timed computation: its name, the median of its timed repeats (seconds), how many
    floating-point operations one call performs, and how many examples it processed (if any)."""
    name: str
    seconds: float
    flops: int = 0
    repeats: int = 1
    examples: int = 0

    @property
    def gflops(self) -> float:
        """Billions of floating-point operations per second."""
        return self.flops / self.seconds / 1e9 if self.seconds > 0 else float("inf")

    @property
    def seconds_per_example(self) -> float:
        return self.seconds / self.examples if self.examples else float("nan")


class TimingTable(list):
    """A list of :class:`Timing` that displays as a table; ``table["one product"]`` finds by name
    and ``table.ratio(a, b)`` is how many times faster ``a`` ran than ``b``."""

    def __getitem__(self, key):
        if isinstance(key, str):
            for timing in self:
                if timing.name == key:
                    return timing
            raise KeyError(key)
        return super().__getitem__(key)

    def ratio(self, faster: str, slower: str) -> float:
        """``time(slower) / time(faster)``."""
        return self[slower].seconds / self[faster].seconds

    def _rows(self):
        with_flops = any(t.flops for t in self)
        with_examples = any(t.examples for t in self)
        head = ["computation", "median time"]
        head += ["GFLOP/s"] if with_flops else []
        head += ["time per example"] if with_examples else []
        rows = []
        for t in self:
            row = [t.name, _duration(t.seconds)]
            row += [f"{t.gflops:.3g}"] if with_flops else []
            row += [_duration(t.seconds_per_example)] if with_examples else []
            rows.append(row)
        return head, rows

    def __repr__(self) -> str:
        head, rows = self._rows()
        widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
        lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in [head, *rows]]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head, rows = self._rows()
        th = "".join(f"<th style='text-align:{'left' if i == 0 else 'right'}'>{html.escape(h)}</th>"
                     for i, h in enumerate(head))
        body = "".join("<tr>" + "".join(f"<td style='text-align:{'left' if i == 0 else 'right'}'>"
                                        f"{html.escape(str(c))}</td>" for i, c in enumerate(r)) + "</tr>"
                       for r in rows)
        return f"<table class='optimlab-timings'><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _duration(seconds: float) -> str:
    if seconds != seconds:
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def time_matmuls(n: int = 128, blocks=(16, 64), *, repeats: int = 5, max_seconds: float | None = 0.25,
                 seed: int = 0, dtype: torch.dtype = torch.float32, device=None,
                 num_threads: int | None = 1) -> TimingTable:
    """Time every variant of :func:`matmul_variants` on the same random ``n × n`` matrices.

    The first, untimed call of each variant is checked against ``A @ B`` (it also serves as the
    warm-up); then :func:`time_call` times up to ``repeats`` calls, or fewer once they have taken
    ``max_seconds``, with ``num_threads`` threads. Returns a :class:`TimingTable`: one
    :class:`Timing` per variant, the median of its timed calls, with its GFLOP/s.
    """
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=generator, dtype=dtype).to(device)
    B = torch.randn(n, n, generator=generator, dtype=dtype).to(device)
    reference = A @ B
    flops = matmul_flops(n, n, n)
    table = TimingTable()
    with threads(num_threads):
        for name, fn in matmul_variants(blocks).items():
            if not torch.allclose(fn(A, B), reference, rtol=1e-4, atol=1e-4 * n):
                raise AssertionError(f"{name} does not compute A @ B")
            durations = time_call(fn, A, B, repeats=repeats, warmup=0, max_seconds=max_seconds, device=device)
            table.append(Timing(name, statistics.median(durations), flops, len(durations)))
    return table


def time_updates(model: torch.nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor, batch_sizes, *,
                 optimizer: Callable | None = None, repeats: int = 20, warmup: int = 2,
                 num_threads: int | None = 1) -> TimingTable:
    """Median time of one training update (``zero_grad``, forward, loss, ``backward``, ``step``) on
    the first ``b`` examples of ``x, y`` for each ``b`` in ``batch_sizes``.

    ``optimizer`` builds an optimizer from the parameters (default: ``optimlab.optim.SGD`` with
    ``lr=1e-3``); the model's parameters are restored afterwards, so timing does not train it.
    Each :class:`Timing` records ``examples = b``, so ``seconds_per_example`` is the cost of one
    example's share of an update.
    """
    from .optim import SGD

    build = optimizer or (lambda params: SGD(params, lr=1e-3))
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    table = TimingTable()
    try:
        with threads(num_threads):
            for b in batch_sizes:
                if int(b) != b or not 1 <= b <= len(x):
                    raise ValueError(f"Invalid batch size: {b!r} (expected 1 <= batch size <= {len(x)})")
                xb, yb = x[:b], y[:b]
                opt = build(model.parameters())

                def update():
                    opt.zero_grad()
                    loss_fn(model(xb), yb).backward()
                    opt.step()
                durations = time_call(update, repeats=repeats, warmup=warmup)
                table.append(Timing(f"batch of {b}", statistics.median(durations), 0, repeats, int(b)))
    finally:
        model.load_state_dict(saved)
    return table
