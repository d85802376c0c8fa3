r"""LAMB: Adam's direction, rescaled per layer by a trust ratio.

Algorithm (You et al., 2020, Algorithm 2 with φ the identity; :math:`\eta` = ``lr``,
:math:`\beta_1, \beta_2` = ``betas``, :math:`\varepsilon` = ``eps``, :math:`\lambda` =
``weight_decay``). "Layer" means one parameter tensor::

    input: θ_0, objective f, η, β1, β2, ε, λ, maximize
    m_0 ← 0,  v_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                              (−∇f if maximize)
        m_t ← β1 m_{t-1} + (1 − β1) g_t                first moment
        v_t ← β2 v_{t-1} + (1 − β2) g_t²               second moment
        m̂_t ← m_t / (1 − β1ᵗ),  v̂_t ← v_t / (1 − β2ᵗ)  bias corrections
        r_t ← m̂_t / (√v̂_t + ε) + λ θ_{t-1}            AdamW's direction, decay included
        θ_t ← θ_{t-1} − η (‖θ_{t-1}‖ / ‖r_t‖) r_t      (ratio 1 when either norm is 0)

The move of a layer has length ``η ‖θ‖``: Adam chooses the direction, the trust ratio the
length, relative to the layer's weights (as LARS does for SGD).

How this compares with other forms:

* The paper clips the weight norm with a function φ; here φ(x) = x, as in its experiments.
* ``pytorch-optimizer``'s ``Lamb`` (the reference the tests compare with) differs in three
  ways: it does not correct the bias of v, it applies the first bias correction *outside*
  the trust ratio (a factor 1/(1 − β1ᵗ) on the move, ten times at t = 1 with β1 = 0.9, unless
  its ``adam_debias=True``), and by default it decays the weights decoupled, before the norms
  are taken, instead of adding λθ to r; it also caps ‖θ‖ at 10 and adds ε to ‖r‖. The tests
  hold the two equal in the settings where these differences vanish (λ = 0 and ε = 0 with
  ``adam_debias=True``; β1 = β2 = 0 with coupled decay) and pin the rest by hand.
* There is no torch.optim twin.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, new_step_count, next_step
from .adam import _check_adam_args as check_adam_args
from .lars import trust_ratio
from .moments import bias_correction, ewma_, ewma_sq_


class LAMB(Optimizer):
    """Layer-wise adaptive moments for large batches (LAMB)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.0, *, maximize: bool = False):
        betas = check_adam_args(lr, betas, eps, weight_decay)   # Adam's rules for lr, betas, eps, λ
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, param, group):
        return {"step": new_step_count(param), "exp_avg": torch.zeros_like(param),
                "exp_avg_sq": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        lr, (beta1, beta2), eps, lam = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        t = next_step(state)                                          # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        m = ewma_(state["exp_avg"], g, beta1)                         # m_t = β1 m_{t−1} + (1−β1) g_t
        v = ewma_sq_(state["exp_avg_sq"], g, beta2)                   # v_t = β2 v_{t−1} + (1−β2) g_t²
        denom = v.sqrt().div_(bias_correction(beta2, t) ** 0.5).add_(eps)   # √v̂_t + ε
        r = (m / bias_correction(beta1, t)).div_(denom)               # m̂_t / (√v̂_t + ε)
        if lam != 0:
            r.add_(param, alpha=lam)                                  # r_t = m̂_t/(√v̂_t + ε) + λθ_{t−1}
        rho = trust_ratio(param.norm(), r.norm())                     # ‖θ_{t−1}‖ / ‖r_t‖
        param.sub_(r.mul_(rho), alpha=lr)                             # θ_t = θ_{t−1} − η (‖θ‖/‖r‖) r_t
