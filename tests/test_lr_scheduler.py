"""optimlab.optim.lr_scheduler against torch.optim.lr_scheduler: same learning rates (to 1e-12) step by
step, with torch's and optimlab's SGD, two param groups, well past the end of each schedule;
resuming from a state_dict; the warnings; and the argument checks."""

import copy
import types
import warnings

import pytest
import torch

import optimlab.optim
from optimlab.optim import lr_scheduler as ours
from optimlab import schedules

TL = torch.optim.lr_scheduler
TOL = 1e-12
LRS = (0.3, 0.05)  # two param groups with different rates


def make_optimizer(kind, lrs=LRS, momentum=0.9, opt_cls=None, **kwargs):
    params = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    if opt_cls is not None:
        return opt_cls(groups, **kwargs)
    cls = torch.optim.SGD if kind == "torch" else optimlab.optim.SGD
    return cls(groups, momentum=momentum, **kwargs)


def run(lib, make, n, kind="torch", keys=("lr",), **opt_kwargs):
    """Construct the scheduler, then n times: gradient, optimizer.step(), scheduler.step().

    Returns, for step 0..n, the group values under ``keys`` and get_last_lr()."""
    opt = make_optimizer(kind, **opt_kwargs)
    sched = make(lib, opt)
    rows = []

    def record():
        groups = [[g[k][0] if k == "betas" else g[k] for k in keys] for g in opt.param_groups]
        rows.append((groups, list(sched.get_last_lr())))

    record()
    for _ in range(n):
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad = torch.ones_like(p)
        opt.step()
        sched.step()
        record()
    return rows


def assert_rows_close(a, b, tol=TOL):
    assert len(a) == len(b)
    for t, ((ga, la), (gb, lb)) in enumerate(zip(a, b)):
        for x, y in zip([v for g in ga for v in g] + la, [v for g in gb for v in g] + lb):
            assert abs(float(x) - float(y)) <= tol, f"step {t}: {x} != {y}"


