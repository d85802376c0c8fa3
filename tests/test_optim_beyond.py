"""Yogi, Lion and Schedule-Free SGD/AdamW: held equal to published reference implementations
(installed from the package index for the tests only) and to steps computed by hand."""

from __future__ import annotations

import copy

import pytest
import torch

import optimlab.optim as ours

F64 = torch.float64
SHAPES = [(4, 3), (5,), (2, 2, 2)]


def start_and_grads(steps: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    start = [0.5 * torch.randn(s, generator=gen, dtype=F64) for s in SHAPES]
    grads = [[torch.randn(s, generator=gen, dtype=F64) for s in SHAPES] for _ in range(steps)]
    return start, grads


def run_side_by_side(make_ours, make_ref, steps=40, seed=0, lr_change=None):
    """Step ours and the reference on the same gradients; return the largest parameter gap and
    how far ours moved (so that a test cannot pass by both doing nothing)."""
    start, grads = start_and_grads(steps, seed)
    a = [torch.nn.Parameter(x.clone()) for x in start]
    b = [torch.nn.Parameter(x.clone()) for x in start]
    opt_a, opt_b = make_ours(a), make_ref(b)
    for step, step_grads in enumerate(grads):
        if lr_change and step == lr_change[0]:
            for opt in (opt_a, opt_b):
                for group in opt.param_groups:
                    group["lr"] = lr_change[1]
        for p, q, g in zip(a, b, step_grads):
            p.grad, q.grad = g.clone(), g.clone()
        opt_a.step()
        opt_b.step()
    gap = max(float((p.detach() - q.detach()).abs().max()) for p, q in zip(a, b))
    moved = max(float((p.detach() - x).abs().max()) for p, x in zip(a, start))
    return gap, moved, opt_a, opt_b, a, b


# ---------------------------------------------------------------- Lion vs lion-pytorch

@pytest.mark.parametrize("kwargs", [dict(lr=1e-3), dict(lr=3e-3, betas=(0.95, 0.98), weight_decay=0.5),
                                    dict(lr=1e-2, betas=(0.9, 0.9), weight_decay=0.1)])
def test_lion_equals_lion_pytorch(kwargs):
    from lion_pytorch import Lion as Reference
    gap, moved, *_ = run_side_by_side(lambda p: ours.Lion(p, **kwargs), lambda p: Reference(p, **kwargs),
                                      lr_change=(20, kwargs["lr"] / 3))
    assert moved > 1e-3 and gap < 1e-12


def test_lion_first_step_by_hand():
    theta = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=F64))
    opt = ours.Lion([theta], lr=0.1, betas=(0.9, 0.99), weight_decay=0.2)
    theta.grad = torch.tensor([3.0, -1e-6, 0.0], dtype=F64)
    opt.step()
    # m_0 = 0: c_1 = 0.1 g, sign (1, −1, 0); θ ← (1 − 0.02)θ − 0.1 sign(c)
    expected = 0.98 * torch.tensor([1.0, -2.0, 0.5], dtype=F64) - 0.1 * torch.tensor([1.0, -1.0, 0.0], dtype=F64)
    torch.testing.assert_close(theta.detach(), expected, rtol=0, atol=1e-15)
    torch.testing.assert_close(opt.state[theta]["exp_avg"], 0.01 * theta.grad, rtol=0, atol=1e-15)
    # second step: c_2 = 0.9 m_1 + 0.1 g_2 with m_1 = 0.01 g_1
    theta.grad = torch.tensor([-0.05, 1.0, 1.0], dtype=F64)
    before = theta.detach().clone()
    opt.step()
    c = 0.9 * 0.01 * torch.tensor([3.0, -1e-6, 0.0], dtype=F64) + 0.1 * theta.grad
    torch.testing.assert_close(theta.detach(), 0.98 * before - 0.1 * c.sign(), rtol=0, atol=1e-15)


