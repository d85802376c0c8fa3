"""Adamax, NAdam, RAdam, ASGD, Rprop and SparseAdam: parity with torch.optim (foreach=False),
hand-computed first steps, checkpoints in both directions, signatures and argument checking.

The dense five run through the same harness as the first six optimizers (two parameter groups,
an lr change mid-run, a parameter whose gradient is sometimes None, an all-zero gradient,
50 steps, parameters and every state tensor compared). SparseAdam takes only sparse gradients,
so it gets embedding tables and gradients with a few rows each.
"""

from __future__ import annotations

import inspect
import io
import itertools
import math
import struct

import pytest
import torch

import optimlab.optim as ours
from test_optim_support import (TOL, assert_same_state, build, clone_params, make_params,  # noqa: F401
                                one_thread, pair, run_pair, set_grads)

DENSE = ["Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]
NEW = DENSE + ["SparseAdam"]


def grid(cycled=None, **axes):
    """Every combination of the ``axes`` values; each ``cycled`` option takes its values in turn."""
    keys = list(axes)
    configs = [dict(zip(keys, values)) for values in itertools.product(*axes.values())]
    for j, (key, values) in enumerate((cycled or {}).items()):
        for i, c in enumerate(configs):
            c[key] = values[(i // (j + 2) + i) % len(values)]
    return configs


BETAS = [(0.9, 0.999), (0.5, 0.9), (0.0, 0.0)]

# (configs of group 0, overrides of group 1): group 1 has its own lr and another hyper-parameter
CASES = {
    "Adamax": ([{"lr": 0.01, **c} for c in grid(
        weight_decay=[0.0, 0.1], maximize=[False, True],
        cycled={"betas": BETAS, "eps": [1e-8, 1e-3, 0.5]})],
        {"lr": 0.005, "betas": (0.8, 0.99), "weight_decay": 0.05}),
    "NAdam": ([{"lr": 0.01, **c} for c in grid(
        weight_decay=[0.0, 0.1], decoupled_weight_decay=[False, True], maximize=[False, True],
        cycled={"momentum_decay": [4e-3, 0.0, 0.05], "betas": BETAS, "eps": [1e-8, 1e-3]})
        if not (c["decoupled_weight_decay"] and c["weight_decay"] == 0)],
        {"lr": 0.005, "momentum_decay": 0.01, "betas": (0.8, 0.99)}),
    "RAdam": ([{"lr": 0.01, **c} for c in grid(
        weight_decay=[0.0, 0.1], decoupled_weight_decay=[False, True], maximize=[False, True],
        cycled={"betas": [(0.9, 0.999), (0.5, 0.9), (0.9, 0.0)], "eps": [1e-8, 1e-3]})
        if not (c["decoupled_weight_decay"] and c["weight_decay"] == 0)],
        {"lr": 0.005, "betas": (0.8, 0.95), "weight_decay": 0.05}),
    "ASGD": ([{"lr": 0.05, **c} for c in grid(
        t0=[1e6, 10.0, 0.0], lambd=[1e-4, 0.3], weight_decay=[0.0, 0.1],
        cycled={"maximize": [False, True], "alpha": [0.75, 0.5, 1.0]})],
        {"lr": 0.02, "t0": 5.0, "alpha": 0.6}),
    "Rprop": ([{"lr": 0.01, **c} for c in grid(
        etas=[(0.5, 1.2), (0.3, 1.5)], step_sizes=[(1e-6, 50), (0.005, 0.02)],
        maximize=[False, True])],
        {"lr": 0.03, "etas": (0.4, 1.1)}),
}

# one configuration per optimizer that switches on all the state and options it has
FULL = {
    "Adamax": {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99)},
    "NAdam": {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01},
    "RAdam": {"lr": 0.01, "weight_decay": 0.1, "betas": (0.9, 0.95)},
    "ASGD": {"lr": 0.05, "lambd": 0.1, "t0": 5.0, "weight_decay": 0.1},
    "Rprop": {"lr": 0.01, "etas": (0.4, 1.3), "step_sizes": (1e-4, 0.1)},
}


def config_id(config):
    return ",".join(f"{k}={v}" for k, v in config.items())


PARAMS = [pytest.param(name, c, CASES[name][1], id=f"{name}[{config_id(c)}]")
          for name in DENSE for c in CASES[name][0]]
PARAMS32 = [pytest.param(name, c, CASES[name][1], id=f"{name}[{config_id(c)}]")
            for name in DENSE for c in CASES[name][0][::3]]


# ---------------------------------------------------------------- parity, dense gradients

@pytest.mark.parametrize("name,config,group1", PARAMS)
def test_matches_torch_float64(name, config, group1):
    opt_o, opt_t, p_o, p_t = run_pair(name, config, group1, dtype=torch.float64)
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64])


