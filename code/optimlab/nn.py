r"""Batch normalization and dropout from scratch, as drop-ins for their ``torch.nn`` twins.

Each layer is a small :class:`torch.nn.Module` around a functional form whose body is the
math, written with plain tensor operations so that autograd supplies the backward pass.

Batch normalization (Ioffe & Szegedy, 2015), per channel :math:`c`, over a mini-batch
:math:`\mathcal{B}` of :math:`m` values (all samples, and all positions for 3-D/4-D inputs)::

    training:
        μ_B  ← (1/m) Σ_i x_i                         batch mean
        σ²_B ← (1/m) Σ_i (x_i − μ_B)²                 batch variance (biased: divide by m)
        x̂_i  ← (x_i − μ_B) / sqrt(σ²_B + ε)          ε inside the square root
        y_i  ← γ x̂_i + β                              learnable scale γ (weight), shift β (bias)
        μ̄    ← (1 − α) μ̄ + α μ_B                      running mean
        σ̄²   ← (1 − α) σ̄² + α σ²_B · m/(m − 1)         running variance (unbiased estimate)
    evaluation:
        y_i  ← γ (x_i − μ̄) / sqrt(σ̄² + ε) + β

Where torch's conventions matter (and this module follows them exactly):

* **Two variances.** The batch is normalized with the *biased* variance (divide by
  :math:`m`), but the running variance is updated with the *unbiased* one (divide by
  :math:`m-1`). A layer that used one of them for both would drift from torch in evaluation
  mode, and a training batch with a single value per channel (:math:`m = 1`) is refused.
* **Momentum is the weight of the new value.** ``momentum`` :math:`\alpha` is
  :math:`1-\beta` of an exponentially weighted moving average
  :math:`\bar\mu \leftarrow \beta\bar\mu + (1-\beta)\mu_B`; torch's default
  :math:`\alpha = 0.1` is :math:`\beta = 0.9`, the opposite of the ``momentum`` of an
  optimizer. ``momentum=None`` gives the cumulative (equal-weight) average of all batches
  seen, :math:`\alpha_t = 1/t` with :math:`t` = ``num_batches_tracked``.
* **ε sits inside the square root** (``eps=1e-5``), unlike Adam's ε.
* The running statistics start at :math:`\bar\mu = 0`, :math:`\bar\sigma^2 = 1`, and
  ``track_running_stats=False`` keeps none: the layer then uses batch statistics in
  evaluation mode too.

Dropout (inverted dropout, as in torch): in training each entry is kept with probability
:math:`1-p` and the kept entries are scaled by :math:`1/(1-p)`, so that
:math:`\mathbb{E}[y] = x` and evaluation mode is the identity::

    training:    m_i ~ Bernoulli(1 − p)  independently,   y_i ← m_i x_i / (1 − p)
    evaluation:  y_i ← x_i

Parameter and buffer names (``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``) are torch's, so state dicts move between these layers and
``torch.nn.BatchNorm1d``/``BatchNorm2d`` in both directions. The constructors take torch's
arguments, including the keyword-only ``bias=False`` (learn γ but no β).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["batch_norm", "BatchNorm1d", "BatchNorm2d", "dropout", "Dropout"]


# --------------------------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------------------------

def batch_norm(x: Tensor, gamma: Tensor | None = None, beta: Tensor | None = None,
               running_mean: Tensor | None = None, running_var: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    r"""Batch-normalize ``x`` of shape ``(N, C, ...)`` per channel (dimension 1).

    In training (``training=True``) the batch statistics are used and, when given,
    ``running_mean`` and ``running_var`` are updated in place with weight ``momentum`` on the
    new value. In evaluation the running statistics are used, so they must be given.
    ``gamma`` and ``beta`` (shape ``(C,)``) are optional; without them :math:`y = \hat x`.

    Note the argument order (``x, gamma, beta, running_mean, running_var, ...``) differs from
    ``torch.nn.functional.batch_norm(input, running_mean, running_var, weight, bias, ...)``.
    """
    if x.dim() < 2:
        raise ValueError(f"batch_norm expects an input of shape (N, C, ...), got shape {tuple(x.shape)}")
    num_channels = x.shape[1]
    for name, t in (("gamma", gamma), ("beta", beta),
                    ("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.shape != (num_channels,):
            raise ValueError(f"batch_norm: {name} has shape {tuple(t.shape)}, expected ({num_channels},) "
                             f"for an input with {num_channels} channels")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")

    dims = [0] + list(range(2, x.dim()))           # every dimension except the channel
    shape = [1, num_channels] + [1] * (x.dim() - 2)  # (C,) -> broadcastable against x

    if training:
        m = x.numel() // num_channels               # values per channel in the batch
        if m <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, "
                             f"got input size {x.shape}")
        mu = x.mean(dim=dims)                                            # μ_B
        var = ((x - mu.view(shape)) ** 2).mean(dim=dims)                 # σ²_B (biased)
        if running_mean is not None:
            with torch.no_grad():
                running_mean.mul_(1 - momentum).add_(momentum * mu)                  # μ̄ ← (1−α)μ̄ + αμ_B
                running_var.mul_(1 - momentum).add_(momentum * var * m / (m - 1))    # σ̄² ← (1−α)σ̄² + α·unbiased
    else:
        if running_mean is None:
            raise ValueError("batch_norm: running_mean and running_var are needed in evaluation mode "
                             "(training=False)")
        mu, var = running_mean, running_var

    x_hat = (x - mu.view(shape)) / torch.sqrt(var.view(shape) + eps)     # x̂ = (x − μ)/sqrt(σ² + ε)
    y = x_hat
    if gamma is not None:
        y = y * gamma.view(shape)                                        # γ x̂
    if beta is not None:
        y = y + beta.view(shape)                                         # + β
    return y


class _BatchNorm(torch.nn.Module):
    """What BatchNorm1d and BatchNorm2d share; they differ only in the input shapes they accept."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None,
                 *, bias: bool = True):
        super().__init__()
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"Invalid momentum: {momentum} (expected 0.0 <= momentum <= 1.0, or None "
                             f"for a cumulative average)")
        if eps < 0:
            raise ValueError(f"Invalid eps: {eps} (expected 0.0 <= eps)")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        factory = {"device": device, "dtype": dtype}
        if affine:
            self.weight = torch.nn.Parameter(torch.ones(num_features, **factory))    # γ
            if bias:
                self.bias = torch.nn.Parameter(torch.zeros(num_features, **factory))  # β
            else:
                self.register_parameter("bias", None)                                # β = 0
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))  # μ̄_0 = 0
            self.register_buffer("running_var", torch.ones(num_features, **factory))    # σ̄²_0 = 1
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            with torch.no_grad():
                self.weight.fill_(1)
                if self.bias is not None:
                    self.bias.zero_()

    def _check_input_dim(self, x: Tensor) -> None:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        update_running = self.training and self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if update_running:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:             # cumulative average: α_t = 1/t
                momentum = 1.0 / float(self.num_batches_tracked)
        # Batch statistics in training, and also in evaluation when no running statistics are kept.
        use_batch_stats = self.training or not self.track_running_stats
        return batch_norm(x, self.weight, self.bias,
                          self.running_mean if update_running or not use_batch_stats else None,
                          self.running_var if update_running or not use_batch_stats else None,
                          training=use_batch_stats, momentum=momentum, eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over ``(N, C)`` or ``(N, C, L)`` inputs; a drop-in for ``torch.nn.BatchNorm1d``."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization over ``(N, C, H, W)`` inputs; a drop-in for ``torch.nn.BatchNorm2d``."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f"expected 4D input (got {x.dim()}D input)")


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------

