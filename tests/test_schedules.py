"""optimlab.schedules: hand-computed values, equality with torch's schedulers and with
optimlab's scheduler classes where they describe the same schedule, and the argument checks."""

import math

import pytest
import torch

from optimlab.optim import lr_scheduler as ours
from optimlab import schedules as S

TL = torch.optim.lr_scheduler
TOL = 1e-12


def sequence(lib, make, n, lr0=0.3):
    """The learning rates a scheduler gives for steps 0..n (one group, base rate lr0)."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr0)
    sched = make(lib, opt)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(n):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs


def assert_same(function_values, make, n, lr0=0.3, libs=(TL, ours)):
    """The plain function equals torch's class and ours for steps 0..n."""
    for lib in libs:
        expected = sequence(lib, make, n, lr0)
        assert len(function_values) == len(expected)
        for t, (a, b) in enumerate(zip(function_values, expected)):
            assert abs(a - b) <= TOL, f"{lib.__name__} step {t}: {a} != {b}"


# ---------------------------------------------------------------------------------------------
# Hand-computed values
# ---------------------------------------------------------------------------------------------

def test_factor_schedule_by_hand():
    """η0 = 2, α = 0.9, floor 0.01: 2·0.9^t until it would drop below 0.01 (after t = 50)."""
    f = lambda t: S.factor_lr(t, 2.0, 0.9, 0.01)  # noqa: E731
    assert f(0) == 2.0
    assert f(1) == pytest.approx(1.8, abs=TOL)
    assert f(2) == pytest.approx(1.62, abs=TOL)
    assert f(10) == pytest.approx(0.6973568802, abs=TOL)  # 2 · 0.3486784401
    assert f(50) == pytest.approx(0.0103075504146402, abs=TOL)  # 2·0.9^50 > 0.01
    assert f(51) == 0.01  # 2·0.9^51 ≈ 0.00928 < 0.01: floored
    assert f(1000) == 0.01


def test_factor_schedule_equals_its_recursion():
    eta, lrs = 2.0, []
    for _ in range(120):
        lrs.append(eta)
        eta = max(0.01, 0.9 * eta)  # η_{t+1} = max(η_min, α η_t)
    assert [S.factor_lr(t, 2.0, 0.9, 0.01) for t in range(120)] == pytest.approx(lrs, rel=1e-12)


def test_multi_factor_schedule_by_hand():
    """η0 = 0.5, halved at steps 15 and 30."""
    f = lambda t: S.multistep_lr(t, 0.5, [15, 30], 0.5)  # noqa: E731
    assert [f(t) for t in (0, 14, 15, 29, 30, 31, 500)] == [0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125]


def test_cosine_schedule_by_hand():
    """T = 20, η0 = 0.3, final 0.01: η_t = 0.01 + 0.145 (1 + cos(π t / 20))."""
    f = lambda t: S.cosine_lr(t, 0.3, 20, 0.01)  # noqa: E731
    assert f(0) == pytest.approx(0.3, abs=TOL)
    assert f(5) == pytest.approx(0.01 + 0.145 * (1 + 0.7071067811865476), abs=TOL)  # cos(π/4)
    assert f(5) == pytest.approx(0.25753048327204936, abs=TOL)
    assert f(10) == pytest.approx(0.155, abs=TOL)
    assert f(15) == pytest.approx(0.05246951672795064, abs=TOL)
    assert f(20) == pytest.approx(0.01, abs=TOL)
    assert f(21) == f(40) == f(20)  # constant after T


def test_warmup_cosine_by_hand_starts_low():
    """5 warmup steps from 0.1·η0, then cosine from 0.3 to 0.01 over steps 5..20."""
    f = lambda t: S.warmup_cosine_lr(t, 0.3, 5, 20, 0.01, start_factor=0.1)  # noqa: E731
    assert f(0) == pytest.approx(0.03, abs=TOL)  # the first update uses a low rate
    assert [f(t) for t in range(1, 6)] == pytest.approx([0.084, 0.138, 0.192, 0.246, 0.3], abs=TOL)
    assert f(10) == pytest.approx(0.2275, abs=TOL)  # a third of the cosine: 0.01 + 0.29 · 0.75
    assert f(20) == pytest.approx(0.01, abs=TOL)
    assert f(35) == pytest.approx(0.01, abs=TOL)
    assert all(f(t) < f(t + 1) for t in range(5)) and all(f(t) > f(t + 1) for t in range(5, 20))