@pytest.mark.parametrize("name,config,group1", PARAMS32)
def test_matches_torch_float32(name, config, group1):
    opt_o, opt_t, p_o, p_t = run_pair(name, config, group1, dtype=torch.float32)
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float32])


def test_matrix_covers_every_option():
    """Each option is exercised at two values or more (a boolean both on and off)."""
    for name, (configs, group1) in CASES.items():
        for key in configs[0]:
            if key == "lr":
                continue  # one lr in group 0; group 1 and the mid-run change vary it
            values = {repr(c[key]) for c in configs}
            assert len(values) >= 2, f"{name}: option {key} takes only the value(s) {values}"
        signature = inspect.signature(getattr(ours, name).__init__).parameters
        options = set(signature) - {"self", "params", "foreach", "capturable", "differentiable"}
        assert options <= set(configs[0]), f"{name}: options never varied: {options - set(configs[0])}"


@pytest.mark.parametrize("name", ["Rprop", "ASGD", "RAdam"])
def test_the_branches_that_matter_are_reached(name):
    """The parity runs are not vacuous: the branches that matter happen within 50 steps."""
    if name == "Rprop":
        p = make_params(shapes=[(5,)])
        opt = ours.Rprop(p, **FULL[name])
        grew = shrank = forgot = False
        for step in range(1, 51):
            set_grads(p, step)
            opt.step()
            sizes, prev = opt.state[p[0]]["step_size"], opt.state[p[0]]["prev"]
            grew, shrank = grew or bool((sizes > 0.01).any()), shrank or bool((sizes < 0.01).any())
            forgot = forgot or bool((prev == 0).any())
        assert grew and shrank and forgot
        return
    opt_o, _, p_o, _ = run_pair(name, FULL[name], {}, steps=50)
    state = opt_o.state[p_o[1]]
    if name == "ASGD":
        assert not torch.equal(state["ax"], p_o[1].detach())   # averaging started (t0 = 5)
        assert state["mu"].item() == pytest.approx(1 / (50 - 5))
    if name == "RAdam":  # with β2 = 0.95, ρ_t > 5 from t = 6: both branches ran
        beta2 = FULL[name]["betas"][1]
        rho_inf = 2 / (1 - beta2) - 1
        rho = [rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t) for t in range(1, 51)]
        assert min(rho) <= 5 < max(rho)


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("name", DENSE)
def test_nan_and_inf_gradients_propagate_like_torch(name, maximize):
    def poison(i, step, g):
        if step == 3 and i == 2:
            g.view(-1)[0] = float("nan")
        if step == 5 and i == 3:
            g.view(-1)[1] = float("inf")
            g.view(-1)[2] = -float("inf")

    config = {**FULL[name], "maximize": maximize}
    opt_o, opt_t, p_o, p_t = run_pair(name, config, {}, steps=5 if name == "Rprop" else 8,
                                      lr_change_at=None, special=poison)
    if name == "Rprop":  # sign(NaN) = 0 in torch: θ stands still and the next step forgets it
        clean = run_pair(name, config, {}, steps=5, lr_change_at=None)[3]
        assert not torch.equal(p_t[2], clean[2]), "the NaN changed nothing in torch's run"
    else:
        assert torch.isnan(p_t[2]).any(), "the NaN did not reach torch's parameter: the test is vacuous"
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64], equal_nan=True)


@pytest.mark.parametrize("name", DENSE)
def test_complex_parameters_match_torch(name):
    p = make_params(torch.float64, complex_=True)
    opt_o, opt_t, p_o, p_t = run_pair(name, FULL[name], {"lr": 0.003}, steps=20, params=p)
    assert p_o[0].is_complex()
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64])


@pytest.mark.parametrize("lr", [torch.tensor(0.01), torch.tensor([0.01])], ids=["0-d", "1-element"])
@pytest.mark.parametrize("name", DENSE)
def test_tensor_lr_matches_torch(name, lr):
    opt_o, opt_t, p_o, p_t = run_pair(name, {**FULL[name], "lr": lr}, {}, steps=12, lr_change_at=None)
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64])


