r"""NAdam: Adam with Nesterov momentum, on a momentum schedule that warms up.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\beta_1, \beta_2` = ``betas``,
:math:`\varepsilon` = ``eps``, :math:`\lambda` = ``weight_decay``, :math:`\psi` =
``momentum_decay``)::

    input: θ_0, objective f, η, β1, β2, ε, λ, ψ, decoupled_weight_decay, maximize
    m_0 ← 0,  v_0 ← 0,  Π_0 ← 1
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                            (−∇f if maximize)
        if decoupled_weight_decay
            θ_{t-1} ← (1 − ηλ) θ_{t-1}                ("decoupled" weight decay, as AdamW)
        else
            g_t ← g_t + λ θ_{t-1}                     (L2 penalty, "coupled" weight decay)
        μ_t ← β1 (1 − ½ · 0.96^(t ψ))                 momentum schedule
        μ_{t+1} ← β1 (1 − ½ · 0.96^((t+1) ψ))
        Π_t ← Π_{t-1} μ_t                             product of the μ's so far
        m_t ← β1 m_{t-1} + (1 − β1) g_t
        v_t ← β2 v_{t-1} + (1 − β2) g_t²
        v̂_t ← v_t / (1 − β2ᵗ)
        θ_t ← θ_{t-1} − η (1 − μ_t) / (1 − Π_t) · g_t / (√v̂_t + ε)
                      − η μ_{t+1} / (1 − Π_t μ_{t+1}) · m_t / (√v̂_t + ε)

All operations are per coordinate. State: ``step`` (t), ``mu_product`` (Π_t, a 0-d tensor
like ``step``), ``exp_avg`` (m), ``exp_avg_sq`` (v). The averages are
:func:`~optimlab.optim.moments.ewma_` and :func:`~optimlab.optim.moments.ewma_sq_`, the
second correction :func:`~optimlab.optim.moments.bias_correction`, the decoupled decay
:func:`~optimlab.optim.adam.decoupled_decay_`.

How this compares with other forms:

* The update is Nesterov's look-ahead written for Adam (Dozat, 2016): the gradient of this step
  enters with weight 1 − μ_t, the average m_t with the *next* momentum μ_{t+1}, each divided by
  the product of the momenta that applies to it instead of Adam's 1 − β1ᵗ.
* The schedule μ_t = β1(1 − ½·0.96^(tψ)) with ψ = 0.004 is Dozat's, written with ψ as a
  parameter: it starts near β1/2 and rises towards β1 (the momentum "warms up"). ψ = 0 gives a
  constant μ_t = β1/2, not β1. Many texts and libraries (Keras' first version, some tutorials)
  use a constant μ_t = β1, for which Π_t = β1ᵗ and the rule becomes Adam with a Nesterov step.
* Π_t is kept in state as a 0-d tensor in the same dtype as ``step`` (float32 unless the
  default dtype is float64), so it is rounded to that precision after every product, as in torch.
* ``decoupled_weight_decay=True`` is NAdamW: θ shrinks by ηλ per step outside the adaptive
  scaling (with torch's convention that λ is multiplied by ``lr``).
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .adam import decoupled_decay_
from .adamax import as_scalar, check_betas
from .moments import bias_correction, ewma_, ewma_sq_


def value_of(x):
    """The number a 0-d state tensor holds, for scalar arithmetic (as ``next_step`` reads t).

    Eagerly a Python number; under ``torch.compile`` the tensor itself, so that the arithmetic
    is traced instead of breaking the graph.
    """
    return x if torch.compiler.is_compiling() else x.item()


def momentum_at(beta1: float, psi: float, t):
    """NAdam's momentum schedule ``μ_t = β1 (1 − ½ · 0.96^(t ψ))``."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))


class NAdam(Optimizer):
    """NAdam (optionally with decoupled weight decay); a drop-in for ``torch.optim.NAdam``."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        check_range("lr", lr, 0.0)
        check_range("eps", eps, 0.0)
        check_betas(betas)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("momentum_decay", momentum_decay, 0.0)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, dict(foreach=foreach, capturable=capturable,
                                                differentiable=differentiable))

    def init_state(self, param, group):
        step = new_step_count(param)
        return {"step": step, "mu_product": torch.ones_like(step),
                "exp_avg": torch.zeros_like(param), "exp_avg_sq": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        lr, (beta1, beta2), eps, lam = as_scalar(group["lr"]), group["betas"], group["eps"], group["weight_decay"]
        psi = group["momentum_decay"]
        t = next_step(state)                                          # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0 and group["decoupled_weight_decay"]:
            decoupled_decay_(param, lr, lam)                          # θ_{t−1} ← (1 − ηλ)θ_{t−1}
        elif lam != 0:
            g = g.add(param, alpha=lam)                               # g_t ← g_t + λθ_{t−1}
        mu = momentum_at(beta1, psi, t)                               # μ_t = β1(1 − ½·0.96^(tψ))
        mu_next = momentum_at(beta1, psi, t + 1)                      # μ_{t+1}
        prod = value_of(state["mu_product"].mul_(mu))                 # Π_t = Π_{t−1} μ_t
        m = ewma_(state["exp_avg"], g, beta1)                         # m_t = β1 m_{t−1} + (1−β1) g_t
        v = ewma_sq_(state["exp_avg_sq"], g, beta2)                   # v_t = β2 v_{t−1} + (1−β2) g_t²
        denom = v.div(bias_correction(beta2, t)).sqrt_().add_(eps)    # √v̂_t + ε,  v̂_t = v_t / (1−β2ᵗ)
        param.addcdiv_(g, denom, value=-lr * (1 - mu) / (1 - prod))   # θ ← θ − η(1−μ_t)/(1−Π_t) · g_t/(√v̂_t+ε)
        param.addcdiv_(m, denom,                                      # θ_t = θ − ημ_{t+1}/(1−Π_tμ_{t+1}) · m_t/(√v̂_t+ε)
                       value=-lr * mu_next / (1 - prod * mu_next))
