r"""Test functions for the chapters: an :class:`Objective` bundles a function with what plots need.

An objective's function takes a tensor of shape ``(..., dim)`` and returns shape ``(...)``, so
the same code evaluates one point, a batch of points or a whole plotting grid. For one-dimensional
objectives the trailing axis may be left out: ``square()(torch.linspace(-1, 1, 5))`` has shape
``(5,)`` and ``square()(3.0)`` is a 0-d tensor.

>>> f = quadratic_2d(1.0, 2.0)          # x1² + 2 x2²
>>> f(torch.tensor([1.0, 1.0]))
tensor(3., dtype=torch.float64)
>>> f.grad([1.0, 1.0])                   # autograd
tensor([2., 4.], dtype=torch.float64)

Gradients and Hessians come from autograd, so a new objective only needs its formula::

    Objective("my bowl", lambda x: (x ** 4).sum(-1), dim=2, bounds=((-1, 1), (-1, 1)))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch

__all__ = ["Objective", "square", "x_cos", "cosh", "cubic", "tanh", "quadratic_2d",
           "rotated_quadratic", "quadratic", "saddle", "rosenbrock", "OBJECTIVES"]

DTYPE = torch.float64


def as_tensor(x) -> torch.Tensor:
    """``x`` (number, list, NumPy array or tensor) as a float64 tensor, detached from any graph."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(DTYPE)
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


@dataclass(frozen=True)
class Objective:
    """A function to minimise, with what the plots and demos need to know about it.

    * ``f``: tensor ``(..., dim)`` → tensor ``(...)``, written with torch operations;
    * ``bounds``: a ``(low, high)`` plotting range per coordinate;
    * ``minima``: known (local) minimisers inside the bounds, each a tuple of ``dim`` numbers;
    * ``x0``: a default starting point for demos;
    * ``latex``: the formula, for titles and prose.
    """
    name: str
    f: Callable[[torch.Tensor], torch.Tensor] = field(repr=False)
    dim: int
    bounds: tuple
    minima: tuple = ()
    x0: tuple | None = None
    latex: str = ""

    def _points(self, x) -> tuple[torch.Tensor, bool]:
        """``x`` as shape ``(..., dim)``; the flag says a 1-D input came without its trailing axis."""
        x = as_tensor(x)
        if self.dim == 1 and (x.ndim == 0 or x.shape[-1] != 1):
            return x.unsqueeze(-1), True
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"{self.name}: expected points of shape (..., {self.dim}), got {tuple(x.shape)}")
        return x, False

    def __call__(self, x) -> torch.Tensor:
        """f(x) for points of shape ``(..., dim)``: a tensor of shape ``(...)``. Differentiable."""
        if isinstance(x, torch.Tensor) and x.requires_grad:  # keep the graph for backward()
            if self.dim == 1 and (x.ndim == 0 or x.shape[-1] != 1):
                return self.f(x.unsqueeze(-1))
            return self.f(x)
        return self.f(self._points(x)[0])

    def grad(self, x) -> torch.Tensor:
        """∇f(x) by autograd, with the shape of ``x``."""
        points, squeezed = self._points(x)
        points = points.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(self.f(points).sum(), points)
        return g.squeeze(-1) if squeezed else g

    def hessian(self, x) -> torch.Tensor:
        """∇²f(x) by autograd: shape ``(..., dim, dim)``, or the second derivative with the shape of
        ``x`` for a one-dimensional objective called without the trailing axis."""
        points, squeezed = self._points(x)
        flat = points.reshape(-1, self.dim)
        hessians = torch.stack([torch.autograd.functional.hessian(self.f, p) for p in flat])
        if squeezed:
            return hessians.reshape(points.shape[:-1])
        return hessians.reshape(*points.shape[:-1], self.dim, self.dim)

    def grid(self, n: int = 200):
        """Values on a regular grid over the bounds, as NumPy arrays for plotting:
        ``(x, f(x))`` in 1-D, ``(X1, X2, F)`` (meshgrids, ``n × n``) in 2-D."""
        axes = [torch.linspace(lo, hi, n, dtype=DTYPE) for lo, hi in self.bounds]
        if self.dim == 1:
            return axes[0].numpy(), self(axes[0]).numpy()
        if self.dim == 2:
            x1, x2 = torch.meshgrid(*axes, indexing="xy")
            return x1.numpy(), x2.numpy(), self(torch.stack([x1, x2], dim=-1)).numpy()
        raise ValueError(f"{self.name}: grid() needs dim 1 or 2, not {self.dim}")


