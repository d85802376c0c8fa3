r"""Muon: momentum, then the update matrix orthogonalised by a Newton–Schulz iteration.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\mu` = ``momentum``, :math:`\lambda` =
``weight_decay``, :math:`(a, b, c)` = ``ns_coefficients``, :math:`k` = ``ns_steps``,
:math:`\varepsilon` = ``eps``; θ is an m × n matrix)::

    input: θ_0 (m × n), objective f, η, μ, λ, nesterov, (a, b, c), k, ε, adjust_lr_fn
    b_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})
        b_t ← μ b_{t-1} + (1 − μ) g_t                   momentum buffer (an average)
        u_t ← (1 − μ) g_t + μ b_t                       if nesterov
        u_t ← b_t                                       otherwise
        o_t ← NS_k(u_t)                                 ≈ U Vᵀ where u_t = U Σ Vᵀ
        θ_{t-1} ← (1 − ηλ) θ_{t-1}                      ("decoupled" weight decay, with η itself)
        η' ← η √max(1, m/n)                             adjust_lr_fn None or "original"
        η' ← 0.2 η √max(m, n)                           adjust_lr_fn "match_rms_adamw"
        θ_t ← θ_{t-1} − η' o_t

    NS_k(X), the Newton–Schulz iteration (X transposed first when m > n, so that X Xᵀ is the
    smaller Gram matrix, and transposed back at the end):
        X ← X / max(‖X‖_F, ε)                           all singular values now ≤ 1
        repeat k times
            A ← X Xᵀ
            X ← a X + (b A + c A²) X                    each singular value σ ↦ aσ + bσ³ + cσ⁵

The odd polynomial p(σ) = aσ + bσ³ + cσ⁵ acts on every singular value separately and leaves the
singular vectors alone. torch's coefficients (a, b, c) = (3.4445, −4.7750, 2.0315) make p steep
at 0 (p'(0) = a) so that small singular values grow fast; after five steps every σ between
about a⁻⁵ ≈ 0.002 and 1 lands near 1, in about [0.68, 1.2], rather than exactly on 1: o_t is
close to, not equal to, the orthogonal factor U Vᵀ (smaller σ stay below 0.68).
State: ``momentum_buffer`` (b) only; there is no step count.

Where torch's form differs from other statements of Muon:

* torch's buffer is an average, ``b ← lerp(b, g, 1 − μ)`` (its documentation's box writes
  b_t = μ b_{t-1} + g_t; the code, followed here, scales g_t by 1 − μ). Nesterov uses
  ``lerp(g, b, μ)`` = (1 − μ) g + μ b, the same average taken once more. Since o_t depends only
  on the direction of u_t (it is normalised first), the scale of b does not change the update.
* **Precision.** torch runs the Newton–Schulz iteration in bfloat16 (8 bits of mantissa, about
  3 significant digits) whatever the parameter's dtype, and adds the bfloat16 result to the
  parameter. :func:`zeropower_via_newton_schulz` takes the dtype as an argument; the optimizer
  uses :attr:`Muon.ns_dtype`, bfloat16 by default, so that the numbers match torch's (the tests
  compare within bfloat16 rounding). A subclass with ``ns_dtype = None`` runs the iteration in
  the parameter's own dtype: in float64 it is the same math to float64 rounding (tested against
  a float64 evaluation of the formula above).
* Weight decay uses η, not the adjusted η'. Only 2-D parameters are accepted, as in torch (biases,
  embeddings and the output layer go to another optimizer, e.g. AdamW). ``maximize`` does not
  exist in torch's Muon, so not here either.
* One corner not copied: for a bfloat16 parameter without Nesterov, torch's iteration starts
  from the momentum buffer itself (no conversion, hence no copy) and divides it by its norm in
  place; here the iteration always works on a copy, so the buffer stays the average above.
"""

from __future__ import annotations

import math

import torch

