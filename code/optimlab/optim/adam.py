r"""Adam and AdamW: momentum on the gradient, RMSprop's scaling, both bias-corrected.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\beta_1, \beta_2` = ``betas``,
:math:`\varepsilon` = ``eps``, :math:`\lambda` = ``weight_decay``)::

    input: θ_0, objective f, η, β1, β2, ε, λ, amsgrad, maximize
    m_0 ← 0,  v_0 ← 0,  v̂max_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                        (−∇f if maximize)
        Adam:   g_t ← g_t + λ θ_{t-1}             (L2 penalty, "coupled" weight decay)
        AdamW:  θ_{t-1} ← (1 − ηλ) θ_{t-1}        ("decoupled" weight decay)
        m_t ← β1 m_{t-1} + (1 − β1) g_t           first moment
        v_t ← β2 v_{t-1} + (1 − β2) g_t²          second moment
        if amsgrad
            v_t ← max(vmax_{t-1}, v_t)            (stored as vmax_t; v keeps the plain average)
        m̂_t ← m_t / (1 − β1ᵗ)                    bias corrections
        v̂_t ← v_t / (1 − β2ᵗ)
        θ_t ← θ_{t-1} − η m̂_t / (√v̂_t + ε)

All operations are per coordinate. State: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v),
and ``max_exp_avg_sq`` (vmax) with amsgrad. The averages are
:func:`~optimlab.optim.moments.ewma_` and :func:`~optimlab.optim.moments.ewma_sq_`, the
corrections :func:`~optimlab.optim.moments.bias_correction`.

How this compares with other forms:

* ε is added *after* the bias-corrected square root, ``√v̂ + ε = √v / √(1 − β2ᵗ) + ε``, as in
  Kingma and Ba's Algorithm 1. Their "more efficient" rewriting folds the corrections into
  the step size, η√(1 − β2ᵗ)/(1 − β1ᵗ), and adds ε to the *uncorrected* √v, which amounts
  to a different, step-dependent ε; TensorFlow's ``epsilon`` is that ε̂.
* ``Adam(weight_decay=λ)`` is an L2 penalty: λθ goes through m and v and is rescaled like
  the gradient. ``AdamW`` (Loshchilov and Hutter) shrinks the weights directly, by ηλ per
  step, untouched by the adaptive scaling. Its default λ is 1e-2, Adam's is 0. The paper
  multiplies λ by the schedule multiplier only, not by the base learning rate; torch
  multiplies it by ``lr``, so torch's λ is the paper's λ divided by the base learning rate,
  and changing ``lr`` also changes the decay per step. ``Adam(decoupled_weight_decay=True)``
  is AdamW.
* AMSGrad (Reddi, Kale and Kumar) divides by the largest v seen so far, bias-corrected like
  v, as torch does; the paper itself has no bias correction.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .moments import bias_correction, ewma_, ewma_sq_


def decoupled_decay_(param: torch.Tensor, lr: float, weight_decay: float) -> torch.Tensor:
    """AdamW's weight decay, in place: ``θ ← (1 − ηλ) θ``; returns ``param``."""
    return param.mul_(1 - lr * weight_decay)


def bias_corrected_step_(param: torch.Tensor, m: torch.Tensor, v: torch.Tensor, lr: float,
                         beta1: float, beta2: float, eps: float, t: float) -> torch.Tensor:
    """Adam's move, in place: ``θ ← θ − η m̂ / (√v̂ + ε)`` with ``m̂ = m/(1−β1ᵗ)``, ``v̂ = v/(1−β2ᵗ)``.

    The corrections are scalars, so they are applied to scalars: η/(1−β1ᵗ) scales the step and
    √(1−β2ᵗ) divides √v, which costs one temporary the size of ``param``.
    """
    denom = v.sqrt().div_(bias_correction(beta2, t) ** 0.5).add_(eps)          # √v̂_t + ε
    return param.addcdiv_(m, denom, value=-lr / bias_correction(beta1, t))     # θ_t = θ_{t−1} − η m̂_t / (√v̂_t + ε)


