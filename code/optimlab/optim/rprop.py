r"""Rprop: move each weight by its own step size, in the direction of the gradient's sign only.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`(\eta^-, \eta^+)` = ``etas``,
:math:`(\Delta_{\min}, \Delta_{\max})` = ``step_sizes``)::

    input: θ_0, objective f, η, η⁻, η⁺, Δ_min, Δ_max, maximize
    Δ_0 ← η (every coordinate),  g_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                             (−∇f if maximize)
        s ← sign(g_t g_{t-1})
        Δ_t ← clip(η⁺ Δ_{t-1}, Δ_min, Δ_max)           where s > 0   (same sign: speed up)
        Δ_t ← clip(η⁻ Δ_{t-1}, Δ_min, Δ_max)           where s < 0   (sign flipped: slow down)
        Δ_t ← clip(Δ_{t-1}, Δ_min, Δ_max)              where s = 0
        g_t ← 0                                        where s < 0   (forget a flipped gradient)
        θ_t ← θ_{t-1} − sign(g_t) Δ_t

All operations are per coordinate. State: ``step`` (t), ``prev`` (g_{t-1}, after the zeroing)
and ``step_size`` (Δ_t).

How this compares with other forms:

* This is the variant Igel and Hüsken (2000) call iRprop⁻: where the sign flips the step size
  shrinks, the weight does not move (sign(0) = 0) and the stored gradient is set to 0, so the
  next step is a "same size" step (s = 0). Riedmiller and Braun's original Rprop (1993) instead
  *undoes* the previous move where the sign flips (weight backtracking, Rprop⁺).
* ``lr`` is only the initial step size Δ_0: changing it later (a scheduler) has no effect on
  parameters that already have state.
* The magnitude of the gradient is ignored, so Rprop is meant for full-batch gradients; with
  noisy mini-batch gradients the signs flip at random.
* torch checks 0 < η⁻ < 1 < η⁺ but not the bounds Δ_min, Δ_max.
* torch's sign of NaN is 0: a NaN gradient leaves θ and Δ where they are, is stored as g_{t-1},
  and makes the next step a "same size" step (s = 0); an infinite gradient is a step of Δ.
* A complex parameter has a step size for its real and one for its imaginary part, both
  starting at η, as in torch.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step


class Rprop(Optimizer):
    """Resilient backpropagation (iRprop⁻); a drop-in for ``torch.optim.Rprop``."""

    def __init__(self, params, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False):
        check_range("lr", lr, 0.0)
        if len(etas) != 2:
            raise ValueError(f"Invalid etas: {etas!r} (expected a pair (etaminus, etaplus))")
        check_range("etas[0]", etas[0], 0.0, 1.0, low_inclusive=False)
        check_range("etas[1]", etas[1], 1.0, low_inclusive=False)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize)
        super().__init__(params, defaults, dict(capturable=capturable, foreach=foreach,
                                                differentiable=differentiable))

    def init_state(self, param, group):
        lr = float(group["lr"])
        delta0 = complex(lr, lr) if param.is_complex() else lr  # Δ_0 for the real and imaginary parts
        return {"step": new_step_count(param), "prev": torch.zeros_like(param),
                "step_size": torch.full_like(param, delta0)}

    def update(self, param, grad, state, group):
        (eta_minus, eta_plus), (delta_min, delta_max) = group["etas"], group["step_sizes"]
        next_step(state)                                              # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        prev, delta = state["prev"], state["step_size"]
        s = g.mul(prev).sign_()                                       # s = sign(g_t g_{t−1})
        factor = (s.masked_fill_(s.gt(0), eta_plus)                   # η⁺ where s > 0
                  .masked_fill_(s.lt(0), eta_minus)                   # η⁻ where s < 0
                  .masked_fill_(s.eq(0), 1))                          # 1 where s = 0
        delta.mul_(factor).clamp_(delta_min, delta_max)               # Δ_t = clip(factor · Δ_{t−1}, Δ_min, Δ_max)
        g = g.masked_fill(factor.eq(eta_minus), 0)                    # g_t ← 0 where the sign flipped
        param.addcmul_(g.sign(), delta, value=-1)                     # θ_t = θ_{t−1} − sign(g_t) Δ_t
        prev.copy_(g)                                                 # g_{t−1} ← g_t for the next step
