"""Checks for the exercises of the chapter *Signs and curvature*."""

from __future__ import annotations

import torch

from .. import signs_curvature_tools
from ._core import Case, run_cases

F64 = torch.float64


def _rand(generator, *shape):
    return torch.randn(*shape, generator=generator, dtype=F64)


# --- ex-signs-rprop: one step of torch's Rprop (iRprop⁻) ----------------------------------------

def rprop_step(theta, grad, prev, step_size, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    """Δ_t = clip(factor · Δ_{t−1}), g_t ← 0 where the sign flipped, θ_t = θ_{t−1} − sign(g_t) Δ_t."""
    eta_minus, eta_plus = etas
    s = torch.sign(grad * prev)                                        # s = sign(g_t g_{t−1})
    factor = torch.ones_like(step_size).masked_fill(s > 0, eta_plus).masked_fill(s < 0, eta_minus)
    delta = (factor * step_size).clamp(*step_sizes)                    # Δ_t
    grad = torch.where(s < 0, 0.0, grad)                               # forget a flipped gradient
    return theta - torch.sign(grad) * delta, grad, delta


def _rprop_no_zeroing(theta, grad, prev, step_size, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    eta_minus, eta_plus = etas
    s = torch.sign(grad * prev)
    factor = torch.ones_like(step_size).masked_fill(s > 0, eta_plus).masked_fill(s < 0, eta_minus)
    delta = (factor * step_size).clamp(*step_sizes)
    return theta - torch.sign(grad) * delta, grad, delta


def _rprop_etas_swapped(theta, grad, prev, step_size, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    return rprop_step(theta, grad, prev, step_size, (etas[1], etas[0]), step_sizes)


def _rprop_no_clip(theta, grad, prev, step_size, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    return rprop_step(theta, grad, prev, step_size, etas, (-float("inf"), float("inf")))


def _rprop_magnitude(theta, grad, prev, step_size, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    new_theta, new_prev, delta = rprop_step(theta, grad, prev, step_size, etas, step_sizes)
    return theta - new_prev * delta, new_prev, delta


def _rprop_old_step_size(theta, grad, prev, step_size, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    _, new_prev, delta = rprop_step(theta, grad, prev, step_size, etas, step_sizes)
    return theta - torch.sign(new_prev) * step_size, new_prev, delta


def _rprop_uphill(theta, grad, prev, step_size, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    new_theta, new_prev, delta = rprop_step(theta, grad, prev, step_size, etas, step_sizes)
    return 2 * theta - new_theta, new_prev, delta


def check_rprop_step(learner):
    g = torch.Generator().manual_seed(7)
    rand = lambda *shape: _rand(g, *shape)  # noqa: E731
    mixed_prev = torch.tensor([1.0, -2.0, 0.0, 3.0, -0.5, 0.7], dtype=F64)
    mixed_grad = torch.tensor([0.3, 0.4, -1.0, -2.0, -0.1, 0.0], dtype=F64)
    cases = [
        Case("first step (prev = 0), Δ = 0.01", (rand(5), rand(5), torch.zeros(5, dtype=F64),
                                                 torch.full((5,), 0.01, dtype=F64))),
        Case("same, flipped, zero and unknown signs mixed", (rand(6), mixed_grad, mixed_prev,
                                                             torch.full((6,), 0.1, dtype=F64))),
        Case("random state", (rand(3, 4), rand(3, 4), rand(3, 4), rand(3, 4).abs() + 0.01)),
        Case("step sizes at the bounds (1e-3, 0.2)", (rand(8), mixed_grad.repeat(2)[:8], mixed_prev.repeat(2)[:8],
                                                      torch.tensor([1e-3, 0.19, 0.2, 0.05, 1e-3, 0.18, 0.2, 0.1],
                                                                   dtype=F64)),
             {"step_sizes": (1e-3, 0.2)}),
        Case("etas = (0.3, 2.0)", (rand(6), rand(6), rand(6), rand(6).abs() + 0.05), {"etas": (0.3, 2.0)}),
        Case("0-d tensors, same sign", (torch.tensor(1.0, dtype=F64), torch.tensor(-2.0, dtype=F64),
                                        torch.tensor(-1.0, dtype=F64), torch.tensor(0.5, dtype=F64))),
    ]
    mistakes = {
        "where the sign flipped the weight must not move and the stored gradient must become 0 "
        "(torch's iRprop⁻)": _rprop_no_zeroing,
        "η⁻ and η⁺ are swapped: the step size grows (η⁺) while the signs agree and shrinks (η⁻) when "
        "they flip": _rprop_etas_swapped,
        "the step size is not clipped to step_sizes = (Δ_min, Δ_max)": _rprop_no_clip,
        "the step uses the gradient's size: Rprop moves by sign(g) · Δ, not g · Δ": _rprop_magnitude,
        "the step uses the old step size Δ_{t−1}: update Δ first, then step by the new one": _rprop_old_step_size,
        "the step goes uphill: subtract sign(g) Δ": _rprop_uphill,
    }
    # float32 factors (torch.where with Python numbers) are not a mistake: tolerate their rounding
    return run_cases("ex-signs-rprop", learner, rprop_step, cases, mistakes=mistakes, atol=1e-9, rtol=1e-6)


# --- ex-signs-lion: one step of Lion -------------------------------------------------------------

def lion_step(theta, grad, exp_avg, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    """c = β1 m + (1−β1) g; θ ← (1 − ηλ)θ − η sign(c); m ← β2 m + (1−β2) g. Returns (θ, m)."""
    beta1, beta2 = betas
    c = beta1 * exp_avg + (1 - beta1) * grad
    theta = theta * (1 - lr * weight_decay) - lr * torch.sign(c)
    return theta, beta2 * exp_avg + (1 - beta2) * grad


def _lion_momentum_first(theta, grad, exp_avg, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    beta1, beta2 = betas
    m = beta2 * exp_avg + (1 - beta2) * grad
    c = beta1 * m + (1 - beta1) * grad
    return theta * (1 - lr * weight_decay) - lr * torch.sign(c), m


def _lion_betas_swapped(theta, grad, exp_avg, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    return lion_step(theta, grad, exp_avg, lr, (betas[1], betas[0]), weight_decay)


def _lion_decay_without_lr(theta, grad, exp_avg, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    beta1, beta2 = betas
    c = beta1 * exp_avg + (1 - beta1) * grad
    return theta * (1 - weight_decay) - lr * torch.sign(c), beta2 * exp_avg + (1 - beta2) * grad


def _lion_no_sign(theta, grad, exp_avg, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    beta1, beta2 = betas
    c = beta1 * exp_avg + (1 - beta1) * grad
    return theta * (1 - lr * weight_decay) - lr * c, beta2 * exp_avg + (1 - beta2) * grad


def _lion_sign_of_momentum(theta, grad, exp_avg, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    beta1, beta2 = betas
    m = beta2 * exp_avg + (1 - beta2) * grad
    return theta * (1 - lr * weight_decay) - lr * torch.sign(m), m


def _lion_uphill(theta, grad, exp_avg, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    beta1, beta2 = betas
    c = beta1 * exp_avg + (1 - beta1) * grad
    return theta * (1 - lr * weight_decay) + lr * torch.sign(c), beta2 * exp_avg + (1 - beta2) * grad


def check_lion_step(learner):
    g = torch.Generator().manual_seed(11)
    rand = lambda *shape: _rand(g, *shape)  # noqa: E731
    # a momentum that points against the gradient: the interpolation and the new buffer disagree in sign
    against = torch.tensor([1.0, -1.0, 0.5, -0.2], dtype=F64)
    cases = [
        Case("first step (m = 0), defaults", (rand(5), rand(5), torch.zeros(5, dtype=F64))),
        Case("momentum against the gradient, lr=0.1", (rand(4), -3 * against, against), {"lr": 0.1}),
        Case("random state, weight decay 0.5", (rand(3, 4), rand(3, 4), rand(3, 4)),
             {"lr": 0.01, "weight_decay": 0.5}),
        Case("betas = (0.5, 0.95), lr=0.2", (rand(6), rand(6), 2 * rand(6)), {"lr": 0.2, "betas": (0.5, 0.95)}),
        Case("betas = (0, 0): signSGD", (rand(5), rand(5), rand(5)), {"lr": 0.3, "betas": (0.0, 0.0)}),
        Case("a zero interpolation does not move", (torch.ones(2, dtype=F64), torch.tensor([2.0, 0.0], dtype=F64),
                                                    torch.tensor([-2.0, 0.0], dtype=F64)),
             {"lr": 0.5, "betas": (0.5, 0.99)}),
        Case("0-d tensors, decay 2", (torch.tensor(2.0, dtype=F64), torch.tensor(-0.5, dtype=F64),
                                      torch.tensor(0.1, dtype=F64)), {"lr": 0.05, "weight_decay": 2.0}),
    ]
    mistakes = {
        "the buffer is updated before the direction is taken: c_t uses the old buffer m_{t−1}, and m_t "
        "comes after the step": _lion_momentum_first,
        "β1 and β2 are swapped: β1 (0.9) mixes the gradient into the direction, β2 (0.99) updates the "
        "buffer": _lion_betas_swapped,
        "the weight decay is not multiplied by the learning rate: θ ← (1 − ηλ) θ": _lion_decay_without_lr,
        "the sign is missing: Lion moves every coordinate by ±η": _lion_no_sign,
        "the direction is the sign of the updated buffer m_t; Lion's is the sign of the interpolation "
        "c_t = β1 m_{t−1} + (1 − β1) g_t": _lion_sign_of_momentum,
        "the step goes uphill: subtract η sign(c)": _lion_uphill,
    }
    return run_cases("ex-signs-lion", learner, lion_step, cases, mistakes=mistakes, atol=1e-12, rtol=1e-9)


# --- ex-signs-two-loop: L-BFGS's product H g ----------------------------------------------------

# The reference is the chapter's own two-loop recursion (``H g``, pairs oldest first, H_0 = γ I).
two_loop = signs_curvature_tools.two_loop


def _two_loop_same_order(grad, pairs, gamma):
    q, alphas = grad.clone(), []
    for s, y in reversed(pairs):
        alpha = s.dot(q) / y.dot(s)
        q = q - alpha * y
        alphas.append(alpha)
    r = gamma * q
    for (s, y), alpha in zip(reversed(pairs), alphas):
        beta = y.dot(r) / y.dot(s)
        r = r + (alpha - beta) * s
    return r


def _two_loop_no_gamma(grad, pairs, gamma):
    return two_loop(grad, pairs, 1.0)


def _two_loop_newest_only(grad, pairs, gamma):
    return two_loop(grad, pairs[-1:], gamma)


def _two_loop_oldest_first(grad, pairs, gamma):
    return two_loop(grad, list(reversed(pairs)), gamma)


def _two_loop_beta_sign(grad, pairs, gamma):
    q, alphas = grad.clone(), []
    for s, y in reversed(pairs):
        alpha = s.dot(q) / y.dot(s)
        q = q - alpha * y
        alphas.append(alpha)
    r = gamma * q
    for (s, y), alpha in zip(pairs, reversed(alphas)):
        beta = y.dot(r) / y.dot(s)
        r = r + (beta - alpha) * s
    return r


def _two_loop_negated(grad, pairs, gamma):
    return -two_loop(grad, pairs, gamma)


def _pairs(generator, n, count):
    """Curvature pairs of a random positive definite quadratic: y = A s, so yᵀs > 0."""
    m = _rand(generator, n, n)
    a = m @ m.T / n + 0.5 * torch.eye(n, dtype=F64)
    steps = [_rand(generator, n) for _ in range(count)]
    return [(s, a @ s) for s in steps]


def check_two_loop(learner):
    g = torch.Generator().manual_seed(5)
    cases = [
        Case("no pairs: H_0 g = γ g", (_rand(g, 4), [], 0.5)),
        Case("one pair, γ = 1", (_rand(g, 3), _pairs(g, 3, 1), 1.0)),
        Case("three pairs, γ = 0.7", (_rand(g, 5), _pairs(g, 5, 3), 0.7)),
        Case("five pairs in 8 dimensions, γ = 2", (_rand(g, 8), _pairs(g, 8, 5), 2.0)),
        Case("two pairs in 2 dimensions, γ = 0.3", (_rand(g, 2), _pairs(g, 2, 2), 0.3)),
    ]
    mistakes = {
        "the second loop must run from the oldest pair to the newest, using the α_i in reverse order":
            _two_loop_same_order,
        "γ is missing: the recursion starts from H_0 = γ I, so scale q by γ between the loops":
            _two_loop_no_gamma,
        "only the newest pair is used: the recursion goes through all stored pairs": _two_loop_newest_only,
        "the pairs are taken in the wrong order: the list is oldest first, and the first loop starts "
        "with the newest": _two_loop_oldest_first,
        "the second loop adds (β_i − α_i) s_i; it should add (α_i − β_i) s_i": _two_loop_beta_sign,
        "the sign is flipped: return H g (the direction is −H g)": _two_loop_negated,
    }
    return run_cases("ex-signs-two-loop", learner, two_loop, cases, mistakes=mistakes, atol=1e-10, rtol=1e-8)


CHECKS = {"ex-signs-rprop": check_rprop_step, "ex-signs-lion": check_lion_step,
          "ex-signs-two-loop": check_two_loop}
