r"""Adafactor: a second moment kept as a row and a column factor, a step relative to the weights.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`c` = ``beta2_decay``,
:math:`\varepsilon_1, \varepsilon_2` = ``eps``, :math:`d` = the clipping threshold ``d``,
:math:`\lambda` = ``weight_decay``; RMS(x) = ‖x‖₂ / √numel(x))::

    input: θ_0, objective f, η, c ≤ 0, ε1 (None: the machine epsilon of θ's dtype), ε2, d ≥ 1, λ, maximize
    R_0 ← 0, C_0 ← 0     θ with two or more dimensions (factored over the last two, m × n)
    V_0 ← 0              θ a vector or a scalar
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                                   (−∇f if maximize)
        β2_t ← 1 − t^c                                      (β2_1 = 0: the first average is g_1²)
        ρ_t ← min(η, 1/√t)                                  relative step size
        α_t ← max(ε2, RMS(θ_{t-1})) ρ_t                     step size, relative to the size of θ
        θ_{t-1} ← (1 − ηλ) θ_{t-1}                          ("decoupled" weight decay)
        if θ has two or more dimensions
            R_t ← β2_t R_{t-1} + (1 − β2_t) mean_j(g_t²)    row means of g_t², shape m × 1
            C_t ← β2_t C_{t-1} + (1 − β2_t) mean_i(g_t²)    column means of g_t², shape 1 × n
            V̂_t ← R_t C_t / max(mean_i(R_t), ε1)            rank-one estimate of E[g²], m × n
        else
            V̂_t ← β2_t V̂_{t-1} + (1 − β2_t) g_t²           (kept whole: ``variance``)
        U_t ← g_t / max(√V̂_t, ε1)                           (computed as g_t · 1/√max(V̂_t, ε1²))
        Û_t ← U_t / max(1, RMS(U_t) / d)                    update clipping
        θ_t ← θ_{t-1} − α_t Û_t

For a tensor with more than two dimensions the leading dimensions are batch dimensions: each
m × n slice has its own factors, while RMS(θ) and RMS(U) are taken over the whole tensor.
State: ``step`` (t), ``row_var`` (R, shape ``(..., m, 1)``) and ``col_var`` (C, shape
``(..., 1, n)``) for tensors with two or more dimensions, ``variance`` (V̂) otherwise. There
is no first moment (the paper's β1 = 0), so the memory for a matrix is m + n numbers, not m n.

How torch's form differs from Shazeer and Stern's paper (Adafactor: Adaptive Learning Rates
with Sublinear Memory Cost, 2018, Algorithms 4 and 5):

* **Relative step.** The paper has no learning rate: ρ_t = min(10⁻², 1/√t). torch caps ρ_t with
  ``lr`` instead of the constant 10⁻² (hence the default ``lr=1e-2``, which gives the paper's
  schedule); changing ``lr`` changes only the cap and the weight decay, and once 1/√t < η
  (t > 1/η², 10 000 steps by default) ``lr`` no longer affects the gradient step at all.
* **ε1's place.** The paper adds ε1 = 10⁻³⁰ to g² before averaging (inside R and C). torch
  leaves R and C the plain averages of g² and applies ε1 afterwards, as a floor on the
  normaliser mean(R) and on √V̂. Its default is the machine epsilon of the dtype (2.2e-16 in
  float64, 1.2e-7 in float32), not 10⁻³⁰.
* **Means, not sums.** The paper writes R = (g²)1_n and V̂ = R C / (1ᵀ_m R) with sums; torch
  keeps means. The estimate V̂ is the same (the factors m and n cancel), the numbers smaller.
* **Update clipping** with threshold d (the paper's d = 1) is as in the paper. Weight decay
  (decoupled, scaled by η as in AdamW) is torch's addition: the paper has none.

As in torch, complex parameters and sparse gradients are refused. One unmatched corner: with
``eps[0]=None`` torch sets ε1 from the first parameter of a group and keeps it for the rest of
the group, so a group that mixes float32 and float64 parameters gets one ε1; here each
parameter gets its own dtype's epsilon.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .adam import decoupled_decay_


def smaller(a, b):
    """min(a, b) for a number ``a`` and a number or 0-d tensor ``b`` (the step count under compile)."""
    return torch.clamp(b, max=a) if isinstance(b, torch.Tensor) else min(a, b)


def rms(x: torch.Tensor) -> torch.Tensor:
    """Root mean square of all entries, ``‖x‖₂ / √numel(x)``, as a 0-d tensor."""
    return x.norm(2).div(x.numel() ** 0.5)


def mean_sq(g: torch.Tensor, dim: int) -> torch.Tensor:
    """``mean(g², dim)`` (kept as a dimension of size 1) written as ``‖g‖²/size``: no temporary the size of g."""
    return torch.norm(g, dim=dim, keepdim=True).square_().div_(g.size(dim))


class Adafactor(Optimizer):
    """Adafactor with factored second moments and a relative step; a drop-in for ``torch.optim.Adafactor``."""

    supports_complex = False  # torch refuses complex parameters too
    multi_tensor = False      # the factored moments depend on each parameter's shape: foreach=True
                              # is accepted, as in torch, and runs the for-loop (same numbers)

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None, maximize: bool = False):
        check_range("lr", lr, 0.0)
        check_range("beta2_decay", beta2_decay, None, 0.0, high_inclusive=True)
        if eps[0] is not None:
            check_range("eps[0]", eps[0], 0.0)
        check_range("eps[1]", eps[1], 0.0)
        check_range("d", d, 1.0)
        check_range("weight_decay", weight_decay, 0.0)
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults, dict(foreach=foreach))

    def init_state(self, param, group):
        state = {"step": new_step_count(param)}
        if param.dim() > 1:
            state["row_var"] = param.new_zeros((*param.shape[:-1], 1))                 # R_0 = 0, m × 1
            state["col_var"] = param.new_zeros((*param.shape[:-2], 1, param.shape[-1]))  # C_0 = 0, 1 × n
        else:
            state["variance"] = torch.zeros_like(param)                                 # V_0 = 0
        return state

    def update(self, param, grad, state, group):
        lr, c, (eps1, eps2), d, lam = (group["lr"], group["beta2_decay"], group["eps"], group["d"],
                                       group["weight_decay"])
        lr = lr.item() if isinstance(lr, torch.Tensor) else lr     # a 1-element tensor lr, as torch allows
        if eps1 is None:
            eps1 = torch.finfo(param.dtype).eps
        t = next_step(state)                                         # t ← t + 1
        g = -grad if group["maximize"] else grad                     # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        one_minus_beta2 = t ** c                                     # 1 − β2_t = t^c
        rho = smaller(lr, 1 / t ** 0.5)                              # ρ_t = min(η, 1/√t)
        alpha = rms(param).clamp_(min=eps2).mul_(rho)                # α_t = max(ε2, RMS(θ_{t−1})) ρ_t
        if lam != 0:
            decoupled_decay_(param, lr, lam)                         # θ_{t−1} ← (1 − ηλ)θ_{t−1}
        if g.dim() > 1:
            R, C = state["row_var"], state["col_var"]
            R.lerp_(mean_sq(g, -1), one_minus_beta2)            # R_t = β2_t R_{t−1} + (1 − β2_t) mean_j(g_t²)
            C.lerp_(mean_sq(g, -2), one_minus_beta2)            # C_t = β2_t C_{t−1} + (1 − β2_t) mean_i(g_t²)
            V = (R @ C).div_(R.mean(dim=-2, keepdim=True).clamp_(min=eps1))  # V̂_t = R_t C_t / max(mean_i R_t, ε1)
        else:
            V = state["variance"].lerp_(g * g, one_minus_beta2).clone()      # V̂_t = β2_t V̂_{t−1} + (1 − β2_t) g_t²
        U = V.clamp_(min=eps1 * eps1).rsqrt_().mul_(g)               # U_t = g_t / max(√V̂_t, ε1)
        clip = rms(U).div_(d).clamp_(min=1.0)                        # max(1, RMS(U_t)/d)
        param.sub_(U.mul_(alpha.div_(clip)))                         # θ_t = θ_{t−1} − α_t U_t / max(1, RMS(U_t)/d)
