r"""LARS: SGD with momentum whose step is rescaled per layer by a trust ratio.

Algorithm (You, Gitman and Ginsburg, 2017, Algorithm 1; :math:`\eta` = ``lr``, the global
rate, :math:`\mu` = ``momentum``, :math:`\lambda` = ``weight_decay``, :math:`\kappa` =
``trust_coefficient``). "Layer" means one parameter tensor::

    input: θ_0, objective f, η, μ, λ, κ, maximize
    b_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                                   (−∇f if maximize)
        ρ_t ← κ ‖θ_{t-1}‖ / (‖g_t‖ + λ ‖θ_{t-1}‖)          the layer's trust ratio
              (ρ_t ← 1 when ‖θ_{t-1}‖ = 0 or ‖g_t‖ = 0)
        b_t ← μ b_{t-1} + η ρ_t (g_t + λ θ_{t-1})           momentum on the rescaled step
        θ_t ← θ_{t-1} − b_t

The step of a layer is about ``η κ ‖θ‖`` whatever the size of its gradient: each layer moves
by the same *fraction* of its weights, which is what lets very large batches (and their large
learning rates) train without the layers with small weights diverging.

How this compares with other forms:

* As in the paper, the global rate η sits *inside* the buffer (``b ← μ b + η ρ d``), so a
  schedule's change of η acts on new gradients only; torch's ``SGD`` multiplies the whole
  buffer by η instead. The first buffer is ``η ρ_1 d_1`` (from ``b_0 = 0``).
* Implementations differ on layers with zero weights or zero gradients (at initialisation,
  biases are often zero); here the trust ratio is then 1 and the layer takes a plain SGD step.
  Many training recipes also exclude biases and normalisation layers from the rescaling and
  from the decay: put them in a parameter group with ``trust_coefficient=None``, which gives
  them plain momentum SGD (ρ = 1) with the same buffer convention.
* There is no torch.optim twin; the tests pin the rule against steps computed by hand.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range


def trust_ratio(weight_norm: torch.Tensor, update_norm: torch.Tensor, coefficient: float = 1.0) -> torch.Tensor:
    """``coefficient · ‖θ‖ / ‖u‖``, or 1 when either norm is zero (a 0-d tensor)."""
    both = (weight_norm > 0) & (update_norm > 0)
    return torch.where(both, coefficient * weight_norm / update_norm.clamp_min(1e-30),
                       torch.ones_like(weight_norm))


class LARS(Optimizer):
    """Layer-wise adaptive rate scaling (LARS) on SGD with momentum."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.9, weight_decay: float = 0.0,
                 trust_coefficient: float | None = 1e-3, *, maximize: bool = False):
        check_range("lr", lr, 0.0)
        check_range("momentum", momentum, 0.0, 1.0)
        check_range("weight_decay", weight_decay, 0.0)
        if trust_coefficient is not None:
            check_range("trust_coefficient", trust_coefficient, 0.0, low_inclusive=False)
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        trust_coefficient=trust_coefficient, maximize=maximize)
        super().__init__(params, defaults)

    def init_state(self, param, group):
        return {"momentum_buffer": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        lr, mu, lam, kappa = group["lr"], group["momentum"], group["weight_decay"], group["trust_coefficient"]
        g = -grad if group["maximize"] else grad                       # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        d = g.add(param, alpha=lam) if lam != 0 else g                 # d_t = g_t + λθ_{t−1}
        if kappa is None:
            rho = 1.0                                                  # excluded layer: ρ_t = 1
        else:
            w_norm, g_norm = param.norm(), g.norm()
            rho = trust_ratio(w_norm, g_norm + lam * w_norm, kappa)    # ρ_t = κ‖θ‖ / (‖g_t‖ + λ‖θ‖)
        b = state["momentum_buffer"]
        b.mul_(mu).add_(d * rho, alpha=lr)                             # b_t = μ b_{t−1} + η ρ_t d_t
        param.sub_(b)                                                  # θ_t = θ_{t−1} − b_t
