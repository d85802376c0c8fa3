import math

import pytest
import torch

from optimlab.adam_relatives_tools import WarmupAdam, periodic_run, sma_length
from optimlab.optim import Adam, RAdam, Yogi
from optimlab.optim.radam import rectification


def test_warmup_adam_equals_torch_adam_with_lambda_lr():
    g = torch.Generator().manual_seed(0)
    init = torch.randn(4, 3, generator=g, dtype=torch.float64)
    grads = torch.randn(12, 4, 3, generator=g, dtype=torch.float64)
    a = init.clone().requires_grad_(True)
    b = init.clone().requires_grad_(True)
    ours = WarmupAdam([a], lr=0.1, warmup=5, betas=(0.9, 0.99))
    theirs = torch.optim.Adam([b], lr=0.1, betas=(0.9, 0.99), foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(theirs, lambda s: min(1.0, (s + 1) / 5))
    for grad in grads:
        a.grad, b.grad = grad.clone(), grad.clone()
        ours.step()
        theirs.step()
        sched.step()
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)
    assert ours.param_groups[0]["lr"] == pytest.approx(0.1)


def test_warmup_adam_first_step_by_hand_and_default_length():
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = WarmupAdam([x], lr=1.0, betas=(0.9, 0.98), eps=0.0)
    assert opt.warmup == pytest.approx(100.0)                  # 2 / (1 − 0.98)
    x.grad = torch.tensor([3.0], dtype=torch.float64)
    opt.step()
    assert float(x.detach()) == pytest.approx(-1.0 / 100)             # Adam's first step is η sign(g); η_1 = η/100


def test_warmup_adam_rejects_a_warmup_below_one():
    with pytest.raises(ValueError, match="warmup"):
        WarmupAdam([torch.zeros(1, requires_grad=True)], warmup=0.5)


def test_sma_length_matches_the_paper_and_radam():
    assert sma_length(0.999, 1) == pytest.approx(1.0)           # ρ_1 = 1 for any β2
    assert sma_length(0.999, 5) == pytest.approx(4.996, abs=1e-3)
    assert sma_length(0.999, 6) == pytest.approx(5.994, abs=1e-3)
    assert sma_length(0.999, 10 ** 6) == pytest.approx(1999.0)
    # RAdam's sixth step is its first adaptive one: r_6 · √(1−β2⁶)/(1−β1⁶) · m/(√v+ε) with m, v of a constant g.
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = RAdam([x], lr=1.0, eps=0.0)
    steps = []
    for _ in range(6):
        before = float(x.detach())
        x.grad = torch.ones(1, dtype=torch.float64)
        opt.step()
        steps.append(before - float(x.detach()))
    assert steps[:5] == pytest.approx([1.0] * 5)                # momentum SGD: m̂ = 1
    assert steps[5] == pytest.approx(rectification(sma_length(0.999, 6), 1999.0))


def test_periodic_run_adam_goes_wrong_yogi_does_not():
    adam = periodic_run(lambda p: Adam(p, betas=(0.0, 0.1)))
    yogi = periodic_run(lambda p: Yogi(p, betas=(0.0, 0.1), eps=1e-8, initial_accumulator=0.0))
    assert adam[-1] > 0.9 and yogi[-1] < -0.9
    # the first step by hand: g = 3, m̂ = 3, v̂ = 9, step η = 0.5
    assert adam[0] == pytest.approx(-0.5)
    assert len(adam) == 300 and all(-1 <= x <= 1 for x in adam)