def _local_minima_1d(f: Callable, low: float, high: float, n: int = 4001) -> tuple:
    """Local minimisers of a smooth 1-D function strictly inside (low, high): grid, then Newton."""
    xs = torch.linspace(low, high, n, dtype=DTYPE)
    ys = f(xs.unsqueeze(-1))
    inner = torch.nonzero((ys[1:-1] < ys[:-2]) & (ys[1:-1] < ys[2:])).flatten() + 1
    found = []
    for i in inner.tolist():
        x = xs[i].clone()
        for _ in range(20):
            point = x.reshape(1).requires_grad_(True)
            (g,) = torch.autograd.grad(f(point), point, create_graph=True)
            (h,) = torch.autograd.grad(g.sum(), point)
            x = (x - g.detach()[0] / h[0]).detach()
        found.append((float(x),))
    return tuple(found)


def square() -> Objective:
    """f(x) = x², the simplest bowl: minimiser 0, f'' = 2 everywhere."""
    return Objective("square", lambda x: (x ** 2).squeeze(-1), dim=1, bounds=((-2.5, 2.5),),
                     minima=((0.0,),), x0=(2.0,), latex=r"f(x) = x^2")


def x_cos(c: float = 0.5) -> Objective:
    """f(x) = x·cos(cx): nonconvex, with a local minimum in every period and no global one."""
    def f(x):
        x = x.squeeze(-1)
        return x * torch.cos(c * x)
    bounds = ((-5 * math.pi / (2 * c), 5 * math.pi / (2 * c)),)
    return Objective(f"x cos({c:g} x)", f, dim=1, bounds=bounds, minima=_local_minima_1d(f, *bounds[0]),
                     x0=(2.5 * math.pi / (2 * c) * 0.8,), latex=rf"f(x) = x \cos({c:g}\,x)")


def cosh(c: float = 1.0) -> Objective:
    """f(x) = cosh(cx): convex, minimiser 0, and f'' = c² cosh(cx) > 0 everywhere."""
    return Objective(f"cosh({c:g} x)", lambda x: torch.cosh(c * x.squeeze(-1)), dim=1,
                     bounds=((-3.0 / c, 3.0 / c),), minima=((0.0,),), x0=(2.0 / c,),
                     latex=rf"f(x) = \cosh({c:g}\,x)")


def cubic() -> Objective:
    """f(x) = x³: f'(0) = 0 and f''(0) = 0 at a point that is not a minimum (no minimiser at all)."""
    return Objective("cube", lambda x: (x ** 3).squeeze(-1), dim=1, bounds=((-2.0, 2.0),),
                     x0=(1.5,), latex=r"f(x) = x^3")


def tanh() -> Objective:
    """f(x) = tanh(x): the gradient 1 − tanh²(x) vanishes far from 0 (a plateau, not a minimum)."""
    return Objective("tanh", lambda x: torch.tanh(x.squeeze(-1)), dim=1, bounds=((-4.0, 4.0),),
                     x0=(3.0,), latex=r"f(x) = \tanh(x)")


