r"""The shape of a loss: critical points, convexity checks and projections onto convex sets.

Critical points. At a point where the gradient vanishes, the eigenvalues of the Hessian decide what
the point is (the second-derivative test)::

    all eigenvalues > 0            minimum
    all eigenvalues < 0            maximum
    some > 0 and some < 0          saddle
    otherwise (some are zero)      degenerate: the test cannot tell (x³, x⁴ and −x⁴ all land here)

An eigenvalue counts as zero when ``|λ| <= tol * max(1, max |λ_i|)``: computed eigenvalues are never
exactly zero, so the test needs a tolerance.

>>> from optimlab.objectives import saddle
>>> classify_critical_point(saddle(), (0.0, 0.0)).kind
'saddle'

Convexity. :func:`check_convex_function` samples chords (or, with ``points > 2``, convex
combinations of several points: Jensen's inequality) and reports the largest violation of
:math:`f(\sum_i w_i x_i) \le \sum_i w_i f(x_i)`; :func:`check_convex_set` samples segments between
members of a set and reports the ones that leave it. A check can prove non-convexity (it found a
violation) but only gather evidence for convexity.

Projections. :func:`project_ball` and :func:`project_box` map a point to the nearest point of a
ball or a box; :func:`project_tensors_onto_ball_` does it in place for a list of tensors treated as
one long vector, which is what ``torch.nn.utils.clip_grad_norm_`` does to gradients (up to the
``1e-6`` torch adds to the norm). :func:`projected_gradient_step` turns a projection into an update
rule for :func:`optimlab.trajectory.run_update`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch

from .objectives import DTYPE, Objective, as_tensor

__all__ = ["KINDS", "classify_hessian", "kind_from_eigenvalues", "CriticalPoint", "classify_critical_point", "critical_points_1d",
           "random_hessian_kinds", "gradient_descent_endpoints", "ConvexityReport", "check_convex_function",
           "SetReport", "check_convex_set", "sublevel_set", "project_ball", "project_box",
           "project_tensors_onto_ball_", "projected_gradient_step"]

#: The possible answers of :func:`classify_hessian`.
KINDS = ("minimum", "maximum", "saddle", "degenerate")


# --- critical points ------------------------------------------------------------------------------

def classify_hessian(hessian, tol: float = 1e-8) -> str:
    """``"minimum"``, ``"maximum"``, ``"saddle"`` or ``"degenerate"`` from the eigenvalues of a
    symmetric Hessian (a ``(d, d)`` matrix, or a number for a one-dimensional function).

    Eigenvalues with ``|λ| <= tol * max(1, max|λ_i|)`` count as zero. One positive and one negative
    eigenvalue make a saddle whatever the others are; without both signs, a zero eigenvalue leaves the
    test undecided (``"degenerate"``)."""
    H = as_tensor(hessian)
    if H.ndim == 0:
        H = H.reshape(1, 1)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"expected a square matrix or a number, got shape {tuple(H.shape)}")
    eigenvalues = torch.linalg.eigvalsh(H)  # ascending; uses the lower triangle
    return kind_from_eigenvalues(eigenvalues, tol * max(1.0, float(eigenvalues.abs().max())))


def kind_from_eigenvalues(eigenvalues: torch.Tensor, zero: float) -> str:
    """The kind of critical point whose Hessian has these eigenvalues; ``|λ| <= zero`` counts as zero."""
    positive, negative = bool((eigenvalues > zero).any()), bool((eigenvalues < -zero).any())
    if positive and negative:
        return "saddle"
    if bool((eigenvalues > zero).all()):
        return "minimum"
    if bool((eigenvalues < -zero).all()):
        return "maximum"
    return "degenerate"


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient vanishes, with what the second-derivative test says about it."""
    x: tuple
    value: float
    grad_norm: float
    eigenvalues: tuple
    kind: str

    def __repr__(self) -> str:
        x = ", ".join(f"{v:.4g}" for v in self.x)
        eig = ", ".join(f"{v:.3g}" for v in self.eigenvalues)
        return f"CriticalPoint(x=({x}), f={self.value:.4g}, eigenvalues ({eig}): {self.kind})"


