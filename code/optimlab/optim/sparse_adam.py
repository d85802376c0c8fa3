r"""SparseAdam: Adam for sparse gradients, moving only the rows a gradient has.

Algorithm (torch's form; :math:`\eta` = ``lr``, :math:`\beta_1, \beta_2` = ``betas``,
:math:`\varepsilon` = ``eps``; R_t = the rows (indices) present in the sparse gradient g_t)::

    input: θ_0, objective f, η, β1, β2, ε, maximize
    m_0 ← 0,  v_0 ← 0
    for t = 1, 2, ...
        g_t ← ∇f(θ_{t-1})   a sparse tensor          (−∇f if maximize)
        if g_t has no rows: nothing moves (t still counts)
        on the rows R_t only, every other row keeping its m, v and θ:
            m_t ← β1 m_{t-1} + (1 − β1) g_t
            v_t ← β2 v_{t-1} + (1 − β2) g_t²
            θ_t ← θ_{t-1} − η √(1 − β2ᵗ) / (1 − β1ᵗ) · m_t / (√v_t + ε)

State: ``step`` (t, a plain Python int, as in torch), ``exp_avg`` (m), ``exp_avg_sq`` (v),
dense tensors the size of the parameter. The corrections are
:func:`~optimlab.optim.moments.bias_correction`.

How this compares with other forms:

* It is Adam (Kingma and Ba) restricted to the rows that appear in the gradient: a row nobody
  looked up this step keeps its moments, where dense Adam would decay them towards zero and
  still move the row with the remembered momentum. "Present" means stored in the sparse
  tensor, not non-zero: an explicitly stored zero row is updated.
* t counts the steps with a gradient for the whole parameter, not per row, so a row seen for
  the first time at step t gets the correction of step t, not of its own first step.
* ε is added to the *uncorrected* √v_t and the corrections are folded into the step size (the
  "efficient" form of the Adam paper's Algorithm 1); torch's dense Adam adds ε after
  correcting, √v̂_t + ε.
* No weight decay, and dense gradients are refused (use Adam); so are sparse and complex
  *parameters*, as in torch. A sparse gradient is coalesced first (a row looked up twice has
  its contributions summed), since the update is not linear in g.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range
from .adamax import as_scalar, check_betas
from .moments import bias_correction


class SparseAdam(Optimizer):
    """Adam on the rows of sparse gradients; a drop-in for ``torch.optim.SparseAdam``."""

    supports_sparse_grad = True
    tensor_step = False       # torch keeps this step count as a plain int

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False):
        check_range("lr", lr, 0.0, low_inclusive=False)
        check_range("eps", eps, 0.0, low_inclusive=False)
        check_betas(betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        where = {"sparse": [], "complex": []}
        for i, group in enumerate(self.param_groups):
            for j, param in enumerate(group["params"]):
                if param.is_sparse:
                    where["sparse"].append([i, j])
                if param.is_complex():
                    where["complex"].append([i, j])
        if where["sparse"]:
            raise ValueError(f"Sparse params at indices {where['sparse']}: SparseAdam requires dense "
                             f"parameter tensors")
        if where["complex"]:
            raise ValueError(f"Complex params at indices {where['complex']}: SparseAdam does not "
                             f"support complex parameters")

    def init_state(self, param, group):
        return {"step": 0, "exp_avg": torch.zeros_like(param), "exp_avg_sq": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        if not grad.is_sparse:
            raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
        lr, (beta1, beta2), eps = as_scalar(group["lr"]), group["betas"], group["eps"]
        state["step"] = t = state["step"] + 1                         # t ← t + 1 (a Python int, as in torch)
        g = (-grad if group["maximize"] else grad).coalesce()         # g_t on its rows R_t, each row once
        rows = g.values()
        if rows.numel() == 0:  # a gradient with no rows (a shape, not a value): nothing to move
            return
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m_old, v_old = m.sparse_mask(g).values(), v.sparse_mask(g).values()  # m_{t−1}, v_{t−1} on R_t
        dm = rows.sub(m_old).mul_(1 - beta1)                          # (1−β1)(g_t − m_{t−1})
        dv = rows.pow(2).sub_(v_old).mul_(1 - beta2)                  # (1−β2)(g_t² − v_{t−1})
        m.add_(_on_rows(g, dm))                                       # m_t = β1 m_{t−1} + (1−β1) g_t  on R_t
        v.add_(_on_rows(g, dv))                                       # v_t = β2 v_{t−1} + (1−β2) g_t²  on R_t
        m_rows, v_rows = dm.add_(m_old), dv.add_(v_old)               # m_t, v_t on R_t
        step_size = lr * bias_correction(beta2, t) ** 0.5 / bias_correction(beta1, t)  # η√(1−β2ᵗ)/(1−β1ᵗ)
        move = m_rows.div_(v_rows.sqrt_().add_(eps)).mul_(-step_size)  # −η√(1−β2ᵗ)/(1−β1ᵗ) · m_t/(√v_t + ε)
        param.add_(_on_rows(g, move))                                 # θ_t = θ_{t−1} + move  on R_t


def _on_rows(g: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """A sparse tensor with the rows (indices) of the coalesced ``g`` and new ``values``."""
    return torch.sparse_coo_tensor(g.indices(), values, g.shape, is_coalesced=True,
                                   check_invariants=False)
