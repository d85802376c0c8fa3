r"""Gradient descent and momentum on a quadratic, eigenvalue by eigenvalue.

On :math:`f(\theta) = \tfrac12 \theta^\top H \theta` the gradient is linear, :math:`g = H\theta`, so
in the eigenbasis of :math:`H` every coordinate moves on its own, as on the one-dimensional
:math:`f(x) = \tfrac{\lambda}{2} x^2` with the curvature :math:`\lambda` of that direction. With
momentum the state of such a coordinate is the pair (buffer :math:`b`, position :math:`x`), and
one step of torch's SGD (``dampening=0``, learning rate :math:`\eta`, momentum :math:`\beta`) is a
linear map of that pair::

    heavy ball                                   Nesterov (torch's form)
    b_t = β b_{t-1} + λ x_{t-1}                  b_t = β b_{t-1} + λ x_{t-1}
    x_t = x_{t-1} − η b_t                        x_t = x_{t-1} − η (λ x_{t-1} + β b_t)

    M = [[ β,     λ     ],                       M = [[ β,      λ            ],
         [−ηβ,  1 − ηλ  ]]                            [−ηβ²,  1 − ηλ(1 + β) ]]

The error shrinks like :math:`\rho(M)^t`, where the spectral radius :math:`\rho` is the largest
modulus of an eigenvalue of :math:`M`. The eigenvalues are the roots of
:math:`z^2 - \operatorname{tr}(M) z + \det(M)`, so everything here is a closed form, cheap
enough to evaluate on a grid of learning rates and momenta (a phase diagram). Plain gradient
descent is the case :math:`\beta = 0`, where :math:`\rho = |1 - \eta\lambda|`.

Stability (:math:`\rho < 1`) holds exactly when :math:`0 < \eta\lambda < 2 + 2\beta` for the heavy
ball and :math:`0 < \eta\lambda < (2 + 2\beta)/(1 + 2\beta)` for Nesterov (with
:math:`0 \le \beta < 1`).

>>> round(float(spectral_radius(0.4, 4.0)), 6)         # gradient descent: |1 − 0.4·4|
0.6
>>> round(float(spectral_radius(0.6, 4.0, 0.5)), 6)    # complex roots: ρ = √β
0.707107
>>> max_stable_lr(4.0, 0.5)                            # (2 + 2β) / λ
0.75
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["iteration_matrix", "characteristic", "spectral_radius", "max_stable_lr", "convergence_rate",
           "error_path", "PhaseDiagram", "phase_diagram", "RATE_LEVELS", "draw_phase_diagram"]


def iteration_matrix(lr: float, lam: float, momentum: float = 0.0, *, nesterov: bool = False) -> torch.Tensor:
    """The 2 × 2 matrix M with ``(b_t, x_t) = M (b_{t-1}, x_{t-1})`` for one coordinate of curvature
    ``lam``: torch's SGD with ``lr``, ``momentum`` and ``dampening=0`` (``nesterov`` for Nesterov's
    form). A float64 tensor. Starting from ``b_0 = 0`` it reproduces torch's first buffer ``b_1 = g_1``.
    """
    beta = momentum
    if nesterov:
        rows = [[beta, lam], [-lr * beta ** 2, 1 - lr * lam * (1 + beta)]]
    else:
        rows = [[beta, lam], [-lr * beta, 1 - lr * lam]]
    return torch.tensor(rows, dtype=torch.float64)


def characteristic(lr, lam, momentum=0.0, *, nesterov: bool = False):
    """``(trace, det)`` of the iteration matrix: its eigenvalues solve ``z² − trace·z + det = 0``.
    Arguments broadcast (numbers or NumPy arrays)."""
    lr, lam, beta = (np.asarray(v, dtype=float) for v in (lr, lam, momentum))
    if nesterov:
        return (1 + beta) * (1 - lr * lam), beta * (1 - lr * lam)
    return 1 + beta - lr * lam, beta


def spectral_radius(lr, lam, momentum=0.0, *, nesterov: bool = False):
    """The largest modulus of an eigenvalue of the iteration matrix: the factor by which the error
    along an eigenvector of curvature ``lam`` shrinks per step, in the long run. Arguments broadcast;
    returns a NumPy array (0-d for numbers)."""
    trace, det = characteristic(lr, lam, momentum, nesterov=nesterov)
    root = np.sqrt(trace * trace - 4 * det + 0j)          # complex when the roots are complex
    return np.maximum(np.abs((trace + root) / 2), np.abs((trace - root) / 2))


def max_stable_lr(lam: float, momentum: float = 0.0, *, nesterov: bool = False) -> float:
    """The largest learning rate for which a direction of curvature ``lam`` > 0 does not blow up:
    ``(2 + 2β) / λ`` for the heavy ball (``2 / λ`` without momentum), ``(2 + 2β) / ((1 + 2β) λ)``
    for Nesterov. Any learning rate strictly below it converges (for 0 ≤ β < 1)."""
    beta = momentum
    if not 0 <= beta < 1:
        raise ValueError(f"Invalid momentum: {beta} (expected 0 <= momentum < 1)")
    if lam <= 0:
        raise ValueError(f"Invalid curvature: {lam} (expected lam > 0)")
    bound = (2 + 2 * beta) / lam
    return bound / (1 + 2 * beta) if nesterov else bound


def convergence_rate(lr, momentum, eigenvalues, *, nesterov: bool = False):
    """The worst spectral radius over the Hessian's ``eigenvalues``: the rate at which the whole error
    shrinks. ``lr`` and ``momentum`` broadcast against each other; the result has their shape."""
    lr, beta = np.broadcast_arrays(np.asarray(lr, dtype=float), np.asarray(momentum, dtype=float))
    lams = np.asarray(eigenvalues, dtype=float).reshape((-1,) + (1,) * lr.ndim)
    return spectral_radius(lr, lams, beta, nesterov=nesterov).max(axis=0)


def error_path(lr: float, lam: float, momentum: float = 0.0, steps: int = 20, x0: float = 1.0, *,
               nesterov: bool = False) -> np.ndarray:
    """``x_0, x_1, …, x_steps`` along one eigenvector of curvature ``lam``, from powers of the iteration
    matrix (buffer ``b_0 = 0``): shape ``(steps + 1,)``."""
    M = iteration_matrix(lr, lam, momentum, nesterov=nesterov)
    state = torch.tensor([0.0, x0], dtype=torch.float64)
    xs = [x0]
    for _ in range(steps):
        state = M @ state
        xs.append(float(state[1]))
    return np.asarray(xs)


@dataclass(frozen=True)
class PhaseDiagram:
    """The convergence rate on a grid: ``rates[i, j]`` belongs to ``momenta[i]`` and ``lrs[j]``."""
    lrs: np.ndarray
    momenta: np.ndarray
    rates: np.ndarray
    eigenvalues: tuple
    nesterov: bool = False

    def best(self) -> tuple[float, float, float]:
        """``(lr, momentum, rate)`` of the fastest grid point."""
        i, j = np.unravel_index(np.argmin(self.rates), self.rates.shape)
        return float(self.lrs[j]), float(self.momenta[i]), float(self.rates[i, j])

    def best_lr(self, momentum: float) -> tuple[float, float]:
        """``(lr, rate)`` of the fastest learning rate in the grid row nearest to ``momentum``."""
        i = int(np.argmin(np.abs(self.momenta - momentum)))
        j = int(np.argmin(self.rates[i]))
        return float(self.lrs[j]), float(self.rates[i, j])


def phase_diagram(eigenvalues, lrs, momenta, *, nesterov: bool = False) -> PhaseDiagram:
    """The convergence rate (:func:`convergence_rate`) for every pair of a learning rate in ``lrs``
    and a momentum in ``momenta``."""
    lrs, momenta = np.asarray(lrs, dtype=float), np.asarray(momenta, dtype=float)
    rates = convergence_rate(lrs[None, :], momenta[:, None], eigenvalues, nesterov=nesterov)
    return PhaseDiagram(lrs, momenta, rates, tuple(float(v) for v in np.ravel(eigenvalues)), nesterov)


#: Colour levels of :func:`draw_phase_diagram`: finer near 1, where the rates of ill-conditioned problems lie.
RATE_LEVELS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0)


def draw_phase_diagram(diagram: PhaseDiagram, ax=None, *, xlabel: str = r"learning rate $\eta$",
                       colorbar: bool = True, title: str | None = None, levels=RATE_LEVELS):
    """A filled contour map of the rate, one colour per interval of ``levels`` (by default finer near
    1); where the rate is ≥ 1 the iteration diverges and the map is grey. The stability boundary of each
    eigenvalue is drawn as a dashed line. Returns the figure when it made one, else ``ax``."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.6, 3.8), layout="constrained")
        plt.close(fig)
        created = True
    else:
        created = False
    rates = np.ma.masked_where(diagram.rates >= 1, diagram.rates)
    cmap = plt.get_cmap("viridis")
    ax.set_facecolor("0.82")
    filled = ax.contourf(diagram.lrs, diagram.momenta, rates, levels=list(levels), cmap=cmap,
                         norm=BoundaryNorm(list(levels), cmap.N))
    for lam in diagram.eigenvalues:
        bound = np.array([max_stable_lr(lam, b, nesterov=diagram.nesterov) for b in diagram.momenta])
        ax.plot(bound, diagram.momenta, "--", color="0.15", lw=1.0)
    ax.set_xlim(diagram.lrs[0], diagram.lrs[-1])
    ax.set_ylim(diagram.momenta[0], diagram.momenta[-1])
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"momentum $\beta$")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(filled, ax=ax, label=r"rate $\rho$ (error factor per step)", ticks=list(levels))
    return ax.figure if created else ax