def classify_critical_point(objective: Objective, x, *, tol: float = 1e-8,
                            grad_tol: float = 1e-6) -> CriticalPoint:
    """Classify the critical point ``x`` of ``objective`` by the eigenvalues of its Hessian.

    Raises ``ValueError`` when ``‖∇f(x)‖ > grad_tol``: the test only means something where the
    gradient vanishes. ``tol`` is the zero tolerance of :func:`classify_hessian`."""
    point = as_tensor(x).reshape(objective.dim)
    grad_norm = float(objective.grad(point).norm())
    if grad_norm > grad_tol:
        raise ValueError(f"{objective.name}: the gradient at {point.tolist()} has norm {grad_norm:.3g} "
                         f"> grad_tol = {grad_tol:g}; this is not a critical point")
    H = objective.hessian(point).reshape(objective.dim, objective.dim)
    eigenvalues = tuple(float(v) for v in torch.linalg.eigvalsh(H))
    with torch.no_grad():
        value = float(objective(point))
    return CriticalPoint(tuple(point.tolist()), value, grad_norm, eigenvalues, classify_hessian(H, tol))


def critical_points_1d(objective: Objective, low: float | None = None, high: float | None = None, *,
                       n: int = 2001, tol: float = 1e-8, grad_tol: float = 1e-6) -> list[CriticalPoint]:
    """Every critical point of a one-dimensional ``objective`` strictly inside ``(low, high)`` (default:
    its bounds), classified, from left to right.

    The local minima of ``|f'|`` on a grid of ``n`` points are refined by ternary search; those where
    ``|f'| <= grad_tol`` are kept. This also finds points where ``f'`` touches zero without changing
    sign (the inflection of x³ at 0)."""
    if objective.dim != 1:
        raise ValueError(f"critical_points_1d needs a one-dimensional objective, {objective.name} has dim "
                         f"{objective.dim}")
    lo_bound, hi_bound = objective.bounds[0]
    low, high = (lo_bound if low is None else low), (hi_bound if high is None else high)
    xs = torch.linspace(low, high, n, dtype=DTYPE)
    slope = objective.grad(xs).abs()
    inner = torch.nonzero((slope[1:-1] <= slope[:-2]) & (slope[1:-1] < slope[2:])).flatten() + 1
    if inner.numel() == 0:
        return []
    left, right = xs[inner - 1].clone(), xs[inner + 1].clone()
    for _ in range(80):  # ternary search on |f'| in every bracket at once
        a, b = left + (right - left) / 3, right - (right - left) / 3
        closer_to_a = objective.grad(a).abs() <= objective.grad(b).abs()
        right = torch.where(closer_to_a, b, right)
        left = torch.where(closer_to_a, left, a)
    found = []
    for x in ((left + right) / 2).tolist():
        if abs(float(objective.grad(x))) <= grad_tol:
            found.append(classify_critical_point(objective, (x,), tol=tol, grad_tol=grad_tol))
    return found


