r"""Learning-rate schedulers with torch's names, signatures and behaviour, written from scratch.

``optimlab.lr_scheduler.StepLR(optimizer, step_size=10)`` drops in for
``torch.optim.lr_scheduler.StepLR`` (and likewise for the other classes). They drive any
``torch.optim.Optimizer``: torch's own optimizers and the ones in :mod:`optimlab.optim`.

Design. The base class :class:`LRScheduler` does the bookkeeping, written once: it records each
group's ``initial_lr`` and the ``base_lrs``, counts steps in ``last_epoch``, writes the learning
rates into ``group["lr"]``, remembers them for :meth:`~LRScheduler.get_last_lr`, saves and loads
its state, and warns when ``scheduler.step()`` comes before the first ``optimizer.step()``. A
subclass only says what the learning rates *are* at a given step, :meth:`~LRScheduler.lrs_at`,
usually by calling a plain function from :mod:`optimlab.schedules`.

Usage is torch's: construct the scheduler after the optimizer (this already sets the rate for the
first update, step 0), then call ``optimizer.step()`` and *afterwards* ``scheduler.step()`` once
per step (or per epoch).

How these classes differ from torch's (the numbers are the same in ordinary use):

* Several torch schedulers are *chainable*: each ``step()`` multiplies the optimizer's current
  ``group["lr"]`` by a ratio (``StepLR``, ``MultiStepLR``, ``ExponentialLR``, ``LinearLR``,
  ``PolynomialLR``, ``CosineAnnealingLR``). Here every rate is computed from the step count, so
  the two agree to rounding (about 1e-15) as long as nothing else writes ``group["lr"]``. If
  something does (a manual edit, a second scheduler on the same optimizer), torch carries the
  change forward and these classes overwrite it. There is no ``ChainedScheduler``.
* Constructing with ``last_epoch=k >= 0`` (resuming without ``load_state_dict``) sets the rate of
  step ``k + 1`` for every class. torch's chainable classes instead keep the optimizer's current
  rate at that point. Resuming with ``state_dict``/``load_state_dict`` behaves identically.
* :meth:`~LRScheduler.get_lr` returns the rates at ``last_epoch`` and never warns (in torch it is
  an internal step of the recursion and warns when called directly).
* ``CosineAnnealingWarmRestarts`` also warns about the step order, which torch's skips.
* ``OneCycleLR`` raises ``ValueError`` where a phase of zero steps would make torch divide by
  zero.
"""

from __future__ import annotations

import math
import numbers
import types
import warnings
from bisect import bisect_right
from collections import Counter
from typing import Callable, Iterable

import torch

from . import schedules

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "PolynomialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "SequentialLR",
    "OneCycleLR",
    "CosineAnnealingWarmRestarts",
    "ReduceLROnPlateau",
]

_STEP_ORDER_WARNING = (
    "lr_scheduler.step() was called before optimizer.step(). Call optimizer.step() first and "
    "lr_scheduler.step() after it; in the other order the first value of the schedule (set when "
    "the scheduler was constructed) is never used for an update."
)
_EPOCH_WARNING = (
    "Passing an epoch to scheduler.step(epoch) is deprecated (as in torch): it jumps to the "
    "schedule's value at that epoch. Call scheduler.step() once per step instead."
)


# --------------------------------------------------------------------------------------------
# Helpers: reading and writing one value per param group
# --------------------------------------------------------------------------------------------

def _check_optimizer(optimizer) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer: a scheduler needs a "
                        f"torch.optim.Optimizer (optimlab's optimizers are subclasses of it)")


def _copy(value):
    return value.clone() if isinstance(value, torch.Tensor) else value


def _as_float(value) -> float:
    return float(value.item()) if isinstance(value, torch.Tensor) else value


def _group_values(optimizer, key: str) -> list:
    """``group[key]`` for every group, copied so that the caller cannot alias a tensor rate."""
    return [_copy(group[key]) for group in optimizer.param_groups]


def _set_group_value(group: dict, key: str, value) -> None:
    """Write ``value`` into ``group[key]``, in place when the group holds a tensor (as torch does)."""
    if isinstance(group.get(key), torch.Tensor):
        group[key].fill_(_as_float(value))
    else:
        group[key] = value


