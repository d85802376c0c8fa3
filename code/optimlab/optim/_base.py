"""The bookkeeping every optimizer shares, written once.

An optimizer in this package only says two things: what state a parameter starts with
(``init_state``) and how one parameter moves given its gradient (``update``). Everything
else -- parameter groups, creating state lazily on the first step with a gradient,
skipping parameters whose ``grad is None``, refusing sparse gradients, the ``closure``
protocol, ``state_dict``/``load_state_dict`` and the hooks torch's LR schedulers rely on --
lives here or in :class:`torch.optim.Optimizer`, which this class extends.
"""

from __future__ import annotations

import math

import torch

# Arguments torch uses to choose *how* to compute an update (kernels, graph capture,
# autograd through the step). They do not change the math, and this package has one
# plain implementation, so a request for another one is refused instead of ignored.
IMPLEMENTATION_FLAGS = ("foreach", "fused", "capturable", "differentiable")


def check_implementation_flags(name: str, flags: dict) -> None:
    """Raise if any of torch's implementation-choosing flags asks for something we do not do."""
    for flag, value in flags.items():
        if flag not in IMPLEMENTATION_FLAGS:
            raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{flag}'")
        if value:
            raise ValueError(
                f"{name}: {flag}={value!r} is not supported. optimlab has a single "
                f"from-scratch implementation (equivalent to torch's foreach=False, fused=False, "
                f"capturable=False, differentiable=False); use torch.optim.{name}({flag}=...) "
                f"when you need that implementation."
            )


def check_range(name: str, value, low: float | None = None, high: float | None = None,
                *, low_inclusive: bool = True, high_inclusive: bool = False) -> None:
    """Raise ``ValueError`` naming ``name``, its ``value`` and the allowed range.

    ``check_range("lr", -1.0, 0.0)`` raises ``Invalid lr: -1.0 (expected 0.0 <= lr)``.
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
    """torch's per-parameter step counter: a 0-d float tensor on the CPU, incremented before use."""
    return torch.tensor(0.0, dtype=torch.float64 if torch.get_default_dtype() == torch.float64
                        else torch.float32)


class Optimizer(torch.optim.Optimizer):
    """Base class: do the bookkeeping, delegate the math to ``update``.

    Subclasses implement

    * ``init_state(param, group) -> dict``: the state of one parameter before its first update,
      under torch's key names (``"step"``, ``"exp_avg"``, ...);
    * ``update(param, grad, state, group)``: one update of ``param`` in place, the rule of the
      optimizer written as its equations.

    ``step`` runs ``update`` for every parameter that has a gradient. A parameter whose
    ``grad is None`` is skipped entirely (no state is created, no decay, no step counted);
    a gradient of zeros is a full step, exactly as in torch.
    """

    def __init__(self, params, defaults: dict, implementation_flags: dict | None = None):
        check_implementation_flags(type(self).__name__, implementation_flags or {})
        params = list(params) if not isinstance(params, torch.Tensor) else params
        if isinstance(params, list) and len(params) == 0:
            raise ValueError("optimizer got an empty parameter list")
        super().__init__(params, defaults)

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        raise NotImplementedError

    def update(self, param: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                state = self.state[param]
                if len(state) == 0:
                    state.update(self.init_state(param, group))
                self.update(param, param.grad, state, group)
        return loss
