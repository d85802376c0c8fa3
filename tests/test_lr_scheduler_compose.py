"""optimlab.optim.lr_scheduler composed the way torch composes schedulers: inside torch's
SequentialLR and ChainedScheduler (and torch's inside ours), two schedulers on one optimizer,
ReduceLROnPlateau beside another scheduler, every order of resuming from a checkpoint, momentum
and beta1 cycling, the type checks trainers make, state_dict round trips between the two
libraries, the warnings and every error torch's constructors raise. Each sequence is compared
with the same sequence run with torch's classes, to 1e-12."""

import copy
import warnings

import random

import pytest
import torch

import optimlab.lr_scheduler
import optimlab.optim
from optimlab.optim import lr_scheduler as ours

TL = torch.optim.lr_scheduler
TOL = 1e-12
LRS = (0.3, 0.05)
CLASSES = [name for name in ours.__all__ if name != "LRScheduler"]


def make_optimizer(lrs=LRS, opt_cls=None, **kwargs):
    params = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    if opt_cls is None:
        return optimlab.optim.SGD(groups, momentum=0.9, **kwargs)
    return opt_cls(groups, **kwargs)


def snapshot(opt, sched=None):
    """Rates and momenta (or beta1) of every group, and get_last_lr()."""
    row = []
    for g in opt.param_groups:
        row.append(float(g["lr"]))
        if "betas" in g:
            row.append(float(g["betas"][0]))
        elif "momentum" in g:
            row.append(float(g["momentum"]))
    if sched is not None:
        row += [float(x) for x in sched.get_last_lr()]
    return row


def drive(opt, sched, n, metric=None):
    rows = [snapshot(opt, sched)]
    for t in range(n):
        for g in opt.param_groups:
            for p in g["params"]:
                p.grad = torch.ones_like(p)
        opt.step()
        sched.step() if metric is None else sched.step(metric(t))
        rows.append(snapshot(opt, sched))
    return rows


def assert_close(got, expected, tol=TOL):
    assert len(got) == len(expected)
    for t, (a, b) in enumerate(zip(got, expected)):
        assert a == pytest.approx(b, abs=tol, rel=0), f"step {t}"


# ---------------------------------------------------------------------------------------------
# Types: what torch and trainers check
# ---------------------------------------------------------------------------------------------

def test_every_class_is_a_torch_scheduler_and_lives_where_torch_puts_it():
    for name in CLASSES:
        cls = getattr(ours, name)
        assert issubclass(cls, TL.LRScheduler) and issubclass(cls, ours.LRScheduler), name
        assert getattr(optimlab.lr_scheduler, name) is cls  # the old import path still works
        assert hasattr(TL, name)  # every class has its torch twin, and the other way round
    assert sorted(CLASSES) == sorted(n for n in TL.__all__ if n != "LRScheduler")
    assert issubclass(ours.ReduceLROnPlateau, TL.ReduceLROnPlateau)  # trainers pass it a metric
    assert not issubclass(ours.StepLR, TL.ReduceLROnPlateau)
    opt = make_optimizer()
    assert isinstance(ours.StepLR(opt, 3), TL.LRScheduler)


# ---------------------------------------------------------------------------------------------
# SequentialLR and ChainedScheduler, ours and torch's, over ours and torch's
# ---------------------------------------------------------------------------------------------

PARTS = {  # name: (factories of the parts, the milestones of a SequentialLR over them, steps)
    "linear-cosine": ([lambda L, o: L.LinearLR(o, 0.1, total_iters=4),
                       lambda L, o: L.CosineAnnealingLR(o, 8, eta_min=0.01)], [4], 30),
    "constant-multistep": ([lambda L, o: L.ConstantLR(o, 0.5, 3),
                            lambda L, o: L.MultiStepLR(o, [2, 5], 0.5)], [3], 15),
    "exponential-cyclic": ([lambda L, o: L.ExponentialLR(o, 0.8),
                            lambda L, o: L.CyclicLR(o, 0.01, 0.2, 3, cycle_momentum=False)], [5], 20),
    "multiplicative-polynomial-step": ([lambda L, o: L.MultiplicativeLR(o, lambda t: 0.9),
                                        lambda L, o: L.PolynomialLR(o, 6, 2.0),
                                        lambda L, o: L.StepLR(o, 2, 0.7)], [3, 7], 20),
    "lambda-restarts": ([lambda L, o: L.LambdaLR(o, lambda t: 1 / (t + 1)),
                         lambda L, o: L.CosineAnnealingWarmRestarts(o, 3, 2, 0.001)], [2], 25),
    "step-onecycle": ([lambda L, o: L.StepLR(o, 2),
                       lambda L, o: L.OneCycleLR(o, 0.5, total_steps=12, cycle_momentum=False)],
                      [3], 15),
}

