r"""Regularization as the optimizer sees it: penalties, proximal and decoupled steps, data.

Penalties (the loss becomes :math:`f(\theta) + \lambda\, R(\theta)`)::

    l2_penalty:  R(θ) = ½ Σ_w ‖w‖²₂     ∇R = θ
    l1_penalty:  R(θ) =   Σ_w ‖w‖₁      ∂R ∋ sign(θ)     (autograd uses sign(0) = 0)

The ½ in the L2 penalty is the convention that makes its gradient :math:`\theta` itself, so
adding :math:`\lambda \cdot` ``l2_penalty(params)`` to the loss adds :math:`\lambda\theta` to
each gradient: exactly what ``weight_decay=λ`` does in ``torch.optim.SGD`` and
``torch.optim.Adam``. (Without the ½ the same λ would decay twice as fast.)

Steps that act on the parameters directly instead of through the gradient::

    prox_l1_:                 w ← sign(w) · max(|w| − τ, 0)     soft thresholding, τ = η λ
    decoupled_weight_decay_:  w ← (1 − η λ) w                     AdamW's decay

A proximal gradient step for :math:`f + \lambda\|\cdot\|_1` is a plain gradient step on
:math:`f` followed by ``prox_l1_(w, lr * lam)``; unlike a subgradient step on the L1 penalty
it produces exact zeros. Decoupled decay equals the L2 penalty for plain SGD
(:math:`w - \eta(g + \lambda w) = (1-\eta\lambda)w - \eta g`) but not with momentum, where the
penalty's gradient is accumulated in the buffer, nor for adaptive methods, where it is rescaled
along with :math:`g`.

Data for the chapter: the 8×8 handwritten digits bundled with scikit-learn (no download),
split reproducibly, and small random shifts and rotations for augmentation, drawn from a
``torch.Generator`` so they are deterministic given its seed.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor

from .data import Split, load_digits

__all__ = [
    "l2_penalty", "l1_penalty", "prox_l1_", "decoupled_weight_decay_", "sparsity",
    "load_digits_tensors", "random_affine_params", "affine_transform", "augment_digits",
    "AugmentedBatches", "make_ensemble_predictions",
]


def _as_list(params: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [params] if isinstance(params, Tensor) else list(params)


# --------------------------------------------------------------------------------------------
# Penalties and the steps that go with them
# --------------------------------------------------------------------------------------------

def l2_penalty(params: Tensor | Iterable[Tensor]) -> Tensor:
    r"""½ Σ ‖w‖² over a tensor or an iterable of tensors (e.g. ``model.parameters()``).

    Its gradient is the parameters themselves, so ``loss + lam * l2_penalty(params)`` is what
    ``weight_decay=lam`` does inside ``torch.optim.SGD``/``Adam``. Differentiable; an empty
    iterable gives ``0``.
    """
    params = _as_list(params)
    if not params:
        return torch.tensor(0.0)
    return 0.5 * sum((w ** 2).sum() for w in params)


def l1_penalty(params: Tensor | Iterable[Tensor]) -> Tensor:
    r"""Σ ‖w‖₁ over a tensor or an iterable of tensors; autograd's gradient is ``sign(w)`` (0 at 0)."""
    params = _as_list(params)
    if not params:
        return torch.tensor(0.0)
    return sum(w.abs().sum() for w in params)


@torch.no_grad()
def prox_l1_(param: Tensor, threshold: float) -> Tensor:
    r"""Soft-threshold ``param`` in place: :math:`w \leftarrow \mathrm{sign}(w)\max(|w| - \tau, 0)`.

    This is the proximal operator of :math:`\tau\|w\|_1`; after a gradient step with learning
    rate η on the loss, use ``threshold = η λ``. Entries with :math:`|w| \le \tau` become exact
    zeros. Returns ``param`` (count the zeros with ``(param == 0).sum()`` or :func:`sparsity`).
    """
    if not threshold >= 0:
        raise ValueError(f"Invalid threshold: {threshold} (expected 0.0 <= threshold)")
    shrunk = (param.abs() - threshold).clamp_min(0)     # max(|w| − τ, 0)
    return param.copy_(param.sign() * shrunk)           # sign(w) · max(|w| − τ, 0)


