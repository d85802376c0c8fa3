r"""Lion: the sign of an interpolated momentum, with decoupled weight decay.

Algorithm (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"; :math:`\eta` =
``lr``, :math:`\beta_1, \beta_2` = ``betas``, :math:`\lambda` = ``weight_decay``)::

    input: θ_0, objective f, η, β1, β2, λ, maximize
    m_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                              (−∇f if maximize)
        c_t ← β1 m_{t-1} + (1 − β1) g_t                the direction: an interpolation
        θ_t ← θ_{t-1} − η (sign(c_t) + λ θ_{t-1})      every coordinate moves by ±η
        m_t ← β2 m_{t-1} + (1 − β2) g_t                the momentum, with another β

Every coordinate of the update has the same size η (plus the decay): Lion is a sign method,
like signSGD with momentum, and its update has a larger norm than Adam's for the same η. The
paper therefore suggests an η 3–10 times smaller than AdamW's and a λ 3–10 times larger, so
that the decay per step, ηλ, stays about the same.

How this compares with other forms:

* Two betas with different roles: β1 (0.9) mixes the current gradient into the direction,
  β2 (0.99) is the memory of the momentum. With β1 = β2 the update is signSGD on the
  ordinary momentum.
* The weight decay is decoupled and multiplied by η, as in torch's AdamW: θ ← (1 − ηλ)θ
  before the signed step, which is the same update as above. ``lion-pytorch`` (the
  reference the tests compare with) does the same by default.
* ``sign(0) = 0``: a coordinate whose interpolated momentum is exactly zero does not move.
* There is no torch.optim twin.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range
from .adam import decoupled_decay_
from .moments import ewma_


class Lion(Optimizer):
    """Lion (evolved sign momentum)."""

    def __init__(self, params, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0.0, *, maximize: bool = False):
        check_range("lr", lr, 0.0)
        if len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
        check_range("betas[0]", betas[0], 0.0, 1.0, high_inclusive=True)
        check_range("betas[1]", betas[1], 0.0, 1.0, high_inclusive=True)
        check_range("weight_decay", weight_decay, 0.0)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay,
                                      maximize=maximize))

    def init_state(self, param, group):
        return {"exp_avg": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        lr, (beta1, beta2), lam = group["lr"], group["betas"], group["weight_decay"]
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        m = state["exp_avg"]
        c = m.lerp(g, 1 - beta1)                                      # c_t = β1 m_{t−1} + (1−β1) g_t
        if lam != 0:
            decoupled_decay_(param, lr, lam)                          # θ ← (1 − ηλ) θ_{t−1}
        param.add_(c.sign_(), alpha=-lr)                              # θ_t = θ − η sign(c_t)
        ewma_(m, g, beta2)                                            # m_t = β2 m_{t−1} + (1−β2) g_t