# who builds the composite, and whose classes the parts are (part i: libs[i % len(libs)])
COMBOS = {"torch-over-ours": (TL, (ours,)), "ours-over-torch": (ours, (TL,)),
          "ours-over-ours": (ours, (ours,)), "torch-over-mixed": (TL, (ours, TL)),
          "ours-over-mixed": (ours, (TL, ours))}


def build_parts(opt, factories, libs):
    return [make(libs[i % len(libs)], opt) for i, make in enumerate(factories)]


@pytest.mark.parametrize("combo", list(COMBOS))
@pytest.mark.parametrize("parts", list(PARTS))
def test_sequential_lr_like_torch(parts, combo):
    factories, milestones, n = PARTS[parts]
    opt = make_optimizer()
    expected = drive(opt, TL.SequentialLR(opt, build_parts(opt, factories, (TL,)), milestones), n)
    outer, libs = COMBOS[combo]
    opt = make_optimizer()
    sched = outer.SequentialLR(opt, build_parts(opt, factories, libs), milestones)
    assert_close(drive(opt, sched, n), expected)


@pytest.mark.parametrize("combo", list(COMBOS))
@pytest.mark.parametrize("parts", ["linear-cosine", "constant-multistep", "multiplicative-polynomial-step"])
def test_chained_scheduler_like_torch(parts, combo):
    factories, _, n = PARTS[parts]
    opt = make_optimizer()
    expected = drive(opt, TL.ChainedScheduler(build_parts(opt, factories, (TL,))), n)
    outer, libs = COMBOS[combo]
    opt = make_optimizer()
    assert_close(drive(opt, outer.ChainedScheduler(build_parts(opt, factories, libs)), n), expected)


def test_chained_inside_sequential_like_torch_or_raises():
    """A ChainedScheduler first in a SequentialLR: its parts step from -1 to 0 outside their
    constructors. torch's StepLR and ConstantLR start at f(0)·η there as ours do; torch's
    ExponentialLR multiplies by gamma (one step ahead), where ours raise. After a milestone
    torch's ChainedScheduler cannot restart (it has no step 0), nor can ours."""
    def make(L, o, first=lambda L, o: L.StepLR(o, 2, 0.5)):
        chained = L.ChainedScheduler([first(L, o), L.ConstantLR(o, 0.5, 2)])
        return L.SequentialLR(o, [chained, L.LinearLR(o, 0.5, total_iters=3)], [4])
    runs = []
    for L in (TL, ours):
        opt = make_optimizer()
        with pytest.warns(UserWarning, match="before `?optimizer.step"):  # the parts step early
            sched = make(L, opt)
        runs.append(drive(opt, sched, 12))
    assert_close(runs[1], runs[0])
    with pytest.raises(RuntimeError, match="step 0"), pytest.warns(UserWarning):
        make(ours, make_optimizer(), first=lambda L, o: L.ExponentialLR(o, 0.9))
    for L, error in ((TL, NotImplementedError), (ours, NotImplementedError)):
        opt = make_optimizer()
        sched = L.SequentialLR(opt, [L.StepLR(opt, 2), L.ChainedScheduler([L.StepLR(opt, 3)])], [2])
        opt.step()
        sched.step()
        with pytest.raises(error):
            sched.step()