@pytest.mark.parametrize("name", DENSE)
def test_scalar_state_is_float64_when_default_dtype_is(name):
    """step, mu_product, eta and mu follow the default dtype, as torch's do."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        opt_o, opt_t, p_o, p_t = run_pair(name, FULL[name], {}, steps=8)
    finally:
        torch.set_default_dtype(old)
    assert opt_o.state[p_o[0]]["step"].dtype == torch.float64
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64])


@pytest.mark.parametrize("name", DENSE)
def test_a_real_loss_matches_torch(name):
    """A small regression network trained by both: gradients come from autograd."""
    torch.manual_seed(0)
    x, y = torch.randn(32, 4, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    net_o = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    net_t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    net_t.load_state_dict(net_o.state_dict())
    our_cls, torch_cls = pair(name)
    opt_o = our_cls(net_o.parameters(), **FULL[name])
    opt_t = torch_cls(net_t.parameters(), **FULL[name], foreach=False)
    for _ in range(30):
        for net, opt in ((net_o, opt_o), (net_t, opt_t)):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
            opt.step()
    assert_same_state(opt_o, opt_t, list(net_o.parameters()), list(net_t.parameters()),
                      TOL[torch.float64])


# ---------------------------------------------------------------- parity, SparseAdam

EMB = [(7, 3), (5, 2)]  # two embedding tables, one per parameter group


def sparse_grad(shape, rows, step, dtype):
    """A sparse gradient with the given rows (repeats allowed: they are summed when coalesced)."""
    gen = torch.Generator().manual_seed(100 + step)
    values = torch.randn(len(rows), shape[1], generator=gen, dtype=torch.float64).to(dtype)
    index = torch.tensor([rows], dtype=torch.long)
    return torch.sparse_coo_tensor(index, values, shape, check_invariants=True)


def sparse_rows(i, step):
    """Which rows each table's gradient has: None = no gradient; [] = a gradient with no rows."""
    if i == 1 and step in (1, 4, 9):
        return None
    if i == 0 and step == 6:
        return []
    return [(step * (i + 2)) % 5, 1, 1, (step + 3) % 5]  # rows 5 and 6 of table 0 are never seen


def drive_sparse(pairs, steps, start=1, lr_change_at=None, zero_at=None):
    """Step each (params, optimizer) with the same sparse gradients."""
    for step in range(start, start + steps):
        for params, opt in pairs:
            if step == lr_change_at:
                for g in opt.param_groups:
                    g["lr"] *= 0.3
            for i, p in enumerate(params):
                rows = sparse_rows(i, step)
                if rows is None:
                    p.grad = None
                    continue
                g = sparse_grad(EMB[i], rows, step, p.dtype)
                if zero_at == (i, step):
                    g = g * 0  # stored rows of zeros: still "present", so still updated
                p.grad = g
            opt.step()


def sparse_pair(config, group1, dtype=torch.float64):
    params = make_params(dtype, shapes=EMB)
    twins = clone_params(params)
    groups = lambda ps: [{"params": [ps[0]]}, {"params": [ps[1]], **group1}]  # noqa: E731
    own = lambda: {k: v.clone() if torch.is_tensor(v) else v for k, v in config.items()}  # noqa: E731
    # (each its own tensor lr: the mid-run change multiplies it in place)
    return params, ours.SparseAdam(groups(params), **own()), twins, torch.optim.SparseAdam(groups(twins), **own())


SPARSE_CONFIGS = [{}, {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-3}, {"lr": 0.02, "maximize": True},
                  {"lr": torch.tensor(0.01)}]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("config", SPARSE_CONFIGS, ids=config_id)
def test_sparse_adam_matches_torch(config, dtype):
    p_o, opt_o, p_t, opt_t = sparse_pair(config, {"lr": 0.004, "betas": (0.8, 0.99)}, dtype)
    w0 = [p.detach().clone() for p in p_o]
    drive_sparse([(p_o, opt_o), (p_t, opt_t)], 30, lr_change_at=15, zero_at=(0, 7))
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[dtype])
    assert opt_o.state[p_o[0]]["step"] == 30 and opt_o.state[p_o[1]]["step"] == 27
    assert isinstance(opt_o.state[p_o[0]]["step"], int)
    seen = {r for s in range(1, 31) for r in (sparse_rows(0, s) or [])}
    unseen = sorted(set(range(EMB[0][0])) - seen)
    assert unseen, "every row was looked up: the test cannot see rows left alone"
    assert torch.equal(p_o[0][unseen], w0[0][unseen])
    assert not opt_o.state[p_o[0]]["exp_avg"][unseen].any()


def test_sparse_adam_refuses_what_torch_refuses():
    for cls in (ours.SparseAdam, torch.optim.SparseAdam):
        p = make_params(shapes=[(3, 2)])
        opt = cls(p)
        p[0].grad = torch.ones(3, 2, dtype=torch.float64)
        with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
            opt.step()
        assert len(opt.state) == 0
        with pytest.raises(ValueError, match=r"Sparse params at indices \[\[0, 0\]\]"):
            cls([torch.zeros(3, 2).to_sparse()])
        with pytest.raises(ValueError, match=r"Sparse params at indices \[\[1, 0\]\]"):
            cls([{"params": make_params(shapes=[(2,)])}, {"params": [torch.zeros(3, 2).to_sparse()]}])
        with pytest.raises(ValueError, match=r"Complex params at indices \[\[0, 1\]\]"):
            cls(make_params(shapes=[(2,)]) + make_params(shapes=[(2,)], complex_=True))


