r"""RAdam: Adam whose adaptive step is switched on only once the variance estimate is reliable.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\beta_1, \beta_2` = ``betas``,
:math:`\varepsilon` = ``eps``, :math:`\lambda` = ``weight_decay``)::

    input: θ_0, objective f, η, β1, β2, ε, λ, decoupled_weight_decay, maximize
    m_0 ← 0,  v_0 ← 0
    ρ_∞ ← 2 / (1 − β2) − 1                             longest length of the average
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                              (−∇f if maximize)
        if decoupled_weight_decay
            θ_{t-1} ← (1 − ηλ) θ_{t-1}                  ("decoupled" weight decay, as AdamW)
        else
            g_t ← g_t + λ θ_{t-1}                       (L2 penalty, "coupled" weight decay)
        m_t ← β1 m_{t-1} + (1 − β1) g_t
        v_t ← β2 v_{t-1} + (1 − β2) g_t²
        m̂_t ← m_t / (1 − β1ᵗ)
        ρ_t ← ρ_∞ − 2 t β2ᵗ / (1 − β2ᵗ)                 length of the average after t steps
        if ρ_t > 5
            r_t ← √( (ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t) )    rectification
            θ_t ← θ_{t-1} − η m̂_t r_t √(1 − β2ᵗ) / (√v_t + ε)
        else
            θ_t ← θ_{t-1} − η m̂_t                       (SGD with momentum, no adaptive scaling)

All operations are per coordinate. State: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v).
The averages are :func:`~optimlab.optim.moments.ewma_` and
:func:`~optimlab.optim.moments.ewma_sq_`, the corrections
:func:`~optimlab.optim.moments.bias_correction`, the decoupled decay
:func:`~optimlab.optim.adam.decoupled_decay_`.

How this compares with other forms:

* Liu et al. (2020, Algorithm 2) take the adaptive step as soon as the variance of the adaptive
  learning rate is tractable, ρ_t > 4; torch (and this package) wait for ρ_t > 5. Since ρ_t is
  a little under t for β2 near 1, the first five steps are plain momentum steps and the sixth
  is the first adaptive one (with β2 = 0.999: ρ_5 ≈ 4.996, ρ_6 ≈ 5.994).
* ε is added to the *uncorrected* √v_t and the correction √(1 − β2ᵗ) multiplies the step, so
  the denominator is √v̂_t + ε/√(1 − β2ᵗ): Adam's (torch's Adam) adds ε after correcting.
  The paper has no ε.
* ``decoupled_weight_decay=True`` is RAdamW: θ shrinks by ηλ per step, outside the adaptive
  scaling and even during the momentum-only steps.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .adam import decoupled_decay_
from .adamax import as_scalar, check_betas
from .moments import bias_correction, ewma_, ewma_sq_


def rectification(rho_t, rho_inf):
    """RAdam's ``r_t = √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))`` (for ρ_t > 4)."""
    return ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5


class RAdam(Optimizer):
    """RAdam (optionally with decoupled weight decay); a drop-in for ``torch.optim.RAdam``."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check_range("lr", lr, 0.0)
        check_range("eps", eps, 0.0)
        check_betas(betas)
        check_range("weight_decay", weight_decay, 0.0)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults, dict(foreach=foreach, capturable=capturable,
                                                differentiable=differentiable))

    def init_state(self, param, group):
        return {"step": new_step_count(param), "exp_avg": torch.zeros_like(param),
                "exp_avg_sq": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        lr, (beta1, beta2), eps, lam = as_scalar(group["lr"]), group["betas"], group["eps"], group["weight_decay"]
        t = next_step(state)                                          # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0 and group["decoupled_weight_decay"]:
            decoupled_decay_(param, lr, lam)                          # θ_{t−1} ← (1 − ηλ)θ_{t−1}
        elif lam != 0:
            g = g.add(param, alpha=lam)                               # g_t ← g_t + λθ_{t−1}
        m = ewma_(state["exp_avg"], g, beta1)                         # m_t = β1 m_{t−1} + (1−β1) g_t
        v = ewma_sq_(state["exp_avg_sq"], g, beta2)                   # v_t = β2 v_{t−1} + (1−β2) g_t²
        bc1, bc2 = bias_correction(beta1, t), bias_correction(beta2, t)  # 1 − β1ᵗ, 1 − β2ᵗ
        rho_inf = 2 / (1 - beta2) - 1                                 # ρ_∞ = 2/(1−β2) − 1
        rho_t = rho_inf - 2 * t * beta2 ** t / bc2                    # ρ_t = ρ_∞ − 2tβ2ᵗ/(1−β2ᵗ)
        if torch.compiler.is_compiling():  # t is a tensor: take both branches, keep one (no graph break)
            adaptive = m.div(v.sqrt().add_(eps)).mul_(rectification(rho_t, rho_inf) * bc2 ** 0.5 / bc1)
            step = torch.where(rho_t > 5, adaptive, m.div(bc1))
        elif rho_t > 5:  # a number computed from t, not from a tensor's values
            r = rectification(rho_t, rho_inf)                         # r_t
            step = m.div(v.sqrt().add_(eps)).mul_(r * bc2 ** 0.5 / bc1)  # m̂_t r_t √(1−β2ᵗ) / (√v_t + ε)
        else:
            step = m.div(bc1)                                         # m̂_t = m_t / (1−β1ᵗ)
        param.sub_(step.mul_(lr))                                     # θ_t = θ_{t−1} − η · step
