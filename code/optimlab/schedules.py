r"""Learning-rate schedules as plain functions of the step.

Every schedule here is a pure function ``f(t, ...) -> float``: the learning rate :math:`\eta_t` used
by the update at step ``t = 0, 1, 2, ...`` (``t = 0`` is the first update). Nothing is stored and
nothing is mutated, so a schedule can be plotted, compared or tested without an optimizer.

Notation (the book's): :math:`\eta_0` is the base learning rate ``lr0``, :math:`T` a number of steps,
:math:`\gamma` a decay factor per step or per stage, :math:`\eta_{\min}` a floor or final value.

The scheduler classes in :mod:`optimlab.optim.lr_scheduler` call these functions, so each formula
is written once (torch's chainable classes step by the ratio :math:`f(t)/f(t-1)` of the function). Where a function mirrors a ``torch.optim.lr_scheduler`` class it uses that class's
argument names (``step_size``, ``milestones``, ``T_max``, ``T_0``, ...) and gives the same numbers;
the docstring says where a function deliberately differs from torch.

Every function checks its arguments and raises ``ValueError`` naming the argument and its
allowed range (``TypeError`` for something that is not a number at all).
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right
from typing import Iterable, Sequence

__all__ = [
    "cosine_anneal",
    "linear_anneal",
    "constant_lr",
    "piecewise_constant_lr",
    "step_lr",
    "multistep_lr",
    "factor_lr",
    "exponential_lr",
    "polynomial_lr",
    "cosine_lr",
    "cosine_annealing_lr",
    "linear_lr",
    "linear_warmup_lr",
    "warmup_cosine_lr",
    "one_cycle_lr",
    "one_cycle_momentum",
    "cosine_restarts_lr",
    "constant_factor_lr",
    "multiplicative_lr",
    "cyclic_lr",
    "cyclic_momentum",
]


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------

def _real(name: str, value, low=None, high=None, *, low_open: bool = False,
          high_open: bool = False) -> float:
    """Return ``value`` as a float after checking that it is a finite real number in range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {name}: expected a real number, got {type(value).__name__}")
    ok = math.isfinite(value)
    if low is not None:
        ok = ok and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        expected = name
        if low is not None:
            expected = f"{low} {'<' if low_open else '<='} {expected}"
        if high is not None:
            expected = f"{expected} {'<' if high_open else '<='} {high}"
        if low is None and high is None:
            expected = f"{name} finite"
        raise ValueError(f"Invalid {name}: {value!r} (expected {expected})")
    return float(value)