def test_sparse_adam_in_an_embedding():
    """nn.Embedding(sparse=True): the gradient comes from autograd, rows looked up twice summed."""
    torch.manual_seed(0)
    emb_o = torch.nn.Embedding(10, 3, sparse=True, dtype=torch.float64)
    emb_t = torch.nn.Embedding(10, 3, sparse=True, dtype=torch.float64)
    emb_t.load_state_dict(emb_o.state_dict())
    opt_o, opt_t = ours.SparseAdam(emb_o.parameters(), lr=0.1), torch.optim.SparseAdam(emb_t.parameters(), lr=0.1)
    for step in range(10):
        idx = torch.tensor([[step % 5, 3, 3, 7]])
        for emb, opt in ((emb_o, opt_o), (emb_t, opt_t)):
            opt.zero_grad()
            (emb(idx) ** 2).sum().backward()
            opt.step()
    assert_same_state(opt_o, opt_t, [emb_o.weight], [emb_t.weight], 1e-12)


# ---------------------------------------------------------------- checkpoints

def through_bytes(state_dict):
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    buf.seek(0)
    return torch.load(buf)


def drive(opt, params, steps, start=1):
    for step in range(start, start + steps):
        set_grads(params, step, none_on=lambda i, s: i == 4 and (s <= 2 or s % 3 == 0))
        opt.step()


def stop_and_resume(first, second, name, flags):
    """12 steps with ``first``, its checkpoint (through bytes) loaded into ``second``, 18 more steps."""
    params = make_params()
    opt = build(first, params, FULL[name], {"lr": 0.003}, flags(first))
    drive(opt, params, 12)
    checkpoint = through_bytes(opt.state_dict())
    fresh = clone_params(params)
    opt2 = build(second, fresh, {}, {"lr": 456.0}, flags(second))  # hyper-parameters come from the checkpoint
    opt2.load_state_dict(checkpoint)
    assert opt2.param_groups[1]["lr"] == 0.003
    drive(opt2, fresh, 18, start=13)
    return opt2, fresh


@pytest.mark.parametrize("direction", ["torch_to_ours", "ours_to_torch", "ours_to_ours"])
@pytest.mark.parametrize("name", DENSE)
def test_checkpoints_move_between_torch_and_ours(name, direction):
    """Stop, load the checkpoint into the other (or a fresh one of ours), keep stepping: the same as
    torch stopped and resumed the same way. (Loading casts 0-d float state such as ASGD's ``eta``
    or NAdam's ``mu_product`` to the parameter's dtype, in torch as in ours: the reference is
    resumed too.)"""
    our_cls, torch_cls = pair(name)
    first, second = {"torch_to_ours": (torch_cls, our_cls), "ours_to_torch": (our_cls, torch_cls),
                     "ours_to_ours": (our_cls, our_cls)}[direction]
    flags = lambda cls: {"foreach": False} if cls is torch_cls else {}  # noqa: E731
    opt_ref, reference = stop_and_resume(torch_cls, torch_cls, name, flags)
    opt2, fresh = stop_and_resume(first, second, name, flags)
    assert_same_state(opt2, opt_ref, fresh, reference, TOL[torch.float64])


@pytest.mark.parametrize("direction", ["torch_to_ours", "ours_to_torch", "ours_to_ours"])
def test_sparse_adam_checkpoints_move_between_torch_and_ours(direction):
    config, group1 = {"lr": 0.05}, {"lr": 0.01}
    p_ref, _, p_twin, opt_ref = sparse_pair(config, group1)
    drive_sparse([(p_twin, opt_ref)], 20)
    p_a, opt_ours, p_b, opt_torch = sparse_pair(config, group1)
    first = {"torch_to_ours": (p_b, opt_torch)}.get(direction, (p_a, opt_ours))
    drive_sparse([first], 8)
    checkpoint = through_bytes(first[1].state_dict())
    fresh = clone_params(first[0])
    cls = torch.optim.SparseAdam if direction == "ours_to_torch" else ours.SparseAdam
    opt2 = cls([{"params": [fresh[0]]}, {"params": [fresh[1]]}], lr=1.0)
    opt2.load_state_dict(checkpoint)
    drive_sparse([(fresh, opt2)], 12, start=9)
    assert_same_state(opt2, opt_ref, fresh, p_twin, 0.0)


@pytest.mark.parametrize("name", DENSE)
def test_state_dict_has_torch_layout(name):
    our_cls, torch_cls = pair(name)
    a, b = make_params(), make_params()
    o = build(our_cls, a, FULL[name], {"lr": 0.003})
    t = build(torch_cls, b, FULL[name], {"lr": 0.003})
    drive(o, a, 4)
    drive(t, b, 4)
    so, st = o.state_dict(), t.state_dict()
    assert set(so["state"]) == set(st["state"])
    for k in st["state"]:
        assert list(so["state"][k]) == list(st["state"][k])  # same keys, in the same order
        for key, vt in st["state"][k].items():
            vo = so["state"][k][key]
            assert vo.dtype == vt.dtype and vo.shape == vt.shape and vo.device == vt.device, (k, key)
    assert so["param_groups"] == st["param_groups"]