def test_sequential_with_last_epoch_raises_where_torch_runs_a_step_ahead():
    opt = make_optimizer()
    opt.load_state_dict(make_optimizer().state_dict())
    for group in opt.param_groups:
        group["initial_lr"] = group["lr"]
    sched = ours.SequentialLR(opt, [ours.LinearLR(opt, 0.5, total_iters=3), ours.ExponentialLR(opt, 0.8)],
                              [3], last_epoch=6)
    opt.step()
    with pytest.raises(RuntimeError, match="last_epoch=-1"):
        sched.step()


def test_chained_scheduler_with_an_explicit_optimizer():
    opt = make_optimizer()
    parts = [ours.ExponentialLR(opt, 0.5)]
    assert ours.ChainedScheduler(parts, optimizer=opt).optimizer is opt


# ---------------------------------------------------------------------------------------------
# Two schedulers on one optimizer, and ReduceLROnPlateau beside another
# ---------------------------------------------------------------------------------------------

PAIRS = {
    "exponential+step": (lambda L, o: L.ExponentialLR(o, 0.9), lambda L, o: L.StepLR(o, 3, 0.5)),
    "cosine+multistep": (lambda L, o: L.CosineAnnealingLR(o, 5, eta_min=0.01),
                         lambda L, o: L.MultiStepLR(o, [4, 9], 0.5)),
    "linear+exponential": (lambda L, o: L.LinearLR(o, 0.2, 0.8, 6), lambda L, o: L.ExponentialLR(o, 1.05)),
    "constant+polynomial": (lambda L, o: L.ConstantLR(o, 0.5, 4), lambda L, o: L.PolynomialLR(o, 8, 0.5)),
    "multiplicative+cosine": (lambda L, o: L.MultiplicativeLR(o, lambda t: 0.97),
                              lambda L, o: L.CosineAnnealingLR(o, 4)),
    "step+lambda": (lambda L, o: L.StepLR(o, 2, 0.5), lambda L, o: L.LambdaLR(o, lambda t: 0.9 ** t)),
    "cyclic+exponential": (lambda L, o: L.CyclicLR(o, 0.01, 0.1, 3),
                           lambda L, o: L.ExponentialLR(o, 0.95)),
}


@pytest.mark.parametrize("pair", list(PAIRS))
def test_two_schedulers_on_one_optimizer_like_torch(pair):
    first, second = PAIRS[pair]
    runs = []
    for libs in ((TL, TL), (ours, ours), (ours, TL), (TL, ours)):
        opt = make_optimizer()
        a, b = first(libs[0], opt), second(libs[1], opt)
        rows = [snapshot(opt)]
        for _ in range(20):
            opt.step()
            a.step()
            b.step()
            rows.append(snapshot(opt) + a.get_last_lr() + b.get_last_lr())
        runs.append(rows)
    for rows in runs[1:]:
        assert_close(rows, runs[0])


CHAINABLE = {
    "StepLR": lambda L, o, a: L.StepLR(o, 1 + a % 4, 0.5),
    "MultiStepLR": lambda L, o, a: L.MultiStepLR(o, [a % 5, 3 + a % 7, 6], 0.3),
    "ConstantLR": lambda L, o, a: L.ConstantLR(o, 0.25 * (1 + a % 4), 1 + a % 6),
    "LinearLR": lambda L, o, a: L.LinearLR(o, 0.2 * (1 + a % 5), 0.25 * (a % 5), 1 + a % 7),
    "ExponentialLR": lambda L, o, a: L.ExponentialLR(o, 0.8 + 0.05 * (a % 6)),
    "PolynomialLR": lambda L, o, a: L.PolynomialLR(o, 1 + a % 8, 0.5 * (a % 4)),
    "CosineAnnealingLR": lambda L, o, a: L.CosineAnnealingLR(o, 1 + a % 7, 0.01 * (a % 3)),
    "MultiplicativeLR": lambda L, o, a: L.MultiplicativeLR(o, lambda t: 0.9 + 0.1 * (t % 3)),
}


def _random_stacks(count, seed=0):
    rng = random.Random(seed)
    return [(rng.choices(sorted(CHAINABLE), k=rng.randint(1, 3)),
             [rng.randint(0, 1000) for _ in range(3)], rng.random() < 0.5) for _ in range(count)]