@torch.no_grad()
def decoupled_weight_decay_(param: Tensor, lr: float, wd: float) -> Tensor:
    r"""Shrink ``param`` in place, :math:`w \leftarrow (1 - \eta\lambda) w`, as AdamW does before its step.

    Returns ``param``.
    """
    if not lr >= 0:
        raise ValueError(f"Invalid lr: {lr} (expected 0.0 <= lr)")
    if not wd >= 0:
        raise ValueError(f"Invalid weight_decay: {wd} (expected 0.0 <= weight_decay)")
    return param.mul_(1 - lr * wd)


def sparsity(params: Tensor | Iterable[Tensor]) -> float:
    """Fraction of entries that are exactly zero, over a tensor or an iterable of tensors."""
    params = _as_list(params)
    total = sum(w.numel() for w in params)
    if total == 0:
        return 0.0
    return sum(int((w == 0).sum()) for w in params) / total


# --------------------------------------------------------------------------------------------
# Data: scikit-learn's 8x8 digits, offline (loading and splitting live in optimlab.data)
# --------------------------------------------------------------------------------------------

def load_digits_tensors(valid_fraction: float = 0.2, seed: int = 0, n_train: int | None = None,
                        flatten: bool = False, dtype: torch.dtype = torch.float32) -> Split:
    """The 8×8 digits of :func:`optimlab.data.load_digits` as images, with an optionally small training set.

    The same seeded split as :func:`optimlab.data.load_digits` (pixels in [0, 1], int64
    labels), but images keep their shape ``(N, 1, 8, 8)`` unless ``flatten=True``, ready for
    :func:`augment_digits`; ``n_train`` keeps only the first ``n_train`` training images (a
    small training set makes overfitting, and what regularization does about it, visible).
    The validation set is unchanged. Nothing is downloaded.
    """
    split = load_digits(valid_fraction=valid_fraction, seed=seed, dtype=dtype, flatten=flatten)
    if n_train is None:
        return split
    if not 0 < n_train <= len(split.x_train):
        raise ValueError(f"Invalid n_train: {n_train} (expected 0 < n_train <= {len(split.x_train)})")
    return Split(split.x_train[:n_train], split.y_train[:n_train], split.x_valid, split.y_valid)


# --------------------------------------------------------------------------------------------
# Augmentation: small shifts and rotations with torch operations only
# --------------------------------------------------------------------------------------------

def random_affine_params(n: int, generator: torch.Generator, max_shift: int = 1,
                         max_rotation_deg: float = 10.0) -> tuple[Tensor, Tensor]:
    """Draw ``n`` angles uniform in ±``max_rotation_deg`` (float64, degrees) and integer pixel
    shifts ``(dx, dy)`` uniform in ``{-max_shift, ..., max_shift}`` (int64, shape ``(n, 2)``)."""
    if max_shift < 0 or int(max_shift) != max_shift:
        raise ValueError(f"Invalid max_shift: {max_shift} (expected an integer >= 0)")
    if not max_rotation_deg >= 0:
        raise ValueError(f"Invalid max_rotation_deg: {max_rotation_deg} (expected >= 0)")
    device = generator.device
    u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    angles = (2 * u - 1) * max_rotation_deg
    shifts = torch.randint(-int(max_shift), int(max_shift) + 1, (n, 2), generator=generator, device=device)
    return angles, shifts


def affine_transform(images: Tensor, angles_deg: Tensor, shifts: Tensor) -> Tensor:
    """Rotate each image about its centre by ``angles_deg`` (counter-clockwise as displayed,
    row 0 at the top), then shift it by ``shifts[:, 0]`` pixels to the right and
    ``shifts[:, 1]`` pixels down; bilinear interpolation, zeros enter from outside.

    ``images`` has shape ``(N, C, H, W)`` or ``(N, H, W)``; shape and dtype are kept. Integer
    shifts without rotation move pixels exactly.
    """
    squeeze = images.dim() == 3
    x = images.unsqueeze(1) if squeeze else images
    if x.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W) or (N, H, W), got {tuple(images.shape)}")
    n, _, h, w = x.shape
    # In pixel coordinates P about the centre (x right, y down), rotating the picture by +a
    # counter-clockwise on screen and then shifting it by S gives output(P) = input(R⁻¹(P − S))
    # with R⁻¹ = [[cos a, −sin a], [sin a, cos a]]. affine_grid wants the same map in normalized
    # coordinates p = (2Px/W, 2Py/H): q = A p + t, written out below (sx, sy: S normalized).
    a = torch.deg2rad(angles_deg.to(torch.float64))
    cos, sin = torch.cos(a), torch.sin(a)
    sx = shifts[:, 0].to(torch.float64) * 2 / w
    sy = shifts[:, 1].to(torch.float64) * 2 / h
    theta = torch.stack([
        torch.stack([cos, -sin * h / w, -(cos * sx - sin * h / w * sy)], dim=1),
        torch.stack([sin * w / h, cos, -(sin * w / h * sx + cos * sy)], dim=1),
    ], dim=1)
    grid = torch.nn.functional.affine_grid(theta.to(x.dtype).to(x.device), [n, x.shape[1], h, w],
                                           align_corners=False)
    out = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                          align_corners=False)
    return out.squeeze(1) if squeeze else out


