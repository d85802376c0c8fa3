r"""Adadelta: RMSprop whose step size is a running RMS of the past updates.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\rho` = ``rho``,
:math:`\varepsilon` = ``eps``, :math:`\lambda` = ``weight_decay``)::

    input: θ_0, objective f, η, ρ, ε, λ, maximize
    v_0 ← 0,  u_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                        (−∇f if maximize)
        g_t ← g_t + λ θ_{t-1}                     (L2 penalty, "coupled" weight decay)
        v_t ← ρ v_{t-1} + (1 − ρ) g_t²            mean of g²
        Δ_t ← √(u_{t-1} + ε) / √(v_t + ε) · g_t   the update, in units of θ
        u_t ← ρ u_{t-1} + (1 − ρ) Δ_t²            mean of Δ²
        θ_t ← θ_{t-1} − η Δ_t

All operations are per coordinate. State: ``step``, ``square_avg`` (v) and ``acc_delta`` (u);
both averages are :func:`~optimlab.optim.moments.ewma_sq_`.

How this compares with other forms:

* ε is *inside* both square roots (default 1e-6), as in Zeiler's paper; it is what makes the
  first step non-zero, since u_0 = 0.
* Zeiler's method has no learning rate; torch's ``lr`` multiplies Δ and defaults to 1.0,
  which is the paper's rule.
* No bias correction of either average.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .moments import ewma_sq_


class Adadelta(Optimizer):
    """Adadelta; a drop-in for ``torch.optim.Adadelta``."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        check_range("lr", lr, 0.0)
        check_range("rho", rho, 0.0, 1.0, high_inclusive=True)
        check_range("eps", eps, 0.0)
        check_range("weight_decay", weight_decay, 0.0)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, dict(capturable=capturable, foreach=foreach,
                                                differentiable=differentiable))

    def init_state(self, param, group):
        return {"step": new_step_count(param), "square_avg": torch.zeros_like(param),
                "acc_delta": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        lr, rho, eps, lam = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        next_step(state)                                              # t ← t + 1  (counted, not used)
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0:
            g = g.add(param, alpha=lam)                               # g_t ← g_t + λθ_{t−1}
        v = ewma_sq_(state["square_avg"], g, rho)                     # v_t = ρv_{t−1} + (1−ρ)g_t²
        u = state["acc_delta"]
        delta = u.add(eps).sqrt_().div_(v.add(eps).sqrt_()).mul_(g)   # Δ_t = √(u_{t−1}+ε) / √(v_t+ε) · g_t
        ewma_sq_(u, delta, rho)                                       # u_t = ρu_{t−1} + (1−ρ)Δ_t²
        param.add_(delta, alpha=-lr)                                  # θ_t = θ_{t−1} − ηΔ_t
