r"""RMSprop: divide the gradient by a running root mean square of recent gradients.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\alpha` = ``alpha`` (the decay of the
average), :math:`\varepsilon` = ``eps``, :math:`\lambda` = ``weight_decay``,
:math:`\mu` = ``momentum``)::

    input: θ_0, objective f, η, α, ε, λ, μ, centered, maximize
    v_0 ← 0,  m_0 ← 0,  b_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                        (−∇f if maximize)
        g_t ← g_t + λ θ_{t-1}                     (L2 penalty, "coupled" weight decay)
        v_t ← α v_{t-1} + (1 − α) g_t²            mean of g²
        if centered
            m_t ← α m_{t-1} + (1 − α) g_t         mean of g
            s_t ← √(v_t − m_t²) + ε               (a running standard deviation)
        else
            s_t ← √v_t + ε
        if μ > 0
            b_t ← μ b_{t-1} + g_t / s_t
            θ_t ← θ_{t-1} − η b_t
        else
            θ_t ← θ_{t-1} − η g_t / s_t

All operations are per coordinate. State: ``step``, ``square_avg`` (v), and
``momentum_buffer`` (b) when μ > 0, ``grad_avg`` (m) when centered. The averages are
:func:`~optimlab.optim.moments.ewma_sq_` and :func:`~optimlab.optim.moments.ewma_`.

How this compares with other forms:

* ε is added *outside* the square root, ``√v + ε`` (default 1e-8). Dive into Deep Learning
  writes ``g / √(v + ε)`` with ε = 1e-6 inside the root; Keras defaults to ε = 1e-7.
* ``alpha`` is the *decay* of the average (often written ρ or γ). torch's default is 0.99;
  Hinton's lecture, where the method comes from, and Keras use 0.9.
* No bias correction: v_0 = 0 makes v_1 = (1 − α) g_1², so the first step has size about
  η / √(1 − α) per coordinate (10 η for α = 0.99) and the steps shrink towards η as the
  average fills up. Adam corrects this bias; RMSprop does not.
* Momentum is applied to the *scaled* step g/s (the buffer holds it), not to the gradient
  before scaling.
* The centered variant (Graves, 2013) divides by an estimate of the standard deviation of
  g rather than its root mean square.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .moments import ewma_, ewma_sq_


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum; a drop-in for ``torch.optim.RMSprop``."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        check_range("lr", lr, 0.0)
        check_range("alpha", alpha, 0.0)
        check_range("eps", eps, 0.0)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("momentum", momentum, 0.0)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, dict(capturable=capturable, foreach=foreach,
                                                differentiable=differentiable))

    def init_state(self, param, group):
        state = {"step": new_step_count(param), "square_avg": torch.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = torch.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = torch.zeros_like(param)
        return state

    def update(self, param, grad, state, group):
        lr, alpha, eps, lam, mu = (group["lr"], group["alpha"], group["eps"],
                                   group["weight_decay"], group["momentum"])
        next_step(state)                                              # t ← t + 1  (counted, not used)
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0:
            g = g.add(param, alpha=lam)                               # g_t ← g_t + λθ_{t−1}
        v = ewma_sq_(state["square_avg"], g, alpha)                   # v_t = αv_{t−1} + (1−α)g_t²
        if group["centered"]:
            m = ewma_(state["grad_avg"], g, alpha)                    # m_t = αm_{t−1} + (1−α)g_t
            s = v.addcmul(m, m, value=-1).sqrt_().add_(eps)           # s_t = √(v_t − m_t²) + ε
        else:
            s = v.sqrt().add_(eps)                                    # s_t = √v_t + ε
        if mu > 0:
            b = state["momentum_buffer"].mul_(mu).addcdiv_(g, s)      # b_t = μb_{t−1} + g_t / s_t
            param.add_(b, alpha=-lr)                                  # θ_t = θ_{t−1} − ηb_t
        else:
            param.addcdiv_(g, s, value=-lr)                           # θ_t = θ_{t−1} − ηg_t / s_t