def test_other_values_by_hand():
    assert S.constant_lr(17, 0.2) == 0.2
    assert S.piecewise_constant_lr(0, [3, 7], [1.0, 0.4, 0.1]) == 1.0
    assert S.piecewise_constant_lr(3, [3, 7], [1.0, 0.4, 0.1]) == 0.4
    assert S.piecewise_constant_lr(7.5, [3, 7], [1.0, 0.4, 0.1]) == 0.1
    assert S.step_lr(7, 1.0, 3, 0.5) == 0.25  # ⌊7/3⌋ = 2
    assert S.exponential_lr(3, 2.0, 0.5) == 0.25
    assert S.polynomial_lr(2, 1.0, 4, 2.0) == 0.25  # (1 − 2/4)²
    assert S.polynomial_lr(9, 1.0, 4, 2.0) == 0.0
    assert S.linear_lr(0, 0.3) == pytest.approx(0.1)  # torch's defaults: start at η0/3
    assert S.linear_warmup_lr(2, 1.0, 4, 0.2) == pytest.approx(0.6)  # 0.2 + 0.8 · 2/4
    assert S.linear_warmup_lr(0, 1.0, 0) == 1.0  # no warmup
    assert S.cosine_annealing_lr(15, 1.0, 10) == pytest.approx(0.5)  # climbing back after T_max
    assert S.cosine_annealing_lr(20, 1.0, 10) == pytest.approx(1.0)


def test_one_cycle_by_hand():
    """max_lr 1, T = 10, pct_start 0.3: 0.04 → 1 at step 2 → 0.04/1e4 at step 9."""
    assert S.one_cycle_lr(0, 1.0, 10) == pytest.approx(0.04, abs=TOL)
    assert S.one_cycle_lr(1, 1.0, 10) == pytest.approx(0.52, abs=TOL)  # half-way up the cosine
    assert S.one_cycle_lr(2, 1.0, 10) == pytest.approx(1.0, abs=TOL)
    assert S.one_cycle_lr(9, 1.0, 10) == pytest.approx(4e-6, abs=TOL)
    assert S.one_cycle_lr(10, 1.0, 10) == pytest.approx(S.one_cycle_lr(8, 1.0, 10), abs=TOL)
    assert S.one_cycle_lr(1, 1.0, 10, anneal_strategy="linear") == pytest.approx(0.52, abs=TOL)
    assert S.one_cycle_momentum(0, 10) == pytest.approx(0.95)
    assert S.one_cycle_momentum(2, 10) == pytest.approx(0.85)
    assert S.one_cycle_momentum(9, 10) == pytest.approx(0.95)
    # three phases: up to max_lr at step 2, back to 0.04 at step 4, down to 4e-6 at step 9
    assert [S.one_cycle_lr(t, 1.0, 10, three_phase=True) for t in (0, 2, 4, 9)] == \
        pytest.approx([0.04, 1.0, 0.04, 4e-6], abs=TOL)
    with pytest.raises(ValueError, match="total_steps"):
        S.one_cycle_lr(11, 1.0, 10)


def test_one_cycle_linear_goes_negative_one_step_past_the_end_like_torch():
    value = S.one_cycle_lr(10, 1.0, 10, anneal_strategy="linear")
    assert value == pytest.approx(4e-6 - (1.0 - 4e-6) / 7, abs=TOL) and value < 0
    assert_same([S.one_cycle_lr(t, 1.0, 10, anneal_strategy="linear") for t in range(11)],
                lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10, anneal_strategy="linear"), 10,
                lr0=1.0)