# ---------------------------------------------------------------- the drop-in surface

@pytest.mark.parametrize("name", NEW)
def test_signature_matches_torch(name):
    """Same argument names, order, kinds (positional / keyword-only) and defaults."""
    our_cls, torch_cls = pair(name)
    mine = [(p.name, p.kind, p.default) for p in inspect.signature(our_cls.__init__).parameters.values()]
    theirs = [(p.name, p.kind, p.default) for p in inspect.signature(torch_cls.__init__).parameters.values()]
    assert mine == theirs


@pytest.mark.parametrize("name", NEW)
def test_defaults_and_group_keys_match_torch(name):
    our_cls, torch_cls = pair(name)
    o, t = our_cls(make_params(shapes=[(2,)])), torch_cls(make_params(shapes=[(2,)]))
    assert o.defaults == t.defaults
    strip = lambda g: {k: v for k, v in g.items() if k != "params"}  # noqa: E731
    assert strip(o.param_groups[0]) == strip(t.param_groups[0])
    assert issubclass(our_cls, torch.optim.Optimizer) and our_cls.__name__ == name
    assert name in ours.__all__


@pytest.mark.parametrize("name", DENSE)
def test_implementation_flags_refused_when_truthy_accepted_when_off(name):
    """foreach and fused (our own fast paths) are accepted; capturable and differentiable are refused."""
    our_cls, _ = pair(name)
    flags = [p for p in inspect.signature(our_cls.__init__).parameters
             if p in ("foreach", "fused", "capturable", "differentiable")]
    assert flags
    for flag in flags:
        if flag in ("foreach", "fused"):
            assert our_cls(make_params(shapes=[(2,)]), **{flag: True}).param_groups[0][flag] is True
        else:
            with pytest.raises(ValueError, match=flag):
                our_cls(make_params(shapes=[(2,)]), **{flag: True})
        for off in (False, None):
            assert our_cls(make_params(shapes=[(2,)]), **{flag: off}).param_groups[0][flag] is off


@pytest.mark.parametrize("name", DENSE)
def test_sparse_gradients_refused_like_torch(name):
    for cls in pair(name):
        emb = torch.nn.Embedding(5, 2, sparse=True)
        opt = cls(emb.parameters(), lr=0.1)
        emb(torch.tensor([1, 2])).sum().backward()
        with pytest.raises(RuntimeError, match="sparse"):
            opt.step()


@pytest.mark.parametrize("name", DENSE)
def test_a_parameter_without_gradient_gets_no_state_and_does_not_move(name):
    a, b = make_params(shapes=[(3,), (2,)])
    b0 = b.detach().clone()
    opt = getattr(ours, name)([a, b], **FULL[name])
    for step in range(1, 4):
        set_grads([a, b], step, none_on=lambda i, s: i == 1)
        opt.step()
    assert torch.equal(b.detach(), b0) and b not in opt.state
    assert opt.state[a]["step"].item() == 3.0


BAD = [  # (optimizer, keyword arguments, name the message must contain, the value it must show)
    ("Adamax", {"lr": -1e-3}, "lr", -1e-3),
    ("Adamax", {"eps": -1e-8}, "eps", -1e-8),
    ("Adamax", {"betas": (1.0, 0.999)}, "betas[0]", 1.0),
    ("Adamax", {"betas": (-0.1, 0.999)}, "betas[0]", -0.1),
    ("Adamax", {"betas": (0.9, 1.0)}, "betas[1]", 1.0),
    ("Adamax", {"betas": (0.9, -0.5)}, "betas[1]", -0.5),
    ("Adamax", {"weight_decay": -0.1}, "weight_decay", -0.1),
    ("Adamax", {"lr": torch.tensor([0.1, 0.2])}, "lr", "shape"),
    ("NAdam", {"lr": -1e-3}, "lr", -1e-3),
    ("NAdam", {"eps": -1e-8}, "eps", -1e-8),
    ("NAdam", {"betas": (1.0, 0.999)}, "betas[0]", 1.0),
    ("NAdam", {"betas": (0.9, 1.5)}, "betas[1]", 1.5),
    ("NAdam", {"weight_decay": -0.1}, "weight_decay", -0.1),
    ("NAdam", {"momentum_decay": -0.2}, "momentum_decay", -0.2),
    ("RAdam", {"lr": -1e-3}, "lr", -1e-3),
    ("RAdam", {"eps": -1e-8}, "eps", -1e-8),
    ("RAdam", {"betas": (1.0, 0.999)}, "betas[0]", 1.0),
    ("RAdam", {"betas": (0.9, 1.0)}, "betas[1]", 1.0),
    ("RAdam", {"weight_decay": -1.0}, "weight_decay", -1.0),
    ("ASGD", {"lr": -0.01}, "lr", -0.01),
    ("ASGD", {"weight_decay": -0.5}, "weight_decay", -0.5),
    ("Rprop", {"lr": -0.01}, "lr", -0.01),
    ("Rprop", {"etas": (1.0, 1.2)}, "etas[0]", 1.0),
    ("Rprop", {"etas": (0.0, 1.2)}, "etas[0]", 0.0),
    ("Rprop", {"etas": (0.5, 1.0)}, "etas[1]", 1.0),
    ("Rprop", {"etas": (1.0, 0.5)}, "etas[0]", 1.0),
    ("SparseAdam", {"lr": 0.0}, "lr", 0.0),
    ("SparseAdam", {"lr": -1e-3}, "lr", -1e-3),
    ("SparseAdam", {"eps": 0.0}, "eps", 0.0),
    ("SparseAdam", {"betas": (1.0, 0.0)}, "betas[0]", 1.0),
    ("SparseAdam", {"betas": (0.9, 1.0)}, "betas[1]", 1.0),
]


