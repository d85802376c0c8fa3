r"""Learning-rate schedulers with torch's names, signatures and numbers, written from scratch.

``optimlab.optim.lr_scheduler.StepLR(optimizer, step_size=10)`` drops in for
``torch.optim.lr_scheduler.StepLR`` (and likewise for the other 14 classes). Every class is a
subclass of ``torch.optim.lr_scheduler.LRScheduler`` (``ReduceLROnPlateau`` also of torch's
``ReduceLROnPlateau``), so torch's ``SequentialLR`` and ``ChainedScheduler``, and trainers that
check the type, take them; they drive any ``torch.optim.Optimizer``, torch's or
:mod:`optimlab.optim`'s.

Usage is torch's: construct the scheduler after the optimizer (this already writes the rate of
the first update, step :math:`t = 0`), then call ``optimizer.step()`` and *afterwards*
``scheduler.step()`` once per step (or per epoch).

Design. The schedules are plain functions of the step in :mod:`optimlab.schedules`; the classes
wrap them. The base class :class:`LRScheduler` does the bookkeeping, written once (``initial_lr``
and ``base_lrs``, the step counter ``last_epoch``, writing ``group["lr"]``, ``get_last_lr()``,
``state_dict()``, the step-order warning). A class says what its rates are in one of two ways:

* **closed form** (``LambdaLR``, ``OneCycleLR``, ``CyclicLR``, ``CosineAnnealingWarmRestarts``):
  the rate of step :math:`t` is :math:`f(t)`, whatever the group held before;
* **chainable** (``StepLR``, ``MultiStepLR``, ``ConstantLR``, ``LinearLR``, ``ExponentialLR``,
  ``PolynomialLR``, ``CosineAnnealingLR``, ``MultiplicativeLR``): like torch's, each step
  multiplies the group's *current* rate by the ratio of the schedule::

      η ← η · f(t) / f(t − 1)                    (f: the plain function with η_0 = 1)
      η ← η_min + (η − η_min) · f(t) / f(t − 1)  (CosineAnnealingLR, f with η_min = 0)

  so that changes made by another scheduler on the same optimizer (``ChainedScheduler``,
  ``ReduceLROnPlateau``, a second scheduler) or by hand are carried forward, as in torch. On its
  own the recursion gives :math:`f(t)\,\eta_0` (to rounding, about 1e-16 per step).
  ``lrs_at(t)`` is the closed form :math:`f(t)\,\eta_0`, used by ``step(epoch)``.

Resuming works in every order torch allows, with torch's numbers: the constructor's first step
follows torch class by class (``StepLR``, ``MultiStepLR`` and ``ConstantLR`` apply the ratio of
step ``last_epoch + 1`` to the optimizer's current rate, the other chainable classes keep it), so
building the scheduler after ``optimizer.load_state_dict`` or with ``last_epoch=k`` gives what
torch gives.

Where these classes differ from torch's (each difference raises instead of giving another rate):

* Arguments torch accepts but cannot schedule with raise ``ValueError`` naming the argument and
  its range: ``step_size=0``, ``gamma <= 0``, ``total_iters=0``, ``T_max=0``, ``last_epoch <
  -1``, decreasing ``SequentialLR`` milestones, a ``CyclicLR`` ``step_size_up`` of 0, a
  ``OneCycleLR`` whose phase would be zero steps long (torch divides by zero at that step).
* ``CosineAnnealingWarmRestarts(T_mult > 1, last_epoch=k)``: torch places step ``k + 1`` in the
  first cycle and restarts once, which is wrong from the second cycle on; that case raises
  ``ValueError`` (resume with ``load_state_dict``). ``step(epoch)`` places the epoch exactly; torch
  finds the cycle with a logarithm that can round down at a restart (``T_mult=3``,
  ``epoch=121·T_0``): the one place where the numbers can differ.
* ``ExponentialLR``, ``PolynomialLR`` and ``CosineAnnealingLR`` moved to step 0 by ``step()``
  rather than by their constructor (inside a ``SequentialLR`` given ``last_epoch >= 0``, or in a
  ``ChainedScheduler`` that is a ``SequentialLR``'s first scheduler) raise ``RuntimeError``: torch
  multiplies by a ratio from step -1 there, which runs the schedule one step ahead.
* ``ConstantLR(factor=0)`` reaching ``total_iters`` raises ``ZeroDivisionError`` with a message
  (torch raises a bare one); after ``OneCycleLR`` raises past its end, ``last_epoch`` is unchanged.
* ``CosineAnnealingWarmRestarts`` also warns about the step order, which torch's skips.
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

from .. import schedules

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "SequentialLR",
    "CosineAnnealingLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
    "CyclicLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "PolynomialLR",
]

_TorchLRScheduler = torch.optim.lr_scheduler.LRScheduler
_TorchReduceLROnPlateau = torch.optim.lr_scheduler.ReduceLROnPlateau

_STEP_ORDER_WARNING = (
    "lr_scheduler.step() was called before optimizer.step(). Call optimizer.step() first and "
    "lr_scheduler.step() after it; in the other order the first value of the schedule (set when "
    "the scheduler was constructed) is never used for an update."
)
_EPOCH_WARNING = (
    "Passing an epoch to scheduler.step(epoch) is deprecated (as in torch): it jumps to the "
    "schedule's value at that epoch. Call scheduler.step() once per step instead."
)
_GET_LR_WARNING = (
    "get_lr() computes the rates of the next step from the current ones (as in torch); to read "
    "the rates the scheduler last set, use get_last_lr()."
)


# --------------------------------------------------------------------------------------------
# Reading and writing one value per param group
# --------------------------------------------------------------------------------------------

def _check_optimizer(optimizer) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer: a scheduler needs a "
                        f"torch.optim.Optimizer (optimlab's optimizers are subclasses of it)")


def _check_last_epoch(last_epoch) -> None:
    if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) \
            or last_epoch < -1:
        raise ValueError(f"Invalid last_epoch: {last_epoch!r} (expected an integer >= -1)")


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


def _set_momentum(group: dict, value, use_beta1: bool) -> None:
    """Write a cycled momentum: ``betas[0]`` for Adam-like optimizers, ``momentum`` otherwise."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _check_cycle_momentum(optimizer) -> bool:
    """Whether the optimizer's momentum is ``betas[0]``; raises if it has no momentum at all."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("cycle_momentum=True needs an optimizer with 'momentum' or 'betas' "
                         "(pass cycle_momentum=False otherwise)")
    return "betas" in optimizer.defaults


def _record_optimizer_step(optimizer, args, kwargs) -> None:
    # A step post-hook: remembers that the optimizer has taken a step since a scheduler was attached.
    optimizer._optimlab_lr_scheduler_saw_step = True


def _watch_optimizer_steps(optimizer) -> None:
    """Register (once per optimizer) the hook that the step-order warning relies on."""
    if not getattr(optimizer, "_optimlab_lr_scheduler_watching", False):
        optimizer.register_step_post_hook(_record_optimizer_step)
        optimizer._optimlab_lr_scheduler_watching = True


def _check_schedulers(owner: str, optimizer, schedulers: list) -> None:
    """The checks torch's SequentialLR and ChainedScheduler make on the schedulers they run."""
    if len(schedulers) < 1:
        raise ValueError(f"{owner} needs at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"schedulers[{i}] is a {type(s).__name__}, which has no optimizer: "
                            f"{owner} runs LR schedulers")
        if isinstance(s, _TorchReduceLROnPlateau):
            raise ValueError(f"{owner} cannot run ReduceLROnPlateau (schedulers[{i}]): its step "
                             f"needs a metric")
        if s.optimizer is not optimizer:
            raise ValueError(f"schedulers[{i}] ({type(s).__name__}) drives a different optimizer; "
                             f"all schedulers must share {owner}'s optimizer")