def test_cosine_restarts_by_hand():
    """T_0 = 3, T_mult = 2: restarts at steps 3, 9, 21; half-way through a cycle it is η0/2."""
    f = lambda t: S.cosine_restarts_lr(t, 1.0, 3, 2)  # noqa: E731
    assert [f(t) for t in (0, 3, 9, 21)] == pytest.approx([1.0] * 4, abs=TOL)
    assert f(6) == pytest.approx(0.5, abs=TOL)  # 3 of 6 steps into the second cycle
    assert f(15) == pytest.approx(0.5, abs=TOL)  # 6 of 12 into the third
    assert f(4.5) == pytest.approx((1 + math.sqrt(0.5)) / 2, abs=TOL)  # 1.5 of 6: a fractional step
    assert f(2) > f(8) > f(20) > 0.0  # each cycle ends closer to eta_min
    assert S.cosine_restarts_lr(5, 1.0, 4) == pytest.approx(S.cosine_restarts_lr(1, 1.0, 4))


def test_constant_factor_and_multiplicative_by_hand():
    assert [S.constant_factor_lr(t, 0.3, 0.5, 3) for t in range(5)] == [0.15, 0.15, 0.15, 0.3, 0.3]
    assert S.constant_factor_lr(0, 0.3) == pytest.approx(0.1)  # torch's default factor 1/3
    assert S.multiplicative_lr(0, 2.0, lambda s: 0.5) == 2.0
    assert S.multiplicative_lr(3, 2.0, lambda s: 0.5) == 0.25
    assert S.multiplicative_lr(3, 2.0, lambda s: 1 / s) == pytest.approx(2.0 / 6, abs=TOL)  # 2 / 3!


def test_cyclic_by_hand():
    """base 0.1, max 1.0, 2 steps up and 2 down: 0.1, 0.55, 1.0, 0.55, 0.1, ..."""
    f = lambda t, **kw: S.cyclic_lr(t, 0.1, 1.0, 2, **kw)  # noqa: E731
    assert [f(t) for t in range(9)] == pytest.approx([0.1, 0.55, 1.0, 0.55] * 2 + [0.1], abs=TOL)
    assert f(6, mode="triangular2") == pytest.approx(0.1 + 0.9 / 2, abs=TOL)  # peak of cycle 2
    assert f(10, mode="triangular2") == pytest.approx(0.1 + 0.9 / 4, abs=TOL)  # peak of cycle 3
    assert f(2, mode="exp_range", gamma=0.5) == pytest.approx(0.1 + 0.9 * 0.25, abs=TOL)  # γ^t, t = 2
    assert f(1, scale_fn=lambda c: 0.2) == pytest.approx(0.1 + 0.9 * 0.5 * 0.2, abs=TOL)
    assert f(1, scale_fn=lambda n: n / 10, scale_mode="iterations") == pytest.approx(0.145, abs=TOL)
    # 1 step up, 3 down: 1.0 at t = 1, then 0.7, 0.4, 0.1
    assert [S.cyclic_lr(t, 0.1, 1.0, 1, 3) for t in range(5)] == pytest.approx([0.1, 1.0, 0.7, 0.4, 0.1],
                                                                              abs=TOL)
    assert [S.cyclic_momentum(t, 0.8, 0.9, 2) for t in range(5)] == \
        pytest.approx([0.9, 0.85, 0.8, 0.85, 0.9], abs=TOL)  # opposite to the rate


# ---------------------------------------------------------------------------------------------
# The plain functions equal torch's schedulers and optimlab's classes
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("factor,total", [(1 / 3, 5), (0.5, 1), (0.0, 4), (1.0, 3)])
def test_constant_factor(factor, total):
    n = total - 1 if factor == 0.0 else 3 * total  # factor 0: torch divides by zero at total_iters
    assert_same([S.constant_factor_lr(t, 0.3, factor, total) for t in range(n + 1)],
                lambda L, o: L.ConstantLR(o, factor, total), n)


