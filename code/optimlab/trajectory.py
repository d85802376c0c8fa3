"""Run an optimizer (or a hand-written update rule) on an :class:`~optimlab.objectives.Objective`
and record where it went.

>>> from optimlab.objectives import quadratic_2d
>>> from optimlab.optim import SGD
>>> traj = run_optimizer(quadratic_2d(1, 2), SGD, x0=(-4.0, 3.0), steps=20, lr=0.1)
>>> traj.xs.shape, traj.losses.shape
((21, 2), (21,))

Any class with torch's optimizer interface works, ours or ``torch.optim``'s. A rule written by
hand, ``x_next = update(x, objective)``, runs with :func:`run_update`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .objectives import DTYPE, Objective, as_tensor

__all__ = ["Trajectory", "run_optimizer", "run_update", "newton_step"]


@dataclass(frozen=True)
class Trajectory:
    """The iterates of one run: ``xs[t]`` is x after ``t`` steps (``xs[0]`` is the start).

    * ``xs``: shape ``(steps + 1, dim)``;
    * ``losses``: f at each iterate, shape ``(steps + 1,)``;
    * ``grads``: the exact gradient ∇f at each iterate, shape ``(steps + 1, dim)`` (without any
      noise added during the run);
    * ``lrs``: the learning rate each step used, shape ``(steps,)`` (optimizer runs only).
    """
    xs: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    label: str = ""
    lrs: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return len(self.xs) - 1

    @property
    def x(self) -> np.ndarray:
        """The last iterate."""
        return self.xs[-1]

    @property
    def loss(self) -> float:
        """f at the last iterate."""
        return float(self.losses[-1])

    def __repr__(self) -> str:
        label = f"{self.label!r}, " if self.label else ""
        return (f"Trajectory({label}{self.steps} steps, x: {np.array2string(self.xs[0], precision=4)} → "
                f"{np.array2string(self.x, precision=4)}, loss: {self.losses[0]:.4g} → {self.loss:.4g})")


def _start(objective: Objective, x0) -> torch.Tensor:
    if x0 is None:
        if objective.x0 is None:
            raise ValueError(f"{objective.name} has no default starting point: pass x0")
        x0 = objective.x0
    x = as_tensor(x0).reshape(-1).clone()
    if x.numel() != objective.dim:
        raise ValueError(f"x0 has {x.numel()} entries, {objective.name} has dim {objective.dim}")
    return x


def _record(objective: Objective, xs: list, label: str, lrs=None) -> Trajectory:
    points = torch.stack(xs)
    with torch.no_grad():
        losses = objective(points)
    grads = objective.grad(points)
    return Trajectory(points.numpy(), losses.numpy(), grads.numpy(), label,
                      None if lrs is None else np.asarray(lrs, dtype=float))


def _describe(optimizer, hparams: dict) -> str:
    name = getattr(optimizer, "__name__", type(optimizer).__name__)
    return f"{name}({', '.join(f'{k}={v:g}' if isinstance(v, float) else f'{k}={v}' for k, v in hparams.items())})"


def run_optimizer(objective: Objective, optimizer, x0=None, steps: int = 20, *, noise_std: float = 0.0,
                  seed: int = 0, scheduler: Callable | None = None, label: str | None = None,
                  **hparams) -> Trajectory:
    """Minimise ``objective`` from ``x0`` with ``optimizer([x], **hparams)`` for ``steps`` steps.

    ``optimizer`` is a torch-style optimizer class (``optimlab.optim.SGD``, ``torch.optim.Adam``, ...)
    or any callable that builds one from a parameter list. With ``noise_std > 0`` every gradient gets
    independent Gaussian noise of that standard deviation, drawn from a ``torch.Generator`` seeded
    with ``seed`` (the same seed gives the same noise, whichever optimizer runs). ``scheduler``, if
    given, builds an LR scheduler from the optimizer (``lambda opt: StepLR(opt, 10)``); it steps after
    every optimizer step. x0 defaults to ``objective.x0``. Computation is in float64.
    """
    x = _start(objective, x0).requires_grad_(True)
    opt = optimizer([x], **hparams)
    sched = scheduler(opt) if scheduler is not None else None
    generator = torch.Generator().manual_seed(seed)
    xs, lrs = [x.detach().clone()], []
    for _ in range(steps):
        opt.zero_grad()
        objective(x).backward()
        if noise_std:
            x.grad.add_(torch.randn(x.shape, generator=generator, dtype=DTYPE), alpha=noise_std)
        lrs.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        if sched is not None:
            sched.step()
        xs.append(x.detach().clone())
    return _record(objective, xs, label if label is not None else _describe(optimizer, hparams), lrs)


def run_update(objective: Objective, update: Callable, x0=None, steps: int = 20, *,
               label: str | None = None) -> Trajectory:
    """Iterate a hand-written rule ``x_next = update(x, objective)`` for ``steps`` steps.

    ``x`` is a float64 tensor of shape ``(dim,)``; ``update`` may return a tensor, an array or a
    number. The rule can call ``objective(x)``, ``objective.grad(x)`` and ``objective.hessian(x)``.
    """
    x = _start(objective, x0)
    xs = [x.clone()]
    for _ in range(steps):
        x = as_tensor(update(x.clone(), objective)).reshape(-1)
        xs.append(x.clone())
    return _record(objective, xs, label if label is not None else getattr(update, "__name__", "update"))


def newton_step(x: torch.Tensor, objective: Objective) -> torch.Tensor:
    """One pure Newton step (no line search): solve H d = ∇f(x) and move to x − d.

    An ``update`` for :func:`run_update`; it needs ``objective.hessian``.
    """
    return x - torch.linalg.solve(objective.hessian(x), objective.grad(x))
