"""Checks for the exercises of the chapter *Weight decay and sparsity*."""

from __future__ import annotations

import torch

from ._core import Case, run_cases

F64 = torch.float64


def _randn(*shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


# --- ex-wd-prox-l1: the proximal step of the L1 penalty (soft thresholding) ------------------------

def prox_l1(w, lr, lam):
    """sign(w) · max(|w| − ηλ, 0): the proximal operator of ηλ‖·‖₁, as a new tensor."""
    tau = lr * lam
    return torch.sign(w) * torch.clamp(w.abs() - tau, min=0)


def _hard_threshold(w, lr, lam):
    return w * (w.abs() > lr * lam)


def _subgradient_step(w, lr, lam):
    return w - lr * lam * torch.sign(w)


def _one_sided(w, lr, lam):
    return torch.clamp(w - lr * lam, min=0)


def _threshold_lam(w, lr, lam):
    return torch.sign(w) * torch.clamp(w.abs() - lam, min=0)


def _threshold_lr(w, lr, lam):
    return torch.sign(w) * torch.clamp(w.abs() - lr, min=0)


def _l2_shrink(w, lr, lam):
    return w * (1 - lr * lam)


def check_prox_l1(learner):
    t = lambda *v: torch.tensor(v, dtype=F64)  # noqa: E731
    cases = [
        Case("a few values around the threshold, lr=0.5, lam=0.2",
             (t(-1.0, -0.15, -0.05, 0.0, 0.02, 0.09, 0.3, 2.0), 0.5, 0.2)),
        Case("random vector, lr=0.1, lam=3", (_randn(12, seed=1), 0.1, 3.0)),
        Case("random matrix, lr=0.05, lam=4", (_randn(4, 5, seed=2), 0.05, 4.0)),
        Case("every entry below the threshold (all become 0)", (_randn(6, seed=3, scale=0.01), 0.5, 0.4)),
        Case("lam=0 (nothing changes)", (_randn(5, seed=4), 0.3, 0.0)),
        Case("entries exactly at ±ηλ", (t(0.25, -0.25, 0.5), 0.5, 0.5)),
        Case("large threshold, lr=2, lam=0.3", (_randn(3, 3, seed=5, scale=2.0), 2.0, 0.3)),
    ]
    mistakes = {
        "this is hard thresholding: the entries above the threshold must also shrink by ηλ": _hard_threshold,
        "no clamp: w − ηλ·sign(w) is the subgradient step, which jumps across zero instead of stopping "
        "there (take max(|w| − ηλ, 0))": _subgradient_step,
        "one-sided: max(w − ηλ, 0) zeroes every negative weight; threshold |w| and put the sign back":
            _one_sided,
        "the threshold is λ; after a gradient step with learning rate η the prox uses ηλ": _threshold_lam,
        "the threshold is η; it is the product ηλ": _threshold_lr,
        "this is L2 weight decay, w·(1 − ηλ): it shrinks in proportion and never reaches 0": _l2_shrink,
    }
    return run_cases("ex-wd-prox-l1", learner, prox_l1, cases, mistakes=mistakes)


# --- ex-wd-sgdw: one step of SGD with momentum and decoupled weight decay -------------------------

def sgdw_step(param, grad, buf, lr, momentum, weight_decay):
    """One step of SGD with momentum and decoupled weight decay ("SGDW"); returns (param, buf).

    b_t = g_t at the first step (buf is None), else μ b_{t−1} + g_t (torch's momentum, no dampening);
    θ_t = (1 − ηλ) θ_{t−1} − η b_t: the decay acts on θ_{t−1} and never enters the buffer.
    """
    buf = grad.clone() if buf is None else momentum * buf + grad
    return (1 - lr * weight_decay) * param - lr * buf, buf


def _coupled(param, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * param
    buf = g.clone() if buf is None else momentum * buf + g
    return param - lr * buf, buf


def _decay_without_lr(param, grad, buf, lr, momentum, weight_decay):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return (1 - weight_decay) * param - lr * buf, buf


def _decay_after_step(param, grad, buf, lr, momentum, weight_decay):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return (1 - lr * weight_decay) * (param - lr * buf), buf


def _dampened(param, grad, buf, lr, momentum, weight_decay):
    buf = grad.clone() if buf is None else momentum * buf + (1 - momentum) * grad
    return (1 - lr * weight_decay) * param - lr * buf, buf


def _step_with_gradient(param, grad, buf, lr, momentum, weight_decay):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return (1 - lr * weight_decay) * param - lr * grad, buf


def _no_decay(param, grad, buf, lr, momentum, weight_decay):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return param - lr * buf, buf


def check_sgdw(learner):
    cases = [
        Case("first step (buf is None)", (_randn(5, seed=10), _randn(5, seed=11), None, 0.1, 0.9, 0.5)),
        Case("later step", (_randn(5, seed=12), _randn(5, seed=13), _randn(5, seed=14), 0.1, 0.9, 0.5)),
        Case("matrix parameter, lr=0.3, momentum=0.5, weight_decay=0.2",
             (_randn(3, 4, seed=15), _randn(3, 4, seed=16), _randn(3, 4, seed=17), 0.3, 0.5, 0.2)),
        Case("weight_decay=0 (plain momentum)",
             (_randn(4, seed=18), _randn(4, seed=19), _randn(4, seed=20), 0.05, 0.9, 0.0)),
        Case("zero gradient: only the decay and the old buffer act",
             (_randn(4, seed=21), torch.zeros(4, dtype=F64), _randn(4, seed=22), 0.2, 0.8, 1.0)),
        Case("large weights, small gradient", (_randn(6, seed=23, scale=10.0), _randn(6, seed=24, scale=0.01),
                                                _randn(6, seed=25, scale=0.01), 0.5, 0.9, 0.1)),
    ]
    mistakes = {
        "coupled decay: λθ was added to the gradient and so enters the momentum buffer (that is "
        "SGD(weight_decay=λ)); shrink θ directly instead": _coupled,
        "the decay is not multiplied by the learning rate: use θ(1 − ηλ), not θ(1 − λ)": _decay_without_lr,
        "the decay is applied after the step, to θ − ηb; apply it to θ_{t−1}, as AdamW does": _decay_after_step,
        "the buffer is damped, μb + (1 − μ)g; torch's momentum (dampening=0) adds the full gradient": _dampened,
        "the step uses the gradient; with momentum it uses the buffer b_t": _step_with_gradient,
        "the weight decay is missing": _no_decay,
    }
    return run_cases("ex-wd-sgdw", learner, sgdw_step, cases, mistakes=mistakes)


CHECKS = {"ex-wd-prox-l1": check_prox_l1, "ex-wd-sgdw": check_sgdw}