def test_multiplicative():
    lam = lambda s: 0.9 if s % 4 else 1.2  # noqa: E731
    assert_same([S.multiplicative_lr(t, 0.3, lam) for t in range(31)],
                lambda L, o: L.MultiplicativeLR(o, lam), 30)


@pytest.mark.parametrize("kwargs", [
    dict(step_size_up=4),
    dict(step_size_up=2, step_size_down=5, mode="triangular2"),
    dict(step_size_up=3, mode="exp_range", gamma=0.95),
    dict(step_size_up=2.5, step_size_down=1.5, scale_fn=lambda c: 1 / c),
    dict(step_size_up=3, step_size_down=0, scale_fn=lambda n: 0.99 ** n, scale_mode="iterations"),
], ids=["triangular", "triangular2", "exp_range", "scale_fn-cycle", "scale_fn-iterations"])
def test_cyclic(kwargs):
    lrs = [S.cyclic_lr(t, 0.01, 0.3, **kwargs) for t in range(41)]
    momenta = [S.cyclic_momentum(t, 0.8, 0.95, **kwargs) for t in range(41)]
    assert_same(lrs, lambda L, o: L.CyclicLR(o, 0.01, 0.3, cycle_momentum=False, **kwargs), 40)
    for lib in (TL, ours):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3, momentum=0.9)
        sched = lib.CyclicLR(opt, 0.01, 0.3, base_momentum=0.8, max_momentum=0.95, **kwargs)
        seen = [opt.param_groups[0]["momentum"]]
        for _ in range(40):
            opt.step()
            sched.step()
            seen.append(opt.param_groups[0]["momentum"])
        assert seen == pytest.approx(momenta, abs=TOL)


def test_constant():
    assert_same([S.constant_lr(t, 0.3) for t in range(20)], lambda L, o: L.LambdaLR(o, lambda t: 1.0), 19)


def test_piecewise_constant_with_geometric_values_is_multistep():
    values = [S.piecewise_constant_lr(t, [4, 9], [0.3, 0.3 * 0.2, 0.3 * 0.2 ** 2]) for t in range(30)]
    assert_same(values, lambda L, o: L.MultiStepLR(o, [4, 9], 0.2), 29)


@pytest.mark.parametrize("step_size,gamma", [(1, 0.5), (3, 0.1), (7, 0.9)])
def test_step(step_size, gamma):
    n = 3 * step_size * 3
    assert_same([S.step_lr(t, 0.3, step_size, gamma) for t in range(n + 1)],
                lambda L, o: L.StepLR(o, step_size, gamma), n)


@pytest.mark.parametrize("milestones", [[15, 30], [0, 3, 3, 10], [7]])
def test_multistep(milestones):
    assert_same([S.multistep_lr(t, 0.3, milestones, 0.5) for t in range(61)],
                lambda L, o: L.MultiStepLR(o, milestones, 0.5), 60)


def test_factor_without_floor_is_exponential():
    assert_same([S.factor_lr(t, 0.3, 0.9) for t in range(61)], lambda L, o: L.ExponentialLR(o, 0.9), 60)


def test_factor_with_floor_as_lambda():
    lam = lambda t: S.factor_lr(t, 1.0, 0.9, 0.01 / 2.0)  # noqa: E731  (η0 = 2 → floor 0.01)
    assert_same([S.factor_lr(t, 2.0, 0.9, 0.01) for t in range(120)],
                lambda L, o: L.LambdaLR(o, lam), 119, lr0=2.0)


@pytest.mark.parametrize("gamma", [0.5, 0.95, 1.05])
def test_exponential(gamma):
    assert_same([S.exponential_lr(t, 0.3, gamma) for t in range(61)],
                lambda L, o: L.ExponentialLR(o, gamma), 60)