@pytest.mark.parametrize("stack", [_random_stacks(40)], ids=["40-seeded-stacks"])
def test_any_stack_of_chainable_schedulers_like_torch(stack):
    """Up to three chainable schedulers on one optimizer, with float or tensor rates."""
    for names, args, tensor_lr in stack:
        _check_stack(names, args, tensor_lr)


def _check_stack(names, args, tensor_lr):
    runs = []
    for L in (TL, ours):
        opt = make_optimizer(lrs=[torch.tensor(lr) if tensor_lr else lr for lr in LRS])
        scheds = [CHAINABLE[name](L, opt, a) for name, a in zip(names, args)]
        rows = [snapshot(opt)]
        for _ in range(15):
            opt.step()
            for s in scheds:
                s.step()
            rows.append(snapshot(opt))
        runs.append(rows)
    assert_close(runs[1], runs[0])
    if tensor_lr:
        assert isinstance(opt.param_groups[0]["lr"], torch.Tensor)


def test_the_two_scheduler_example_rate():
    """ExponentialLR(0.9) and StepLR(3, 0.5) on one optimizer, step 8: 0.1·0.9^8·0.5^2."""
    opt = make_optimizer(lrs=(0.1,))
    a, b = ours.ExponentialLR(opt, 0.9), ours.StepLR(opt, 3, 0.5)
    for _ in range(8):
        opt.step()
        a.step()
        b.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9 ** 8 * 0.25, abs=TOL)


@pytest.mark.parametrize("other", [lambda L, o: L.ExponentialLR(o, 0.97),
                                   lambda L, o: L.CosineAnnealingLR(o, 10, eta_min=0.001),
                                   lambda L, o: L.LambdaLR(o, lambda t: 1.0 / (1 + 0.1 * t))],
                         ids=["exponential", "cosine", "lambda"])
def test_reduce_lr_on_plateau_beside_another_scheduler(other):
    metric = lambda t: 1.0 if t % 7 else 1.0 - t / 100  # noqa: E731  (improves every 7th step)
    runs = []
    for libs in ((TL, TL), (ours, ours), (ours, TL), (TL, ours)):
        opt = make_optimizer()
        sched = other(libs[0], opt)
        plateau = libs[1].ReduceLROnPlateau(opt, factor=0.5, patience=2)
        rows = []
        for t in range(30):
            opt.step()
            sched.step()
            plateau.step(metric(t))
            rows.append(snapshot(opt, plateau) + [plateau.num_bad_epochs, plateau.best])
        runs.append(rows)
    assert runs[0][-1][0] < 0.3 * 0.97 ** 30  # the plateau did cut the rate
    for rows in runs[1:]:
        assert_close(rows, runs[0])


# ---------------------------------------------------------------------------------------------
# Resuming: every order, against the same order with torch's classes
# ---------------------------------------------------------------------------------------------

RESUMABLE = {  # name: factory (lib, optimizer, last_epoch)
    "LambdaLR": lambda L, o, e: L.LambdaLR(o, lambda t: 0.9 ** t, last_epoch=e),
    "MultiplicativeLR": lambda L, o, e: L.MultiplicativeLR(o, lambda t: 0.9, last_epoch=e),
    "StepLR": lambda L, o, e: L.StepLR(o, 3, 0.5, last_epoch=e),
    "MultiStepLR": lambda L, o, e: L.MultiStepLR(o, [3, 4, 9], 0.1, last_epoch=e),
    "ConstantLR": lambda L, o, e: L.ConstantLR(o, 0.25, 6, last_epoch=e),
    "LinearLR": lambda L, o, e: L.LinearLR(o, 0.25, 1.0, 8, last_epoch=e),
    "ExponentialLR": lambda L, o, e: L.ExponentialLR(o, 0.8, last_epoch=e),
    "PolynomialLR": lambda L, o, e: L.PolynomialLR(o, 9, 2.0, last_epoch=e),
    "CosineAnnealingLR": lambda L, o, e: L.CosineAnnealingLR(o, 4, 0.01, last_epoch=e),
    "CosineAnnealingWarmRestarts": lambda L, o, e: L.CosineAnnealingWarmRestarts(o, 3, last_epoch=e),
    "OneCycleLR": lambda L, o, e: L.OneCycleLR(o, 1.0, total_steps=16, last_epoch=e),
    "CyclicLR": lambda L, o, e: L.CyclicLR(o, 0.01, 0.1, 2, 3, mode="triangular2", last_epoch=e),
    "SequentialLR": lambda L, o, e: L.SequentialLR(
        o, [L.LinearLR(o, 0.5, total_iters=3), L.StepLR(o, 2, 0.8)], [3], last_epoch=e),
}
ORDERS = ["scheduler, load optimizer, load scheduler",   # torch's advice
          "load optimizer, scheduler, load scheduler",
          "scheduler, load scheduler, load optimizer",
          "load optimizer, scheduler(last_epoch)",
          "load optimizer, scheduler(last_epoch), load scheduler"]


