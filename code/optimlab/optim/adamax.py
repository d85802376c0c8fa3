r"""Adamax: Adam with the infinity norm of the past gradients in place of their root mean square.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\beta_1, \beta_2` = ``betas``,
:math:`\varepsilon` = ``eps``, :math:`\lambda` = ``weight_decay``)::

    input: θ_0, objective f, η, β1, β2, ε, λ, maximize
    m_0 ← 0,  u_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                        (−∇f if maximize)
        g_t ← g_t + λ θ_{t-1}                     (L2 penalty, "coupled" weight decay)
        m_t ← β1 m_{t-1} + (1 − β1) g_t           first moment
        u_t ← max(β2 u_{t-1}, |g_t| + ε)          decayed infinity norm
        θ_t ← θ_{t-1} − η m_t / ((1 − β1ᵗ) u_t)

All operations are per coordinate. State: ``step`` (t), ``exp_avg`` (m), ``exp_inf`` (u). The
first moment is :func:`~optimlab.optim.moments.ewma_`, its correction
:func:`~optimlab.optim.moments.bias_correction`.

How this compares with other forms:

* Kingma and Ba (Algorithm 2 of the Adam paper) write u_t = max(β2 u_{t-1}, |g_t|), with no ε:
  their u is 0 only where every gradient so far was 0, and then m is 0 too. torch adds ε to
  |g_t| *inside* the max, so u_t ≥ ε always and a zero gradient never divides by zero. For the
  same reason an ε that is large next to |g| caps the step at η |m̂| / ε.
* u needs no bias correction (a maximum of decayed values is not biased towards zero the way an
  average started at 0 is); only m is corrected.
* ``weight_decay`` is an L2 penalty added to the gradient, as in Adam.
* Complex parameters are treated as pairs of real numbers: |g| is taken of the real and of the
  imaginary part separately, as torch does.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .moments import bias_correction, ewma_


def as_scalar(x):
    """A hyper-parameter as the rule uses it: a 1-element tensor (``lr=torch.tensor([0.01])``) as a
    0-d tensor, anything else unchanged (what torch does before each step)."""
    return x.squeeze() if isinstance(x, torch.Tensor) and x.dim() != 0 else x


def check_betas(betas):
    """The pair (β1, β2) as torch accepts it: two numbers in [0, 1)."""
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
    check_range("betas[0]", betas[0], 0.0, 1.0)
    check_range("betas[1]", betas[1], 0.0, 1.0)


class Adamax(Optimizer):
    """Adamax; a drop-in for ``torch.optim.Adamax``."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        check_range("lr", lr, 0.0)
        check_range("eps", eps, 0.0)
        check_betas(betas)
        check_range("weight_decay", weight_decay, 0.0)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, dict(foreach=foreach, differentiable=differentiable,
                                                capturable=capturable))

    def init_state(self, param, group):
        return {"step": new_step_count(param), "exp_avg": torch.zeros_like(param),
                "exp_inf": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        lr, (beta1, beta2), eps, lam = as_scalar(group["lr"]), group["betas"], group["eps"], group["weight_decay"]
        t = next_step(state)                                          # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0:
            g = g.add(param, alpha=lam)                               # g_t ← g_t + λθ_{t−1}
        m = ewma_(state["exp_avg"], g, beta1)                         # m_t = β1 m_{t−1} + (1−β1) g_t
        u = state["exp_inf"]
        torch.maximum(u.mul_(beta2), g.abs().add_(eps), out=u)        # u_t = max(β2 u_{t−1}, |g_t| + ε)
        param.addcdiv_(m, u, value=-lr / bias_correction(beta1, t))   # θ_t = θ_{t−1} − η m_t / ((1−β1ᵗ) u_t)