@pytest.mark.parametrize("total_iters,power", [(10, 1.0), (7, 2.0), (5, 0.5), (4, 0.0)])
def test_polynomial(total_iters, power):
    n = 3 * total_iters
    assert_same([S.polynomial_lr(t, 0.3, total_iters, power) for t in range(n + 1)],
                lambda L, o: L.PolynomialLR(o, total_iters, power), n)


@pytest.mark.parametrize("T_max,eta_min", [(10, 0.0), (20, 0.01), (1, 0.05), (7, 0.3)])
def test_cosine_annealing(T_max, eta_min):
    n = 3 * T_max
    assert_same([S.cosine_annealing_lr(t, 0.3, T_max, eta_min) for t in range(n + 1)],
                lambda L, o: L.CosineAnnealingLR(o, T_max, eta_min), n)


def test_cosine_with_final_value_equals_torch_up_to_T_then_stays():
    lrs = [S.cosine_lr(t, 0.3, 20, 0.01) for t in range(61)]
    assert_same(lrs[:21], lambda L, o: L.CosineAnnealingLR(o, 20, 0.01), 20)
    torch_lrs = sequence(TL, lambda L, o: L.CosineAnnealingLR(o, 20, 0.01), 60)
    assert lrs[20:] == [lrs[20]] * 41
    assert torch_lrs[40] == pytest.approx(0.3)  # torch's cosine is back at η0 at 2T
    # the same schedule as a class: LambdaLR with the plain function as the factor
    assert_same(lrs, lambda L, o: L.LambdaLR(o, lambda t: S.cosine_lr(t, 1.0, 20, 0.01 / 0.3)), 60,
                libs=(ours,))


@pytest.mark.parametrize("start,end,total", [(1 / 3, 1.0, 5), (0.2, 0.9, 6), (1.0, 0.0, 8), (0.5, 0.5, 3)])
def test_linear(start, end, total):
    n = 3 * total
    assert_same([S.linear_lr(t, 0.3, start, end, total) for t in range(n + 1)],
                lambda L, o: L.LinearLR(o, start, end, total), n)


@pytest.mark.parametrize("warmup,start", [(5, 0.1), (1, 0.5), (10, 1 / 3)])
def test_linear_warmup(warmup, start):
    n = 3 * warmup
    assert_same([S.linear_warmup_lr(t, 0.3, warmup, start) for t in range(n + 1)],
                lambda L, o: L.LinearLR(o, start, 1.0, warmup), n)


@pytest.mark.parametrize("warmup,total,final", [(5, 20, 0.01), (1, 4, 0.0), (10, 100, 0.001)])
def test_warmup_cosine_is_sequential_linear_then_cosine(warmup, total, final):
    lrs = [S.warmup_cosine_lr(t, 0.3, warmup, total, final, start_factor=0.1) for t in range(3 * total + 1)]
    make = lambda L, o: L.SequentialLR(  # noqa: E731
        o, [L.LinearLR(o, 0.1, total_iters=warmup),
            L.CosineAnnealingLR(o, T_max=total - warmup, eta_min=final)], milestones=[warmup])
    assert_same(lrs[:total + 1], make, total)
    assert lrs[total:] == [lrs[total]] * (2 * total + 1)  # then constant (torch's climbs back)


def test_warmup_cosine_without_warmup_is_cosine():
    assert [S.warmup_cosine_lr(t, 0.3, 0, 20, 0.01) for t in range(40)] == \
        [S.cosine_lr(t, 0.3, 20, 0.01) for t in range(40)]