def resumed(lib, make, order, k, n):
    """Run k steps, checkpoint, resume in ``order`` and run to step n; the rows after resuming."""
    opt = make_optimizer()
    sched = make(lib, opt, -1)
    drive(opt, sched, k)
    saved = copy.deepcopy((opt.state_dict(), sched.state_dict()))
    opt = make_optimizer()
    if order.startswith("load optimizer"):
        opt.load_state_dict(saved[0])
    sched = make(lib, opt, k - 1 if "last_epoch" in order else -1)
    if order.startswith("scheduler, load optimizer"):
        opt.load_state_dict(saved[0])
    if "load scheduler" in order:
        sched.load_state_dict(saved[1])
    if order.endswith("load optimizer"):
        opt.load_state_dict(saved[0])
    return drive(opt, sched, n - k)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("name", list(RESUMABLE))
def test_every_resume_order_like_torch(name, order):
    make, n = RESUMABLE[name], 15
    for k in (3, 6):  # resumed at a decay step of StepLR, MultiStepLR and ConstantLR
        assert_close(resumed(ours, make, order, k, n), resumed(TL, make, order, k, n))


def test_the_resume_example_rate():
    """MultiStepLR, optimizer loaded before the scheduler is built: the loaded rate is kept."""
    got = resumed(ours, RESUMABLE["MultiStepLR"], ORDERS[1], 5, 6)
    assert got[0][0] == pytest.approx(0.3 * 0.1 ** 2, abs=TOL)  # not the base rate 0.3


# ---------------------------------------------------------------------------------------------
# Momentum and beta1 cycling
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("opt_kwargs", [dict(opt_cls=torch.optim.SGD, momentum=0.5),
                                        dict(opt_cls=optimlab.optim.SGD, momentum=0.0),
                                        dict(opt_cls=torch.optim.Adam, betas=(0.9, 0.99)),
                                        dict(opt_cls=optimlab.optim.AdamW, betas=(0.5, 0.9))],
                         ids=["torch-SGD", "optimlab-SGD", "torch-Adam", "optimlab-AdamW"])
def test_cyclic_lr_cycles_momentum_or_beta1_like_torch(opt_kwargs):
    make = lambda L, o: L.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=3, step_size_down=2,  # noqa: E731
                                   mode="exp_range", gamma=0.9, base_momentum=[0.6, 0.7],
                                   max_momentum=0.95)
    runs = []
    for L in (TL, ours):
        opt = make_optimizer(**opt_kwargs)
        runs.append(drive(opt, make(L, opt), 20))
    assert_close(runs[1], runs[0])
    assert len({row[1] for row in runs[1]}) > 3  # the momentum (or beta1) did move
    if "betas" in opt_kwargs:
        assert opt.param_groups[0]["betas"][1] == opt_kwargs["betas"][1]  # beta2 untouched


# ---------------------------------------------------------------------------------------------
# state_dict: same keys as torch, round trips both ways
# ---------------------------------------------------------------------------------------------