@pytest.mark.parametrize("name,kwargs,arg,shown", BAD, ids=[f"{n}-{kw}" for n, kw, _, _ in BAD])
def test_bad_hyper_parameter_is_refused_naming_it(name, kwargs, arg, shown):
    our_cls, torch_cls = pair(name)
    with pytest.raises(ValueError):  # a case torch refuses too
        torch_cls(make_params(shapes=[(2,)]), **kwargs)
    with pytest.raises(ValueError) as err:
        our_cls(make_params(shapes=[(2,)]), **kwargs)
    message = str(err.value)
    assert f"Invalid {arg}" in message and str(shown) in message, message


def test_messages_state_the_allowed_range():
    p = make_params(shapes=[(2,)])
    with pytest.raises(ValueError, match=r"Invalid etas\[1\]: 1.0 \(expected 1.0 < etas\[1\]\)"):
        ours.Rprop(p, etas=(0.5, 1.0))
    with pytest.raises(ValueError, match=r"Invalid etas\[0\]: 0.0 \(expected 0.0 < etas\[0\] < 1.0\)"):
        ours.Rprop(p, etas=(0.0, 1.2))
    with pytest.raises(ValueError, match=r"Invalid lr: 0.0 \(expected 0.0 < lr\)"):
        ours.SparseAdam(p, lr=0.0)
    with pytest.raises(ValueError, match=r"Invalid momentum_decay: -1.0 \(expected 0.0 <= momentum_decay\)"):
        ours.NAdam(p, momentum_decay=-1.0)


GOOD_EDGES = [  # values torch accepts (including the ones it does not check): so must we
    ("Adamax", {"betas": (0.0, 0.0), "eps": 0.0, "lr": 0.0}),
    ("NAdam", {"momentum_decay": 0.0, "betas": (0.0, 0.0)}),
    ("RAdam", {"betas": (0.0, 0.0), "eps": 0.0}),
    ("ASGD", {"lambd": -0.1, "alpha": -1.0, "t0": -5.0}),
    ("Rprop", {"step_sizes": (0.5, 0.1), "lr": 0.0}),
    ("Rprop", {"etas": (1e-9, 1.0 + 1e-9)}),
]


@pytest.mark.parametrize("name,kwargs", GOOD_EDGES)
def test_values_torch_accepts_are_accepted(name, kwargs):
    our_cls, torch_cls = pair(name)
    a = make_params()
    b = clone_params(a)
    o, t = our_cls(a, **kwargs), torch_cls(b, **kwargs, foreach=False)
    for step in range(1, 8):
        for ps, opt in ((a, o), (b, t)):
            set_grads(ps, step)
            opt.step()
    assert_same_state(o, t, a, b, 1e-12, equal_nan=True)


# ---------------------------------------------------------------- by hand

def run(cls, theta0, grads, **kwargs):
    """Step a scalar parameter with the given gradients; return its values and the state."""
    p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kwargs)
    values = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        values.append(p.item())
    return values, opt.state[p]


def f32(x):
    """x rounded to float32, as a 0-d float32 state tensor holds it."""
    return struct.unpack("f", struct.pack("f", x))[0]


def assert_steps(got, expected):
    for t, (a, b) in enumerate(zip(got, expected), start=1):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), f"step {t}: got {a!r}, expected {b!r}"