@pytest.mark.parametrize("kwargs", [
    dict(total_steps=20),
    dict(total_steps=37, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    dict(total_steps=30, three_phase=True),
    dict(total_steps=24, anneal_strategy="linear", three_phase=True, pct_start=0.4),
    dict(total_steps=15, pct_start=0.0),
    dict(total_steps=15, pct_start=1.0),
])
def test_one_cycle(kwargs):
    n = kwargs["total_steps"]
    lr_keys = ("total_steps", "pct_start", "anneal_strategy", "div_factor", "final_div_factor",
               "three_phase")
    lr_kwargs = {k: v for k, v in kwargs.items() if k in lr_keys}
    m_kwargs = {k: v for k, v in kwargs.items() if k in ("total_steps", "pct_start",
                                                          "anneal_strategy", "three_phase")}
    last = n if kwargs.get("pct_start") != 1.0 else n - 1  # pct_start=1: step T is a 0-step phase
    lrs = [S.one_cycle_lr(t, 0.3, **lr_kwargs) for t in range(last + 1)]
    momenta = [S.one_cycle_momentum(t, **m_kwargs) for t in range(last + 1)]
    assert_same(lrs, lambda L, o: L.OneCycleLR(o, 0.3, **kwargs), last)
    for lib in (TL, ours):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3, momentum=0.9)
        sched = lib.OneCycleLR(opt, 0.3, **kwargs)
        seen = [opt.param_groups[0]["momentum"]]
        for _ in range(last):
            opt.step()
            sched.step()
            seen.append(opt.param_groups[0]["momentum"])
        assert seen == pytest.approx(momenta, abs=TOL)


def test_one_cycle_zero_length_phase_is_a_value_error():
    with pytest.raises(ValueError, match="pct_start"):
        S.one_cycle_lr(15, 1.0, 15, pct_start=1.0)  # torch: ZeroDivisionError at this step
    with pytest.raises(ZeroDivisionError):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3, momentum=0.9)
        sched = TL.OneCycleLR(opt, 0.3, total_steps=15, pct_start=1.0)
        for _ in range(15):
            opt.step()
            sched.step()


@pytest.mark.parametrize("T_0,T_mult,eta_min", [(4, 1, 0.0), (3, 2, 0.01), (2, 3, 0.0), (10, 1, 0.05)])
def test_cosine_restarts(T_0, T_mult, eta_min):
    n = 3 * T_0 * T_mult + 10
    assert_same([S.cosine_restarts_lr(t, 0.3, T_0, T_mult, eta_min) for t in range(n + 1)],
                lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0, T_mult, eta_min), n)


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------

