"""First and second steps of every optimizer, worked out by hand with Python floats.

No torch optimizer is called here: the expected numbers come from the equations in each
module's docstring, evaluated with plain arithmetic, so these tests would catch a rule that
torch and we both got wrong in the same way only if it contradicted the documented equations.
"""

from __future__ import annotations

import math

import pytest
import torch

from optimlab.optim import (SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop, bias_correction, ewma_,
                            ewma_sq_)
from test_optim_support import one_thread  # noqa: F401

sqrt = math.sqrt


def run(cls, theta0, grads, **kwargs):
    """Step a scalar parameter with the given gradients; return its values after each step."""
    p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kwargs)
    values = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        values.append(p.item())
    return values, opt.state[p]


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def assert_steps(got, expected):
    for t, (a, b) in enumerate(zip(got, expected), start=1):
        assert close(a, b), f"step {t}: got {a!r}, expected {b!r}"


# ---------------------------------------------------------------- SGD

def test_sgd_plain():
    (t1, t2), _ = run(SGD, 2.0, [1.0, -0.5], lr=0.1)
    assert_steps([t1, t2], [2.0 - 0.1 * 1.0, 2.0 - 0.1 * 1.0 + 0.1 * 0.5])


def test_sgd_momentum_dampening_weight_decay():
    lr, mu, tau, lam = 0.1, 0.9, 0.5, 0.01
    (t1, t2), state = run(SGD, 2.0, [1.0, -0.5], lr=lr, momentum=mu, dampening=tau, weight_decay=lam)
    d1 = 1.0 + lam * 2.0                  # 1.02
    b1 = d1                               # the first buffer is the raw gradient (no dampening)
    th1 = 2.0 - lr * b1                   # 1.898
    d2 = -0.5 + lam * th1                 # -0.48102
    b2 = mu * b1 + (1 - tau) * d2         # 0.67749
    th2 = th1 - lr * b2                   # 1.830251
    assert_steps([t1, t2], [th1, th2])
    assert close(th2, 1.830251)
    assert close(state["momentum_buffer"].item(), b2)


def test_sgd_nesterov():
    (t1, t2), _ = run(SGD, 1.0, [1.0, 2.0], lr=0.1, momentum=0.9, nesterov=True)
    b1 = 1.0
    th1 = 1.0 - 0.1 * (1.0 + 0.9 * b1)    # 0.81
    b2 = 0.9 * b1 + 2.0                   # 2.9
    th2 = th1 - 0.1 * (2.0 + 0.9 * b2)    # 0.349
    assert_steps([t1, t2], [th1, th2])
    assert close(th2, 0.349)


def test_sgd_maximize_negates_the_gradient_before_the_decay():
    (t1,), _ = run(SGD, 1.0, [1.0], lr=0.1, weight_decay=0.5, maximize=True)
    assert close(t1, 1.0 - 0.1 * (-1.0 + 0.5 * 1.0))  # 1.05


# ---------------------------------------------------------------- Adagrad

def test_adagrad_lr_decay_and_initial_accumulator():
    lr, decay, G0, eps = 0.1, 0.5, 0.25, 1e-10
    (t1, t2), state = run(Adagrad, 1.0, [0.5, -1.0], lr=lr, lr_decay=decay,
                          initial_accumulator_value=G0, eps=eps)
    G1 = G0 + 0.5 ** 2                                  # 0.5
    th1 = 1.0 - lr / (1 + 0 * decay) * 0.5 / (sqrt(G1) + eps)
    G2 = G1 + 1.0                                       # 1.5
    th2 = th1 - lr / (1 + 1 * decay) * (-1.0) / (sqrt(G2) + eps)
    assert_steps([t1, t2], [th1, th2])
    assert close(state["sum"].item(), 1.5)
    assert state["step"].item() == 2.0


def test_adagrad_eps_is_outside_the_root():
    """With G_0 = 0 the first step is η g / (|g| + ε); eps = 1 makes the placement visible."""
    (t1,), _ = run(Adagrad, 0.0, [3.0], lr=1.0, eps=1.0)
    assert close(t1, -3.0 / (3.0 + 1.0))          # outside: 0.75; inside would be 3/√10


# ---------------------------------------------------------------- RMSprop

