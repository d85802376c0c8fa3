r"""ASGD: stochastic gradient descent on a decaying step size, with a running average of the iterates.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\kappa` = ``lambd`` (torch's docs call
it λ), :math:`\alpha` = ``alpha``, :math:`t_0` = ``t0``, :math:`\lambda` = ``weight_decay``)::

    input: θ_0, objective f, η, κ, α, t_0, λ, maximize
    η_1 ← η,  μ_1 ← 1,  ā_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                        (−∇f if maximize)
        g_t ← g_t + λ θ_{t-1}                     (L2 penalty, "coupled" weight decay)
        θ_t ← (1 − κ η_t) θ_{t-1} − η_t g_t       shrink, then step
        ā_t ← ā_{t-1} + μ_t (θ_t − ā_{t-1})        average of the iterates (ā_t = θ_t while μ_t = 1)
        η_{t+1} ← η / (1 + κ η t)^α               step size for the next step
        μ_{t+1} ← 1 / max(1, t − t_0)             weight of the next iterate in the average

All operations are per coordinate. State: ``step`` (t), ``eta`` (η_{t+1}) and ``mu``
(μ_{t+1}), 0-d tensors like ``step``, and ``ax`` (ā_t). The optimizer moves θ; the average ā
is only kept: evaluate a model with it by copying ``ax`` into the parameters.

How this compares with other forms:

* Polyak and Juditsky (1992) and Ruppert (1988) average *all* iterates, ā_t = (1/t) Σ θ_s. torch
  (following Bottou's "averaged SGD") starts averaging after t_0 steps: while t ≤ t_0 + 2,
  μ_t = 1 and ā_t is a copy of θ_t; afterwards ā_t is the plain mean of θ_{t0+2}, ..., θ_t
  (μ_t = 1/(t − 1 − t_0)). The default t_0 = 10⁶ means that in most runs ``ax`` just follows θ.
* The step size η_t = η (1 + κ η t)^(−α) is Bottou's schedule (Xu, 2011): α = 3/4 by default, so
  η_t decays like t^(−3/4), slower than the 1/t of classical stochastic approximation, which
  is what averaging needs to pay off. κ also shrinks θ by κ η_t per step, an L2 penalty κ/2 ‖θ‖²
  built into the rule, on top of ``weight_decay``.
* η_t uses the ``lr`` of the group at the time it is computed, at the end of the previous step
  (a scheduler's change of ``lr`` is felt one step later), and the first η_1 is the ``lr`` of
  the group when the parameter first gets a gradient.
* ``eta`` and ``mu`` are computed in the default dtype (float32 unless it is float64), stored in
  the dtype of ``step`` and read back from the state, so they carry that rounding, as in torch.
  (Loading a checkpoint casts them to the parameter's dtype; new values keep the rounding.)
* torch checks only ``lr`` and ``weight_decay``; κ, α and t_0 are taken as given.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .adamax import as_scalar
from .nadam import value_of


class ASGD(Optimizer):
    """Averaged SGD; a drop-in for ``torch.optim.ASGD``."""

    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        check_range("lr", lr, 0.0)
        check_range("weight_decay", weight_decay, 0.0)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, dict(foreach=foreach, differentiable=differentiable,
                                                capturable=capturable))

    def init_state(self, param, group):
        step = new_step_count(param).to(param.device)  # ASGD keeps its counters on the parameter's device
        return {"step": step, "eta": torch.full_like(step, float(group["lr"])),
                "mu": torch.ones_like(step), "ax": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        lr, kappa, alpha, t0, lam = (as_scalar(group["lr"]), group["lambd"], group["alpha"], group["t0"],
                                     group["weight_decay"])
        t = next_step(state)                                          # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0:
            g = g.add(param, alpha=lam)                               # g_t ← g_t + λθ_{t−1}
        eta, mu = value_of(state["eta"]), value_of(state["mu"])       # η_t, μ_t
        if torch.is_tensor(mu):  # compiled: the stored values as tensors, in the parameter's dtype
            eta, mu = eta.to(param.dtype), mu.to(param.dtype)
        param.mul_(1 - kappa * eta)                                   # θ ← (1 − κη_t) θ_{t−1}
        param.sub_(g * eta)                                           # θ_t = θ − η_t g_t
        state["ax"].lerp_(param, mu)                                  # ā_t = ā_{t−1} + μ_t (θ_t − ā_{t−1})
        # both in the default dtype first (torch.as_tensor of a number), then stored, as torch does
        state["eta"].copy_(torch.as_tensor(lr / (1 + kappa * lr * t) ** alpha))  # η_{t+1} = η / (1 + κηt)^α
        state["mu"].copy_(1 / torch.clamp(torch.as_tensor(t - t0), min=1))  # μ_{t+1} = 1 / max(1, t − t_0)