def quadratic_2d(a: float = 1.0, b: float = 2.0) -> Objective:
    """f(x) = a·x1² + b·x2² with a, b > 0: minimiser 0, condition number max(a, b) / min(a, b)."""
    return Objective(f"{a:g} x1² + {b:g} x2²", lambda x: a * x[..., 0] ** 2 + b * x[..., 1] ** 2,
                     dim=2, bounds=((-5.0, 5.0), (-4.0, 4.0)), minima=((0.0, 0.0),), x0=(-4.0, 3.0),
                     latex=rf"f(\mathbf{{x}}) = {a:g}\,x_1^2 + {b:g}\,x_2^2")


def quadratic(hessian, name: str = "quadratic", bounds=None, x0=None) -> Objective:
    """f(x) = ½ xᵀHx for a symmetric positive (semi-)definite ``hessian`` H of any size; minimiser 0."""
    H = as_tensor(hessian)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or not torch.allclose(H, H.T):
        raise ValueError("hessian must be a symmetric square matrix")
    dim = H.shape[0]
    bounds = bounds or ((-4.0, 4.0),) * dim
    return Objective(name, lambda x: 0.5 * torch.einsum("...i,ij,...j->...", x, H.to(x.dtype), x), dim=dim,
                     bounds=bounds, minima=((0.0,) * dim,), x0=x0 or tuple([3.0] * dim),
                     latex=r"f(\mathbf{x}) = \tfrac12\,\mathbf{x}^\top H \mathbf{x}")


def rotated_quadratic(a: float = 1.0, b: float = 10.0, angle: float = math.pi / 6) -> Objective:
    """a·u² + b·v² in coordinates (u, v) rotated by ``angle``: an ill-conditioned bowl whose axes are
    not the coordinate axes, so no per-coordinate (diagonal) rescaling makes it round."""
    cos, sin = math.cos(angle), math.sin(angle)
    R = torch.tensor([[cos, -sin], [sin, cos]], dtype=DTYPE)
    H = 2 * R @ torch.diag(torch.tensor([a, b], dtype=DTYPE)) @ R.T
    obj = quadratic(H, name=f"rotated {a:g} u² + {b:g} v²", bounds=((-4.0, 4.0), (-4.0, 4.0)), x0=(-3.0, 2.5))
    return replace(obj, latex=rf"f(\mathbf{{x}}) = {a:g}\,u^2 + {b:g}\,v^2,\ "
                              rf"(u, v)^\top = R_{{{math.degrees(angle):g}^\circ}}^\top \mathbf{{x}}")


def saddle() -> Objective:
    """f(x) = x1² − x2²: the gradient vanishes at 0, a saddle point (minimum along x1, maximum along x2)."""
    return Objective("saddle", lambda x: x[..., 0] ** 2 - x[..., 1] ** 2, dim=2,
                     bounds=((-2.0, 2.0), (-2.0, 2.0)), x0=(1.5, 0.01), latex=r"f(\mathbf{x}) = x_1^2 - x_2^2")


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Objective:
    """f(x) = (a − x1)² + b (x2 − x1²)²: a curved narrow valley, minimiser (a, a²)."""
    return Objective("Rosenbrock", lambda x: (a - x[..., 0]) ** 2 + b * (x[..., 1] - x[..., 0] ** 2) ** 2,
                     dim=2, bounds=((-2.0, 2.0), (-1.0, 3.0)), minima=((a, a * a),), x0=(-1.5, 2.0),
                     latex=rf"f(\mathbf{{x}}) = ({a:g} - x_1)^2 + {b:g}\,(x_2 - x_1^2)^2")


#: Objectives by name, with their default parameters (the explorer offers these).
OBJECTIVES: dict[str, Callable[[], Objective]] = {
    "x²": square,
    "x cos(cx)": x_cos,
    "cosh(x)": cosh,
    "x³": cubic,
    "tanh(x)": tanh,
    "x1² + 2 x2²": lambda: quadratic_2d(1.0, 2.0),
    "0.1 x1² + 2 x2²": lambda: quadratic_2d(0.1, 2.0),
    "rotated quadratic": rotated_quadratic,
    "saddle x1² − x2²": saddle,
    "Rosenbrock": rosenbrock,
}
