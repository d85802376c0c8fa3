"""Adafactor against torch.optim.Adafactor (foreach=False) and against hand-computed steps.

Parity runs use the shared driver: parameters of several shapes (a scalar, a vector, matrices,
a 3-D tensor, a matrix whose gradient is None on some steps), two parameter groups, an lr change
mid-run, an all-zero gradient on one step, 50 steps; parameters and every state tensor compared.
"""

from __future__ import annotations

import inspect
import io
import math

import numpy as np
import pytest
import torch

import optimlab.optim as ours
from optimlab.optim.adafactor import rms
from test_optim_support import (DEVICES, TOL, assert_same_state, build, clone_params,  # noqa: F401
                                make_params, one_thread, run_pair, set_grads)

GROUP1 = {"lr": 0.02, "weight_decay": 0.05, "d": 2.0}

CONFIGS = [
    {"lr": 1e-2},
    {"lr": 0.3, "weight_decay": 0.1},                       # ρ_t = 1/√t for t < 12, then η
    {"lr": 0.05, "maximize": True, "eps": (1e-3, 1e-2)},
    {"lr": 0.1, "beta2_decay": -0.5, "d": 1.5, "eps": (0.5, 1e-3)},  # ε1 = 0.5 floors some √V̂
    {"lr": 0.1, "beta2_decay": 0.0, "eps": (1e-6, 0.0)},     # β2_t = 0: V̂ is the last g² only
    {"lr": 0.02, "d": 10.0, "eps": (None, 0.5), "weight_decay": 0.2, "maximize": True},
]


def ids(c):
    return ",".join(f"{k}={v}" for k, v in c.items())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS, ids=ids)
def test_matches_torch(config, dtype, device):
    opt_o, opt_t, p_o, p_t = run_pair("Adafactor", config, GROUP1, dtype=dtype, device=device)
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[dtype])
    assert set(opt_o.state[p_o[2]]) == {"step", "row_var", "col_var"}   # a matrix is factored
    assert set(opt_o.state[p_o[0]]) == {"step", "variance"}             # a scalar is not
    assert opt_o.state[p_o[3]]["row_var"].shape == (2, 3, 1)            # 3-D: batched factors
    assert opt_o.state[p_o[3]]["col_var"].shape == (2, 1, 2)


def test_configs_cover_every_option():
    for key in ("lr", "weight_decay", "maximize", "eps", "beta2_decay", "d"):
        assert len({repr(c.get(key)) for c in CONFIGS}) >= 2, key


def test_tensor_lr_matches_torch():
    """A float64 1-element lr. (With a float32 one torch's step size is rounded to float32.)"""
    lr = torch.tensor([0.05], dtype=torch.float64)
    opt_o, opt_t, p_o, p_t = run_pair("Adafactor", {"lr": lr}, {}, steps=10, lr_change_at=None)
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64])


