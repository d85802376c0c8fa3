"""The bookkeeping every optimizer shares, written once.

An optimizer in this package only says two things: what state a parameter starts with
(``init_state``) and how one parameter moves given its gradient (``update``). Everything
else -- parameter groups, creating state lazily on the first step with a gradient,
skipping parameters whose ``grad is None``, refusing sparse gradients, complex parameters,
the ``closure`` protocol, ``state_dict``/``load_state_dict`` and the hooks torch's LR
schedulers rely on -- lives here or in :class:`torch.optim.Optimizer`, which this class
extends.

Parameter groups hold exactly the keys torch's optimizer of the same name holds, including
its implementation flags (``foreach``, ``fused``, ...) with their "off" values, so that
checkpoints move freely between ``optimlab.optim.X`` and ``torch.optim.X`` in both
directions.
"""

from __future__ import annotations

import math

import torch

from . import _fast

# Arguments torch uses to choose *how* to compute an update (kernels, graph capture,
# autograd through the step). They do not change the math. ``foreach`` and ``fused`` select
# this package's own fast paths (:mod:`optimlab.optim._fast`); ``capturable`` and
# ``differentiable`` ask for something this package does not do, and are refused instead of
# ignored.
IMPLEMENTATION_FLAGS = ("foreach", "fused", "capturable", "differentiable")
SUPPORTED_FLAGS = ("foreach", "fused")