def _undo_initial_step(scheduler) -> None:
    """Move a scheduler (or every scheduler inside a composite) back by one step count."""
    if hasattr(scheduler, "_schedulers"):
        for s in scheduler._schedulers:
            _undo_initial_step(s)
    elif hasattr(scheduler, "last_epoch"):
        scheduler.last_epoch -= 1


# --------------------------------------------------------------------------------------------
# The base class: bookkeeping only
# --------------------------------------------------------------------------------------------

class LRScheduler(_TorchLRScheduler):
    """Base class: the bookkeeping of a scheduler, in torch's protocol.

    On construction with ``last_epoch=-1`` each param group gets ``initial_lr`` (its current
    ``lr``, unless a previous scheduler already recorded one), ``base_lrs`` is the list of those,
    and a first step moves ``last_epoch`` to 0 and writes the rates of step 0: the rates of the
    first update. Each :meth:`step` moves ``last_epoch`` on by one and writes the rates
    :meth:`get_lr` gives for it. A subclass defines :meth:`get_lr` (the rates of step
    ``last_epoch`` from the current ones) and :meth:`lrs_at` (the closed form, if it has one).
    """

    _is_initial = False                # True during the constructor's first step
    _get_lr_called_within_step = False
    _jumps_in_closed_form = True       # step(epoch) uses lrs_at (torch: _get_closed_form_lr)

    def __init__(self, optimizer, last_epoch: int = -1):
        _check_optimizer(optimizer)
        _check_last_epoch(last_epoch)
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
        """The constructor's step to ``last_epoch + 1`` (torch's SequentialLR calls it too)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    # -- what a subclass defines -------------------------------------------------------------

    def lrs_at(self, epoch) -> list:
        """The closed form: the learning rate of every param group at step ``epoch``, from
        ``base_lrs`` (no side effects)."""
        raise NotImplementedError

    def get_lr(self) -> list:
        """The rates of step ``last_epoch``, as :meth:`step` computes them (torch's ``get_lr``).

        Called outside of :meth:`step` it warns, as in torch: read :meth:`get_last_lr` instead.
        """
        self._warn_if_get_lr_called_directly()
        return self.lrs_at(self.last_epoch)

    # -- torch's public interface ------------------------------------------------------------

    def get_last_lr(self) -> list:
        """The learning rates this scheduler last wrote into the param groups (copies)."""
        return self._last_lr

    def step(self, epoch=None) -> None:
        """Move to the next step and write its learning rates; call after ``optimizer.step()``.

        ``step(epoch)`` (deprecated, as in torch) jumps to step ``epoch`` instead.
        """
        if self._step_count == 1:
            self._warn_if_stepped_before_optimizer()
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def state_dict(self) -> dict:
        """Everything in the scheduler's ``__dict__`` except the optimizer."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state returned by :meth:`state_dict` (load the optimizer's state too)."""
        self.__dict__.update(state_dict)

    # -- bookkeeping -------------------------------------------------------------------------

    def _update_lr(self, epoch=None) -> None:
        """Move ``last_epoch`` to the next step (or to ``epoch``) and write that step's rates.

        If the rates cannot be computed (a step past the end of ``OneCycleLR``), nothing changes.
        """
        previous = self.last_epoch
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                lrs = self.get_lr()
            else:
                self.last_epoch = epoch
                lrs = self.lrs_at(epoch) if self._jumps_in_closed_form else self.get_lr()
        except Exception:
            self.last_epoch = previous
            raise
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            _set_group_value(group, "lr", lr)
        self._last_lr = _group_values(self.optimizer, "lr")
        self._after_update()

    def _after_update(self) -> None:
        """What a step writes besides the rates (the cycled momentum of OneCycleLR, CyclicLR)."""

    def _warn_if_stepped_before_optimizer(self) -> None:
        # Only the first call after construction is checked, as in torch.
        if not getattr(self.optimizer, "_optimlab_lr_scheduler_saw_step", False):
            warnings.warn(_STEP_ORDER_WARNING, UserWarning, stacklevel=3)

    def _warn_if_get_lr_called_directly(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(_GET_LR_WARNING, UserWarning, stacklevel=3)


# --------------------------------------------------------------------------------------------
# Closed forms: the rate is a function of the step
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
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        return [base_lr * fn(epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]  # η_t = η_0 λ(t)

    def state_dict(self) -> dict:
        return _state_with_lambdas(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _load_state_with_lambdas(self, state_dict)


def _lambdas(optimizer, lr_lambda) -> list:
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(optimizer.param_groups):
            raise ValueError(f"Invalid lr_lambda: got {len(lr_lambda)} functions for "
                             f"{len(optimizer.param_groups)} param groups")
        lambdas = list(lr_lambda)
    else:
        lambdas = [lr_lambda] * len(optimizer.param_groups)
    for fn in lambdas:
        if not callable(fn):
            raise TypeError(f"Invalid lr_lambda: expected a function of the step, "
                            f"got {type(fn).__name__}")
    return lambdas


def _state_with_lambdas(scheduler) -> dict:
    state = {k: v for k, v in scheduler.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
    state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                           for fn in scheduler.lr_lambdas]
    return state


def _load_state_with_lambdas(scheduler, state_dict: dict) -> None:
    state = dict(state_dict)
    saved = state.pop("lr_lambdas")
    scheduler.__dict__.update(state)
    for fn, fn_state in zip(scheduler.lr_lambdas, saved):
        if fn_state is not None:
            fn.__dict__.update(fn_state)


# --------------------------------------------------------------------------------------------
# Chainable schedulers: each step multiplies the current rate by the schedule's ratio
# --------------------------------------------------------------------------------------------

class _ChainableLR(LRScheduler):
    r"""A schedule :math:`\eta_t = \eta_0 f(t)` applied as torch's recursion
    :math:`\eta_t = \eta_{t-1} \cdot f(t)/f(t-1)`, which carries forward what else changes the rate.

    A subclass defines :meth:`_schedule` (the plain function at a given base rate).
    """

    _ratio_on_resume = False  # torch's StepLR, MultiStepLR, ConstantLR: True
    _explicit_start = True    # torch's rate at step 0 is f(0)·η; ExponentialLR, PolynomialLR,
                              # CosineAnnealingLR: only in the constructor (else a ratio from step −1)
    _floor = 0.0              # CosineAnnealingLR: eta_min (the recursion is affine)

    def _schedule(self, t, lr0: float) -> float:
        raise NotImplementedError

    def _shape(self, t) -> float:
        """The schedule with base rate 1 (and floor 0): the f of the ratio f(t) / f(t − 1)."""
        return self._schedule(t, 1.0)

    def lrs_at(self, epoch) -> list:
        return [self._schedule(epoch, _as_float(b)) for b in self.base_lrs]  # η_t = η_0 f(t)

    def get_lr(self) -> list:
        self._warn_if_get_lr_called_directly()
        t, lrs = self.last_epoch, _group_values(self.optimizer, "lr")
        if t == 0:                                                  # η ← f(0) η (LinearLR: s·η)
            if not (self._is_initial or self._explicit_start):
                raise RuntimeError(
                    f"{type(self).__name__} was moved to step 0 by step(), not by its constructor "
                    f"(inside a SequentialLR built with last_epoch >= 0, or a ChainedScheduler that "
                    f"is a SequentialLR's first scheduler); torch's class would multiply the rate by "
                    f"a ratio from step -1 and run one step ahead. Build the SequentialLR with "
                    f"last_epoch=-1 and resume with load_state_dict")
            start = self._shape(0)
            return lrs if start == 1 else [lr * start for lr in lrs]
        if self._is_initial and not self._ratio_on_resume:
            return lrs                                              # resuming: keep the rate
        now, before = self._shape(t), self._shape(t - 1)
        if now == before:
            return lrs                                              # ratio 1: nothing to do
        floor = self._floor
        if before == 0:
            return [self._from_zero(lr, base, now, before) for lr, base in zip(lrs, self.base_lrs)]
        return [floor + (lr - floor) * (now / before) for lr in lrs]  # η ← η_min + (η − η_min) f(t)/f(t−1)

    def _from_zero(self, lr, base, now, before):
        raise ZeroDivisionError(f"{type(self).__name__} cannot scale a rate up from a schedule value "
                                f"of 0 at step {self.last_epoch} (torch divides by zero here too)")


class StepLR(_ChainableLR):
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps:
    :math:`\eta_t = \eta_0\,\gamma^{\lfloor t/s \rfloor}` (:func:`optimlab.schedules.step_lr`)."""

    _ratio_on_resume = True

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        schedules.step_lr(0, 1.0, step_size, gamma)  # check the arguments before touching the optimizer
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _schedule(self, t, lr0):
        return schedules.step_lr(t, lr0, self.step_size, self.gamma)