def test_a_real_loss_matches_torch():
    torch.manual_seed(0)
    x, y = torch.randn(32, 4, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    net_o = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    net_t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    net_t.load_state_dict(net_o.state_dict())
    opt_o = ours.Adafactor(net_o.parameters(), lr=0.05, weight_decay=0.01)
    opt_t = torch.optim.Adafactor(net_t.parameters(), lr=0.05, weight_decay=0.01, foreach=False)
    for _ in range(30):
        for net, opt in ((net_o, opt_o), (net_t, opt_t)):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
            opt.step()
    assert_same_state(opt_o, opt_t, list(net_o.parameters()), list(net_t.parameters()), 1e-10)


# ---------------------------------------------------------------- by hand (numpy)

def adafactor_by_hand(theta, grads, lr=1e-2, c=-0.8, eps1=np.finfo(np.float64).eps, eps2=1e-3, d=1.0,
                      lam=0.0):
    """The algorithm box, one line per equation, for an m × n matrix with numpy."""
    theta = np.array(theta, dtype=np.float64)
    R = np.zeros((theta.shape[0], 1))
    C = np.zeros((1, theta.shape[1]))
    out = []
    for t, g in enumerate(grads, start=1):
        g = np.asarray(g, dtype=np.float64)
        beta2 = 1 - t ** c
        rho = min(lr, 1 / math.sqrt(t))
        alpha = max(eps2, np.sqrt(np.mean(theta ** 2))) * rho
        theta = (1 - lr * lam) * theta
        R = beta2 * R + (1 - beta2) * np.mean(g ** 2, axis=1, keepdims=True)
        C = beta2 * C + (1 - beta2) * np.mean(g ** 2, axis=0, keepdims=True)
        V = R @ C / max(np.mean(R), eps1)
        U = g / np.maximum(np.sqrt(V), eps1)
        U_hat = U / max(1.0, np.sqrt(np.mean(U ** 2)) / d)
        theta = theta - alpha * U_hat
        out.append((theta, R, C))
    return out


def run_ours(theta0, grads, **kwargs):
    p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    opt = ours.Adafactor([p], **kwargs)
    out = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        s = opt.state[p]
        out.append((p.detach().numpy().copy(), s["row_var"].numpy().copy(), s["col_var"].numpy().copy()))
    return out


THETA0 = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
GRADS = [[[0.3, -0.2, 1.0], [0.05, 0.4, -0.6]],
         [[-0.1, 0.7, 0.2], [0.9, -0.3, 0.1]],
         [[0.2, 0.2, -0.4], [0.0, 0.5, 0.3]]]


@pytest.mark.parametrize("kwargs,hand", [
    ({}, {}),
    ({"lr": 0.5, "weight_decay": 0.1, "d": 1.2}, {"lr": 0.5, "lam": 0.1, "d": 1.2}),
    ({"beta2_decay": -0.5, "eps": (0.3, 5.0)}, {"c": -0.5, "eps1": 0.3, "eps2": 5.0}),
], ids=["defaults", "lr-decay-clip", "beta2-eps"])
def test_three_steps_on_a_2x3_matrix_by_hand(kwargs, hand):
    got, expected = run_ours(THETA0, GRADS, **kwargs), adafactor_by_hand(THETA0, GRADS, **hand)
    for t, ((p, R, C), (pe, Re, Ce)) in enumerate(zip(got, expected), start=1):
        np.testing.assert_allclose(R, Re, rtol=1e-12, err_msg=f"R at step {t}")
        np.testing.assert_allclose(C, Ce, rtol=1e-12, err_msg=f"C at step {t}")
        np.testing.assert_allclose(p, pe, rtol=1e-12, atol=1e-15, err_msg=f"θ at step {t}")


def test_first_step_written_out():
    """Step 1 with the defaults, every number by hand: β2_1 = 0, so R, C are g²'s row and column means."""
    g = np.array(GRADS[0])
    R = np.array([[(0.09 + 0.04 + 1.0) / 3], [(0.0025 + 0.16 + 0.36) / 3]])
    C = np.array([[(0.09 + 0.0025) / 2, (0.04 + 0.16) / 2, (1.0 + 0.36) / 2]])
    V = R @ C / R.mean()
    U = g / np.sqrt(V)
    rms_u = np.sqrt((U ** 2).mean())
    alpha = np.sqrt((np.array(THETA0) ** 2).mean()) * 0.01        # ρ_1 = min(0.01, 1) = 0.01
    expected = np.array(THETA0) - alpha * U / max(1.0, rms_u)
    (p, R_got, C_got), = run_ours(THETA0, GRADS[:1])
    np.testing.assert_allclose(R_got, R, rtol=1e-14)
    np.testing.assert_allclose(C_got, C, rtol=1e-14)
    np.testing.assert_allclose(p, expected, rtol=1e-13)
    assert rms_u > 1.0  # the clipping was active: the test covers it


def test_rank_one_squared_gradient_is_recovered_exactly():
    """If g² = u vᵀ (g = a bᵀ), the factored estimate at t = 1 is g² itself, so U = sign(g) and
    every entry moves by exactly α_1 = RMS(θ_0) ρ_1 against its gradient's sign."""
    a, b = np.array([1.0, -2.0, 0.5]), np.array([3.0, 0.25, -1.0, 2.0])
    g = np.outer(a, b)
    theta0 = np.arange(12, dtype=np.float64).reshape(3, 4) / 7 - 0.6
    (p, _, _), = run_ours(theta0.tolist(), [g.tolist()], lr=0.1)
    alpha = np.sqrt((theta0 ** 2).mean()) * 0.1
    np.testing.assert_allclose(p, theta0 - alpha * np.sign(g), rtol=1e-13, atol=1e-15)


def test_vector_keeps_the_full_variance():
    """For a vector V̂ is the plain running mean of g² (with β2_t = 1 − t^c); by hand for two steps."""
    p = torch.tensor([1.0, -2.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = ours.Adafactor([p], lr=0.3)
    g1, g2 = np.array([0.5, 0.1, -1.0]), np.array([-0.2, 0.3, 0.4])
    theta = p.detach().numpy().copy()
    for t, g in enumerate((g1, g2), start=1):
        p.grad = torch.tensor(g)
        opt.step()
        b2 = 1 - t ** -0.8
        V = g ** 2 if t == 1 else b2 * g1 ** 2 + (1 - b2) * g ** 2
        U = g / np.sqrt(V)
        alpha = max(1e-3, np.sqrt((theta ** 2).mean())) * min(0.3, 1 / math.sqrt(t))
        theta = theta - alpha * U / max(1.0, np.sqrt((U ** 2).mean()))
        np.testing.assert_allclose(opt.state[p]["variance"].numpy(), V, rtol=1e-14)
        np.testing.assert_allclose(p.detach().numpy(), theta, rtol=1e-13)


def test_eps1_floors_the_root_of_the_variance():
    """Vector, t = 1: V̂ = g², so U = g / max(|g|, ε1): ±1 where |g| ≥ ε1, g/ε1 below it."""
    p = torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = ours.Adafactor([p], lr=0.1, eps=(1e-2, 1e-3), d=100.0)        # d large: no clipping
    p.grad = torch.tensor([1e-4, -2.0, 5e-3, 0.5], dtype=torch.float64)
    opt.step()
    U = torch.tensor([1e-2, -1.0, 0.5, 1.0], dtype=torch.float64)
    torch.testing.assert_close(p.detach(), 1.0 - 0.1 * U, atol=1e-15, rtol=0)   # α_1 = RMS(θ_0) ρ_1 = 0.1


def test_zero_parameters_move_by_eps2():
    """θ_0 = 0: RMS(θ) = 0, so the step size is ε2 ρ_t (the paper's reason for ε2)."""
    p = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    opt = ours.Adafactor([p], eps=(None, 1e-2))
    p.grad = torch.ones(2, 2, dtype=torch.float64)
    opt.step()
    torch.testing.assert_close(p.detach(), torch.full((2, 2), -1e-2 * 1e-2, dtype=torch.float64))
    assert rms(p.detach()).item() == pytest.approx(1e-4)


# ---------------------------------------------------------------- drop-in surface

def test_signature_matches_torch():
    sig = lambda cls: [(p.name, p.kind, p.default)  # noqa: E731
                       for p in inspect.signature(cls.__init__).parameters.values()]
    assert sig(ours.Adafactor) == sig(torch.optim.Adafactor)


def test_defaults_and_group_keys_match_torch():
    o, t = ours.Adafactor(make_params(shapes=[(2,)])), torch.optim.Adafactor(make_params(shapes=[(2,)]))
    assert o.defaults == t.defaults
    assert {k: v for k, v in o.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in t.param_groups[0].items() if k != "params"}


def through_bytes(state_dict):
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    buf.seek(0)
    return torch.load(buf)


def drive(opt, params, start, steps):
    for step in range(start, start + steps):
        set_grads(params, step, none_on=lambda i, s: i == 4 and s % 3 == 0)
        opt.step()


@pytest.mark.parametrize("direction", ["ours_to_torch", "torch_to_ours", "ours_to_ours"])
def test_checkpoints_move_between_torch_and_ours(direction):
    config = {"lr": 0.1, "weight_decay": 0.05, "beta2_decay": -0.6}
    first, second = {"ours_to_torch": (ours.Adafactor, torch.optim.Adafactor),
                     "torch_to_ours": (torch.optim.Adafactor, ours.Adafactor),
                     "ours_to_ours": (ours.Adafactor, ours.Adafactor)}[direction]
    flags = lambda cls: {"foreach": False} if cls is torch.optim.Adafactor else {}  # noqa: E731
    params = make_params()
    reference = clone_params(params)
    opt_ref = build(torch.optim.Adafactor, reference, config, GROUP1, flags(torch.optim.Adafactor))
    drive(opt_ref, reference, 1, 20)
    opt = build(first, params, config, GROUP1, flags(first))
    drive(opt, params, 1, 8)
    checkpoint = through_bytes(opt.state_dict())
    fresh = clone_params(params)
    opt2 = build(second, fresh, {"lr": 9.0}, {"lr": 9.0}, flags(second))  # hyper-parameters from the checkpoint
    opt2.load_state_dict(checkpoint)
    drive(opt2, fresh, 9, 12)
    assert opt2.param_groups[1]["d"] == 2.0
    assert_same_state(opt2, opt_ref, fresh, reference, 1e-12)


BAD = [({"lr": -0.1}, "lr"), ({"beta2_decay": 0.5}, "beta2_decay"), ({"eps": (-1e-3, 1e-3)}, "eps[0]"),
       ({"eps": (None, -1.0)}, "eps[1]"), ({"d": 0.5}, "d"), ({"weight_decay": -0.01}, "weight_decay")]


@pytest.mark.parametrize("kwargs,arg", BAD, ids=[a for _, a in BAD])
def test_bad_hyper_parameter_is_refused_naming_it(kwargs, arg):
    with pytest.raises(ValueError):
        torch.optim.Adafactor(make_params(shapes=[(2,)]), **kwargs)
    with pytest.raises(ValueError, match=rf"Invalid {arg.replace('[', '.').replace(']', '.')}: .*expected") as err:
        ours.Adafactor(make_params(shapes=[(2,)]), **kwargs)
    value = list(kwargs.values())[0]
    value = value[int(arg[4])] if arg.startswith("eps[") else value
    assert str(value) in str(err.value)


def test_message_states_the_allowed_range():
    with pytest.raises(ValueError, match=r"Invalid d: 0.5 \(expected 1.0 <= d\)"):
        ours.Adafactor(make_params(shapes=[(2,)]), d=0.5)
    with pytest.raises(ValueError, match=r"Invalid beta2_decay: 0.5 \(expected beta2_decay <= 0.0\)"):
        ours.Adafactor(make_params(shapes=[(2,)]), beta2_decay=0.5)


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"beta2_decay": 0.0}, {"d": 1.0}, {"eps": (0.0, 0.0)}])
def test_boundary_values_torch_accepts_are_accepted(kwargs):
    a = make_params()
    b = clone_params(a)
    o, t = ours.Adafactor(a, **kwargs), torch.optim.Adafactor(b, **kwargs, foreach=False)
    for step in range(1, 4):
        for ps, opt in ((a, o), (b, t)):
            set_grads(ps, step)
            opt.step()
    assert_same_state(o, t, a, b, 1e-12)


def test_complex_and_sparse_are_refused_like_torch():
    for cls in (ours.Adafactor, torch.optim.Adafactor):
        p = make_params(complex_=True, shapes=[(2, 2)])
        set_grads(p, 1)
        with pytest.raises(RuntimeError, match="complex"):
            cls(p).step()
        emb = torch.nn.Embedding(4, 2, sparse=True)
        emb(torch.tensor([1, 2])).sum().backward()
        with pytest.raises(RuntimeError, match="sparse"):
            cls(emb.parameters()).step()


@pytest.mark.parametrize("flag", ["foreach"])
def test_implementation_flag_accepted(flag):
    """foreach runs our own multi-tensor path (tested equal to the loop in test_optim_fast.py)."""
    assert ours.Adafactor(make_params(shapes=[(2,)]), **{flag: True}).param_groups[0][flag] is True
    assert ours.Adafactor(make_params(shapes=[(2,)]), **{flag: False}).param_groups[0][flag] is False