def _check_adam_args(lr, betas, eps, weight_decay):
    check_range("lr", lr, 0.0)
    check_range("eps", eps, 0.0)
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
    check_range("betas[0]", betas[0], 0.0, 1.0)
    check_range("betas[1]", betas[1], 0.0, 1.0)
    check_range("weight_decay", weight_decay, 0.0)
    # torch insists on two floats or two tensors (an int such as 0 is refused); so do we.
    both_floats = all(isinstance(b, float) for b in betas)
    both_tensors = all(isinstance(b, torch.Tensor) for b in betas)
    if not (both_floats or both_tensors):
        raise ValueError(f"Invalid betas: {betas!r} (expected two floats, e.g. (0.0, 0.99) rather "
                         f"than (0, 0.99), or two 1-element tensors)")
    return tuple(b.squeeze() if isinstance(b, torch.Tensor) else b for b in betas)


def _adam_state(param, group):
    state = {"step": new_step_count(param), "exp_avg": torch.zeros_like(param),
             "exp_avg_sq": torch.zeros_like(param)}
    if group["amsgrad"]:
        state["max_exp_avg_sq"] = torch.zeros_like(param)
    return state


class Adam(Optimizer):
    """Adam (L2 weight decay), optionally AMSGrad; a drop-in for ``torch.optim.Adam``."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False):
        betas = _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults, dict(foreach=foreach, capturable=capturable,
                                                differentiable=differentiable, fused=fused))

    def init_state(self, param, group):
        return _adam_state(param, group)

    def update(self, param, grad, state, group):
        lr, (beta1, beta2), eps, lam = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        t = next_step(state)                                          # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0 and group["decoupled_weight_decay"]:
            decoupled_decay_(param, lr, lam)                          # θ_{t−1} ← (1 − ηλ)θ_{t−1}  (AdamW)
        elif lam != 0:
            g = g.add(param, alpha=lam)                               # g_t ← g_t + λθ_{t−1}
        m = ewma_(state["exp_avg"], g, beta1)                         # m_t = β1 m_{t−1} + (1−β1) g_t
        v = ewma_sq_(state["exp_avg_sq"], g, beta2)                   # v_t = β2 v_{t−1} + (1−β2) g_t²
        if group["amsgrad"]:
            v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])  # vmax_t = max(vmax_{t−1}, v_t)
        bias_corrected_step_(param, m, v, lr, beta1, beta2, eps, t)   # θ_t = θ_{t−1} − η m̂_t / (√v̂_t + ε)


class AdamW(Optimizer):
    """Adam with decoupled weight decay, optionally AMSGrad; a drop-in for ``torch.optim.AdamW``."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        betas = _check_adam_args(lr, betas, eps, weight_decay)
        # decoupled_weight_decay is kept in the groups only so that checkpoints match torch's.
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=True)
        super().__init__(params, defaults, dict(foreach=foreach, capturable=capturable,
                                                differentiable=differentiable, fused=fused))

    def init_state(self, param, group):
        return _adam_state(param, group)

    def update(self, param, grad, state, group):
        lr, (beta1, beta2), eps, lam = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        t = next_step(state)                                          # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0:
            decoupled_decay_(param, lr, lam)                          # θ_{t−1} ← (1 − ηλ)θ_{t−1}
        m = ewma_(state["exp_avg"], g, beta1)                         # m_t = β1 m_{t−1} + (1−β1) g_t
        v = ewma_sq_(state["exp_avg_sq"], g, beta2)                   # v_t = β2 v_{t−1} + (1−β2) g_t²
        if group["amsgrad"]:
            v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])  # vmax_t = max(vmax_{t−1}, v_t)
        bias_corrected_step_(param, m, v, lr, beta1, beta2, eps, t)   # θ_t = θ_{t−1} − η m̂_t / (√v̂_t + ε)