def test_adamax_by_hand():
    lr, b1, b2, eps, lam = 0.1, 0.9, 0.99, 0.01, 0.05
    got, state = run(ours.Adamax, 2.0, [1.0, -0.5], lr=lr, betas=(b1, b2), eps=eps, weight_decay=lam)
    g1 = 1.0 + lam * 2.0                              # 1.1
    m1, u1 = (1 - b1) * g1, max(0.0, abs(g1) + eps)   # 0.11, 1.11
    th1 = 2.0 - lr * m1 / ((1 - b1) * u1)             # 2 − 0.1 · 1.1 / 1.11
    g2 = -0.5 + lam * th1
    m2 = b1 * m1 + (1 - b1) * g2
    u2 = max(b2 * u1, abs(g2) + eps)                  # the decayed norm wins: 1.0989
    assert u2 == b2 * u1
    th2 = th1 - lr * m2 / ((1 - b1 ** 2) * u2)
    assert_steps(got, [th1, th2])
    assert math.isclose(got[0], 2.0 - 0.11 / 1.11, rel_tol=1e-14)
    assert math.isclose(state["exp_inf"].item(), u2, rel_tol=1e-14)
    assert math.isclose(state["exp_avg"].item(), m2, rel_tol=1e-14)


def test_adamax_eps_caps_the_step():
    """|g| + ε inside the max: with a zero gradient u_1 = ε, so nothing divides by zero."""
    got, state = run(ours.Adamax, 1.0, [0.0], lr=0.1, eps=0.5)
    assert got == [1.0] and state["exp_inf"].item() == 0.5


def test_nadam_by_hand():
    lr, b1, b2, eps, psi = 0.1, 0.9, 0.999, 1e-8, 0.004
    got, state = run(ours.NAdam, 1.0, [0.5, -1.0], lr=lr, betas=(b1, b2), eps=eps, momentum_decay=psi)
    mu = lambda t: b1 * (1 - 0.5 * 0.96 ** (t * psi))  # noqa: E731
    theta, m, v, prod = 1.0, 0.0, 0.0, 1.0
    expected = []
    for t, g in enumerate([0.5, -1.0], start=1):
        prod = f32(prod * mu(t))                       # Π_t, held in a float32 tensor
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = math.sqrt(v / (1 - b2 ** t)) + eps
        theta -= lr * (1 - mu(t)) / (1 - prod) * g / denom
        theta -= lr * mu(t + 1) / (1 - prod * mu(t + 1)) * m / denom
        expected.append(theta)
    assert_steps(got, expected)
    assert state["mu_product"].dtype == torch.float32
    assert state["mu_product"].item() == prod


def test_nadam_decoupled_decay_shrinks_theta_first():
    lr, lam = 0.1, 0.5
    got, _ = run(ours.NAdam, 2.0, [0.0], lr=lr, weight_decay=lam, decoupled_weight_decay=True)
    assert_steps(got, [2.0 * (1 - lr * lam)])  # a zero gradient: only the decay moves θ
    got, _ = run(ours.NAdam, 2.0, [0.0], lr=lr, weight_decay=lam)
    assert got[0] < 2.0 * (1 - lr * lam)       # coupled: λθ goes through the adaptive step (≈ η)


def test_radam_by_hand():
    """Five momentum-only steps, then the rectified adaptive ones (β2 = 0.9: ρ_∞ = 19)."""
    lr, b1, b2, eps = 0.1, 0.8, 0.9, 1e-3
    grads = [1.0, -0.5, 2.0, 0.25, 1.5, -1.0, 0.5, 3.0]
    got, _ = run(ours.RAdam, 1.0, grads, lr=lr, betas=(b1, b2), eps=eps)
    theta, m, v = 1.0, 0.0, 0.0
    rho_inf = 2 / (1 - b2) - 1
    expected, rectified = [], []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho > 5:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            theta -= lr * m_hat * r * math.sqrt(1 - b2 ** t) / (math.sqrt(v) + eps)
        else:
            theta -= lr * m_hat
        expected.append(theta)
        rectified.append(rho > 5)
    assert rectified == [False] * 5 + [True] * 3  # both branches are checked
    assert_steps(got, expected)
    assert_steps(got[:1], [1.0 - lr * 1.0])       # step 1: m̂_1 = g_1