def check_implementation_flags(name: str, flags: dict) -> None:
    """Raise if one of torch's implementation-choosing flags asks for something we do not do.

    ``False`` and ``None`` (torch's "off" and "let torch choose") are always accepted;
    ``foreach=True`` and ``fused=True`` select our own implementations; ``foreach`` and ``fused``
    together are refused, as torch refuses them.
    """
    for flag, value in flags.items():
        if flag not in IMPLEMENTATION_FLAGS:
            raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{flag}'")
        if value and flag not in SUPPORTED_FLAGS:
            raise ValueError(
                f"{name}: {flag}={value!r} is not supported. optimlab implements the for-loop, "
                f"foreach and fused forms (equivalent to torch's capturable=False, "
                f"differentiable=False); use torch.optim.{name}({flag}=...) when you need that "
                f"implementation."
            )
    if flags.get("foreach") and flags.get("fused"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def check_range(name: str, value, low: float | None = None, high: float | None = None,
                *, low_inclusive: bool = True, high_inclusive: bool = False) -> None:
    """Raise ``ValueError`` naming ``name``, its ``value`` and the allowed range.

    ``check_range("lr", -1.0, 0.0)`` raises ``Invalid lr: -1.0 (expected 0.0 <= lr)``.
    A 1-element tensor is checked by its value; NaN is never in range.
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"Invalid {name}: expected a number or a 1-element tensor, got shape "
                             f"{tuple(value.shape)}")
        value = value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"Invalid {name}: expected a number, got {type(value).__name__}")
    ok = not math.isnan(value)
    if low is not None:
        ok = ok and (value >= low if low_inclusive else value > low)
    if high is not None:
        ok = ok and (value <= high if high_inclusive else value < high)
    if not ok:
        parts = []
        if low is not None:
            parts.append(f"{low} {'<=' if low_inclusive else '<'} ")
        parts.append(name)
        if high is not None:
            parts.append(f" {'<=' if high_inclusive else '<'} {high}")
        raise ValueError(f"Invalid {name}: {value} (expected {''.join(parts)})")


def new_step_count(param: torch.Tensor) -> torch.Tensor:
    """torch's per-parameter step counter: a 0-d float tensor on the CPU, incremented before use.

    float32, or float64 when that is the default dtype (as torch does), whatever the
    parameter's dtype and device.
    """
    return torch.tensor(0.0, dtype=torch.float64 if torch.get_default_dtype() == torch.float64
                        else torch.float32)


def next_step(state: dict):
    """Count one more update of a parameter and return the new count t (the first update has t = 1).

    ``state["step"]`` stays a 0-d tensor, as torch keeps it. Eagerly t comes back as a Python
    number, so the rule's scalar arithmetic (bias corrections, step sizes) is plain float math,
    as in torch's for-loop implementation. Under ``torch.compile`` t comes back as a 0-d float64
    tensor holding the count: reading its value (``.item()``) would break the graph and make
    the compiler specialise on every new count (a recompilation per step), so the scalar
    arithmetic is traced as tensor arithmetic instead, as torch does when it compiles its own
    optimizers. float64, because ``1 − βᵗ`` for β close to 1 loses most of its digits in float32
    (for β = 0.999, t = 1 about 4 of 7), while eagerly it is computed in double precision.
    """
    step = state["step"]
    if torch.compiler.is_compiling():
        # through a 1-element view: torch 2.13 loses an in-place update of a 0-d float64 graph input
        step.view(1).add_(1)
        return step.to(torch.float64)
    return step.add_(1).item()


def as_step_tensor(value, param: torch.Tensor, group: dict) -> torch.Tensor:
    """A step count saved as a plain number (torch < 1.12 checkpoints) as the tensor torch keeps now.

    As torch converts it on load: a 0-d float32 tensor on the parameter's device for ``fused``
    (or ``capturable``) groups, otherwise :func:`new_step_count`'s CPU tensor.
    """
    if group.get("fused") or group.get("capturable"):
        return torch.tensor(float(value), dtype=torch.float32, device=param.device)
    return new_step_count(param).fill_(float(value))


class Optimizer(torch.optim.Optimizer):
    """Base class: do the bookkeeping, delegate the math to ``update``.

    Subclasses implement

    * ``init_state(param, group) -> dict``: the state of one parameter before its first update,
      under torch's key names (``"step"``, ``"exp_avg"``, ...);
    * ``update(param, grad, state, group)``: one update of ``param`` in place, the rule of the
      optimizer written as its equations.

    ``step`` runs ``update`` for every parameter that has a gradient. A parameter whose
    ``grad is None`` is skipped entirely (no state is created, no decay, no step counted);
    a gradient of zeros is a full step, exactly as in torch. A parameter whose state is still
    empty after its update (plain SGD) keeps no entry in ``state``, as in torch.

    Complex parameters are updated as real tensors with a trailing dimension of 2 (real and
    imaginary parts), which is what torch does: ``update`` sees ``torch.view_as_real`` views
    of the parameter, its gradient and its complex state, so every rule handles them unchanged.

    Subclasses whose torch twin accepts sparse gradients set ``supports_sparse_grad = True``
    and handle them in ``update``.
    """

    supports_sparse_grad = False

    def __init__(self, params, defaults: dict, implementation_flags: dict | None = None):
        flags = dict(implementation_flags or {})
        check_implementation_flags(type(self).__name__, flags)
        # torch keeps the flags in every group; so do we, so that checkpoints are interchangeable.
        # torch.optim.Optimizer refuses a bare tensor and an empty parameter list.
        super().__init__(params, {**defaults, **flags})

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (as torch does), refusing implementation flags we do not provide."""
        flags = {k: param_group[k] for k in IMPLEMENTATION_FLAGS if k in param_group}
        check_implementation_flags(type(self).__name__, flags)
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_implementation_flags(type(self).__name__,  # the group's flags merged with the defaults
                                   {k: group[k] for k in SUPPORTED_FLAGS if k in group})
        if group.get("fused"):
            _fast.check_fused_possible(type(self).__name__, group["params"])

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        # A checkpoint written by an older version may lack keys added since: use our defaults.
        for group in self.param_groups:
            for key, value in self.defaults.items():
                group.setdefault(key, value)
            # torch < 1.12 saved the step count as a plain number; torch converts it on load
            for param in group["params"]:
                param_state = self.state.get(param)
                if param_state and "step" in param_state and not torch.is_tensor(param_state["step"]):
                    param_state["step"] = as_step_tensor(param_state["step"], param, group)

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        raise NotImplementedError

    def update(self, param: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    def initial_state(self, param: torch.Tensor, group: dict) -> dict:
        """``init_state``, with the step count where torch keeps it for ``fused`` groups.

        torch's fused optimizers keep ``step`` as a float32 tensor on the parameter's device;
        ours do the same, so that checkpoints match.
        """
        state = self.init_state(param, group)
        if group.get("fused") and isinstance(state.get("step"), torch.Tensor):
            state["step"] = state["step"].to(dtype=torch.float32, device=param.device)
        return state

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss.

        Each group is updated by one of three implementations of the same ``update``: the
        for-loop (the default), ``foreach=True`` (``update`` runs once over lists of tensors,
        each operation a ``torch._foreach_*`` call) or ``fused=True`` (``update`` for all
        parameters compiled into one graph by ``torch.compile``); see :mod:`optimlab.optim._fast`.
        While ``step`` itself is being compiled every group takes the for-loop, which the
        compiler then fuses.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        states, sparse_ok = self.state, self.supports_sparse_grad
        loop = torch.compiler.is_compiling()
        todo, fused = [], []
        for group in self.param_groups:
            work = []
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if grad.is_sparse and not sparse_ok:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                state = states.get(param)
                if state:
                    new = False
                else:  # first step with a gradient (or state emptied by someone else)
                    state, new = self.initial_state(param, group), True
                work.append((param, grad, state, new))
            todo.append(work)
            if loop or not (group.get("foreach") or group.get("fused")):
                self._update_loop(work, group)
                continue
            dense = [w for w in work if not w[1].is_sparse]
            self._update_loop([w for w in work if w[1].is_sparse], group)  # the loop takes sparse ones
            if group.get("fused"):
                fused.append((group, dense))
            else:
                _fast.foreach_update(self.update, group, dense)
        if fused:
            _fast.fused_update(self, fused)
        for work in todo:
            for param, _, state, new in work:
                if new and state:  # plain SGD has nothing to keep, and keeps no entry (as torch)
                    states[param] = state
        return loss

    def _update_loop(self, work, group):
        """The for-loop: ``update`` once per parameter."""
        update, compiling = self.update, torch.compiler.is_compiling()
        for param, grad, state, _ in work:
            if _fast.needs_views(param, compiling):
                _fast.update_through_views(update, param, grad, state, group, compiling)
            else:
                update(param, grad, state, group)