# Each case: a factory taking the scheduler module (torch's or ours) and the optimizer, and the
# number of steps to run (about three times the schedule's length, except OneCycleLR, which
# cannot go past its end).
CASES = {
    "LambdaLR": (lambda L, o: L.LambdaLR(o, lambda t: 0.5 ** t + 0.1), 30),
    "LambdaLR-per-group": (lambda L, o: L.LambdaLR(o, [lambda t: 1 / (t + 1), lambda t: 0.9 ** t]), 30),
    "StepLR": (lambda L, o: L.StepLR(o, step_size=3, gamma=0.5), 30),
    "StepLR-default-gamma": (lambda L, o: L.StepLR(o, 4), 30),
    "MultiStepLR": (lambda L, o: L.MultiStepLR(o, milestones=[5, 12], gamma=0.5), 40),
    "MultiStepLR-zero-repeated-unsorted": (lambda L, o: L.MultiStepLR(o, [9, 0, 4, 4], 0.3), 30),
    "ExponentialLR": (lambda L, o: L.ExponentialLR(o, gamma=0.9), 60),
    "ExponentialLR-growth": (lambda L, o: L.ExponentialLR(o, gamma=1.1), 30),
    "PolynomialLR": (lambda L, o: L.PolynomialLR(o, total_iters=7, power=2.0), 25),
    "PolynomialLR-defaults": (lambda L, o: L.PolynomialLR(o), 15),
    "PolynomialLR-power0": (lambda L, o: L.PolynomialLR(o, 4, 0.0), 12),
    "CosineAnnealingLR": (lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.01), 40),
    "CosineAnnealingLR-T1": (lambda L, o: L.CosineAnnealingLR(o, T_max=1), 8),
    "CosineAnnealingLR-long": (lambda L, o: L.CosineAnnealingLR(o, T_max=50), 150),
    "LinearLR": (lambda L, o: L.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6), 25),
    "LinearLR-defaults": (lambda L, o: L.LinearLR(o), 15),
    "LinearLR-decay-to-zero": (lambda L, o: L.LinearLR(o, 1.0, 0.0, 4), 12),
    "SequentialLR-warmup-cosine": (
        lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=5),
                                        L.CosineAnnealingLR(o, T_max=15, eta_min=0.001)], [5]), 60),
    "SequentialLR-three": (
        lambda L, o: L.SequentialLR(o, [L.ExponentialLR(o, 0.9), L.StepLR(o, 2),
                                        L.CosineAnnealingLR(o, 4)], milestones=[3, 8]), 30),
    "SequentialLR-milestone-0": (
        lambda L, o: L.SequentialLR(o, [L.ExponentialLR(o, 0.9), L.LinearLR(o, 0.5)], [0]), 15),
    "OneCycleLR": (lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=20), 20),
    "OneCycleLR-epochs": (lambda L, o: L.OneCycleLR(o, 0.8, epochs=3, steps_per_epoch=7,
                                                    pct_start=0.4, div_factor=10.0), 21),
    "OneCycleLR-three-phase-linear": (
        lambda L, o: L.OneCycleLR(o, 1.0, total_steps=25, pct_start=0.25, three_phase=True,
                                  anneal_strategy="linear", base_momentum=[0.8, 0.7],
                                  max_momentum=0.9), 25),
    "CosineAnnealingWarmRestarts": (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=4), 30),
    "CosineAnnealingWarmRestarts-Tmult": (
        lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01), 63),
    "ConstantLR": (lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=4), 15),
    "ConstantLR-defaults": (lambda L, o: L.ConstantLR(o), 12),
    "MultiplicativeLR": (lambda L, o: L.MultiplicativeLR(o, lambda t: 0.95), 30),
    "MultiplicativeLR-per-group": (
        lambda L, o: L.MultiplicativeLR(o, [lambda t: 1.1 if t % 3 == 0 else 0.9,
                                            lambda t: 1 / (t + 1)]), 20),
    "CyclicLR": (lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=4), 30),
    "CyclicLR-triangular2-asymmetric": (
        lambda L, o: L.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=3, step_size_down=5,
                                mode="triangular2", base_momentum=[0.7, 0.8]), 40),
    "CyclicLR-exp-range": (
        lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.97), 40),
    "CyclicLR-scale-fn-iterations": (
        lambda L, o: L.CyclicLR(o, 0.01, 0.1, 2.5, 3.5, scale_fn=lambda x: 1 / (1 + 0.1 * x),
                                scale_mode="iterations", cycle_momentum=False), 30),
    "CyclicLR-scale-fn-cycle-down0": (
        lambda L, o: L.CyclicLR(o, 0.1, 0.01, 4, 0, scale_fn=lambda c: 0.8 ** c), 20),
    "ChainedScheduler": (
        lambda L, o: L.ChainedScheduler([L.ExponentialLR(o, 0.9), L.StepLR(o, 3, 0.5)]), 20),
    "ChainedScheduler-cosine-constant": (
        lambda L, o: L.ChainedScheduler([L.ConstantLR(o, 0.25, 3),
                                         L.CosineAnnealingLR(o, 6, eta_min=0.002)]), 30),
    "SequentialLR-constant-multiplicative": (
        lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, 0.5, 2),
                                        L.MultiplicativeLR(o, lambda t: 0.9)], [4]), 15),
}
MOMENTUM_CASES = {n for n in CASES if n.startswith(("OneCycle", "CyclicLR"))}
NO_CLOSED_FORM = {"ChainedScheduler", "ChainedScheduler-cosine-constant",
                  "SequentialLR-constant-multiplicative"}


@pytest.mark.parametrize("kind", ["torch", "optimlab"])
@pytest.mark.parametrize("name", list(CASES))
def test_same_lrs_as_torch(name, kind):
    make, n = CASES[name]
    keys = ("lr", "momentum") if name in MOMENTUM_CASES else ("lr",)
    expected = run(TL, make, n, kind, keys)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # used in the right order, ours warns about nothing
        got = run(ours, make, n, kind, keys)
    assert_rows_close(got, expected)
    for groups, last in got:  # get_last_lr() is what was written into the groups
        assert [g[0] for g in groups] == last


@pytest.mark.parametrize("name", [n for n in CASES if n not in NO_CLOSED_FORM])
def test_lrs_at_is_the_schedule(name):
    """lrs_at(t) is a pure function that gives the rates the scheduler writes at step t (the
    chainable classes get there by a product of ratios: equal to rounding)."""
    make, n = CASES[name]
    got = run(ours, make, n)
    opt = make_optimizer("torch")
    sched = make(ours, opt)
    before = [g["lr"] for g in opt.param_groups]
    for t, (_, last) in enumerate(got):
        assert sched.lrs_at(t) == pytest.approx(last, rel=1e-12, abs=TOL)
    assert [g["lr"] for g in opt.param_groups] == before and sched.last_epoch == 0


