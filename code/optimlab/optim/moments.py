r"""Running averages of the gradient and of its square, and the bias correction of Adam.

Three small pieces that RMSprop, Adadelta, Adam and AdamW are built from. Each optimizer in
this package calls these same functions, so a change here changes them all.

In the book's notation, with :math:`\beta \in [0, 1)` and :math:`t = 1, 2, \dots`::

    m_t = β m_{t-1} + (1 − β) g_t          ewma_(m, g, β)       first moment (mean of g)
    v_t = β v_{t-1} + (1 − β) g_t²         ewma_sq_(v, g, β)    second moment (mean of g²)
    1 − βᵗ                                 bias_correction(β, t)

Started from :math:`m_0 = 0`, the average is biased towards zero: for a constant gradient
:math:`g`, :math:`m_t = (1 - \beta^t) g`, so :math:`m_t / (1 - \beta^t)` removes the bias.

The two averages are computed as torch computes them, so results agree to the last bit:
the first moment with ``lerp_`` (:math:`m + (1-\beta)(g - m)`, the same average written as a
step towards :math:`g`), the second with ``mul_`` and ``addcmul_``. Both work in place and
allocate nothing.
"""

from __future__ import annotations

import torch


def ewma_(avg: torch.Tensor, x: torch.Tensor, beta: float) -> torch.Tensor:
    """Exponentially weighted average, in place: ``avg ← β·avg + (1 − β)·x``; returns ``avg``."""
    return avg.lerp_(x, 1 - beta)


def ewma_sq_(avg: torch.Tensor, x: torch.Tensor, beta: float) -> torch.Tensor:
    """The same average of the square of ``x``, in place: ``avg ← β·avg + (1 − β)·x²``; returns ``avg``."""
    return avg.mul_(beta).addcmul_(x, x, value=1 - beta)


def bias_correction(beta: float, t: float) -> float:
    """``1 − βᵗ``: divide an average started at zero by this after ``t`` updates to unbias it."""
    return 1 - beta ** t