class MultiStepLR(_ChainableLR):
    r"""Multiply the rate by ``gamma`` at each milestone:
    :math:`\eta_t = \eta_0\,\gamma^{\#\{i:\, m_i \le t\}}` (:func:`optimlab.schedules.multistep_lr`).

    Milestones need not be sorted; one listed twice decays twice (torch keeps them in a
    ``Counter`` too)."""

    _ratio_on_resume = True

    def __init__(self, optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1):
        milestones = list(milestones)
        schedules.multistep_lr(0, 1.0, milestones, gamma)
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _schedule(self, t, lr0):
        return schedules.multistep_lr(t, lr0, sorted(self.milestones.elements()), self.gamma)


class ConstantLR(_ChainableLR):
    r"""The base rate times ``factor`` for the first ``total_iters`` steps, then the base rate:
    :math:`\eta_t = c\,\eta_0` for :math:`t < T`, :math:`\eta_0` after
    (:func:`optimlab.schedules.constant_factor_lr`)."""

    _ratio_on_resume = True

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        schedules.constant_factor_lr(0, 1.0, factor, total_iters)
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _schedule(self, t, lr0):
        return schedules.constant_factor_lr(t, lr0, self.factor, self.total_iters)


class LinearLR(_ChainableLR):
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

    def _schedule(self, t, lr0):
        return schedules.linear_lr(t, lr0, self.start_factor, self.end_factor, self.total_iters)