def test_one_cycle_cycles_adam_beta1_like_torch():
    make = lambda L, o: L.OneCycleLR(o, [0.01, 0.02], total_steps=15, three_phase=True)  # noqa: E731
    kwargs = dict(opt_cls=torch.optim.Adam, betas=(0.9, 0.99))
    expected = run(TL, make, 15, keys=("lr", "betas"), **kwargs)
    got = run(ours, make, 15, keys=("lr", "betas"), **kwargs)
    assert_rows_close(got, expected)
    opt = make_optimizer("torch", **kwargs)
    ours.OneCycleLR(opt, 0.01, total_steps=15)
    assert opt.param_groups[0]["betas"][1] == 0.99


def test_one_cycle_turns_momentum_on_for_plain_sgd_like_torch():
    for lib in (TL, ours):
        opt = make_optimizer("torch", momentum=0.0)
        lib.OneCycleLR(opt, 1.0, total_steps=10)
        assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)
        assert opt.param_groups[0]["initial_lr"] == pytest.approx(0.04)  # max_lr / div_factor
        opt = make_optimizer("torch", momentum=0.0)
        lib.OneCycleLR(opt, 1.0, total_steps=10, cycle_momentum=False)
        assert opt.param_groups[0]["momentum"] == 0.0


def test_one_cycle_raises_past_its_end_and_changes_nothing():
    opt = make_optimizer("torch")
    sched = ours.OneCycleLR(opt, 1.0, total_steps=10)
    for _ in range(10):
        opt.step()
        sched.step()  # step 10 = total_steps is allowed (extrapolated), as in torch
    lrs, epoch = [g["lr"] for g in opt.param_groups], sched.last_epoch
    assert sched.get_last_lr()[0] == pytest.approx(schedules.one_cycle_lr(8, 1.0, 10))
    with pytest.raises(ValueError, match="total_steps"):
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == lrs and sched.last_epoch == epoch


def test_tensor_learning_rates_stay_tensors():
    expected = run(TL, CASES["StepLR"][0], 10, lrs=(torch.tensor(0.3), torch.tensor(0.05)))
    opt = make_optimizer("torch", lrs=(torch.tensor(0.3), torch.tensor(0.05)))
    sched = ours.StepLR(opt, step_size=3, gamma=0.5)
    lr_tensor = opt.param_groups[0]["lr"]
    got = [([[g["lr"]] for g in opt.param_groups], list(sched.get_last_lr()))]
    for _ in range(10):
        opt.step()
        sched.step()
        got.append(([[g["lr"]] for g in opt.param_groups], list(sched.get_last_lr())))
    assert opt.param_groups[0]["lr"] is lr_tensor  # written in place
    assert sched.get_last_lr()[0] is not lr_tensor  # a copy, as in torch
    assert_rows_close(got, expected)


# ---------------------------------------------------------------------------------------------
# ReduceLROnPlateau
# ---------------------------------------------------------------------------------------------

def plateau_metrics(n=60):
    """A metric that improves, stalls, improves a little, oscillates and goes negative."""
    values, x = [], 5.0
    for t in range(n):
        if t % 17 < 6:
            x -= 0.7
        elif t % 17 < 9:
            x -= 1e-5  # improvements smaller than the relative threshold
        values.append(x + (0.05 if t % 3 == 0 else 0.0))
    return values


PLATEAU_SETTINGS = [
    dict(),
    dict(patience=2),
    dict(mode="max", patience=1, factor=0.5),
    dict(patience=0, threshold=0.2, threshold_mode="abs", cooldown=3),
    dict(mode="max", threshold_mode="abs", patience=3, cooldown=1, factor=0.3),
    dict(patience=1, factor=0.2, min_lr=[0.01, 0.004]),
    dict(patience=0, factor=0.5, min_lr=0.001, eps=1e-3),
]


