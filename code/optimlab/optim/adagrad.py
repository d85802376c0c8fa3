r"""Adagrad: a per-coordinate step size that shrinks with the sum of squared gradients.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\delta` = ``lr_decay``,
:math:`\lambda` = ``weight_decay``, :math:`G_0` = ``initial_accumulator_value``,
:math:`\varepsilon` = ``eps``)::

    input: θ_0, objective f, η, δ, λ, G_0, ε, maximize
    G ← G_0 (every coordinate)
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})                        (−∇f if maximize)
        g_t ← g_t + λ θ_{t-1}                     (L2 penalty, "coupled" weight decay)
        η_t ← η / (1 + (t − 1) δ)
        G_t ← G_{t-1} + g_t²
        θ_t ← θ_{t-1} − η_t g_t / (√G_t + ε)

All operations are per coordinate. State: ``step`` (t) and ``sum`` (G).

How this compares with other forms:

* ε is added *outside* the square root, ``√G + ε``, with a tiny default ε = 1e-10. Dive into
  Deep Learning writes ``g / √(G + ε)`` with ε = 1e-6 inside the root; the two differ in the
  first steps and wherever G stays small.
* The original paper (Duchi, Hazan and Singer) has no ``lr_decay`` and starts from G_0 = 0;
  Keras starts from 0.1.
* Like torch, the state is created in the constructor (``step`` = 0, ``sum`` = G_0), so a
  fresh optimizer already has a state for every parameter. As in torch, G_0 is the value
  given to the constructor for *every* group: an ``initial_accumulator_value`` inside a
  parameter group is kept in the group but not used.
* Sparse gradients are supported (without weight decay), as in torch: only the rows present
  in the gradient are accumulated and moved.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step


def _sparse_like(g: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """A sparse tensor with the (coalesced) rows of ``g`` and new ``values``."""
    return torch.sparse_coo_tensor(g.indices(), values, g.shape, is_coalesced=True,
                                   check_invariants=False)


class Adagrad(Optimizer):
    """Adagrad; a drop-in for ``torch.optim.Adagrad``."""

    supports_sparse_grad = True

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        check_range("lr", lr, 0.0)
        check_range("lr_decay", lr_decay, 0.0)
        check_range("weight_decay", weight_decay, 0.0)
        check_range("initial_accumulator_value", initial_accumulator_value, 0.0)
        check_range("eps", eps, 0.0)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults,
                         dict(foreach=foreach, differentiable=differentiable, fused=fused))
        for group in self.param_groups:  # torch creates Adagrad's state up front
            for param in group["params"]:
                self.state[param].update(self.initial_state(param, group))

    def init_state(self, param, group):
        g0 = self.defaults["initial_accumulator_value"]  # the constructor's value, as in torch
        if param.is_complex():
            g0 = complex(g0, g0)  # G_0 for the real and for the imaginary part
        return {"step": new_step_count(param), "sum": torch.full_like(param, g0)}

    def update(self, param, grad, state, group):
        lr, lam, eps = group["lr"], group["weight_decay"], group["eps"]
        t = next_step(state)                                          # t ← t + 1
        g = -grad if group["maximize"] else grad                      # g_t = ∇f(θ_{t−1})  (−∇f to maximize)
        if lam != 0:
            if g.is_sparse:
                raise RuntimeError("Adagrad: weight_decay is not compatible with sparse gradients")
            g = g.add(param, alpha=lam)                               # g_t ← g_t + λθ_{t−1}
        lr_t = lr / (1 + (t - 1) * group["lr_decay"])                 # η_t = η / (1 + (t−1)δ)
        G = state["sum"]
        if g.is_sparse:
            return self._sparse_update(param, g, G, lr_t, eps)
        G.addcmul_(g, g, value=1)                                     # G_t = G_{t−1} + g_t²
        param.addcdiv_(g, G.sqrt().add_(eps), value=-lr_t)            # θ_t = θ_{t−1} − η_t g_t / (√G_t + ε)

    @staticmethod
    def _sparse_update(param, g, G, lr_t, eps):
        """The same two equations on the rows present in a sparse gradient only."""
        g = g.coalesce()
        values = g.values()
        G.add_(_sparse_like(g, values.pow(2)))                                     # G_t = G_{t−1} + g_t²
        root = G.sparse_mask(g).values().sqrt_().add_(eps)                        # √G_t + ε on those rows
        param.add_(_sparse_like(g, values / root), alpha=-lr_t)                   # θ_t = θ_{t−1} − η_t g_t / (√G_t + ε)

    def share_memory(self) -> None:
        """Move every ``sum`` accumulator to shared memory (for multi-process training), as torch does."""
        for group in self.param_groups:
            for param in group["params"]:
                self.state[param]["sum"].share_memory_()