def _integer(name: str, value, low: int) -> int:
    """Return ``value`` after checking that it is an integer ``>= low`` (a step count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"Invalid {name}: {value!r} (expected an integer >= {low})")
    if value < low:
        raise ValueError(f"Invalid {name}: {value!r} (expected an integer >= {low})")
    return int(value)


def _step(t) -> float:
    """The step ``t``: a finite real number ``>= 0`` (integers in practice)."""
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise TypeError(f"Invalid t: expected a step number, got {type(t).__name__}")
    if not (math.isfinite(t) and t >= 0):
        raise ValueError(f"Invalid t: {t!r} (expected 0 <= t)")
    return t


# --------------------------------------------------------------------------------------------
# The two interpolations every annealing schedule is built from
# --------------------------------------------------------------------------------------------

def cosine_anneal(start: float, end: float, frac: float) -> float:
    r"""Half a cosine from ``start`` (at ``frac = 0``) to ``end`` (at ``frac = 1``)::

        end + (start − end) · (1 + cos(π · frac)) / 2

    ``frac`` is not clipped: past 1 the value follows the cosine back up, which is what
    torch's ``CosineAnnealingLR`` does after ``T_max``.
    """
    return end + (start - end) * (1.0 + math.cos(math.pi * frac)) / 2.0


def linear_anneal(start: float, end: float, frac: float) -> float:
    r"""The straight line from ``start`` (at ``frac = 0``) to ``end`` (at ``frac = 1``)::

        start + (end − start) · frac
    """
    return (end - start) * frac + start


# --------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------

def constant_lr(t, lr0: float) -> float:
    r"""Constant learning rate::

        η_t = η_0
    """
    _step(t)
    return _real("lr0", lr0, 0.0)


def piecewise_constant_lr(t, boundaries: Sequence[float], values: Sequence[float]) -> float:
    r"""Piecewise constant: ``values[i]`` from step ``boundaries[i-1]`` up to (not including) step
    ``boundaries[i]``::

        η_t = v_0  for t < b_1,   η_t = v_i  for b_i <= t < b_{i+1},   η_t = v_n  for t >= b_n

    ``boundaries`` must be strictly increasing and non-negative, and there must be one more value
    than boundaries. :func:`step_lr` and :func:`multistep_lr` are the special cases whose values
    form a geometric sequence.
    """
    _step(t)
    boundaries = list(boundaries)
    values = list(values)
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"Invalid values: got {len(values)} values for {len(boundaries)} boundaries "
                         f"(expected len(values) == len(boundaries) + 1)")
    for i, b in enumerate(boundaries):
        _real(f"boundaries[{i}]", b, 0.0)
        if i > 0 and not b > boundaries[i - 1]:
            raise ValueError(f"Invalid boundaries: {boundaries!r} (expected strictly increasing)")
    for i, v in enumerate(values):
        _real(f"values[{i}]", v, 0.0)
    return float(values[bisect_right(boundaries, t)])


def step_lr(t, lr0: float, step_size: int, gamma: float = 0.1) -> float:
    r"""Step decay: multiply by :math:`\gamma` every ``step_size`` = :math:`s` steps::

        η_t = η_0 · γ^⌊t / s⌋

    Same numbers as ``torch.optim.lr_scheduler.StepLR``.
    """
    _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    step_size = _integer("step_size", step_size, 1)
    gamma = _real("gamma", gamma, 0.0, low_open=True)
    return lr0 * gamma ** (t // step_size)


def multistep_lr(t, lr0: float, milestones: Iterable[int], gamma: float = 0.1) -> float:
    r"""Multi-step (multi-factor) decay: multiply by :math:`\gamma` at each milestone :math:`m_i`::

        η_t = η_0 · γ^#{i : m_i <= t}

    The decay applies from the milestone step itself on: with milestones ``[15, 30]`` the steps
    ``0..14`` use :math:`\eta_0`, ``15..29`` use :math:`\gamma\eta_0`, ``30..`` use
    :math:`\gamma^2\eta_0`. A milestone listed twice counts twice. Same numbers as
    ``torch.optim.lr_scheduler.MultiStepLR``.
    """
    _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    milestones = sorted(_integer(f"milestones[{i}]", m, 0) for i, m in enumerate(milestones))
    gamma = _real("gamma", gamma, 0.0, low_open=True)
    return lr0 * gamma ** bisect_right(milestones, t)


def factor_lr(t, lr0: float, factor: float, floor: float = 0.0) -> float:
    r"""Factor decay with a floor: the recursion :math:`\eta_{t+1} = \max(\eta_{\min}, \alpha\,\eta_t)`
    in closed form, with :math:`\alpha` = ``factor`` and :math:`\eta_{\min}` = ``floor``::

        η_t = max(η_min, η_0 · α^t)

    The closed form equals the recursion because :math:`0 < \alpha \le 1` and
    :math:`\eta_{\min} \le \eta_0`: once the floor is reached the recursion stays on it.
    With ``floor = 0`` this is :func:`exponential_lr`.
    """
    _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    factor = _real("factor", factor, 0.0, 1.0, low_open=True)
    floor = _real("floor", floor, 0.0, lr0)
    return max(floor, lr0 * factor ** t)


def exponential_lr(t, lr0: float, gamma: float) -> float:
    r"""Exponential decay (growth if :math:`\gamma > 1`)::

        η_t = η_0 · γ^t

    Same numbers as ``torch.optim.lr_scheduler.ExponentialLR``.
    """
    _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    gamma = _real("gamma", gamma, 0.0, low_open=True)
    return lr0 * gamma ** t


def polynomial_lr(t, lr0: float, total_iters: int = 5, power: float = 1.0) -> float:
    r"""Polynomial decay to zero over ``total_iters`` = :math:`T` steps, then zero::

        η_t = η_0 · (1 − min(t, T) / T)^p

    ``power`` = :math:`p`; ``p = 1`` is a straight line. Same numbers as
    ``torch.optim.lr_scheduler.PolynomialLR``.
    """
    _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    total_iters = _integer("total_iters", total_iters, 1)
    power = _real("power", power, 0.0)
    return lr0 * (1.0 - min(total_iters, t) / total_iters) ** power


def cosine_lr(t, lr0: float, total_steps: int, lr_final: float = 0.0) -> float:
    r"""Cosine decay from :math:`\eta_0` to a final value :math:`\eta_T` over :math:`T` steps,
    then constant::

        η_t = η_T + (η_0 − η_T) · (1 + cos(π t / T)) / 2     for t <= T
        η_t = η_T                                          for t >= T

    **How this differs from torch's** ``CosineAnnealingLR(T_max=T, eta_min=η_T)``: up to
    :math:`T` the two agree; after :math:`T` torch keeps following the cosine, so its learning
    rate climbs back to :math:`\eta_0` at :math:`2T` (period :math:`2T`), whereas this schedule
    stays at :math:`\eta_T`. :func:`cosine_annealing_lr` is torch's form.
    """
    _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    total_steps = _integer("total_steps", total_steps, 1)
    lr_final = _real("lr_final", lr_final, 0.0)
    return cosine_anneal(lr0, lr_final, min(t, total_steps) / total_steps)


def cosine_annealing_lr(t, lr0: float, T_max: int, eta_min: float = 0.0) -> float:
    r"""torch's cosine annealing, which keeps following the cosine after ``T_max``::

        η_t = η_min + (η_0 − η_min) · (1 + cos(π t / T_max)) / 2     for every t

    It reaches :math:`\eta_{\min}` at ``T_max``, climbs back to :math:`\eta_0` at ``2 T_max``
    and repeats with period ``2 T_max``. Same numbers as
    ``torch.optim.lr_scheduler.CosineAnnealingLR``. Use :func:`cosine_lr` for a cosine that
    stops at its final value.
    """
    _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    T_max = _integer("T_max", T_max, 1)
    eta_min = _real("eta_min", eta_min, 0.0)
    return cosine_anneal(lr0, eta_min, t / T_max)


def linear_lr(t, lr0: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
              total_iters: int = 5) -> float:
    r"""Linear change of a multiplicative factor from ``start_factor`` = :math:`s` to
    ``end_factor`` = :math:`e` over ``total_iters`` = :math:`T` steps, then constant::

        η_t = η_0 · (s + (e − s) · min(t, T) / T)

    Same numbers and argument ranges (:math:`0 < s \le 1`, :math:`0 \le e \le 1`) as
    ``torch.optim.lr_scheduler.LinearLR``. Note that the very first update already uses
    :math:`s\,\eta_0`, not :math:`\eta_0`.
    """
    _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    start_factor = _real("start_factor", start_factor, 0.0, 1.0, low_open=True)
    end_factor = _real("end_factor", end_factor, 0.0, 1.0)
    total_iters = _integer("total_iters", total_iters, 1)
    return lr0 * (start_factor + (end_factor - start_factor) * min(total_iters, t) / total_iters)


def linear_warmup_lr(t, lr0: float, warmup_steps: int, start_factor: float = 1.0 / 3) -> float:
    r"""Linear warmup from :math:`s\,\eta_0` to :math:`\eta_0` over ``warmup_steps`` = :math:`W`
    steps, then constant::

        η_t = η_0 · (s + (1 − s) · min(t, W) / W)

    The first update (``t = 0``) uses :math:`s\,\eta_0` with ``start_factor`` = :math:`s` in
    :math:`(0, 1]` (default 1/3, torch's ``LinearLR`` default); ``warmup_steps = 0`` means no
    warmup. This is :func:`linear_lr` with ``end_factor = 1``.
    """
    _step(t)
    warmup_steps = _integer("warmup_steps", warmup_steps, 0)
    if warmup_steps == 0:
        _real("start_factor", start_factor, 0.0, 1.0, low_open=True)
        return _real("lr0", lr0, 0.0)
    return linear_lr(t, lr0, start_factor, 1.0, warmup_steps)


def warmup_cosine_lr(t, lr0: float, warmup_steps: int, total_steps: int, lr_final: float = 0.0,
                     start_factor: float = 1.0 / 3) -> float:
    r"""Linear warmup over :math:`W` steps, then cosine decay to :math:`\eta_T` at step :math:`T`,
    then constant::

        η_t = η_0 · (s + (1 − s) · t / W)                               for t < W
        η_t = η_T + (η_0 − η_T) · (1 + cos(π (t − W) / (T − W))) / 2     for W <= t <= T
        η_t = η_T                                                      for t >= T

    ``total_steps`` = :math:`T` counts the warmup steps too (:math:`T > W \ge 0`). The first
    update uses :math:`s\,\eta_0`, and the peak :math:`\eta_0` is reached at :math:`t = W`. Up to
    :math:`T` this equals torch's ``SequentialLR([LinearLR(start_factor=s, total_iters=W),
    CosineAnnealingLR(T_max=T − W, eta_min=η_T)], milestones=[W])``; after :math:`T` torch's
    cosine climbs back up while this schedule stays at :math:`\eta_T`.
    """
    _step(t)
    warmup_steps = _integer("warmup_steps", warmup_steps, 0)
    total_steps = _integer("total_steps", total_steps, warmup_steps + 1)
    _real("start_factor", start_factor, 0.0, 1.0, low_open=True)
    if t < warmup_steps:
        return linear_warmup_lr(t, lr0, warmup_steps, start_factor)
    return cosine_lr(t - warmup_steps, lr0, total_steps - warmup_steps, lr_final)


def _one_cycle(t, total_steps: int, pct_start: float, anneal_strategy: str, three_phase: bool,
               knots: Sequence[float]) -> float:
    """Anneal through ``knots`` along the phases of a one-cycle schedule (torch's phase layout).

    Phase ends (in steps): ``pct_start·T − 1``, then ``2·pct_start·T − 2`` if three-phase, then
    ``T − 1``. Within phase ``i`` the value goes from ``knots[i]`` to ``knots[i+1]``. The last
    phase is extended (not clipped) to ``t = T``, as torch does.
    """
    if t > total_steps:
        raise ValueError(f"Invalid t: {t!r} (expected 0 <= t <= total_steps = {total_steps}); "
                         f"a one-cycle schedule has no value past its end")
    ends = [float(pct_start * total_steps) - 1]
    if three_phase:
        ends.append(float(2 * pct_start * total_steps) - 2)
    ends.append(total_steps - 1)
    anneal = cosine_anneal if anneal_strategy == "cos" else linear_anneal
    start = 0.0
    for i, end in enumerate(ends):
        if t <= end or i == len(ends) - 1:
            if end == start:
                raise ValueError(
                    f"Invalid pct_start: {pct_start!r} (expected a value that leaves no phase zero "
                    f"steps long; with total_steps={total_steps} and three_phase={three_phase}, "
                    f"phase {i + 1} is zero steps long at t={t})")
            return anneal(knots[i], knots[i + 1], (t - start) / (end - start))
        start = end
    raise AssertionError("unreachable")


def _check_one_cycle(total_steps, pct_start, anneal_strategy, three_phase) -> tuple:
    total_steps = _integer("total_steps", total_steps, 1)
    pct_start = _real("pct_start", pct_start, 0.0, 1.0)
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"Invalid anneal_strategy: {anneal_strategy!r} (expected 'cos' or 'linear')")
    if not isinstance(three_phase, bool):
        raise TypeError(f"Invalid three_phase: expected a bool, got {type(three_phase).__name__}")
    return total_steps, pct_start


def one_cycle_lr(t, max_lr: float, total_steps: int, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False) -> float:
    r"""The one-cycle learning rate (torch's ``OneCycleLR``), from
    :math:`\eta_{\text{start}} = \eta_{\max}/d` up to :math:`\eta_{\max}` and down to
    :math:`\eta_{\text{end}} = \eta_{\text{start}}/d_f` over ``total_steps`` = :math:`T` steps,
    with :math:`d` = ``div_factor`` and :math:`d_f` = ``final_div_factor``.

    Two phases (default): :math:`\eta_{\text{start}} \to \eta_{\max}` over the first
    :math:`pT - 1` steps (:math:`p` = ``pct_start``), then :math:`\eta_{\max} \to
    \eta_{\text{end}}` until step :math:`T - 1`. Three phases: up to :math:`\eta_{\max}`, back
    down to :math:`\eta_{\text{start}}` at step :math:`2pT - 2`, then down to
    :math:`\eta_{\text{end}}` at :math:`T - 1`. Each phase anneals with::

        cos:     η = η_b + (η_a − η_b) · (1 + cos(π f)) / 2      (f: fraction of the phase done)
        linear:  η = η_a + (η_b − η_a) · f

    Valid for ``0 <= t <= total_steps``, like torch. Step ``T`` (one past the last step, which
    a loop of ``T`` × ``optimizer.step(); scheduler.step()`` reaches but never uses) extends the
    last phase beyond its end: with ``cos`` the rate rises back to its value at step
    :math:`T - 2`; with ``linear`` it falls below :math:`\eta_{\text{end}}` and is usually
    *negative*. Past ``T`` a ``ValueError`` is raised.
    """
    _step(t)
    total_steps, pct_start = _check_one_cycle(total_steps, pct_start, anneal_strategy, three_phase)
    max_lr = _real("max_lr", max_lr, 0.0)
    div_factor = _real("div_factor", div_factor, 0.0, low_open=True)
    final_div_factor = _real("final_div_factor", final_div_factor, 0.0, low_open=True)
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    knots = (initial_lr, max_lr, initial_lr, min_lr) if three_phase else (initial_lr, max_lr, min_lr)
    return _one_cycle(t, total_steps, pct_start, anneal_strategy, three_phase, knots)


def one_cycle_momentum(t, total_steps: int, pct_start: float = 0.3, anneal_strategy: str = "cos",
                       base_momentum: float = 0.85, max_momentum: float = 0.95,
                       three_phase: bool = False) -> float:
    r"""The momentum (or Adam's :math:`\beta_1`) that torch's ``OneCycleLR`` cycles inversely to the
    learning rate: :math:`\mu_{\max} \to \mu_{\text{base}}` while the rate rises, back to
    :math:`\mu_{\max}` while it falls (and constant at :math:`\mu_{\max}` in the third phase of
    ``three_phase``). Phases and annealing as in :func:`one_cycle_lr`; requires
    :math:`0 \le \mu_{\text{base}} \le \mu_{\max}`.
    """
    _step(t)
    total_steps, pct_start = _check_one_cycle(total_steps, pct_start, anneal_strategy, three_phase)
    base_momentum = _real("base_momentum", base_momentum, 0.0)
    max_momentum = _real("max_momentum", max_momentum, base_momentum)
    knots = ((max_momentum, base_momentum, max_momentum, max_momentum) if three_phase
             else (max_momentum, base_momentum, max_momentum))
    return _one_cycle(t, total_steps, pct_start, anneal_strategy, three_phase, knots)


def _restart_position(t, T_0: int, T_mult: int) -> tuple:
    """Where step ``t`` falls in the cycles of SGDR: ``(T_cur, T_i)``, the steps since the last
    restart and the length of the current cycle (cycle ``i`` has length ``T_0 · T_mult^i``)."""
    if T_mult == 1:
        return t % T_0, T_0
    start, length = 0, T_0
    while t >= start + length:
        start, length = start + length, length * T_mult
    return t - start, length


def cosine_restarts_lr(t, lr0: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> float:
    r"""Cosine annealing with warm restarts (SGDR; torch's ``CosineAnnealingWarmRestarts``)::

        η_t = η_min + (η_0 − η_min) · (1 + cos(π T_cur / T_i)) / 2

    where the cycles have lengths :math:`T_i = T_0\,T_{\text{mult}}^i` and :math:`T_{\text{cur}}`
    counts the steps since the last restart: the rate jumps back to :math:`\eta_0` at steps
    :math:`T_0`, :math:`T_0 + T_0 T_{\text{mult}}`, ... and never quite reaches
    :math:`\eta_{\min}`. ``t`` may be fractional (a fraction of an epoch), as torch allows.
    """
    t = _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    T_0 = _integer("T_0", T_0, 1)
    T_mult = _integer("T_mult", T_mult, 1)
    eta_min = _real("eta_min", eta_min, 0.0)
    T_cur, T_i = _restart_position(t, T_0, T_mult)
    return cosine_anneal(lr0, eta_min, T_cur / T_i)


def constant_factor_lr(t, lr0: float, factor: float = 1.0 / 3, total_iters: int = 5) -> float:
    r"""A reduced rate for the first ``total_iters`` = :math:`T` steps, then the base rate
    (torch's ``ConstantLR``), with ``factor`` = :math:`c`::

        η_t = c · η_0   for t < T
        η_t = η_0       for t >= T

    Same numbers and argument range (:math:`0 \le c \le 1`) as
    ``torch.optim.lr_scheduler.ConstantLR``; :math:`T \ge 1` (torch also takes :math:`T = 0`,
    where its step-by-step and closed forms disagree).
    """
    _step(t)
    lr0 = _real("lr0", lr0, 0.0)
    factor = _real("factor", factor, 0.0, 1.0)
    total_iters = _integer("total_iters", total_iters, 1)
    return lr0 * (factor if t < total_iters else 1.0)


def multiplicative_lr(t: int, lr0: float, lr_lambda) -> float:
    r"""The base rate times the product of the factors ``lr_lambda(s)`` = :math:`\lambda(s)` of
    every step since the start (torch's ``MultiplicativeLR``)::

        η_t = η_0 · λ(1) · λ(2) ··· λ(t)        (η_0 at t = 0)

    This is the recursion :math:`\eta_t = \lambda(t)\,\eta_{t-1}` written out; it costs
    :math:`t` calls of ``lr_lambda``.
    """
    t = _integer("t", t, 0)
    lr0 = _real("lr0", lr0, 0.0)
    if not callable(lr_lambda):
        raise TypeError(f"Invalid lr_lambda: expected a function of the step, "
                        f"got {type(lr_lambda).__name__}")
    eta = lr0
    for s in range(1, t + 1):
        eta = eta * lr_lambda(s)                               # η_s = λ(s) · η_{s−1}
    return eta


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def _cyclic_scale(mode: str, gamma: float, scale_fn, scale_mode: str) -> tuple:
    """The amplitude scale :math:`s(\\cdot)` of a cyclic schedule and what it is a function of
    (``"cycle"`` or ``"iterations"``): the built-in modes fix both, as torch does."""
    if scale_fn is not None:
        if not callable(scale_fn):
            raise TypeError(f"Invalid scale_fn: expected a function, got {type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"Invalid scale_mode: {scale_mode!r} (expected 'cycle' or 'iterations')")
        return scale_fn, scale_mode
    if mode == "triangular":
        return (lambda c: 1.0), "cycle"                          # s(c) = 1
    if mode == "triangular2":
        return (lambda c: 1 / (2.0 ** (c - 1))), "cycle"         # s(c) = 2^{−(c−1)}: halve each cycle
    if mode == "exp_range":
        return (lambda n: gamma ** n), "iterations"              # s(n) = γ^n
    raise ValueError(f"Invalid mode: {mode!r} (expected one of {', '.join(_CYCLIC_MODES)}, "
                     f"or a scale_fn)")


def _cyclic(t, low, high, total_size: float, step_ratio: float, scale, scale_mode: str):
    """From ``low`` up to ``high`` over the rising part of each cycle and back (torch's layout):
    ``total_size`` steps per cycle, of which the fraction ``step_ratio`` rise."""
    cycle = math.floor(1 + t / total_size)                       # c = ⌊1 + t / (u + d)⌋
    x = 1.0 + t / total_size - cycle                             # x: fraction of cycle c done
    if x <= step_ratio:
        h = x / step_ratio                                       # rising:  h = x / r
    else:
        h = (x - 1) / (step_ratio - 1)                           # falling: h = (1 − x) / (1 − r)
    s = scale(cycle) if scale_mode == "cycle" else scale(t)
    return low + (high - low) * h * s                            # η_t = η_low + (η_high − η_low) h s


def _cyclic_sizes(step_size_up, step_size_down) -> tuple:
    up = _real("step_size_up", step_size_up, 0.0, low_open=True)
    down = up if step_size_down is None else _real("step_size_down", step_size_down, 0.0)
    return up + down, up / (up + down)


def cyclic_lr(t, base_lr: float, max_lr: float, step_size_up: float = 2000,
              step_size_down: float | None = None, mode: str = "triangular", gamma: float = 1.0,
              scale_fn=None, scale_mode: str = "cycle") -> float:
    r"""The cyclical learning rate (Smith, 2017; torch's ``CyclicLR``): up from ``base_lr`` =
    :math:`\eta_b` to ``max_lr`` = :math:`\eta_m` in :math:`u` = ``step_size_up`` steps, back
    down in :math:`d` = ``step_size_down`` steps (default :math:`u`), and again::

        c   = ⌊1 + t / (u + d)⌋                    the cycle, 1, 2, ...
        x   = 1 + t / (u + d) − c                  the fraction of cycle c done, in [0, 1)
        h   = x / r  if x <= r,  else (1 − x) / (1 − r)      with r = u / (u + d)
        η_t = η_b + (η_m − η_b) · h · s

    The amplitude scale :math:`s` is 1 (``"triangular"``), :math:`2^{-(c-1)}`
    (``"triangular2"``, halved every cycle), :math:`\gamma^t` (``"exp_range"``) or
    ``scale_fn(c)`` / ``scale_fn(t)`` (``scale_mode`` ``"cycle"`` / ``"iterations"``).

    The paper has :math:`u = d` and writes :math:`h = \max(0, 1 - |t/u - 2c + 1|)`, the same
    triangle; torch (and this function) also allow :math:`u \ne d`, fractional step sizes, and
    :math:`\eta_m < \eta_b`.
    """
    _step(t)
    base_lr = _real("base_lr", base_lr, 0.0)
    max_lr = _real("max_lr", max_lr, 0.0)
    total_size, step_ratio = _cyclic_sizes(step_size_up, step_size_down)
    scale, scale_mode = _cyclic_scale(mode, gamma, scale_fn, scale_mode)
    return _cyclic(t, base_lr, max_lr, total_size, step_ratio, scale, scale_mode)


def cyclic_momentum(t, base_momentum: float = 0.8, max_momentum: float = 0.9,
                    step_size_up: float = 2000, step_size_down: float | None = None,
                    mode: str = "triangular", gamma: float = 1.0, scale_fn=None,
                    scale_mode: str = "cycle") -> float:
    r"""The momentum (or Adam's :math:`\beta_1`) that torch's ``CyclicLR`` cycles opposite to the
    rate: :func:`cyclic_lr` with the two ends swapped, from :math:`\mu_{\max}` down to
    :math:`\mu_{\text{base}}` while the rate rises and back::

        μ_t = μ_max + (μ_base − μ_max) · h · s
    """
    _step(t)
    base_momentum = _real("base_momentum", base_momentum, 0.0)
    max_momentum = _real("max_momentum", max_momentum, 0.0)
    total_size, step_ratio = _cyclic_sizes(step_size_up, step_size_down)
    scale, scale_mode = _cyclic_scale(mode, gamma, scale_fn, scale_mode)
    return _cyclic(t, max_momentum, base_momentum, total_size, step_ratio, scale, scale_mode)