class Decay:
    """A callable object: its __dict__ is saved with the scheduler (functions are not)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return self.rate ** x


ROUND_TRIP = {
    "ConstantLR": lambda L, o: L.ConstantLR(o, 0.5, 6),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, Decay(0.9)),
    "CyclicLR": lambda L, o: L.CyclicLR(o, 0.01, 0.1, 3, scale_fn=Decay(0.8)),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler([L.ExponentialLR(o, 0.9),
                                                         L.CosineAnnealingLR(o, 5)]),
    "SequentialLR": lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, 0.5, 2),
                                                    L.MultiStepLR(o, [3], 0.5)], [4]),
    "StepLR": lambda L, o: L.StepLR(o, 2, 0.5),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, 1.0, total_steps=20),
}


@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_state_dict_keys_and_round_trips_with_torch(name):
    make, k, n = ROUND_TRIP[name], 6, 14
    opt = make_optimizer()
    expected = drive(opt, make(TL, opt), n)
    for saver, loader in ((TL, ours), (ours, TL), (ours, ours)):
        opt = make_optimizer()
        sched = make(saver, opt)
        drive(opt, sched, k)
        saved = copy.deepcopy((opt.state_dict(), sched.state_dict()))
        kept = copy.deepcopy(saved[1])
        opt = make_optimizer()
        sched = make(loader, opt)
        opt.load_state_dict(saved[0])
        sched.load_state_dict(saved[1])
        if loader is ours:
            assert saved[1].keys() == kept.keys()  # loading leaves the caller's dict alone
        assert_close(drive(opt, sched, n - k), expected[k:])
    public = [{k for k in make(L, make_optimizer()).state_dict() if not k.startswith("_") or
               k in ("_last_lr", "_step_count", "_schedulers", "_milestones")} for L in (TL, ours)]
    assert public[0] == public[1]


def test_cyclic_lr_saves_a_callable_object_but_not_a_function():
    opt = make_optimizer()
    assert ours.CyclicLR(opt, 0.01, 0.1, scale_fn=Decay(0.8)).state_dict()["_scale_fn_custom"] == \
        {"rate": 0.8}
    assert ours.CyclicLR(opt, 0.01, 0.1, scale_fn=lambda x: 1.0).state_dict()["_scale_fn_custom"] is None
    fresh = ours.CyclicLR(make_optimizer(), 0.01, 0.1, scale_fn=Decay(0.5))
    fresh.load_state_dict(ours.CyclicLR(opt, 0.01, 0.1, scale_fn=Decay(0.8)).state_dict())
    assert fresh.scale_fn(2) == pytest.approx(0.64)


# ---------------------------------------------------------------------------------------------
# Warnings
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda L, o: L.ConstantLR(o),
    lambda L, o: L.MultiplicativeLR(o, lambda t: 0.9),
    lambda L, o: L.CyclicLR(o, 0.01, 0.1),
    lambda L, o: L.ChainedScheduler([L.StepLR(o, 2), L.ExponentialLR(o, 0.9)]),
    lambda L, o: L.SequentialLR(o, [L.ConstantLR(o), L.StepLR(o, 2)], [2]),
], ids=["ConstantLR", "MultiplicativeLR", "CyclicLR", "ChainedScheduler", "SequentialLR"])
def test_step_before_optimizer_step_warns_like_torch(make):
    for L in (TL, ours):
        opt = make_optimizer()
        sched = make(L, opt)
        with pytest.warns(UserWarning, match="before `?optimizer.step"):
            sched.step()
        opt = make_optimizer()
        sched = make(L, opt)
        opt.step()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sched.step()


def test_get_lr_outside_step_warns_and_computes_the_next_rates_like_torch():
    got = []
    for L in (TL, ours):
        opt = make_optimizer()
        sched = L.ExponentialLR(opt, 0.5)
        opt.step()
        sched.step()
        with pytest.warns(UserWarning, match="get_last_lr"):
            got.append(sched.get_lr())
    assert got[0] == pytest.approx(got[1], abs=TOL)


# ---------------------------------------------------------------------------------------------
# Errors: every one torch's constructors raise, and the deliberate ones
# ---------------------------------------------------------------------------------------------

def _fake_optimizer():
    return type("NotAnOptimizer", (), {"param_groups": [{"lr": 0.1, "params": []}], "defaults": {}})()


TORCH_ERRORS = [  # (name, factory(lib, optimizer), the exception torch raises)
    ("not-an-optimizer", lambda L, o: L.StepLR(_fake_optimizer(), 2), TypeError),
    ("resume-without-initial_lr", lambda L, o: L.ExponentialLR(o, 0.9, last_epoch=3), KeyError),
    ("LambdaLR-count", lambda L, o: L.LambdaLR(o, [lambda t: 1.0]), ValueError),
    ("MultiplicativeLR-count", lambda L, o: L.MultiplicativeLR(o, [lambda t: 1.0] * 3), ValueError),
    ("MultiplicativeLR-not-callable", lambda L, o: L.MultiplicativeLR(o, 0.9), TypeError),
    ("ConstantLR-factor-high", lambda L, o: L.ConstantLR(o, factor=1.5), ValueError),
    ("ConstantLR-factor-negative", lambda L, o: L.ConstantLR(o, factor=-0.1), ValueError),
    ("LinearLR-start", lambda L, o: L.LinearLR(o, start_factor=0.0), ValueError),
    ("LinearLR-end", lambda L, o: L.LinearLR(o, end_factor=1.5), ValueError),
    ("SequentialLR-empty", lambda L, o: L.SequentialLR(o, [], []), ValueError),
    ("SequentialLR-no-optimizer", lambda L, o: L.SequentialLR(o, [object()], []), TypeError),
    ("SequentialLR-plateau", lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.ReduceLROnPlateau(o)], [2]),
     ValueError),
    ("SequentialLR-other-optimizer", lambda L, o: L.SequentialLR(o, [L.StepLR(make_optimizer(), 2)], []),
     ValueError),
    ("SequentialLR-milestones", lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], []),
     ValueError),
    ("ChainedScheduler-empty", lambda L, o: L.ChainedScheduler([]), ValueError),
    ("ChainedScheduler-no-optimizer", lambda L, o: L.ChainedScheduler([L.StepLR(o, 2), object()]),
     TypeError),
    ("ChainedScheduler-plateau", lambda L, o: L.ChainedScheduler([L.ReduceLROnPlateau(o)]), ValueError),
    ("ChainedScheduler-other-optimizer",
     lambda L, o: L.ChainedScheduler([L.StepLR(o, 2), L.StepLR(make_optimizer(), 2)]), ValueError),
    ("ReduceLROnPlateau-factor", lambda L, o: L.ReduceLROnPlateau(o, factor=1.0), ValueError),
    ("ReduceLROnPlateau-not-an-optimizer", lambda L, o: L.ReduceLROnPlateau(_fake_optimizer()), TypeError),
    ("ReduceLROnPlateau-min_lr", lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError),
    ("ReduceLROnPlateau-mode", lambda L, o: L.ReduceLROnPlateau(o, mode="median"), ValueError),
    ("ReduceLROnPlateau-threshold_mode", lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="x"), ValueError),
    ("CyclicLR-not-an-optimizer", lambda L, o: L.CyclicLR(_fake_optimizer(), 0.01, 0.1), TypeError),
    ("CyclicLR-base_lr", lambda L, o: L.CyclicLR(o, [0.01], 0.1), ValueError),
    ("CyclicLR-max_lr", lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2, 0.3]), ValueError),
    ("CyclicLR-mode", lambda L, o: L.CyclicLR(o, 0.01, 0.1, mode="square"), ValueError),
    ("CyclicLR-no-momentum", lambda L, o: L.CyclicLR(make_optimizer(opt_cls=torch.optim.Adagrad), 0.01, 0.1),
     ValueError),
    ("CyclicLR-base_momentum", lambda L, o: L.CyclicLR(o, 0.01, 0.1, base_momentum=[0.8]), ValueError),
    ("CyclicLR-max_momentum", lambda L, o: L.CyclicLR(o, 0.01, 0.1, max_momentum=[0.9] * 3), ValueError),
    ("WarmRestarts-T_0", lambda L, o: L.CosineAnnealingWarmRestarts(o, 0), ValueError),
    ("WarmRestarts-T_0-float", lambda L, o: L.CosineAnnealingWarmRestarts(o, 2.0), ValueError),
    ("WarmRestarts-T_mult", lambda L, o: L.CosineAnnealingWarmRestarts(o, 2, 0), ValueError),
    ("WarmRestarts-eta_min", lambda L, o: L.CosineAnnealingWarmRestarts(o, 2, eta_min="0"), ValueError),
    ("OneCycleLR-not-an-optimizer", lambda L, o: L.OneCycleLR(_fake_optimizer(), 1.0, 10), TypeError),
    ("OneCycleLR-total_steps", lambda L, o: L.OneCycleLR(o, 1.0, total_steps=0), ValueError),
    ("OneCycleLR-total_steps-float", lambda L, o: L.OneCycleLR(o, 1.0, total_steps=10.0), ValueError),
    ("OneCycleLR-epochs", lambda L, o: L.OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=3), ValueError),
    ("OneCycleLR-steps_per_epoch", lambda L, o: L.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=-1),
     ValueError),
    ("OneCycleLR-no-length", lambda L, o: L.OneCycleLR(o, 1.0, epochs=2), ValueError),
    ("OneCycleLR-pct_start", lambda L, o: L.OneCycleLR(o, 1.0, 10, pct_start=1.5), ValueError),
    ("OneCycleLR-pct_start-int", lambda L, o: L.OneCycleLR(o, 1.0, 10, pct_start=0), ValueError),
    ("OneCycleLR-anneal_strategy", lambda L, o: L.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"),
     ValueError),
    ("OneCycleLR-max_lr", lambda L, o: L.OneCycleLR(o, [1.0], 10), ValueError),
    ("OneCycleLR-no-momentum",
     lambda L, o: L.OneCycleLR(make_optimizer(opt_cls=torch.optim.Adagrad), 1.0, 10), ValueError),
    ("OneCycleLR-base_momentum", lambda L, o: L.OneCycleLR(o, 1.0, 10, base_momentum=[0.8]), ValueError),
]


@pytest.mark.parametrize("make,error", [(m, e) for _, m, e in TORCH_ERRORS],
                         ids=[name for name, _, _ in TORCH_ERRORS])
def test_every_constructor_error_torch_raises(make, error):
    for L in (TL, ours):
        with pytest.raises(error) as info:
            make(L, make_optimizer())
    if error is ValueError:  # ours name what is wrong
        assert any(w in str(info.value) for w in ("Invalid", "needs", "cannot", "different")), info.value


def test_errors_raised_while_stepping_like_torch():
    for L in (TL, ours):
        opt = make_optimizer()
        sched = L.ConstantLR(opt, factor=0.0, total_iters=2)  # torch divides by zero at step 2
        opt.step()
        sched.step()
        with pytest.raises(ZeroDivisionError):
            sched.step()
        opt = make_optimizer()
        sched = L.CosineAnnealingWarmRestarts(opt, 3)
        opt.step()
        with pytest.raises(ValueError, match="epoch"):
            sched.step(-1)


DELIBERATE = [  # torch accepts these and then schedules nonsense or divides by zero; ours raise
    lambda o: ours.ConstantLR(o, total_iters=0),
    lambda o: ours.CyclicLR(o, 0.01, 0.1, step_size_up=0),
    lambda o: ours.CyclicLR(o, 0.01, 0.1, scale_fn=lambda x: 1.0, scale_mode="cycles"),
    lambda o: ours.SequentialLR(o, [ours.StepLR(o, 2)] * 3, [4, 2]),
    lambda o: ours.StepLR(o, 0),
]


@pytest.mark.parametrize("make", DELIBERATE)
def test_deliberate_differences_raise(make):
    with pytest.raises(ValueError, match="Invalid"):
        make(make_optimizer())


def test_warm_restarts_step_epoch_is_exact_where_torch_rounds():
    """The one documented difference in numbers: torch finds the cycle of epoch 121 (T_0=1,
    T_mult=3: restarts at 1, 4, 13, 40, 121) with a logarithm that rounds down, and puts it at
    the end of the previous cycle (eta_min) instead of at the restart (the base rate)."""
    rates = []
    for L in (TL, ours):
        opt = make_optimizer()
        sched = L.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=3, eta_min=0.01)
        opt.step()
        sched.step(121)  # not deprecated for this class, in either library
        rates.append(sched.get_last_lr()[0])
    assert rates[0] == pytest.approx(0.01, abs=TOL) and rates[1] == pytest.approx(0.3, abs=TOL)