def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:   # also rejects NaN
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_noise(x: Tensor, p: float, generator: torch.Generator | None) -> Tensor:
    """The multiplier m / (1 − p) with m ~ Bernoulli(1 − p) per entry (for 0 < p < 1)."""
    keep = torch.bernoulli(torch.full_like(x, 1 - p), generator=generator)   # m_i ~ Bernoulli(1 − p)
    return keep / (1 - p)


def dropout(x: Tensor, p: float = 0.5, training: bool = True,
            generator: torch.Generator | None = None) -> Tensor:
    r"""Inverted dropout: zero each entry with probability ``p``, scale the rest by :math:`1/(1-p)`.

    The mask is drawn from ``generator`` (torch's global generator when ``None``), so a seeded
    generator gives a reproducible mask. In evaluation (``training=False``) or with ``p = 0``
    the input is returned unchanged; ``p = 1`` zeroes everything.
    """
    _check_p(p)
    if not training or p == 0:
        return x
    if p == 1:
        return x * torch.zeros_like(x)
    return x * _dropout_noise(x, p, generator)          # y_i = m_i x_i / (1 − p)


class Dropout(torch.nn.Module):
    """Inverted dropout with probability ``p``; a drop-in for ``torch.nn.Dropout`` (identity in eval mode)."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        _check_p(p)
        self.p = p
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if not self.inplace or not self.training or self.p == 0:
            return dropout(x, self.p, self.training)
        if self.p == 1:
            return x.zero_()
        return x.mul_(_dropout_noise(x, self.p, None))

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