class ExponentialLR(_ChainableLR):
    r"""Multiply the rate by ``gamma`` every step: :math:`\eta_t = \eta_0\,\gamma^t`
    (:func:`optimlab.schedules.exponential_lr`)."""

    _explicit_start = False

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        schedules.exponential_lr(0, 1.0, gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _schedule(self, t, lr0):
        return schedules.exponential_lr(t, lr0, self.gamma)


class PolynomialLR(_ChainableLR):
    r"""Decay to zero over ``total_iters`` steps, then stay at zero:
    :math:`\eta_t = \eta_0 (1 - \min(t, T)/T)^p` (:func:`optimlab.schedules.polynomial_lr`)."""

    _explicit_start = False

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        schedules.polynomial_lr(0, 1.0, total_iters, power)
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def _schedule(self, t, lr0):
        return schedules.polynomial_lr(t, lr0, self.total_iters, self.power)


class CosineAnnealingLR(_ChainableLR):
    r"""Cosine from the base rate to ``eta_min`` over ``T_max`` steps,
    :math:`\eta_t = \eta_{\min} + (\eta_0 - \eta_{\min})(1 + \cos(\pi t / T_{\max}))/2`
    (:func:`optimlab.schedules.cosine_annealing_lr`).

    Each step applies torch's recursion
    :math:`\eta_t = \eta_{\min} + (\eta_{t-1} - \eta_{\min})\,f(t)/f(t-1)` with
    :math:`f(t) = (1 + \cos(\pi t/T_{\max}))/2`; where :math:`f(t-1) = 0` (the bottom of the
    cosine) it adds the step of the closed form instead,
    :math:`\eta_t = \eta_{t-1} + (\eta_0 - \eta_{\min})(f(t) - f(t-1))`, as torch does.

    As in torch, the cosine goes on after ``T_max``: the rate climbs back to the base rate at
    ``2 T_max`` and repeats. For a cosine that stays at its final value use
    ``LambdaLR`` with :func:`optimlab.schedules.cosine_lr`, or stop stepping at ``T_max``.
    """

    _explicit_start = False

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        schedules.cosine_annealing_lr(0, 1.0, T_max, eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    @property
    def _floor(self):
        return self.eta_min

    def _schedule(self, t, lr0):
        return schedules.cosine_annealing_lr(t, lr0, self.T_max, self.eta_min)

    def _shape(self, t):
        return schedules.cosine_annealing_lr(t, 1.0, self.T_max, 0.0)

    def _from_zero(self, lr, base, now, before):
        return lr + (base - self.eta_min) * (now - before)         # η ← η + (η_0 − η_min)(f(t) − f(t−1))


class MultiplicativeLR(LRScheduler):
    r"""Multiply the rate by ``lr_lambda(t)`` at every step:
    :math:`\eta_t = \lambda(t)\,\eta_{t-1}`, i.e. :math:`\eta_t = \eta_0 \prod_{s=1}^{t}\lambda(s)`
    (:func:`optimlab.schedules.multiplicative_lr`).

    ``lr_lambda`` is a function of the step, or a list with one per param group; the rate of
    step 0 is the base rate. As in torch, ``step(epoch)`` multiplies the current rate by
    ``lr_lambda(epoch)`` (there is no jump), and ``state_dict`` saves the ``__dict__`` of callable
    objects but not plain functions.
    """

    _jumps_in_closed_form = False

    def __init__(self, optimizer, lr_lambda: Callable[[int], float] | list, last_epoch: int = -1):
        _check_optimizer(optimizer)
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        self._warn_if_get_lr_called_directly()
        lrs = _group_values(self.optimizer, "lr")
        if self._is_initial:
            return lrs
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, lrs)]  # η_t = λ(t) η_{t−1}

    def lrs_at(self, epoch) -> list:
        return [schedules.multiplicative_lr(epoch, _as_float(b), fn)
                for fn, b in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict:
        return _state_with_lambdas(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _load_state_with_lambdas(self, state_dict)


# --------------------------------------------------------------------------------------------
# Closed forms with restarts, cycles and momentum
# --------------------------------------------------------------------------------------------

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
        if isinstance(eta_min, bool) or not isinstance(eta_min, numbers.Real):
            raise ValueError(f"Invalid eta_min: {eta_min!r} (expected a real number >= 0)")
        schedules.cosine_restarts_lr(0, 1.0, T_0, T_mult, eta_min)
        _check_last_epoch(last_epoch)
        if last_epoch >= 0 and T_mult > 1:
            t = last_epoch + 1  # torch puts step t in the first cycle and restarts at most once
            torch_place = (t % T_0, T_0 * T_mult) if t >= T_0 else (t, T_0)
            if torch_place != schedules._restart_position(t, T_0, T_mult):
                raise ValueError(
                    f"Invalid last_epoch: {last_epoch} with T_mult={T_mult} (torch's class would put "
                    f"step {t} in the wrong cycle); resume with load_state_dict instead")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def lrs_at(self, epoch) -> list:
        return [schedules.cosine_restarts_lr(epoch, _as_float(b), self.T_0, self.T_mult,
                                             self.eta_min) for b in self.base_lrs]

    def get_lr(self) -> list:
        self._warn_if_get_lr_called_directly()
        return [schedules.cosine_anneal(b, self.eta_min, self.T_cur / self.T_i)  # from T_cur / T_i
                for b in self.base_lrs]

    def step(self, epoch=None) -> None:
        if self._step_count == 1:
            self._warn_if_stepped_before_optimizer()
        self._step_count += 1
        if epoch is not None and epoch < 0:
            raise ValueError(f"Invalid epoch: {epoch!r} (expected 0 <= epoch)")
        self._update_lr(epoch)

    def _update_lr(self, epoch=None) -> None:
        if epoch is None:
            # One step on from where we are; keeps the fraction of a fractional epoch.
            epoch = self.last_epoch + 1 + (self.T_cur - math.floor(self.T_cur))
        lrs = self.lrs_at(epoch)
        self.T_cur, self.T_i = schedules._restart_position(epoch, self.T_0, self.T_mult)
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            _set_group_value(group, "lr", lr)
        self._last_lr = _group_values(self.optimizer, "lr")


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
        if not isinstance(pct_start, float):  # torch takes floats only (pct_start=1 is an error)
            raise ValueError(f"Invalid pct_start: {pct_start!r} (expected a float, 0.0 <= pct_start <= 1.0)")
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        for m in max_lrs:
            schedules.one_cycle_lr(0, _as_float(m), total_steps, pct_start, anneal_strategy,
                                   div_factor, final_div_factor, three_phase)
        self.total_steps = total_steps
        self._pct_start = pct_start  # private, so that state_dict has torch's public keys
        self._anneal_func_type = anneal_strategy  # torch's name
        self._three_phase = three_phase
        self.cycle_momentum = cycle_momentum
        if last_epoch == -1:
            for group, m in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            self.use_beta1 = _check_cycle_momentum(optimizer)
            max_ms = _per_group("max_momentum", optimizer, max_momentum)
            base_ms = _per_group("base_momentum", optimizer, base_momentum)
            for b, m in zip(base_ms, max_ms):
                schedules.one_cycle_momentum(0, total_steps, pct_start, anneal_strategy, b, m,
                                             three_phase)
            if last_epoch == -1:
                for group, b, m in zip(optimizer.param_groups, base_ms, max_ms):
                    _set_momentum(group, m, self.use_beta1)
                    group["max_momentum"] = m
                    group["base_momentum"] = b
        super().__init__(optimizer, last_epoch)  # its first step sets the momentum of step 0 too

    def _knots(self, group: dict, kind: str) -> tuple:
        if kind == "lr":
            a, peak, end = group["initial_lr"], group["max_lr"], group["min_lr"]
            return (a, peak, a, end) if self._three_phase else (a, peak, end)
        top, low = group["max_momentum"], group["base_momentum"]
        return (top, low, top, top) if self._three_phase else (top, low, top)

    def _value(self, epoch, group: dict, kind: str) -> float:
        return schedules._one_cycle(epoch, self.total_steps, self._pct_start, self._anneal_func_type,
                                    self._three_phase, [_as_float(k) for k in self._knots(group, kind)])

    def lrs_at(self, epoch) -> list:
        return [self._value(epoch, group, "lr") for group in self.optimizer.param_groups]

    def _after_update(self) -> None:
        if self.cycle_momentum:
            for group in self.optimizer.param_groups:
                _set_momentum(group, self._value(self.last_epoch, group, "momentum"), self.use_beta1)


class CyclicLR(LRScheduler):
    r"""Cyclical learning rates (Smith, 2017): the rate goes from ``base_lr`` up to ``max_lr`` in
    ``step_size_up`` steps and back in ``step_size_down`` steps, again and again, with the
    amplitude scaled by ``mode`` (``"triangular"``: constant, ``"triangular2"``: halved every
    cycle, ``"exp_range"``: times :math:`\gamma^t`) or by ``scale_fn``
    (:func:`optimlab.schedules.cyclic_lr`).

    With ``cycle_momentum`` (the default) the momentum (or Adam's ``beta1``) moves the opposite
    way, from ``max_momentum`` down to ``base_momentum`` while the rate rises
    (:func:`optimlab.schedules.cyclic_momentum`). As in torch: the constructor writes
    ``base_lr`` into the groups and ``max_momentum`` / ``base_momentum`` into the groups' keys;
    the rate of step 0 uses each group's ``initial_lr`` as the lower end (it equals ``base_lr``
    unless another scheduler recorded ``initial_lr`` first), later steps ``base_lr``.
    ``state_dict`` saves a ``scale_fn`` that is a callable object (its ``__dict__``), not a plain
    function.
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up: float = 2000,
                 step_size_down: float | None = None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum=0.8, max_momentum=0.9,
                 last_epoch: int = -1):
        _check_optimizer(optimizer)
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        for b, m in zip(base_lrs, self.max_lrs):
            schedules.cyclic_lr(0, _as_float(b), _as_float(m), step_size_up, step_size_down, mode,
                                gamma, scale_fn, scale_mode)
        _check_last_epoch(last_epoch)
        self.total_size, self.step_ratio = schedules._cyclic_sizes(step_size_up, step_size_down)
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _check_cycle_momentum(optimizer)
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            for b, m in zip(self.base_momentums, self.max_momentums):
                schedules.cyclic_momentum(0, b, m, step_size_up, step_size_down, mode, gamma,
                                          scale_fn, scale_mode)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                _set_group_value(group, "lr", lr)
            if cycle_momentum:
                for group, b, m in zip(optimizer.param_groups, self.base_momentums,
                                       self.max_momentums):
                    _set_momentum(group, m, self.use_beta1)
                    group["max_momentum"] = m
                    group["base_momentum"] = b
        super().__init__(optimizer, last_epoch)  # step 0 with base_lrs = the groups' initial_lr
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        """The built-in modes fix what the scale is a function of, as in torch."""
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x) -> float:
        """The amplitude scale at cycle (or iteration) ``x``."""
        scale, _ = schedules._cyclic_scale(self.mode, self.gamma, self._scale_fn_custom,
                                           self.scale_mode)
        return scale(x)

    def lrs_at(self, epoch) -> list:
        return [schedules._cyclic(epoch, b, m, self.total_size, self.step_ratio, self.scale_fn,
                                  self.scale_mode) for b, m in zip(self.base_lrs, self.max_lrs)]

    def _after_update(self) -> None:
        if self.cycle_momentum:
            for group, b, m in zip(self.optimizer.param_groups, self.base_momentums,
                                   self.max_momentums):
                momentum = schedules._cyclic(self.last_epoch, m, b, self.total_size,  # μ: max → base
                                             self.step_ratio, self.scale_fn, self.scale_mode)
                _set_momentum(group, momentum, self.use_beta1)

    def state_dict(self) -> dict:
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = (None if fn is None or isinstance(fn, types.FunctionType)
                                     else fn.__dict__.copy())
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = {k: v for k, v in state_dict.items() if k not in ("_scale_fn_custom", "_scale_fn_ref")}
        fn_state = state_dict.get("_scale_fn_custom")
        self.__dict__.update(state)
        if fn_state is not None:
            self._scale_fn_custom.__dict__.update(fn_state)
        self._init_scale_fn()


# --------------------------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------------------------

def _composite_state_dict(composite) -> dict:
    """A scheduler made of schedulers: its own attributes, and each inner scheduler's state dict."""
    state = {k: v for k, v in composite.__dict__.items() if k not in ("optimizer", "_schedulers")}
    state["_schedulers"] = [s.state_dict() for s in composite._schedulers]
    return state


def _load_composite_state_dict(composite, state_dict: dict) -> None:
    state = dict(state_dict)
    saved = state.pop("_schedulers")
    composite.__dict__.update(state)
    for scheduler, scheduler_state in zip(composite._schedulers, saved, strict=True):
        scheduler.load_state_dict(scheduler_state)


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` from its own step 0,
    and so on: at step ``t`` the active scheduler ``i`` is at its step ``t - milestones[i-1]``.

    The schedulers (ours or torch's, not ``ReduceLROnPlateau``) must drive the same optimizer;
    the milestones are non-decreasing step numbers, one fewer than the schedulers. As in torch,
    the constructor sets every group back to its ``initial_lr``, undoes the first step of every
    scheduler and redoes it for the first one only; at a milestone the next scheduler jumps to
    its step 0 (``_update_lr(0)``); ``last_epoch`` sets only this object's counter. Typical use,
    warmup then cosine::

        SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, T_max=95)],
                     milestones=[5])
    """

    def __init__(self, optimizer, schedulers: list, milestones: list, last_epoch: int = -1):
        _check_optimizer(optimizer)
        schedulers = list(schedulers)
        milestones = list(milestones)
        _check_schedulers("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"Invalid milestones: {len(schedulers)} schedulers need "
                             f"{len(schedulers) - 1} milestones, got {len(milestones)}")
        for i, m in enumerate(milestones):
            schedules._integer(f"milestones[{i}]", m, 0)
            if i > 0 and m < milestones[i - 1]:
                raise ValueError(f"Invalid milestones: {milestones!r} (expected non-decreasing)")
        _check_last_epoch(last_epoch)
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            _set_group_value(group, "lr", group["initial_lr"])   # start again from η_0
        for s in schedulers:
            _undo_initial_step(s)                                # the constructors' steps
        first = schedulers[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _active(self, epoch) -> tuple:
        """The active scheduler at step ``epoch`` and the step it is at."""
        i = bisect_right(self._milestones, epoch)
        return self._schedulers[i], epoch - (self._milestones[i - 1] if i > 0 else 0)

    def lrs_at(self, epoch) -> list:
        scheduler, local = self._active(epoch)
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"lrs_at needs optimlab schedulers; {type(scheduler).__name__} has no "
                            f"closed form here")
        return scheduler.lrs_at(local)

    def step(self) -> None:  # no epoch argument, as in torch
        """Advance to the next step; call after ``optimizer.step()``."""
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._update_lr(0)                              # a milestone: start at step 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        return _composite_state_dict(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _load_composite_state_dict(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Step several schedulers at once: each ``step()`` calls ``step()`` of every scheduler, in
    order. With chainable schedulers the effects multiply: ``ExponentialLR`` chained with
    ``StepLR`` gives :math:`\\eta_0\\,\\gamma_1^t\\,\\gamma_2^{\\lfloor t/s \\rfloor}`.

    The schedulers (ours or torch's, not ``ReduceLROnPlateau``) must drive the same optimizer
    (``optimizer`` defaults to the first one's). As in torch, constructing it changes no rate
    (each scheduler already made its first step) and it has no ``last_epoch``.
    """

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler needs at least one scheduler, got none")
        optimizer = optimizer if optimizer is not None else getattr(schedulers[0], "optimizer", None)
        _check_schedulers("ChainedScheduler", optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _group_values(schedulers[-1].optimizer, "lr")

    def lrs_at(self, epoch) -> list:
        raise TypeError("ChainedScheduler's rates depend on how its schedulers combine step by "
                        "step; read get_last_lr() instead")

    def _update_lr(self, epoch=None) -> None:
        raise NotImplementedError("ChainedScheduler has no step 0 to restart at, so it cannot "
                                  "follow a milestone of a SequentialLR (torch's cannot either); "
                                  "make it the first scheduler, or chain SequentialLRs instead")

    def step(self) -> None:  # no epoch argument, as in torch
        """Step every scheduler, in order; call after ``optimizer.step()``."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    def state_dict(self) -> dict:
        return _composite_state_dict(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _load_composite_state_dict(self, state_dict)


# --------------------------------------------------------------------------------------------
# A schedule driven by a metric
# --------------------------------------------------------------------------------------------

class ReduceLROnPlateau(LRScheduler, _TorchReduceLROnPlateau):
    """Multiply the rate by ``factor`` when a metric has not improved for more than ``patience``
    calls of ``step(metric)``.

    A value counts as an improvement on the best so far only if it beats it by the
    ``threshold``: in ``"min"`` mode, ``metric < best·(1 − threshold)`` (``"rel"``) or
    ``metric < best − threshold`` (``"abs"``); ``"max"`` mode mirrors this. After more than
    ``patience`` calls without one the rate of every group becomes
    ``max(lr·factor, min_lr)`` (skipped when that changes it by ``eps`` or less), and the next
    ``cooldown`` calls count no bad epochs. The first call always improves (``best`` starts at
    ±inf). Same behaviour as torch's; no rate is changed at construction and it records no
    ``initial_lr``. It is also an instance of torch's ``ReduceLROnPlateau``, which is what
    trainers check before passing a metric to ``step``.
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

    _is_better = is_better  # torch's name

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

    def _reduce_lr(self, epoch=None) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"The optimizer now has {len(groups)} param groups but min_lr "
                                   f"was given for {len(self.min_lrs)}; update the min_lrs "
                                   f"attribute to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)                   # η ← max(η · factor, η_min)
            if old - new > self.eps:
                _set_group_value(group, "lr", new)