def test_lion_every_coordinate_moves_by_lr():
    theta = torch.nn.Parameter(torch.zeros(6, dtype=F64))
    opt = ours.Lion([theta], lr=0.01)
    theta.grad = torch.tensor([1e-9, -5.0, 3e3, -1e-3, 2.0, -7.0], dtype=F64)
    opt.step()
    assert torch.equal(theta.detach().abs(), torch.full((6,), 0.01, dtype=F64))


# ---------------------------------------------------------------- Yogi vs pytorch-optimizer

@pytest.mark.parametrize("kwargs", [dict(lr=1e-2), dict(lr=3e-2, betas=(0.8, 0.99), eps=1e-4, weight_decay=0.1)])
def test_yogi_equals_pytorch_optimizer_from_zero_state(kwargs):
    from pytorch_optimizer import Yogi as Reference
    gap, moved, *_ = run_side_by_side(
        lambda p: ours.Yogi(p, initial_accumulator=0.0, **kwargs),
        lambda p: Reference(p, initial_accumulator=0.0, weight_decouple=False, foreach=False, **kwargs),
        lr_change=(25, kwargs["lr"] / 2))
    assert moved > 1e-2 and gap < 1e-12


def test_yogi_second_moment_moves_additively_by_hand():
    theta = torch.nn.Parameter(torch.tensor([0.0, 0.0], dtype=F64))
    opt = ours.Yogi([theta], lr=0.1, betas=(0.5, 0.9), eps=0.0, initial_accumulator=1.0)
    theta.grad = torch.tensor([2.0, 0.5], dtype=F64)      # g² = (4, 0.25): above and below v_0 = 1
    opt.step()
    v = opt.state[theta]["exp_avg_sq"]
    torch.testing.assert_close(v, torch.tensor([1 + 0.1 * 4, 1 - 0.1 * 0.25], dtype=F64), rtol=0, atol=1e-15)
    m_hat = torch.tensor([2.0, 0.5], dtype=F64)           # m_1/(1 − β1) = g_1
    v_hat = v / 0.1
    torch.testing.assert_close(theta.detach(), -0.1 * m_hat / v_hat.sqrt(), rtol=0, atol=1e-15)


def test_yogi_forgets_a_large_gradient_more_slowly_than_adam():
    """After one huge gradient and then small ones, Adam's v falls geometrically, Yogi's linearly."""
    v_adam = torch.tensor([100.0], dtype=F64)
    v_yogi = v_adam.clone()
    for _ in range(1000):
        g = torch.tensor([0.01], dtype=F64)
        v_adam.mul_(0.99).addcmul_(g, g, value=0.01)
        ours.yogi.yogi_second_moment_(v_yogi, g, 0.99)
    assert float(v_adam) < 1e-1 < 99.0 < float(v_yogi)


# ---------------------------------------------------------------- Schedule-Free vs schedulefree

SF_CASES = [
    ("SGDScheduleFree", dict(lr=0.1)),
    ("SGDScheduleFree", dict(lr=0.05, momentum=0.8, weight_decay=0.1, warmup_steps=7, r=1.0, weight_lr_power=1.0)),
    ("AdamWScheduleFree", dict(lr=0.01)),
    ("AdamWScheduleFree", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, warmup_steps=5, r=0.5)),
]


@pytest.mark.parametrize("name,kwargs", SF_CASES)
def test_schedule_free_equals_the_reference_in_train_and_eval(name, kwargs):
    import schedulefree
    reference = getattr(schedulefree, name)

    def make_ref(params):
        opt = reference(params, foreach=False, **kwargs)
        opt.train()
        return opt

    def make_ours(params):
        opt = getattr(ours, name)(params, **kwargs)
        opt.train()
        return opt

    gap, moved, opt_a, opt_b, a, b = run_side_by_side(make_ours, make_ref, lr_change=(30, kwargs["lr"] / 2))
    assert moved > 1e-2 and gap < 1e-12                         # y agrees
    opt_a.eval()
    opt_b.eval()
    assert max(float((p.detach() - q.detach()).abs().max()) for p, q in zip(a, b)) < 1e-11   # and so does x
    for p, q in zip(a, b):
        torch.testing.assert_close(opt_a.state[p]["z"], opt_b.state[q]["z"], rtol=0, atol=1e-12)