def _per_group(name: str, optimizer, value) -> list:
    """One value per param group: a list/tuple of the right length, or one value repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"Invalid {name}: got {len(value)} values for {n} param groups "
                             f"(expected one value, or one per param group)")
        return [_copy(v) for v in value]
    return [value] * n


def _record_optimizer_step(optimizer, args, kwargs) -> None:
    # A step post-hook: remembers that the optimizer has taken a step since a scheduler was attached.
    optimizer._optimlab_lr_scheduler_saw_step = True


def _watch_optimizer_steps(optimizer) -> None:
    """Register (once per optimizer) the hook that the step-order warning relies on."""
    if not getattr(optimizer, "_optimlab_lr_scheduler_watching", False):
        optimizer.register_step_post_hook(_record_optimizer_step)
        optimizer._optimlab_lr_scheduler_watching = True


# --------------------------------------------------------------------------------------------
# The base class: bookkeeping only
# --------------------------------------------------------------------------------------------

class LRScheduler:
    """Base class: the bookkeeping of a scheduler; subclasses define :meth:`lrs_at`.

    On construction with ``last_epoch=-1`` each param group gets ``initial_lr`` (its current
    ``lr``, unless a previous scheduler already recorded one), ``base_lrs`` is the list of those,
    and the rates of step 0 are written into the groups: that is the rate of the first update.
    Each :meth:`step` advances ``last_epoch`` by one and writes the rates of that step.
    """

    def __init__(self, optimizer, last_epoch: int = -1):
        _check_optimizer(optimizer)
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) \
                or last_epoch < -1:
            raise ValueError(f"Invalid last_epoch: {last_epoch!r} (expected an integer >= -1)")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _copy(group["lr"]))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param_groups[{i}] has no 'initial_lr', which resuming with "
                        f"last_epoch={last_epoch} needs: load the optimizer's state_dict from the "
                        f"checkpoint first, or start a fresh run with last_epoch=-1")
        self.base_lrs = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _watch_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        """Write the rates of the first step (``last_epoch + 1``, i.e. step 0 for a fresh run)."""
        self._step_count = 1
        self._set_step(self.last_epoch + 1)

    # -- what a subclass defines -------------------------------------------------------------

    def lrs_at(self, epoch) -> list:
        """The learning rate of every param group at step ``epoch`` (no side effects)."""
        raise NotImplementedError

    # -- torch's public interface ------------------------------------------------------------

    def get_lr(self) -> list:
        """The learning rates at the current step ``last_epoch``, computed from the schedule."""
        return self.lrs_at(self.last_epoch)

    def get_last_lr(self) -> list:
        """The learning rates this scheduler last wrote into the param groups (copies)."""
        return self._last_lr

    def step(self, epoch=None) -> None:
        """Advance to the next step and write its learning rates; call after ``optimizer.step()``.

        ``step(epoch)`` (deprecated, as in torch) jumps to step ``epoch`` instead.
        """
        self._warn_if_stepped_before_optimizer()
        self._step_count += 1
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self._set_step(epoch)

    def state_dict(self) -> dict:
        """Everything in the scheduler's ``__dict__`` except the optimizer."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state returned by :meth:`state_dict` (load the optimizer's state too)."""
        self.__dict__.update(state_dict)

    # -- bookkeeping -------------------------------------------------------------------------

    def _set_step(self, epoch) -> None:
        """Make ``epoch`` the current step: write its rates into the groups and remember them."""
        lrs = self.lrs_at(epoch)  # computed first: an invalid step changes nothing
        self.last_epoch = epoch
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            _set_group_value(group, "lr", lr)
        self._last_lr = _group_values(self.optimizer, "lr")

    def _warn_if_stepped_before_optimizer(self) -> None:
        # Only the first call after construction is checked, as in torch.
        if self._step_count == 1 and not getattr(self.optimizer, "_optimlab_lr_scheduler_saw_step",
                                                 False):
            warnings.warn(_STEP_ORDER_WARNING, UserWarning, stacklevel=3)


# --------------------------------------------------------------------------------------------
# Schedules that are a function of the step
# --------------------------------------------------------------------------------------------

class LambdaLR(LRScheduler):
    r"""The base rate times a factor you supply: :math:`\eta_t = \eta_0 \cdot \lambda(t)`.

    ``lr_lambda`` is a function of the step, or a list with one per param group. Any plain
    schedule works as a factor: ``LambdaLR(opt, lambda t: schedules.cosine_lr(t, 1.0, 100))``.
    ``state_dict`` saves the ``__dict__`` of callable objects; plain functions and lambdas are
    not saved (as in torch).
    """

    def __init__(self, optimizer, lr_lambda: Callable[[int], float] | list, last_epoch: int = -1):
        _check_optimizer(optimizer)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"Invalid lr_lambda: got {len(lr_lambda)} functions for "
                                 f"{len(optimizer.param_groups)} param groups")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"Invalid lr_lambda: expected a function of the step, "
                                f"got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        return [_as_float(base_lr) * fn(epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, fn_state in zip(self.lr_lambdas, saved):
            if fn_state is not None:
                fn.__dict__.update(fn_state)


class StepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps:
    :math:`\eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}` (:func:`optimlab.schedules.step_lr`)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        schedules.step_lr(0, 1.0, step_size, gamma)  # check the arguments before touching the optimizer
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        return [schedules.step_lr(epoch, _as_float(b), self.step_size, self.gamma)
                for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` at each milestone:
    :math:`\eta_t = \eta_0\,\gamma^{\#\{i:\, m_i \le t\}}` (:func:`optimlab.schedules.multistep_lr`).

    Milestones need not be sorted; one listed twice decays twice (torch keeps them in a
    ``Counter`` too)."""

    def __init__(self, optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1):
        milestones = list(milestones)
        schedules.multistep_lr(0, 1.0, milestones, gamma)
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        milestones = sorted(self.milestones.elements())
        return [schedules.multistep_lr(epoch, _as_float(b), milestones, self.gamma)
                for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every step: :math:`\eta_t = \eta_0\,\gamma^t`
    (:func:`optimlab.schedules.exponential_lr`)."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        schedules.exponential_lr(0, 1.0, gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        return [schedules.exponential_lr(epoch, _as_float(b), self.gamma) for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Decay to zero over ``total_iters`` steps, then stay at zero:
    :math:`\eta_t = \eta_0 (1 - \min(t, T)/T)^p` (:func:`optimlab.schedules.polynomial_lr`)."""

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        schedules.polynomial_lr(0, 1.0, total_iters, power)
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        return [schedules.polynomial_lr(epoch, _as_float(b), self.total_iters, self.power)
                for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine from the base rate to ``eta_min`` over ``T_max`` steps,
    :math:`\eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})(1 + \cos(\pi t / T_{\max}))/2`
    (:func:`optimlab.schedules.cosine_annealing_lr`).

    As in torch, the cosine goes on after ``T_max``: the rate climbs back to the base rate at
    ``2 T_max`` and repeats. For a cosine that stays at its final value use
    ``LambdaLR`` with :func:`optimlab.schedules.cosine_lr`, or stop stepping at ``T_max``.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        schedules.cosine_annealing_lr(0, 1.0, T_max, eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        return [schedules.cosine_annealing_lr(epoch, _as_float(b), self.T_max, self.eta_min)
                for b in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the base rate by a factor that moves linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps, then stays:
    :math:`\eta_t = \eta_0 (s + (e - s)\min(t, T)/T)` (:func:`optimlab.schedules.linear_lr`).

    The rate of the first update is already ``start_factor`` times the base rate (default 1/3).
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        schedules.linear_lr(0, 1.0, start_factor, end_factor, total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        return [schedules.linear_lr(epoch, _as_float(b), self.start_factor, self.end_factor,
                                    self.total_iters) for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR):
    :math:`\eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})(1 + \cos(\pi T_{cur}/T_i))/2`, with
    cycles of length :math:`T_i = T_0 T_{\text{mult}}^i`
    (:func:`optimlab.schedules.cosine_restarts_lr`).

    ``step(epoch)`` with a fractional epoch is supported and not deprecated (as in torch): it
    places the schedule at that point; a following ``step()`` moves on by one whole step.
    ``T_cur`` and ``T_i`` are kept as attributes, as torch does.
    """

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        schedules.cosine_restarts_lr(0, 1.0, T_0, T_mult, eta_min)
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        return [schedules.cosine_restarts_lr(epoch, _as_float(b), self.T_0, self.T_mult,
                                             self.eta_min) for b in self.base_lrs]

    def step(self, epoch=None) -> None:
        self._warn_if_stepped_before_optimizer()
        self._step_count += 1
        if epoch is None:
            # One step on from where we are; keeps the fraction of a fractional epoch.
            epoch = self.last_epoch + 1 + (self.T_cur - math.floor(self.T_cur))
        elif epoch < 0:
            raise ValueError(f"Invalid epoch: {epoch!r} (expected 0 <= epoch)")
        self._set_step(epoch)

    def _set_step(self, epoch) -> None:
        super()._set_step(epoch)
        self.last_epoch = math.floor(epoch)
        self.T_cur, self.T_i = schedules._restart_position(epoch, self.T_0, self.T_mult)


class OneCycleLR(LRScheduler):
    r"""The one-cycle policy: the rate rises from ``max_lr / div_factor`` to ``max_lr`` over
    ``pct_start`` of the steps, then falls to ``max_lr / div_factor / final_div_factor``
    (:func:`optimlab.schedules.one_cycle_lr`); with ``cycle_momentum`` the momentum (or Adam's
    ``beta1``) moves the opposite way between ``max_momentum`` and ``base_momentum``
    (:func:`optimlab.schedules.one_cycle_momentum`).

    As in torch: the constructor *overwrites* each group's ``initial_lr`` and stores ``max_lr``,
    ``min_lr``, ``max_momentum`` and ``base_momentum`` in the group; with ``cycle_momentum=True``
    (the default) it overwrites the optimizer's ``momentum`` (or ``betas[0]``) too, so plain SGD
    with ``momentum=0`` runs with momentum 0.85-0.95. Stepping is allowed up to
    ``total_steps``: that last step extrapolates the final phase (with
    ``anneal_strategy="linear"`` to a negative rate), so do not take an optimizer step after
    it. One more ``step()`` raises ``ValueError``.
    """

    def __init__(self, optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        _check_optimizer(optimizer)
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR needs total_steps, or both epochs and steps_per_epoch")
            epochs = schedules._integer("epochs", epochs, 1)
            steps_per_epoch = schedules._integer("steps_per_epoch", steps_per_epoch, 1)
            total_steps = epochs * steps_per_epoch
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        for m in max_lrs:
            schedules.one_cycle_lr(0, _as_float(m), total_steps, pct_start, anneal_strategy,
                                   div_factor, final_div_factor, three_phase)
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.three_phase = three_phase
        self.cycle_momentum = cycle_momentum
        if last_epoch == -1:
            for group, m in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("cycle_momentum=True needs an optimizer with 'momentum' or "
                                 "'betas' (pass cycle_momentum=False otherwise)")
            self.use_beta1 = "betas" in optimizer.defaults
            max_ms = _per_group("max_momentum", optimizer, max_momentum)
            base_ms = _per_group("base_momentum", optimizer, base_momentum)
            for b, m in zip(base_ms, max_ms):
                schedules.one_cycle_momentum(0, total_steps, pct_start, anneal_strategy, b, m,
                                             three_phase)
            if last_epoch == -1:
                for group, b, m in zip(optimizer.param_groups, base_ms, max_ms):
                    group["max_momentum"] = m
                    group["base_momentum"] = b
        super().__init__(optimizer, last_epoch)  # its first step sets the momentum of step 0 too

    def _knots(self, group: dict, kind: str) -> tuple:
        if kind == "lr":
            a, peak, end = group["initial_lr"], group["max_lr"], group["min_lr"]
            return (a, peak, a, end) if self.three_phase else (a, peak, end)
        top, low = group["max_momentum"], group["base_momentum"]
        return (top, low, top, top) if self.three_phase else (top, low, top)

    def _value(self, epoch, group: dict, kind: str) -> float:
        return schedules._one_cycle(epoch, self.total_steps, self.pct_start, self.anneal_strategy,
                                    self.three_phase, [_as_float(k) for k in self._knots(group, kind)])

    def lrs_at(self, epoch) -> list:
        return [self._value(epoch, group, "lr") for group in self.optimizer.param_groups]

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _set_step(self, epoch) -> None:
        super()._set_step(epoch)
        if self.cycle_momentum:
            for group in self.optimizer.param_groups:
                self._set_momentum(group, self._value(epoch, group, "momentum"))


# --------------------------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------------------------

class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` from its own step 0,
    and so on: at step ``t`` the active scheduler ``i`` is at its step ``t - milestones[i-1]``.

    The schedulers must be this module's (not ``ReduceLROnPlateau``) and drive the same
    optimizer; the milestones are non-decreasing step numbers, one fewer than the schedulers.
    Typical use, warmup then cosine::

        SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, T_max=95)],
                     milestones=[5])
    """

    def __init__(self, optimizer, schedulers: list, milestones: list, last_epoch: int = -1):
        _check_optimizer(optimizer)
        schedulers = list(schedulers)
        milestones = list(milestones)
        if len(schedulers) < 1:
            raise ValueError("SequentialLR needs at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"SequentialLR cannot run ReduceLROnPlateau (schedulers[{i}]): its "
                                 f"step needs a metric")
            if not isinstance(s, LRScheduler):
                raise TypeError(f"schedulers[{i}] is a {type(s).__name__}; SequentialLR runs "
                                f"optimlab.lr_scheduler schedulers")
            if s.optimizer is not optimizer:
                raise ValueError(f"schedulers[{i}] ({type(s).__name__}) drives a different "
                                 f"optimizer; all schedulers must share SequentialLR's optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"Invalid milestones: {len(schedulers)} schedulers need "
                             f"{len(schedulers) - 1} milestones, got {len(milestones)}")
        for i, m in enumerate(milestones):
            schedules._integer(f"milestones[{i}]", m, 0)
            if i > 0 and m < milestones[i - 1]:
                raise ValueError(f"Invalid milestones: {milestones!r} (expected non-decreasing)")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) \
                or last_epoch < -1:
            raise ValueError(f"Invalid last_epoch: {last_epoch!r} (expected an integer >= -1)")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        _watch_optimizer_steps(optimizer)
        self._step_count = 1
        self._set_step(last_epoch + 1)

    def _active(self, epoch) -> tuple:
        """The active scheduler at step ``epoch`` and the step it is at."""
        i = bisect_right(self._milestones, epoch)
        return self._schedulers[i], epoch - (self._milestones[i - 1] if i > 0 else 0)

    def lrs_at(self, epoch) -> list:
        scheduler, local = self._active(epoch)
        return scheduler.lrs_at(local)

    def _set_step(self, epoch) -> None:
        scheduler, local = self._active(epoch)
        scheduler._set_step(local)
        self.last_epoch = epoch
        self._last_lr = scheduler.get_last_lr()

    def step(self) -> None:  # no epoch argument, as in torch
        """Advance to the next step; call after ``optimizer.step()``."""
        self._warn_if_stepped_before_optimizer()
        self._step_count += 1
        self._set_step(self.last_epoch + 1)

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(state)
        for scheduler, scheduler_state in zip(self._schedulers, saved, strict=True):
            scheduler.load_state_dict(scheduler_state)


# --------------------------------------------------------------------------------------------
# A schedule driven by a metric
# --------------------------------------------------------------------------------------------

class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has not improved for more than ``patience``
    calls of ``step(metric)``.

    A value counts as an improvement on the best so far only if it beats it by the
    ``threshold``: in ``"min"`` mode, ``metric < best·(1 − threshold)`` (``"rel"``) or
    ``metric < best − threshold`` (``"abs"``); ``"max"`` mode mirrors this. After more than
    ``patience`` calls without one the rate of every group becomes
    ``max(lr·factor, min_lr)`` (skipped when that changes it by ``eps`` or less), and the next
    ``cooldown`` calls count no bad epochs. The first call always improves (``best`` starts at
    ±inf). Same behaviour as torch's; no rate is changed at construction and it records no
    ``initial_lr``.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr=0, eps: float = 1e-8):
        _check_optimizer(optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"Invalid mode: {mode!r} (expected 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"Invalid threshold_mode: {threshold_mode!r} (expected 'rel' or 'abs')")
        schedules._real("factor", factor, 0.0, 1.0, high_open=True)
        schedules._integer("patience", patience, 0)
        schedules._real("threshold", threshold, 0.0)
        schedules._integer("cooldown", cooldown, 0)
        schedules._real("eps", eps, 0.0)
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = _per_group("min_lr", optimizer, min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        for i, m in enumerate(self.min_lrs):
            schedules._real(f"min_lr[{i}]", m, 0.0)
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.eps = eps
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer, "lr")
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (1.0 + self.threshold) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def lrs_at(self, epoch) -> list:
        raise TypeError("ReduceLROnPlateau's learning rate depends on the metric, not on the step "
                        "alone; read get_last_lr() instead")

    def get_lr(self) -> list:
        return _group_values(self.optimizer, "lr")

    def step(self, metrics, epoch=None) -> None:
        """Record one value of the monitored metric and reduce the rate if it has plateaued."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_values(self.optimizer, "lr")

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"The optimizer now has {len(groups)} param groups but min_lr "
                                   f"was given for {len(self.min_lrs)}; update the min_lrs "
                                   f"attribute to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                _set_group_value(group, "lr", new)