def test_asgd_by_hand():
    """t0 = 0: ā is θ for two steps, then the mean of θ_2, θ_3, ...; η_t from Bottou's schedule."""
    lr, kappa, alpha, t0 = 0.1, 0.2, 0.75, 0.0
    grads = [1.0, -2.0, 0.5, 1.0]
    p = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    opt = ours.ASGD([p], lr=lr, lambd=kappa, alpha=alpha, t0=t0)
    theta, eta, mu = 3.0, f32(lr), 1.0
    thetas = []
    for t, g in enumerate(grads, start=1):
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        theta = (1 - kappa * eta) * theta - eta * g
        thetas.append(theta)
        eta = f32(lr / (1 + kappa * lr * t) ** alpha)
        mu = f32(1 / max(1, t - t0))
        assert math.isclose(p.item(), theta, rel_tol=1e-12), t
        assert opt.state[p]["eta"].item() == eta and opt.state[p]["mu"].item() == mu
    a3 = thetas[1] + 0.5 * (thetas[2] - thetas[1])               # mean of θ_2, θ_3
    a4 = a3 + f32(1 / 3) * (thetas[3] - a3)                       # mean of θ_2, θ_3, θ_4 (μ_4 in float32)
    assert math.isclose(opt.state[p]["ax"].item(), a4, rel_tol=1e-12)
    assert math.isclose(a4, sum(thetas[1:]) / 3, rel_tol=1e-6)
    assert opt.state[p]["mu"].item() == f32(1 / 4)


def test_rprop_by_hand():
    """Speed up while the sign holds, slow down and stand still where it flips, then resume."""
    got, state = run(ours.Rprop, 1.0, [1.0, 2.0, -1.0, 3.0, 0.5], lr=0.1, etas=(0.5, 1.2),
                     step_sizes=(0.01, 0.13))
    # Δ: 0.1 (s = 0), 0.12 (same sign), 0.06 (flip: θ stays, g forgotten), 0.06 (s = 0), 0.072
    assert_steps(got, [0.9, 0.78, 0.78, 0.72, 0.648])
    assert math.isclose(state["step_size"].item(), 0.072, rel_tol=1e-12)
    got, state = run(ours.Rprop, 1.0, [1.0, 1.0, 1.0, -1.0], lr=0.1, etas=(0.1, 1.2),
                     step_sizes=(0.05, 0.13))
    assert_steps(got, [0.9, 0.78, 0.65, 0.65])  # Δ clipped at 0.13, then max(0.013, 0.05)
    assert math.isclose(state["step_size"].item(), 0.05, rel_tol=1e-12)
    assert state["prev"].item() == 0.0


def test_sparse_adam_by_hand():
    """Rows 0 and 2 get gradients at step 1, rows 2 and 3 at step 2; row 1 never moves."""
    lr, b1, b2, eps = 0.1, 0.9, 0.99, 1e-8
    w = torch.zeros(4, 1, dtype=torch.float64, requires_grad=True)
    opt = ours.SparseAdam([w], lr=lr, betas=(b1, b2), eps=eps)
    steps = [{0: 1.0, 2: -2.0}, {2: 1.0, 3: 0.5}]
    m, v, theta = [0.0] * 4, [0.0] * 4, [0.0] * 4
    for t, rows in enumerate(steps, start=1):
        w.grad = torch.sparse_coo_tensor([list(rows)], [[g] for g in rows.values()], (4, 1),
                                         dtype=torch.float64, check_invariants=True)
        opt.step()
        for r, g in rows.items():
            m[r] = b1 * m[r] + (1 - b1) * g
            v[r] = b2 * v[r] + (1 - b2) * g * g
            theta[r] -= lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m[r] / (math.sqrt(v[r]) + eps)
    assert_steps(w.detach().view(-1).tolist(), theta)
    assert theta[1] == 0.0 and theta[0] != 0.0
    assert_steps(opt.state[w]["exp_avg"].view(-1).tolist(), m)
    assert math.isclose(w[0].item(), -lr, rel_tol=1e-6)  # a row seen once: Adam's first step, −η sign(g)


@pytest.mark.parametrize("module,cls,kwargs,names", [
    ("adamax", "Adamax", {}, ["ewma_", "bias_correction"]),
    ("nadam", "NAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True},
     ["ewma_", "ewma_sq_", "bias_correction", "decoupled_decay_"]),
    ("radam", "RAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True},
     ["ewma_", "ewma_sq_", "bias_correction", "decoupled_decay_"]),
    ("sparse_adam", "SparseAdam", {}, ["bias_correction"])])
def test_the_shared_pieces_are_used(module, cls, kwargs, names, monkeypatch):
    """Replace a shared function where the optimizer module looks it up: it must be called."""
    import importlib
    mod = importlib.import_module(f"optimlab.optim.{module}")
    calls = set()
    for fn in names:
        original = getattr(mod, fn)

        def spy(*args, _fn=fn, _original=original):
            calls.add(_fn)
            return _original(*args)
        monkeypatch.setattr(mod, fn, spy)
    if cls == "SparseAdam":
        p = make_params(shapes=[(3, 2)])
        p[0].grad = torch.sparse_coo_tensor([[0, 2]], torch.ones(2, 2, dtype=torch.float64), (3, 2))
    else:
        p = make_params(shapes=[(3,)])
        set_grads(p, 1)
    getattr(ours, cls)(p, **kwargs).step()
    assert calls == set(names)