def test_rmsprop_plain():
    lr, a, eps = 0.01, 0.9, 1e-8
    (t1, t2), state = run(RMSprop, 1.0, [2.0, -1.0], lr=lr, alpha=a, eps=eps)
    v1 = (1 - a) * 4.0                             # 0.4
    th1 = 1.0 - lr * 2.0 / (sqrt(v1) + eps)
    v2 = a * v1 + (1 - a) * 1.0                    # 0.46
    th2 = th1 - lr * (-1.0) / (sqrt(v2) + eps)
    assert_steps([t1, t2], [th1, th2])
    assert close(state["square_avg"].item(), 0.46)


def test_rmsprop_centered_with_momentum():
    lr, a, eps, mu = 0.01, 0.9, 1e-8, 0.5
    (t1, t2), state = run(RMSprop, 1.0, [2.0, -1.0], lr=lr, alpha=a, eps=eps, momentum=mu,
                          centered=True)
    v1, m1 = 0.4, 0.2
    s1 = sqrt(v1 - m1 ** 2) + eps                  # √0.36 + ε = 0.6 + ε
    b1 = 2.0 / s1
    th1 = 1.0 - lr * b1
    v2, m2 = 0.46, a * m1 + (1 - a) * (-1.0)       # m2 = 0.08
    s2 = sqrt(v2 - m2 ** 2) + eps
    b2 = mu * b1 + (-1.0) / s2
    th2 = th1 - lr * b2
    assert_steps([t1, t2], [th1, th2])
    assert close(state["grad_avg"].item(), 0.08)
    assert close(state["momentum_buffer"].item(), b2)


# ---------------------------------------------------------------- Adadelta

def test_adadelta():
    rho, eps = 0.9, 1e-6
    (t1, t2), state = run(Adadelta, 1.0, [1.0, 0.5], rho=rho, eps=eps)
    v1 = (1 - rho) * 1.0
    d1 = sqrt(0.0 + eps) / sqrt(v1 + eps) * 1.0    # ≈ 0.00316: ε inside both roots starts it
    u1 = (1 - rho) * d1 ** 2
    th1 = 1.0 - 1.0 * d1
    v2 = rho * v1 + (1 - rho) * 0.25
    d2 = sqrt(u1 + eps) / sqrt(v2 + eps) * 0.5
    u2 = rho * u1 + (1 - rho) * d2 ** 2
    th2 = th1 - d2
    assert_steps([t1, t2], [th1, th2])
    assert close(state["acc_delta"].item(), u2)
    assert close(state["square_avg"].item(), v2)


def test_adadelta_lr_scales_the_step():
    (t1,), _ = run(Adadelta, 1.0, [1.0], lr=0.5)
    assert close(t1, 1.0 - 0.5 * sqrt(1e-6) / sqrt(0.1 + 1e-6))


# ---------------------------------------------------------------- Adam, AdamW

