r"""Stochastic gradient descent, with momentum and Nesterov momentum.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\mu` = ``momentum``,
:math:`\tau` = ``dampening``, :math:`\lambda` = ``weight_decay``)::

    input: θ_0, objective f, η, μ, τ, λ, nesterov, maximize
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                      (−∇f if maximize)
        g_t ← g_t + λ θ_{t-1}                   (L2 penalty, "coupled" weight decay)
        if μ ≠ 0
            b_t ← g_t                           if t = 1
            b_t ← μ b_{t-1} + (1 − τ) g_t       otherwise
            g_t ← g_t + μ b_t                   if nesterov
            g_t ← b_t                           otherwise
        θ_t ← θ_{t-1} − η g_t

How this compares with textbook forms:

* Many texts write momentum as a velocity :math:`v_t = \beta v_{t-1} + g_t` (torch's
  ``dampening=0``, the default) and others as an average
  :math:`v_t = \beta v_{t-1} + (1-\beta) g_t` (torch's ``dampening=β``). The two give the same
  trajectory once the learning rate of the second is multiplied by :math:`1/(1-\beta)`.
* torch's first buffer is the raw gradient :math:`b_1 = g_1`, not :math:`(1-\tau) g_1`: with
  dampening the first step is larger than the averaged form starting from :math:`b_0 = 0`.
* Nesterov momentum is written in the "look-ahead free" form
  :math:`\theta_t = \theta_{t-1} - \eta (g_t + \mu b_t)`, which is Sutskever et al.'s look-ahead
  update rewritten in terms of the parameters at the look-ahead point.
* ``weight_decay`` is an L2 penalty added to the gradient. For plain SGD this is the same as
  decoupled decay :math:`\theta \leftarrow (1 - \eta\lambda)\theta`; with momentum it is not.
* As in torch, sparse gradients (``nn.Embedding(sparse=True)``) are accepted when
  ``weight_decay`` is 0; with momentum the buffer is then a sparse tensor.
"""

from __future__ import annotations

from ._base import Optimizer, check_range


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum; a drop-in for ``torch.optim.SGD``."""

    supports_sparse_grad = True  # as in torch (without weight decay); the momentum buffer is then sparse

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None):
        check_range("lr", lr, 0.0)
        check_range("momentum", momentum, 0.0)
        check_range("dampening", dampening, None)
        check_range("weight_decay", weight_decay, 0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"Invalid nesterov=True with momentum={momentum} and dampening={dampening} "
                             f"(Nesterov momentum requires momentum > 0 and dampening = 0)")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults,
                         dict(foreach=foreach, differentiable=differentiable, fused=fused))

    def init_state(self, param, group):
        return {}  # the momentum buffer is created from the first gradient

    def update(self, param, grad, state, group):
        lr, mu, tau, lam = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
        g = -grad if group["maximize"] else grad                       # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0:
            g = g.add(param, alpha=lam)                                # g_t ← g_t + λθ_{t−1}
        if mu != 0:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = g.detach().clone()      # b_1 = g_1
            else:
                b.mul_(mu).add_(g, alpha=1 - tau)                      # b_t = μb_{t−1} + (1−τ)g_t
            g = g.add(b, alpha=mu) if group["nesterov"] else b         # g_t ← g_t + μb_t  or  g_t ← b_t
        param.add_(g, alpha=-lr)                                       # θ_t = θ_{t−1} − ηg_t
