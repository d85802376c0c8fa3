r"""Yogi: Adam whose second moment changes additively, so it cannot forget large gradients fast.

Algorithm (Zaheer et al., 2018, with Adam's bias corrections; :math:`\eta` = ``lr``,
:math:`\beta_1, \beta_2` = ``betas``, :math:`\varepsilon` = ``eps``, :math:`v_0` =
``initial_accumulator``, :math:`\lambda` = ``weight_decay``)::

    input: θ_0, objective f, η, β1, β2, ε, v_0, λ, maximize
    m_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                                (−∇f if maximize)
        g_t ← g_t + λ θ_{t-1}                             (L2 penalty, as Adam's weight_decay)
        m_t ← β1 m_{t-1} + (1 − β1) g_t
        v_t ← v_{t-1} − (1 − β2) sign(v_{t-1} − g_t²) g_t²
        θ_t ← θ_{t-1} − η m̂_t / (√v̂_t + ε),  m̂_t = m_t/(1 − β1ᵗ),  v̂_t = v_t/(1 − β2ᵗ)

Adam's second moment is :math:`v_t = v_{t-1} - (1-\beta_2)(v_{t-1} - g_t^2)`: when the
gradients become small, v falls by a *fraction* (1 − β2) of itself per step, so a large v is
forgotten geometrically and the effective rate η/√v can grow quickly. Yogi moves v by
(1 − β2) g_t² in the direction of g_t², an amount set by the gradient, not by v: the rate
grows more slowly after large gradients, which Zaheer et al. show avoids some of Adam's
failures.

How this compares with other forms:

* The paper's algorithm box has no bias correction; its defaults are η = 10⁻², ε = 10⁻³
  and a small positive v_0 (10⁻⁶), which are this class's defaults. The corrections here are
  Adam's (as in torch's Adam and in D2L's Yogi), so the first steps have Adam's scale.
* ``pytorch-optimizer``'s ``Yogi`` (the reference the tests compare with) starts *both* m
  and v at ``initial_accumulator`` and decays the weights decoupled by default; with
  ``initial_accumulator=0`` and coupled decay (``weight_decouple=False``) it is this rule,
  and the tests hold the two equal there.
* There is no torch.optim twin.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .adam import _check_adam_args as check_adam_args
from .adam import bias_corrected_step_
from .moments import ewma_


def yogi_second_moment_(v: torch.Tensor, g: torch.Tensor, beta2: float) -> torch.Tensor:
    """In place: ``v ← v − (1 − β2) sign(v − g²) g²``; returns ``v``."""
    g2 = g * g
    return v.addcmul_((v - g2).sign_(), g2, value=-(1 - beta2))


class Yogi(Optimizer):
    """Yogi (additive second-moment updates)."""

    def __init__(self, params, lr: float = 1e-2, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-3, initial_accumulator: float = 1e-6, weight_decay: float = 0.0, *,
                 maximize: bool = False):
        betas = check_adam_args(lr, betas, eps, weight_decay)   # Adam's rules for lr, betas, eps, λ
        check_range("initial_accumulator", initial_accumulator, 0.0)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      initial_accumulator=initial_accumulator,
                                      weight_decay=weight_decay, maximize=maximize))

    def init_state(self, param, group):
        return {"step": new_step_count(param), "exp_avg": torch.zeros_like(param),
                "exp_avg_sq": torch.full_like(param, group["initial_accumulator"])}

    def update(self, param, grad, state, group):
        lr, (beta1, beta2), eps, lam = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        t = next_step(state)                                          # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0:
            g = g.add(param, alpha=lam)                               # g_t ← g_t + λθ_{t−1}
        m = ewma_(state["exp_avg"], g, beta1)                         # m_t = β1 m_{t−1} + (1−β1) g_t
        v = yogi_second_moment_(state["exp_avg_sq"], g, beta2)       # v_t = v_{t−1} − (1−β2) sign(v_{t−1} − g_t²) g_t²
        bias_corrected_step_(param, m, v, lr, beta1, beta2, eps, t)   # θ_t = θ_{t−1} − η m̂_t / (√v̂_t + ε)