def random_hessian_kinds(dim: int, samples: int = 2000, seed: int = 0) -> dict:
    """How often a random symmetric matrix (Gaussian entries, ``(A + Aᵀ)/2``) of size ``dim`` is the
    Hessian of a minimum, a maximum or a saddle: ``{kind: fraction}``.

    A caricature of a critical point in many dimensions: each eigenvalue's sign is a coin toss that
    is not independent of the others, and all of them must come up positive for a minimum."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(samples, dim, dim, generator=g, dtype=DTYPE)
    eigenvalues = torch.linalg.eigvalsh((A + A.transpose(-1, -2)) / 2)
    minimum = (eigenvalues > 0).all(-1)
    maximum = (eigenvalues < 0).all(-1)
    return {"minimum": float(minimum.double().mean()), "maximum": float(maximum.double().mean()),
            "saddle": float((~minimum & ~maximum).double().mean())}


def gradient_descent_endpoints(objective: Objective, starts, lr: float, steps: int) -> np.ndarray:
    """Plain gradient descent ``x ← x − lr ∇f(x)`` from many starts at once: the points after
    ``steps`` steps, with the shape of ``starts`` (``(k,)`` for a 1-D objective, else ``(k, dim)``)."""
    x = as_tensor(starts).clone()
    for _ in range(steps):
        x = x - lr * objective.grad(x)
    return x.numpy()


# --- convexity ------------------------------------------------------------------------------------

def _box(bounds, dim_hint: int | None = None) -> torch.Tensor:
    box = torch.as_tensor(np.asarray(bounds, dtype=np.float64))
    if box.ndim == 1:  # one (low, high) pair
        box = box.reshape(1, 2)
    if box.ndim != 2 or box.shape[1] != 2 or (dim_hint is not None and box.shape[0] != dim_hint):
        raise ValueError(f"bounds must be one (low, high) pair per coordinate, got {bounds!r}")
    return box


def _uniform(box: torch.Tensor, shape: tuple, g: torch.Generator) -> torch.Tensor:
    u = torch.rand(*shape, box.shape[0], generator=g, dtype=DTYPE)
    return box[:, 0] + u * (box[:, 1] - box[:, 0])


@dataclass(frozen=True)
class ConvexityReport:
    r"""What :func:`check_convex_function` found.

    * ``worst``: the largest gap :math:`f(\sum_i w_i x_i) - \sum_i w_i f(x_i)` over the samples (a
      positive gap violates convexity);
    * ``fraction``: the fraction of samples whose gap exceeds ``tol``;
    * ``points``, ``weights``: the sample with the worst gap (``points`` has shape ``(k, dim)``).
    """
    samples: int
    worst: float
    fraction: float
    points: np.ndarray
    weights: np.ndarray
    tol: float

    @property
    def convex_on_samples(self) -> bool:
        """True when no sample violates the inequality by more than ``tol``."""
        return self.worst <= self.tol

    def __repr__(self) -> str:
        verdict = ("no violation found" if self.convex_on_samples else
                   f"NOT convex: {100 * self.fraction:.1f}% of the samples violate the inequality")
        return f"ConvexityReport({self.samples} samples, largest gap {self.worst:.3g}: {verdict})"


def check_convex_function(f: Callable, bounds=None, *, samples: int = 2000, points: int = 2, seed: int = 0,
                          tol: float = 1e-9) -> ConvexityReport:
    r"""Sample convex combinations in a box and check :math:`f(\sum_i w_i x_i) \le \sum_i w_i f(x_i)`.

    ``f`` is an :class:`~optimlab.objectives.Objective` or any function from points ``(..., dim)`` to
    values ``(...)``; ``bounds`` (one ``(low, high)`` pair per coordinate) defaults to the objective's.
    ``points=2`` samples chords (``w = (λ, 1 − λ)`` with λ uniform in [0, 1]); more points sample
    Jensen's inequality with weights uniform on the simplex. ``tol`` absorbs rounding: a gap counts
    as a violation only above it."""
    if bounds is None:
        if not isinstance(f, Objective):
            raise ValueError("pass bounds, or an Objective that has them")
        bounds = f.bounds
    if points < 2:
        raise ValueError("a convex combination needs at least two points")
    box = _box(bounds, f.dim if isinstance(f, Objective) else None)
    g = torch.Generator().manual_seed(seed)
    xs = _uniform(box, (samples, points), g)                               # (samples, points, dim)
    weights = -torch.log(torch.rand(samples, points, generator=g, dtype=DTYPE))  # Dirichlet(1, ..., 1)
    weights = weights / weights.sum(-1, keepdim=True)
    mixed = (weights.unsqueeze(-1) * xs).sum(1)                               # (samples, dim)
    with torch.no_grad():
        gaps = f(mixed) - (weights * f(xs)).sum(-1)
    worst = int(torch.argmax(gaps))
    return ConvexityReport(samples, float(gaps[worst]), float((gaps > tol).double().mean()),
                           xs[worst].numpy(), weights[worst].numpy(), tol)


@dataclass(frozen=True)
class SetReport:
    """What :func:`check_convex_set` found: how many sampled segments between members of the set
    leave it, and one that does (its endpoints, or ``None``)."""
    segments: int
    leaving: int
    example: tuple | None

    @property
    def convex_on_samples(self) -> bool:
        return self.leaving == 0

    @property
    def fraction(self) -> float:
        return self.leaving / self.segments if self.segments else 0.0

    def __repr__(self) -> str:
        verdict = ("no segment leaves the set" if self.convex_on_samples else
                   f"NOT convex: {self.leaving} segments ({100 * self.fraction:.1f}%) leave the set")
        return f"SetReport({self.segments} segments: {verdict})"


def check_convex_set(inside: Callable, bounds, *, segments: int = 2000, per_segment: int = 33, seed: int = 0,
                     max_draws: int = 200_000) -> SetReport:
    """Sample pairs of members of a set and test ``per_segment`` evenly spaced points of the segment
    between them.

    ``inside`` maps points ``(..., dim)`` to booleans ``(...)``; ``bounds`` is a box containing the set
    (one ``(low, high)`` pair per coordinate). Members are found by drawing up to ``max_draws``
    uniform points in the box."""
    box = _box(bounds)
    g = torch.Generator().manual_seed(seed)
    candidates = _uniform(box, (max_draws,), g)
    members = candidates[inside(candidates)][: 2 * segments]
    if len(members) < 2:
        raise ValueError("found fewer than two points of the set in the box")
    pairs = len(members) // 2
    a, b = members[:pairs], members[pairs: 2 * pairs]
    t = torch.linspace(0, 1, per_segment, dtype=DTYPE).reshape(1, -1, 1)
    on_segment = a.unsqueeze(1) + t * (b - a).unsqueeze(1)                    # (pairs, per_segment, dim)
    leaves = ~inside(on_segment).all(-1)
    example = None
    if bool(leaves.any()):
        outside = (~inside(on_segment)).sum(-1)                               # the most clear-cut example
        k = int(torch.argmax(outside))
        example = (tuple(a[k].tolist()), tuple(b[k].tolist()))
    return SetReport(pairs, int(leaves.sum()), example)


def sublevel_set(f: Callable, level: float) -> Callable:
    """The membership test of the below-set ``{x : f(x) <= level}`` (for :func:`check_convex_set`)."""
    def inside(x):
        with torch.no_grad():
            return f(x) <= level
    return inside


# --- projections ----------------------------------------------------------------------------------

def project_ball(x, radius: float = 1.0, center=None) -> torch.Tensor:
    """The nearest point to ``x`` in the Euclidean ball of ``radius`` around ``center`` (default 0).

    ``x`` has shape ``(..., dim)``; each point is projected on its own. Points inside stay where they
    are; points outside move radially onto the sphere: ``c + (x − c) · min(1, r / ‖x − c‖)``."""
    x = x if isinstance(x, torch.Tensor) else as_tensor(x)
    if radius < 0:
        raise ValueError(f"radius must be non-negative, got {radius}")
    c = torch.zeros_like(x) if center is None else torch.as_tensor(center, dtype=x.dtype)
    if radius == 0:
        return c.expand_as(x).clone()
    norm = (x - c).norm(dim=-1, keepdim=True)   # one norm per point
    shrink = radius / norm.clamp_min(radius)     # r / ‖x − c‖ outside the ball, 1 inside
    return c + (x - c) * shrink


def project_box(x, low, high) -> torch.Tensor:
    """The nearest point to ``x`` in the box ``low <= x <= high`` (coordinate by coordinate)."""
    x = x if isinstance(x, torch.Tensor) else as_tensor(x)
    return torch.minimum(torch.maximum(x, torch.as_tensor(low, dtype=x.dtype)), torch.as_tensor(high, dtype=x.dtype))


@torch.no_grad()
def project_tensors_onto_ball_(tensors: Iterable[torch.Tensor], radius: float) -> torch.Tensor:
    """Project several tensors, seen as one long vector, onto the ball of ``radius`` around 0, in place.

    Returns the norm before projection. This is ``torch.nn.utils.clip_grad_norm_(params, radius)``
    applied to the tensors themselves, except that torch scales by ``radius / (norm + 1e-6)``
    (so it stops about ``1e-6 · radius / norm`` short of the sphere) where the projection scales by
    exactly ``radius / norm``."""
    tensors = [t for t in tensors if t is not None]
    if not tensors:
        return torch.tensor(0.0)
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in tensors]))
    if norm > radius:
        for t in tensors:
            t.mul_(radius / norm)
    return norm


def projected_gradient_step(project: Callable, lr: float) -> Callable:
    """The update rule ``x ← project(x − lr ∇f(x))`` for :func:`optimlab.trajectory.run_update`."""
    def step(x, objective):
        return project(x - lr * objective.grad(x))
    step.__name__ = f"projected gradient descent, lr = {lr:g}"
    return step
