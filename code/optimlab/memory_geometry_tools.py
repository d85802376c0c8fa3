"""Code of the chapter *Memory and geometry*: Muon beside AdamW, the factored second moment,
the Newton–Schulz polynomial, and a live cross-check of Muon against ``torch.optim.Muon``.

>>> from optimlab.train import mlp
>>> model = mlp(64, [64, 64], 10)
>>> opt = MuonWithAdamW(model.parameters(), lr=0.01)  # Muon: hidden matrices; AdamW: the rest
>>> [len(o.param_groups[0]["params"]) for o in opt.optimizers]
[2, 4]
"""

from __future__ import annotations

import torch

from .crosscheck import CrossCheck
from .optim import AdamW, Muon
from .optim.muon import NS_COEFFICIENTS, adjusted_lr
from .utils import default_device, public_name

__all__ = ["OptimizerList", "split_for_muon", "MuonWithAdamW", "factored_estimate", "ns_polynomial",
           "ns_map", "state_numbers", "muon_crosscheck"]


class OptimizerList:
    """Several optimizers over disjoint parameters, stepped together as one.

    ``step()`` and ``zero_grad()`` go to each optimizer in turn; ``param_groups`` lists the groups of
    all of them (first optimizer first), so ``param_groups[0]["lr"]`` is the first optimizer's rate.
    """

    def __init__(self, *optimizers):
        if not optimizers:
            raise ValueError("Invalid optimizers: expected at least one optimizer")
        seen = set()
        for opt in optimizers:
            for group in opt.param_groups:
                for p in group["params"]:
                    if id(p) in seen:
                        raise ValueError("Invalid optimizers: a parameter appears in two optimizers")
                    seen.add(id(p))
        self.optimizers = list(optimizers)

    @property
    def param_groups(self) -> list:
        return [g for opt in self.optimizers for g in opt.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for opt in self.optimizers:
            opt.step()
        return loss


def split_for_muon(params) -> tuple[list, list]:
    """``(hidden, rest)`` of a list of parameters in the order ``model.parameters()`` gives them:
    ``hidden`` holds every matrix but the last one (the output layer), ``rest`` everything else
    (biases, the output layer, and any vector, scalar or tensor of more dimensions)."""
    params = list(params)
    matrices = [i for i, p in enumerate(params) if p.dim() == 2]
    chosen = set(matrices[:-1])
    return [p for i, p in enumerate(params) if i in chosen], [p for i, p in enumerate(params) if i not in chosen]


class MuonWithAdamW(OptimizerList):
    """Muon (``adjust_lr_fn="match_rms_adamw"``) on the hidden matrices of ``params``, AdamW on the
    rest (see :func:`split_for_muon`), both with the same ``lr`` and ``weight_decay``: one learning
    rate to tune, as for AdamW alone. Built like an optimizer, ``MuonWithAdamW(params, lr=...)``."""

    def __init__(self, params, lr: float, *, weight_decay: float = 0.0, **muon_kwargs):
        hidden, rest = split_for_muon(params)
        muon_kwargs.setdefault("adjust_lr_fn", "match_rms_adamw")
        super().__init__(Muon(hidden, lr=lr, weight_decay=weight_decay, **muon_kwargs),
                         AdamW(rest, lr=lr, weight_decay=weight_decay))


def factored_estimate(v: torch.Tensor, eps1: float = 0.0) -> torch.Tensor:
    """Adafactor's rank-one estimate of a nonnegative m × n matrix ``v`` (e.g. an average of g²):
    ``R C / max(mean(R), eps1)`` with ``R`` its row means (m × 1) and ``C`` its column means (1 × n)."""
    R = v.mean(dim=-1, keepdim=True)                                   # R = mean_j v_ij, m × 1
    C = v.mean(dim=-2, keepdim=True)                                   # C = mean_i v_ij, 1 × n
    return R @ C / R.mean(dim=-2, keepdim=True).clamp(min=eps1)        # V̂ = R C / mean_i(R)


def ns_polynomial(sigma, coefficients=NS_COEFFICIENTS):
    """One Newton–Schulz step on a singular value: p(σ) = aσ + bσ³ + cσ⁵."""
    a, b, c = coefficients
    return a * sigma + b * sigma ** 3 + c * sigma ** 5


def ns_map(sigma, coefficients=NS_COEFFICIENTS, steps: int = 5):
    """p applied ``steps`` times: what the iteration does to a singular value σ of the normalised matrix."""
    for _ in range(steps):
        sigma = ns_polynomial(sigma, coefficients)
    return sigma


def state_numbers(m: int, n: int) -> dict[str, int]:
    """How many numbers each optimizer keeps for one m × n weight matrix (torch's defaults; Shampoo
    and SOAP in their basic forms: Shampoo keeps the two Kronecker factors and a momentum, SOAP also
    the factors' eigenvectors and Adam's two moments in the rotated basis)."""
    return {"SGD with momentum": m * n,
            "AdamW": 2 * m * n,
            "Adafactor": m + n,
            "Muon": m * n,
            "Shampoo": m * n + m * m + n * n,
            "SOAP": 2 * m * n + 2 * (m * m + n * n)}


def _matrix_network(device, dtype, seed: int):
    """A bias-free two-layer tanh network (matrices only, as Muon requires) and its seeded data."""
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    init = [rand(16, 8) * 0.3, rand(12, 16) * 0.3, rand(4, 12) * 0.3]
    inputs, targets = rand(64, 8), rand(64, 4)
    init = [t.to(device, dtype) for t in init]
    inputs, targets = inputs.to(device, dtype), targets.to(device, dtype)

    def loss(params, step: int):
        w1, w2, w3 = params
        rows = slice(16 * (step % 4), 16 * (step % 4 + 1))
        out = torch.tanh(torch.tanh(inputs[rows] @ w1.T) @ w2.T) @ w3.T
        return ((out - targets[rows]) ** 2).mean()
    return init, loss


def muon_crosscheck(ours=Muon, theirs=None, steps: int = 50, *, device=None, dtype=torch.float32,
                    seed: int = 0, **hparams) -> CrossCheck:
    """Muon beside ``torch.optim.Muon`` on a network of matrices; the tolerance is bfloat16 rounding.

    Both run Newton–Schulz in bfloat16, whose 8 significant bits round each entry of the
    orthogonalised update (entries below about 1.5) by up to 1.5 · 2⁻⁷ relative to 1, so after t steps
    the parameters may differ by t · η' · 1.5 · 2⁻⁷; that bound is the check's tolerance.
    """
    theirs = theirs or torch.optim.Muon
    device = torch.device(device) if device is not None else default_device()
    init, loss = _matrix_network(device, dtype, seed)
    runs = []
    for cls in (ours, theirs):
        params = [t.clone().requires_grad_(True) for t in init]
        runs.append((params, cls(params, **hparams)))
    diffs, budget = {"parameters": 0.0, "state": 0.0}, 0.0
    for step in range(steps):
        for params, opt in runs:
            opt.zero_grad()
            loss(params, step).backward()
            opt.step()
        group = runs[1][1].param_groups[0]
        budget += max(adjusted_lr(group["lr"], group["adjust_lr_fn"], p.shape) for p in init) * 1.5 * 2.0 ** -7
        (pa, oa), (pb, ob) = runs
        for a, b in zip(pa, pb):
            diffs["parameters"] = max(diffs["parameters"], float((a - b).detach().abs().max()))
            sa, sb = oa.state[a]["momentum_buffer"], ob.state[b]["momentum_buffer"]
            diffs["state"] = max(diffs["state"], float((sa - sb).abs().max()))
    return CrossCheck(public_name(ours), public_name(theirs), str(device), steps, diffs, budget)