def adam_by_hand(theta0, grads, lr, b1, b2, eps, lam=0.0, decoupled=False, amsgrad=False):
    th, m, v, vmax, out = theta0, 0.0, 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            th = th * (1 - lr * lam)
        else:
            g = g + lam * th
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = max(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        th = th - lr * m_hat / (sqrt(v_hat) + eps)
        out.append(th)
    return out, m, v, vmax


def test_adam_first_step_is_lr_times_the_sign():
    (t1,), _ = run(Adam, 1.0, [0.5], lr=0.1)
    assert close(t1, 1.0 - 0.1 * 0.5 / (0.5 + 1e-8))   # ≈ 0.9


def test_adam_two_steps():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    (t1, t2), state = run(Adam, 1.0, [0.5, -1.0], lr=lr, betas=(b1, b2), eps=eps)
    m1, v1 = 0.05, 0.00025
    th1 = 1.0 - lr * (m1 / (1 - b1)) / (sqrt(v1 / (1 - b2)) + eps)
    m2 = b1 * m1 + (1 - b1) * (-1.0)                 # -0.055
    v2 = b2 * v1 + (1 - b2) * 1.0                    # 0.00124975
    th2 = th1 - lr * (m2 / (1 - b1 ** 2)) / (sqrt(v2 / (1 - b2 ** 2)) + eps)
    assert_steps([t1, t2], [th1, th2])
    assert close(state["exp_avg"].item(), -0.055)
    assert close(state["exp_avg_sq"].item(), 0.00124975)
    assert_steps([t1, t2], adam_by_hand(1.0, [0.5, -1.0], lr, b1, b2, eps)[0])


def test_adam_eps_is_added_after_the_bias_corrected_root():
    """eps = 1 makes the placement visible: √v̂ + ε, not √v + ε (Kingma and Ba's ε̂ form)."""
    (t1,), _ = run(Adam, 0.0, [2.0], lr=1.0, eps=1.0)
    assert close(t1, -2.0 / (2.0 + 1.0))              # √v̂_1 = |g| = 2


def test_adam_coupled_weight_decay():
    lr, lam = 0.1, 0.1
    got, state = run(Adam, 1.0, [0.5, -1.0], lr=lr, weight_decay=lam)
    expected, m, v, _ = adam_by_hand(1.0, [0.5, -1.0], lr, 0.9, 0.999, 1e-8, lam=lam)
    assert close(expected[0], 1.0 - 0.1 * 0.6 / (0.6 + 1e-8))   # λθ joined the gradient: g = 0.6
    assert_steps(got, expected)
    assert close(state["exp_avg"].item(), m)


def test_adam_amsgrad_keeps_the_largest_second_moment():
    lr = 0.1
    got, state = run(Adam, 1.0, [1.0, 0.01], lr=lr, amsgrad=True)
    expected, m, v, vmax = adam_by_hand(1.0, [1.0, 0.01], lr, 0.9, 0.999, 1e-8, amsgrad=True)
    assert close(v, 0.0009991) and close(vmax, 0.001)  # v went down; the max did not
    assert_steps(got, expected)
    assert close(state["exp_avg_sq"].item(), v)
    assert close(state["max_exp_avg_sq"].item(), 0.001)
    plain, _, _, _ = adam_by_hand(1.0, [1.0, 0.01], lr, 0.9, 0.999, 1e-8)
    assert not close(plain[1], expected[1])              # the variant matters on this step


def test_adamw_decoupled_weight_decay():
    lr, lam = 0.1, 0.1
    got, state = run(AdamW, 1.0, [0.5, -1.0], lr=lr, weight_decay=lam)
    expected, m, v, _ = adam_by_hand(1.0, [0.5, -1.0], lr, 0.9, 0.999, 1e-8, lam=lam, decoupled=True)
    assert close(expected[0], 1.0 * (1 - 0.01) - 0.1 * 0.5 / (0.5 + 1e-8))
    assert_steps(got, expected)
    assert close(state["exp_avg"].item(), m)             # the decay never enters the moments
    assert close(state["exp_avg_sq"].item(), v)


def test_adam_with_decoupled_flag_is_adamw():
    a, _ = run(Adam, 1.0, [0.5, -1.0], lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)
    b, _ = run(AdamW, 1.0, [0.5, -1.0], lr=0.1, weight_decay=0.1)
    assert a == b


def test_adamw_default_decay_is_one_hundredth():
    (t1,), _ = run(AdamW, 1.0, [0.5], lr=0.1)
    assert close(t1, 1.0 * (1 - 0.1 * 1e-2) - 0.1 * 0.5 / (0.5 + 1e-8))


# ---------------------------------------------------------------- the shared pieces

def test_ewma_first_and_second_moment():
    avg = torch.tensor([1.0, 2.0], dtype=torch.float64)
    same = ewma_(avg, torch.tensor([3.0, 4.0], dtype=torch.float64), 0.75)
    assert same is avg                                                  # in place
    assert avg.tolist() == [0.75 * 1 + 0.25 * 3, 0.75 * 2 + 0.25 * 4]   # [1.5, 2.5]
    sq = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert ewma_sq_(sq, torch.tensor([3.0, 4.0], dtype=torch.float64), 0.75) is sq
    assert sq.tolist() == [0.75 * 1 + 0.25 * 9, 0.75 * 2 + 0.25 * 16]   # [3.0, 5.5]


@pytest.mark.parametrize("beta,t,expected", [(0.9, 1, 0.1), (0.9, 2, 0.19), (0.999, 1, 0.001),
                                             (0.5, 3, 0.875), (0.0, 1, 1.0)])
def test_bias_correction(beta, t, expected):
    assert close(bias_correction(beta, t), expected)


def test_bias_correction_unbiases_a_constant_signal():
    m = torch.zeros((), dtype=torch.float64)
    for t in range(1, 20):
        ewma_(m, torch.tensor(3.0, dtype=torch.float64), 0.9)
        assert close(m.item(), 3.0 * (1 - 0.9 ** t))                   # biased towards 0
        assert close(m.item() / bias_correction(0.9, t), 3.0)