def test_schedule_free_sgd_without_momentum_weights_averages_z_uniformly():
    """β → 0 is not allowed, but r = 0, p = 0 makes c_{t+1} = 1/t: x is the plain mean of z_2..z_{t+1}."""
    theta = torch.nn.Parameter(torch.tensor([1.0, -1.0], dtype=F64))
    opt = ours.SGDScheduleFree([theta], lr=0.1, momentum=0.5, weight_lr_power=0.0)
    zs = []
    for g in ([1.0, 2.0], [0.5, -1.0], [-2.0, 0.0], [0.3, 0.3]):
        theta.grad = torch.tensor(g, dtype=F64)
        opt.step()
        zs.append(opt.state[theta]["z"].clone())
    opt.eval()
    torch.testing.assert_close(theta.detach(), torch.stack(zs).mean(0), rtol=0, atol=1e-14)


def test_schedule_free_refuses_to_step_in_eval_mode_and_round_trips():
    theta = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=F64))
    opt = ours.AdamWScheduleFree([theta], lr=0.1)
    theta.grad = torch.tensor([0.3, -0.2], dtype=F64)
    opt.step()
    y = theta.detach().clone()
    opt.eval()
    with pytest.raises(RuntimeError, match="eval mode"):
        opt.step()
    opt.train()
    torch.testing.assert_close(theta.detach(), y, rtol=0, atol=1e-15)


def test_schedule_free_state_dict_round_trip():
    start, grads = start_and_grads(12)
    a = [torch.nn.Parameter(x.clone()) for x in start]
    opt = ours.AdamWScheduleFree(a, lr=0.01, warmup_steps=3)
    for step_grads in grads[:6]:
        for p, g in zip(a, step_grads):
            p.grad = g.clone()
        opt.step()
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    opt_b = ours.AdamWScheduleFree(b, lr=0.01, warmup_steps=3)
    opt_b.load_state_dict(copy.deepcopy(opt.state_dict()))
    for step_grads in grads[6:]:
        for p, q, g in zip(a, b, step_grads):
            p.grad, q.grad = g.clone(), g.clone()
        opt.step()
        opt_b.step()
    assert max(float((p.detach() - q.detach()).abs().max()) for p, q in zip(a, b)) == 0.0


# ---------------------------------------------------------------- arguments

@pytest.mark.parametrize("cls,kwargs,match", [
    (ours.Lion, {"lr": -1.0}, "lr"), (ours.Lion, {"betas": (1.5, 0.9)}, r"betas\[0\]"),
    (ours.Lion, {"weight_decay": -1.0}, "weight_decay"),
    (ours.Yogi, {"eps": -1.0}, "eps"), (ours.Yogi, {"initial_accumulator": -1.0}, "initial_accumulator"),
    (ours.Yogi, {"betas": (0.9, 1.0)}, r"betas\[1\]"),
    (ours.SGDScheduleFree, {"momentum": 0.0}, "momentum"), (ours.SGDScheduleFree, {"momentum": 1.0}, "momentum"),
    (ours.SGDScheduleFree, {"warmup_steps": -1}, "warmup_steps"), (ours.AdamWScheduleFree, {"r": -1.0}, "r"),
    (ours.AdamWScheduleFree, {"betas": (0.0, 0.9)}, r"betas\[0\]"),
])
def test_bad_arguments_are_refused(cls, kwargs, match):
    with pytest.raises(ValueError, match=f"Invalid {match}"):
        cls([torch.nn.Parameter(torch.ones(2))], **kwargs)