BAD = [
    (S.constant_lr, (0, -0.1), "lr0"),
    (S.constant_lr, (-1, 0.1), "t"),
    (S.constant_lr, (math.nan, 0.1), "t"),
    (S.piecewise_constant_lr, (0, [3, 2], [1, 2, 3]), "boundaries"),
    (S.piecewise_constant_lr, (0, [3], [1.0]), "values"),
    (S.piecewise_constant_lr, (0, [3], [1.0, -2.0]), r"values\[1\]"),
    (S.step_lr, (0, 0.1, 0), "step_size"),
    (S.step_lr, (0, 0.1, 3, 0.0), "gamma"),
    (S.multistep_lr, (0, 0.1, [5, -1]), r"milestones\[1\]"),
    (S.multistep_lr, (0, 0.1, [2.5]), "milestones"),
    (S.factor_lr, (0, 0.1, 1.5), "factor"),
    (S.factor_lr, (0, 0.1, 0.0), "factor"),
    (S.factor_lr, (0, 0.1, 0.9, 0.2), "floor"),
    (S.factor_lr, (0, 0.1, 0.9, -0.01), "floor"),
    (S.exponential_lr, (0, 0.1, -0.9), "gamma"),
    (S.polynomial_lr, (0, 0.1, 0), "total_iters"),
    (S.polynomial_lr, (0, 0.1, 5, -1.0), "power"),
    (S.cosine_lr, (0, 0.1, 0), "total_steps"),
    (S.cosine_lr, (0, 0.1, 10, -0.01), "lr_final"),
    (S.cosine_annealing_lr, (0, 0.1, 10.5), "T_max"),
    (S.cosine_annealing_lr, (0, 0.1, 10, math.inf), "eta_min"),
    (S.linear_lr, (0, 0.1, 0.0), "start_factor"),
    (S.linear_lr, (0, 0.1, 0.5, 1.2), "end_factor"),
    (S.linear_lr, (0, 0.1, 0.5, 1.0, 0), "total_iters"),
    (S.linear_warmup_lr, (0, 0.1, -1), "warmup_steps"),
    (S.linear_warmup_lr, (0, 0.1, 5, 0.0), "start_factor"),
    (S.linear_warmup_lr, (0, 0.1, 0, 2.0), "start_factor"),
    (S.warmup_cosine_lr, (0, 0.1, 5, 5), "total_steps"),
    (S.warmup_cosine_lr, (0, 0.1, 5, 20, 0.0, 0.0), "start_factor"),
    (S.one_cycle_lr, (0, 0.1, 0), "total_steps"),
    (S.one_cycle_lr, (0, 0.1, 10, -0.1), "pct_start"),
    (S.one_cycle_lr, (0, 0.1, 10, 0.3, "cosine"), "anneal_strategy"),
    (S.one_cycle_lr, (0, 0.1, 10, 0.3, "cos", 0.0), "div_factor"),
    (S.one_cycle_lr, (0, 0.1, 10, 0.3, "cos", 25.0, -1.0), "final_div_factor"),
    (S.one_cycle_lr, (0, 0.1, 10, 0.1), "pct_start"),  # a phase of zero steps
    (S.one_cycle_momentum, (0, 10, 0.3, "cos", -0.1), "base_momentum"),
    (S.one_cycle_momentum, (0, 10, 0.3, "cos", 0.9, 0.8), "max_momentum"),
    (S.cosine_restarts_lr, (0, 0.1, 0), "T_0"),
    (S.cosine_restarts_lr, (0, 0.1, 5, 0), "T_mult"),
    (S.cosine_restarts_lr, (0, 0.1, 5, 2, -1.0), "eta_min"),
    (S.constant_factor_lr, (0, 0.1, 1.5), "factor"),
    (S.constant_factor_lr, (0, 0.1, 0.5, 0), "total_iters"),
    (S.multiplicative_lr, (-1, 0.1, abs), "t"),
    (S.multiplicative_lr, (2.5, 0.1, abs), "t"),
    (S.cyclic_lr, (0, -0.1, 0.1), "base_lr"),
    (S.cyclic_lr, (0, 0.1, 1.0, 0), "step_size_up"),
    (S.cyclic_lr, (0, 0.1, 1.0, 2, -1), "step_size_down"),
    (S.cyclic_lr, (0, 0.1, 1.0, 2, None, "sine"), "mode"),
    (S.cyclic_lr, (0, 0.1, 1.0, 2, None, "triangular", 1.0, abs, "epochs"), "scale_mode"),
    (S.cyclic_momentum, (0, 0.8, -0.9), "max_momentum"),
]


@pytest.mark.parametrize("fn,args,name", BAD, ids=[f"{b[0].__name__}-{b[2]}" for b in BAD])
def test_invalid_arguments_name_the_argument_and_range(fn, args, name):
    with pytest.raises(ValueError, match=name) as info:
        fn(*args)
    assert "expected" in str(info.value)


@pytest.mark.parametrize("bad", ["0.1", None, True, torch.ones(2)])
def test_non_numbers_are_type_errors(bad):
    with pytest.raises(TypeError, match="lr0"):
        S.cosine_lr(0, bad, 10)
    with pytest.raises(TypeError, match="t"):
        S.cosine_lr(bad, 0.1, 10)


def test_functions_are_pure():
    milestones = [30, 15]
    assert S.multistep_lr(20, 0.5, milestones, 0.5) == 0.25
    assert milestones == [30, 15]  # not sorted in place
    assert [S.cosine_lr(7, 0.3, 20) for _ in range(3)] == [S.cosine_lr(7, 0.3, 20)] * 3
    assert S.step_lr(5.0, 1.0, 2) == S.step_lr(5, 1.0, 2)  # integral floats are fine


def test_public_api():
    for name in S.__all__:
        assert callable(getattr(S, name)) and getattr(S, name).__doc__
    for name in ours.__all__:
        assert getattr(ours, name).__doc__
