"""Small experiments of the chapter *Adam's relatives*: Adam with a linear warmup (the baseline
RAdam is set against), RAdam's length of the average ρ_t, and the periodic online problem on
which Adam converges to the wrong point.
"""

from __future__ import annotations

import math

import torch

from .optim import Adam
from .optim._base import check_range

__all__ = ["WarmupAdam", "sma_length", "periodic_run"]


class WarmupAdam(Adam):
    r"""Adam whose learning rate rises linearly over the first ``warmup`` steps:
    :math:`\eta_t = \eta \min(1, t / T)` with :math:`T` = ``warmup`` (the first step has t = 1).

    It is ``torch.optim.Adam`` driven by ``LambdaLR(opt, lambda s: min(1, (s + 1) / T))``, stepped
    after every update, in one object, so that it can be swept and compared like any optimizer.
    Ma and Yarats's untuned rule of thumb is ``T = 2 / (1 − β2)``; that is the default here.
    Other keyword arguments are Adam's.
    """

    def __init__(self, params, lr: float = 1e-3, warmup: float | None = None, **kwargs):
        super().__init__(params, lr=lr, **kwargs)
        beta2 = self.defaults["betas"][1]
        warmup = 2 / (1 - beta2) if warmup is None else warmup
        check_range("warmup", warmup, 1.0)
        self.warmup = warmup
        self.updates = 0
        for group in self.param_groups:
            group.setdefault("initial_lr", group["lr"])

    @torch.no_grad()
    def step(self, closure=None):
        self.updates += 1
        factor = min(1.0, self.updates / self.warmup)                 # η_t / η = min(1, t/T)
        for group in self.param_groups:
            group["lr"] = group["initial_lr"] * factor
        return super().step(closure)


def sma_length(beta2: float, t):
    """RAdam's ρ_t = ρ_∞ − 2tβ2ᵗ/(1 − β2ᵗ), with ρ_∞ = 2/(1 − β2) − 1: the length of an equally
    weighted average that has the variance of Adam's second moment after t steps."""
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)


def periodic_run(make_optimizer, *, steps: int = 300, lr: float = 0.5, big: float = 3.0) -> list[float]:
    """Reddi et al.'s online problem: the loss at step t is ``big · x`` when t leaves remainder 1 on
    division by 3 and ``−x`` otherwise, with x kept in [−1, 1]; the best point is x = −1 when
    ``big > 2``. The learning rate is ``lr / √t``.

    ``make_optimizer(params)`` builds the optimizer; returns x after every step (x_0 = 0).
    """
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([x])
    path = []
    for t in range(1, steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = lr / math.sqrt(t)                          # η_t = η/√t
        x.grad = torch.tensor([big if t % 3 == 1 else -1.0], dtype=torch.float64)
        optimizer.step()
        with torch.no_grad():
            x.clamp_(-1.0, 1.0)                                      # keep x in [−1, 1]
        path.append(float(x.detach()))
    return path