@pytest.mark.parametrize("settings", PLATEAU_SETTINGS, ids=str)
@pytest.mark.parametrize("kind", ["torch", "optimlab"])
def test_reduce_lr_on_plateau_like_torch(settings, kind):
    metrics = plateau_metrics()
    runs = []
    for lib in (TL, ours):
        opt = make_optimizer(kind)
        sched = lib.ReduceLROnPlateau(opt, **settings)
        trace = []
        for i, m in enumerate(metrics):
            opt.step()
            sched.step(torch.tensor(m) if i % 2 else m)  # a 0-d tensor works too
            trace.append(([g["lr"] for g in opt.param_groups], sched.get_last_lr(), sched.best,
                          sched.num_bad_epochs, sched.cooldown_counter, sched.last_epoch))
        runs.append(trace)
    assert runs[0] == runs[1]
    assert runs[1][-1][0] != list(LRS)  # the setting did reduce the rate


def test_plateau_with_flat_metric_is_the_factor_schedule_one_step_late():
    opt = make_optimizer("optimlab", lrs=(2.0,))
    sched = ours.ReduceLROnPlateau(opt, factor=0.9, patience=0, min_lr=0.01, eps=0.0)
    for k in range(1, 80):
        sched.step(1.0)
        assert opt.param_groups[0]["lr"] == pytest.approx(schedules.factor_lr(k - 1, 2.0, 0.9, 0.01),
                                                           rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Resuming
# ---------------------------------------------------------------------------------------------

RESUME_CASES = [n for n in CASES] + ["ReduceLROnPlateau"]


def _drive(opt, sched, steps, start, metrics):
    lrs = []
    for t in range(start, start + steps):
        for group in opt.param_groups:
            for p in group["params"]:
                p.grad = torch.ones_like(p)
        opt.step()
        sched.step(metrics[t]) if metrics else sched.step()
        lrs.append([g.get("momentum") for g in opt.param_groups] + list(sched.get_last_lr()))
    return lrs


@pytest.mark.parametrize("name", RESUME_CASES)
def test_state_dict_resume_equals_uninterrupted_run(name):
    if name == "ReduceLROnPlateau":
        make = lambda L, o: L.ReduceLROnPlateau(o, patience=1, cooldown=2)  # noqa: E731
        n, metrics = 40, plateau_metrics(40)
    else:
        (make, n), metrics = CASES[name], None
    for k in sorted({1, n // 3, n // 2, n - 1}):
        opt = make_optimizer("optimlab")
        sched = make(ours, opt)
        full = _drive(opt, sched, n, 0, metrics)

        opt = make_optimizer("optimlab")
        sched = make(ours, opt)
        _drive(opt, sched, k, 0, metrics)
        saved = copy.deepcopy((opt.state_dict(), sched.state_dict()))  # as if through torch.save
        del opt, sched

        opt = make_optimizer("optimlab")
        sched = make(ours, opt)  # construct the scheduler first, then load (torch's advice)
        opt.load_state_dict(saved[0])
        sched.load_state_dict(saved[1])
        assert _drive(opt, sched, n - k, k, metrics) == full[k:], f"resumed at {k}"


class Warmup:
    """A callable object: LambdaLR saves its __dict__ in state_dict (functions are not saved)."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, t):
        return min(1.0, (t + 1) / self.steps)


def test_lambda_lr_state_dict_saves_callable_objects_not_functions():
    opt = make_optimizer("torch")
    sched = ours.LambdaLR(opt, [Warmup(4), lambda t: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"steps": 4}, None]
    assert "lr_lambdas" in state  # loading must not consume the caller's dict
    fresh = ours.LambdaLR(make_optimizer("torch"), [Warmup(10), lambda t: 1.0])
    fresh.load_state_dict(state)
    assert fresh.lr_lambdas[0].steps == 4 and "lr_lambdas" in state
    assert torch.optim.lr_scheduler.LambdaLR(make_optimizer("torch"), [Warmup(4), lambda t: 1.0]) \
        .state_dict()["lr_lambdas"] == state["lr_lambdas"]


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "PolynomialLR",
                                  "CosineAnnealingLR", "LinearLR", "CosineAnnealingWarmRestarts"])
def test_a_torch_checkpoint_resumes_with_ours(name):
    make, n = CASES[name]
    k = n // 2
    opt = make_optimizer("torch")
    sched = make(TL, opt)
    expected = _drive(opt, sched, n, 0, None)

    opt = make_optimizer("torch")
    sched = make(TL, opt)
    _drive(opt, sched, k, 0, None)
    saved = copy.deepcopy((opt.state_dict(), sched.state_dict()))
    opt = make_optimizer("torch")
    sched = make(ours, opt)
    opt.load_state_dict(saved[0])
    sched.load_state_dict(saved[1])
    got = _drive(opt, sched, n - k, k, None)
    for a, b in zip(got, expected[k:]):
        assert a == pytest.approx(b, abs=TOL)


@pytest.mark.parametrize("make", [
    lambda L, o, e: L.LambdaLR(o, lambda t: 0.8 ** t, last_epoch=e),
    lambda L, o, e: L.OneCycleLR(o, 1.0, total_steps=20, last_epoch=e),
])
def test_last_epoch_argument_matches_torch_for_closed_form_schedulers(make):
    for_lib = []
    for lib in (TL, ours):
        opt = make_optimizer("torch")
        make(lib, opt, -1)  # a first run records initial_lr (and OneCycleLR's keys)
        sched = make(lib, opt, 6)
        lrs = list(sched.get_last_lr())
        for _ in range(5):
            opt.step()
            sched.step()
            lrs += sched.get_last_lr()
        for_lib.append(lrs)
    assert for_lib[0] == pytest.approx(for_lib[1], abs=TOL)


def test_last_epoch_argument_follows_torch_class_by_class():
    """Resuming with last_epoch=k: ExponentialLR keeps the optimizer's rate, StepLR applies the
    ratio of step k + 1 (torch's classes differ in this, and ours follow each)."""
    for make, expected in ((lambda L, o: L.ExponentialLR(o, 0.5, last_epoch=3), 0.3),
                           (lambda L, o: L.StepLR(o, 2, 0.5, last_epoch=3), 0.15)):
        got = []
        for lib in (ours, TL):
            opt = make_optimizer("torch")
            opt.param_groups[0]["initial_lr"], opt.param_groups[1]["initial_lr"] = LRS
            sched = make(lib, opt)
            got.append((sched.last_epoch, sched.get_last_lr()[0]))
        assert got[0] == got[1] == (4, pytest.approx(expected))


def test_warm_restarts_last_epoch_raises_where_torch_misplaces_the_cycle():
    opt = make_optimizer("torch")
    opt.param_groups[0]["initial_lr"], opt.param_groups[1]["initial_lr"] = LRS
    with pytest.raises(ValueError, match="last_epoch"):
        ours.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2, last_epoch=24)
    for kwargs in (dict(T_0=10, T_mult=2, last_epoch=14), dict(T_0=10, T_mult=1, last_epoch=24)):
        scheds = [lib.CosineAnnealingWarmRestarts(opt, **kwargs) for lib in (ours, TL)]
        assert [(s.T_cur, s.T_i, s.get_last_lr()[0]) for s in scheds][0] == \
            pytest.approx([(s.T_cur, s.T_i, s.get_last_lr()[0]) for s in scheds][1], abs=TOL)


def test_last_epoch_without_initial_lr_is_a_key_error():
    with pytest.raises(KeyError, match="initial_lr"):
        ours.StepLR(make_optimizer("torch"), 3, last_epoch=5)


# ---------------------------------------------------------------------------------------------
# Behaviour worth knowing
# ---------------------------------------------------------------------------------------------

def test_first_update_uses_the_value_set_at_construction():
    """Warmup then cosine: the first update already uses the low warmup rate."""
    for lib in (TL, ours):
        p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = torch.optim.SGD([p], lr=0.3)
        sched = lib.SequentialLR(opt, [lib.LinearLR(opt, 0.1, total_iters=5),
                                       lib.CosineAnnealingLR(opt, 15, eta_min=0.01)], [5])
        moves = []
        for _ in range(7):
            before = p.item()
            p.grad = torch.ones_like(p)
            opt.step()
            sched.step()
            moves.append(before - p.item())
        assert moves == pytest.approx([0.03, 0.084, 0.138, 0.192, 0.246, 0.3,
                                       schedules.cosine_lr(1, 0.3, 15, 0.01)], abs=TOL)


@pytest.mark.parametrize("lib", [TL, ours], ids=["torch", "optimlab"])
def test_scheduler_step_before_optimizer_step_warns_and_skips_a_value(lib):
    opt = make_optimizer("torch")
    sched = lib.LinearLR(opt, 0.1, total_iters=4)
    with pytest.warns(UserWarning, match="before `?optimizer.step"):
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.3 * 0.325)  # the first update skips 0.1·η0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # only the first call is checked
        sched.step()


@pytest.mark.parametrize("make", [
    lambda o: ours.SequentialLR(o, [ours.ExponentialLR(o, 0.5)], []),
    lambda o: ours.CosineAnnealingWarmRestarts(o, 3),
    lambda o: ours.OneCycleLR(o, 1.0, total_steps=5),
])
def test_step_order_warning_for_every_scheduler(make):
    opt = make_optimizer("optimlab")
    sched = make(opt)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()


def test_step_with_epoch_is_deprecated_and_jumps_to_that_step():
    got = []
    for lib in (TL, ours):
        opt = make_optimizer("torch")
        sched = lib.MultiStepLR(opt, [2, 5], 0.5)
        opt.step()
        with pytest.warns(UserWarning, match="epoch"):
            sched.step(6)
        got.append((sched.last_epoch, sched.get_last_lr()))
    assert got[0] == got[1] == (6, [0.3 * 0.25, 0.05 * 0.25])


def test_warm_restarts_fractional_epochs_like_torch():
    epochs = [0.5, 1.25, 2.0, 3.75, None, None, 7.5, None, 2.5, 13.0, None]
    traces = []
    for lib in (TL, ours):
        opt = make_optimizer("torch")
        sched = lib.CosineAnnealingWarmRestarts(opt, 2, T_mult=2, eta_min=0.001)
        trace = []
        for e in epochs:
            opt.step()
            sched.step(e)
            trace.append([sched.last_epoch, sched.T_cur, sched.T_i] + sched.get_last_lr())
        traces.append(trace)
    for got, expected in zip(*traces[::-1]):
        assert got == pytest.approx(expected, abs=TOL)


def test_cosine_annealing_keeps_following_the_cosine_after_T_max():
    opt = make_optimizer("torch", lrs=(1.0,))
    sched = ours.CosineAnnealingLR(opt, T_max=10)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(20):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs[10] == pytest.approx(0.0, abs=TOL) and lrs[20] == pytest.approx(1.0)
    assert lrs[15] == pytest.approx(0.5)  # climbing back up


def test_chainable_classes_carry_manual_edits_like_torch():
    """A manual change of group['lr'] between steps is carried forward by the ratio."""
    for lib in (TL, ours):
        opt = make_optimizer("torch")
        sched = lib.ExponentialLR(opt, 0.5)
        opt.step()
        sched.step()
        opt.param_groups[0]["lr"] *= 10
        opt.step()
        sched.step()
        assert sched.get_last_lr()[0] == pytest.approx(0.3 * 0.5 * 10 * 0.5, abs=TOL)


def test_end_to_end_training_trajectory_matches_torch():
    torch.manual_seed(0)
    A = torch.randn(5, 3, dtype=torch.float64)
    b = torch.randn(5, dtype=torch.float64)
    finals = []
    for opt_cls, lib in ((torch.optim.SGD, TL), (optimlab.optim.SGD, ours)):
        w = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
        opt = opt_cls([w], lr=0.05, momentum=0.9)
        sched = lib.SequentialLR(opt, [lib.LinearLR(opt, 0.2, total_iters=4),
                                       lib.CosineAnnealingLR(opt, 20)], [4])
        for _ in range(30):
            opt.zero_grad()
            ((A @ w - b) ** 2).mean().backward()
            opt.step()
            sched.step()
        finals.append(w.detach().clone())
    assert torch.allclose(finals[0], finals[1], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------

BAD = [
    (lambda o: ours.StepLR(o, 0), ValueError, "step_size"),
    (lambda o: ours.StepLR(o, 2.5), ValueError, "step_size"),
    (lambda o: ours.StepLR(o, 3, gamma=-0.1), ValueError, "gamma"),
    (lambda o: ours.MultiStepLR(o, [3, -1]), ValueError, "milestones"),
    (lambda o: ours.ExponentialLR(o, 0.0), ValueError, "gamma"),
    (lambda o: ours.PolynomialLR(o, total_iters=0), ValueError, "total_iters"),
    (lambda o: ours.PolynomialLR(o, power=-1.0), ValueError, "power"),
    (lambda o: ours.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: ours.CosineAnnealingLR(o, 5, eta_min=-1.0), ValueError, "eta_min"),
    (lambda o: ours.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: ours.LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
    (lambda o: ours.LinearLR(o, total_iters=0), ValueError, "total_iters"),
    (lambda o: ours.LambdaLR(o, [lambda t: 1.0]), ValueError, "lr_lambda"),
    (lambda o: ours.LambdaLR(o, 0.5), TypeError, "lr_lambda"),
    (lambda o: ours.OneCycleLR(o, 1.0), ValueError, "total_steps"),
    (lambda o: ours.OneCycleLR(o, 1.0, total_steps=0), ValueError, "total_steps"),
    (lambda o: ours.OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=3), ValueError, "epochs"),
    (lambda o: ours.OneCycleLR(o, 1.0, 10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: ours.OneCycleLR(o, 1.0, 10, pct_start=0.1), ValueError, "pct_start"),  # 0-step phase
    (lambda o: ours.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
    (lambda o: ours.OneCycleLR(o, [1.0, 2.0, 3.0], 10), ValueError, "max_lr"),
    (lambda o: ours.OneCycleLR(o, 1.0, 10, div_factor=0), ValueError, "div_factor"),
    (lambda o: ours.OneCycleLR(o, 1.0, 10, base_momentum=0.99), ValueError, "max_momentum"),
    (lambda o: ours.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    (lambda o: ours.CosineAnnealingWarmRestarts(o, 5, T_mult=0), ValueError, "T_mult"),
    (lambda o: ours.CosineAnnealingWarmRestarts(o, 5, T_mult=1.5), ValueError, "T_mult"),
    (lambda o: ours.ReduceLROnPlateau(o, mode="median"), ValueError, "mode"),
    (lambda o: ours.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold_mode"),
    (lambda o: ours.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda o: ours.ReduceLROnPlateau(o, patience=-1), ValueError, "patience"),
    (lambda o: ours.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "min_lr"),
    (lambda o: ours.StepLR(o, 3, last_epoch=-2), ValueError, "last_epoch"),
    (lambda o: ours.SequentialLR(o, [], []), ValueError, "at least one"),
    (lambda o: ours.SequentialLR(o, [ours.StepLR(o, 2), ours.StepLR(o, 3)], []), ValueError,
     "milestones"),
    (lambda o: ours.SequentialLR(o, [ours.StepLR(o, 2)] * 3, [5, 2]), ValueError, "non-decreasing"),
    (lambda o: ours.SequentialLR(o, [ours.StepLR(o, 2), ours.ReduceLROnPlateau(o)], [3]),
     ValueError, "ReduceLROnPlateau"),
    (lambda o: ours.SequentialLR(o, [object()], []), TypeError, "optimizer"),
    (lambda o: ours.SequentialLR(o, [ours.StepLR(make_optimizer("torch"), 2)], []), ValueError,
     "different optimizer"),
]


@pytest.mark.parametrize("make,error,match", BAD)
def test_invalid_arguments_raise_clear_errors(make, error, match):
    opt = make_optimizer("torch")
    with pytest.raises(error, match=match):
        make(opt)


def test_invalid_arguments_leave_the_optimizer_untouched():
    opt = make_optimizer("torch")
    with pytest.raises(ValueError):
        ours.CosineAnnealingLR(opt, T_max=0)
    assert all("initial_lr" not in g for g in opt.param_groups)
    assert [g["lr"] for g in opt.param_groups] == list(LRS)


def test_one_cycle_needs_momentum_or_betas():
    opt = make_optimizer("torch", opt_cls=torch.optim.Adagrad)
    with pytest.raises(ValueError, match="cycle_momentum"):
        ours.OneCycleLR(opt, 1.0, total_steps=10)
    ours.OneCycleLR(opt, 1.0, total_steps=10, cycle_momentum=False)


def test_needs_a_torch_optimizer():
    fake = types.SimpleNamespace(param_groups=[{"lr": 0.1, "params": []}], defaults={})
    for make in (lambda o: ours.StepLR(o, 2), lambda o: ours.ReduceLROnPlateau(o),
                 lambda o: ours.OneCycleLR(o, 1.0, 10), lambda o: ours.SequentialLR(o, [], [])):
        with pytest.raises(TypeError, match="not an Optimizer"):
            make(fake)


def test_reduce_lr_on_plateau_group_count_change():
    opt = make_optimizer("torch")
    sched = ours.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match="param groups"):
        sched.step(2.0)
    sched = ours.ReduceLROnPlateau(opt, patience=0, min_lr=0.0)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.2})
    sched.step(1.0)
    sched.step(2.0)
    assert sched.get_last_lr()[-1] == pytest.approx(0.02)