from ._base import Optimizer, check_range
from .adam import decoupled_decay_
from .moments import ewma_

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # torch's (a, b, c): steep at 0, five steps
NS_STEPS = 5
EPS = 1e-7
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def zeropower_via_newton_schulz(u: torch.Tensor, coefficients=NS_COEFFICIENTS, steps: int = NS_STEPS,
                                eps: float = EPS, dtype: torch.dtype | None = torch.bfloat16) -> torch.Tensor:
    """NS_k(u): ``u`` with its singular values pushed towards 1, computed in ``dtype``.

    ``dtype=None`` computes in ``u``'s own dtype. Returns a new matrix of that dtype (``u`` is
    left alone); refuses what torch refuses (100 steps or more, a tensor that is not 2-D, not
    three coefficients).
    """
    if steps >= 100:
        raise ValueError(f"Invalid ns_steps: {steps} (expected ns_steps < 100)")
    if u.dim() != 2:
        raise ValueError(f"Newton-Schulz needs a 2-D matrix, got shape {tuple(u.shape)}")
    if len(coefficients) != 3:
        raise ValueError(f"Invalid ns_coefficients: {coefficients!r} (expected three numbers (a, b, c))")
    a, b, c = coefficients
    tall = u.size(0) > u.size(1)
    X = u.to(dtype if dtype is not None else u.dtype, copy=True)
    if tall:
        X = X.T                                              # work with the smaller Gram matrix X Xᵀ
    X.div_(X.norm().clamp(min=eps))                          # X ← X / max(‖X‖_F, ε)
    for _ in range(steps):
        A = X @ X.T                                          # A = X Xᵀ
        B = torch.addmm(A, A, A, beta=b, alpha=c)            # B = b A + c A²
        X = torch.addmm(X, B, X, beta=a)                     # X ← a X + B X
    return X.T if tall else X


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    """η' for an m × n matrix: η √max(1, m/n) ("original", the default) or 0.2 η √max(m, n)."""
    m, n = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return lr * (0.2 * math.sqrt(max(m, n)))             # η' = 0.2 η √max(m, n)
    return lr * math.sqrt(max(1, m / n))                     # η' = η √max(1, m/n)


class Muon(Optimizer):
    """Muon for 2-D parameters (momentum + Newton–Schulz orthogonalisation); a drop-in for ``torch.optim.Muon``."""

    ns_dtype: torch.dtype | None = torch.bfloat16  # dtype of the Newton–Schulz iteration; None: the parameter's
    supports_complex = False                        # torch refuses complex parameters too

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
                 eps: float = EPS, ns_steps: int = NS_STEPS, adjust_lr_fn: str | None = None):
        check_range("lr", lr, 0.0)
        check_range("momentum", momentum, 0.0)
        check_range("weight_decay", weight_decay, 0.0)
        if adjust_lr_fn not in ADJUST_LR_FNS:
            raise ValueError(f"Invalid adjust_lr_fn: {adjust_lr_fn!r} (expected None, 'original' "
                             f"or 'match_rms_adamw')")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError(f"Invalid params: a parameter of size {tuple(p.shape)} (expected "
                                     f"2-D parameters only: Muon orthogonalises matrices)")

    def init_state(self, param, group):
        return {"momentum_buffer": torch.zeros_like(param)}            # b_0 = 0

    def update(self, param, grad, state, group):
        lr, lam, mu = group["lr"], group["weight_decay"], group["momentum"]
        lr = lr.item() if isinstance(lr, torch.Tensor) else lr        # a 1-element tensor lr, as torch allows
        g = grad                                                       # g_t = ∇f(θ_{t−1})
        b = ewma_(state["momentum_buffer"], g, mu)                     # b_t = μ b_{t−1} + (1 − μ) g_t
        u = g.lerp(b, mu) if group["nesterov"] else b                  # u_t = (1 − μ) g_t + μ b_t  or  b_t
        o = zeropower_via_newton_schulz(u, group["ns_coefficients"], group["ns_steps"], group["eps"],
                                        self.ns_dtype)                 # o_t = NS_k(u_t)
        decoupled_decay_(param, lr, lam)                               # θ_{t−1} ← (1 − ηλ)θ_{t−1}
        param.add_(o, alpha=-adjusted_lr(lr, group["adjust_lr_fn"], param.shape))  # θ_t = θ_{t−1} − η' o_t