def augment_digits(images: Tensor, generator: torch.Generator, max_shift: int = 1,
                   max_rotation_deg: float = 10.0) -> Tensor:
    """A randomly shifted and rotated copy of each image (see :func:`affine_transform`).

    Shifts are whole pixels in ``{-max_shift, ..., max_shift}`` per axis, angles uniform in
    ±``max_rotation_deg`` degrees, all drawn from ``generator``: the same seed gives the same
    batch. Shape and dtype are kept; ``max_shift=0, max_rotation_deg=0`` returns the images.
    """
    angles, shifts = random_affine_params(images.shape[0], generator, max_shift, max_rotation_deg)
    return affine_transform(images, angles, shifts)


class AugmentedBatches:
    """Mini-batches of images, augmented afresh on every pass: a loader for :func:`optimlab.train.train`.

    Each pass over ``AugmentedBatches(x, y, batch_size, seed=...)`` shuffles the examples (unless
    ``batch_size`` is ``None``: one batch holding every example, in order), and yields
    ``(augment_digits(x[batch]), y[batch])``, with shifts and rotations drawn as in
    :func:`augment_digits`. Everything is drawn from one generator seeded with ``seed``, so two loaders
    with the same arguments yield the same batches; every pass sees new random transformations.
    """

    def __init__(self, x: Tensor, y: Tensor, batch_size: int | None = None, *, seed: int = 0,
                 max_shift: int = 1, max_rotation_deg: float = 10.0):
        if len(x) != len(y):
            raise ValueError(f"x and y hold different numbers of examples: {len(x)} and {len(y)}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"Invalid batch_size: {batch_size} (expected 1 <= batch_size, or None)")
        random_affine_params(0, torch.Generator(), max_shift, max_rotation_deg)   # validates the ranges
        self.x, self.y, self.batch_size = x, y, batch_size
        self.max_shift, self.max_rotation_deg = max_shift, max_rotation_deg
        self.generator = torch.Generator(device=x.device).manual_seed(seed)

    def __len__(self) -> int:
        return 1 if self.batch_size is None else -(-len(self.x) // self.batch_size)

    def __iter__(self):
        if self.batch_size is None:
            batches = [torch.arange(len(self.x), device=self.x.device)]
        else:
            order = torch.randperm(len(self.x), generator=self.generator, device=self.generator.device)
            batches = order.to(self.x.device).split(self.batch_size)
        for index in batches:
            images = augment_digits(self.x[index], self.generator, self.max_shift, self.max_rotation_deg)
            yield images, self.y[index]


# --------------------------------------------------------------------------------------------
# Ensembles
# --------------------------------------------------------------------------------------------

@torch.no_grad()
def make_ensemble_predictions(models: Iterable[torch.nn.Module], x: Tensor) -> Tensor:
    r"""Average of the models' softmax probabilities, :math:`\frac1K\sum_k \mathrm{softmax}(f_k(x))`.

    Each model runs in evaluation mode (dropout off, batch norm on running statistics) and is
    put back in the mode it was in. Returns probabilities of shape ``(N, classes)``.
    """
    models = list(models)
    if not models:
        raise ValueError("make_ensemble_predictions needs at least one model")
    total = None
    for model in models:
        was_training = model.training
        model.eval()
        try:
            probs = torch.softmax(model(x), dim=-1)
        finally:
            model.train(was_training)
        total = probs if total is None else total + probs
    return total / len(models)
