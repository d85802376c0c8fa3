"""The optimizers as drop-ins for torch.optim: signatures, groups, checkpoints, schedulers,
closures, argument checking and the shared moment functions."""

from __future__ import annotations

import copy
import inspect
import io
import warnings

import pytest
import torch

import optimlab.optim as ours
from optimlab.optim import moments
from test_optim_support import (NAMES, TOL, assert_same_state, build, clone_params, make_params,
                                one_thread, pair, set_grads)  # noqa: F401

CONFIGS = {  # a configuration per optimizer that switches on the state it can have
    "SGD": {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
    "Adagrad": {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    "Adadelta": {"lr": 0.5, "weight_decay": 0.1},
    "Adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
    "AdamW": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
}
GROUP1 = {"lr": 0.003}


def drive(opt, params, steps, start=1):
    for step in range(start, start + steps):
        set_grads(params, step, none_on=lambda i, s: i == 4 and s % 3 == 0)
        opt.step()


def through_bytes(state_dict):
    """What a checkpoint on disk gives back: torch.save then torch.load."""
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    buf.seek(0)
    return torch.load(buf)


# ---------------------------------------------------------------- drop-in surface

@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    """Same argument names, order, kinds (positional / keyword-only) and defaults."""
    our_cls, torch_cls = pair(name)
    mine = [(p.name, p.kind, p.default) for p in inspect.signature(our_cls.__init__).parameters.values()]
    theirs = [(p.name, p.kind, p.default) for p in inspect.signature(torch_cls.__init__).parameters.values()]
    assert mine == theirs


@pytest.mark.parametrize("name", NAMES)
def test_defaults_and_group_keys_match_torch(name):
    our_cls, torch_cls = pair(name)
    a, b = make_params(shapes=[(2,)]), make_params(shapes=[(2,)])
    o, t = our_cls(a), torch_cls(b)
    assert o.defaults == t.defaults
    go, gt = o.param_groups[0], t.param_groups[0]
    assert set(go) == set(gt)
    assert {k: v for k, v in go.items() if k != "params"} == {k: v for k, v in gt.items() if k != "params"}


@pytest.mark.parametrize("name", NAMES)
def test_is_a_torch_optimizer(name):
    our_cls, _ = pair(name)
    assert issubclass(our_cls, torch.optim.Optimizer)
    assert our_cls.__name__ == name


def test_exports():
    for name in NAMES + ["Optimizer", "ewma_", "ewma_sq_", "bias_correction"]:
        assert name in ours.__all__ and hasattr(ours, name)


# ---------------------------------------------------------------- checkpoints

@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_continues_identically(name):
    our_cls, _ = pair(name)
    params = make_params()
    reference = clone_params(params)
    opt_ref = build(our_cls, reference, CONFIGS[name], GROUP1)
    drive(opt_ref, reference, 30)

    opt = build(our_cls, params, CONFIGS[name], GROUP1)
    drive(opt, params, 12)
    checkpoint = through_bytes({"params": [p.detach() for p in params], "optim": opt.state_dict()})

    fresh = [p.clone().requires_grad_() for p in checkpoint["params"]]
    opt2 = build(our_cls, fresh, {"lr": 123.0}, {"lr": 456.0})  # hyper-parameters come from the checkpoint
    opt2.load_state_dict(checkpoint["optim"])
    drive(opt2, fresh, 18, start=13)
    assert opt2.param_groups[0]["lr"] == CONFIGS[name]["lr"]
    assert_same_state(opt2, opt_ref, fresh, reference, 0.0)


@pytest.mark.parametrize("direction", ["torch_to_ours", "ours_to_torch"])
@pytest.mark.parametrize("name", NAMES)
def test_checkpoints_move_between_torch_and_ours(name, direction):
    our_cls, torch_cls = pair(name)
    first, second = (torch_cls, our_cls) if direction == "torch_to_ours" else (our_cls, torch_cls)
    flags = lambda cls: {"foreach": False} if cls is torch_cls else {}  # noqa: E731
    params = make_params()
    reference = clone_params(params)
    opt_ref = build(torch_cls, reference, CONFIGS[name], GROUP1, flags(torch_cls))
    drive(opt_ref, reference, 30)

    opt = build(first, params, CONFIGS[name], GROUP1, flags(first))
    drive(opt, params, 12)
    checkpoint = through_bytes(opt.state_dict())
    fresh = clone_params(params)
    opt2 = build(second, fresh, CONFIGS[name], GROUP1, flags(second))
    opt2.load_state_dict(checkpoint)
    drive(opt2, fresh, 18, start=13)
    assert_same_state(opt2, opt_ref, fresh, reference, 0.0)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_has_torch_layout(name):
    our_cls, torch_cls = pair(name)
    a, b = make_params(), make_params()
    o = build(our_cls, a, CONFIGS[name], GROUP1)
    t = build(torch_cls, b, CONFIGS[name], GROUP1, {"foreach": False})
    drive(o, a, 3)
    drive(t, b, 3)
    so, st = o.state_dict(), t.state_dict()
    assert set(so["state"]) == set(st["state"])
    for k in st["state"]:
        assert list(so["state"][k]) == list(st["state"][k])  # same keys, in the same order
        step_o, step_t = so["state"][k].get("step"), st["state"][k].get("step")
        if step_t is not None:
            assert step_o.dim() == 0 and step_o.dtype == step_t.dtype and step_o.device.type == "cpu"
            assert step_o.item() == step_t.item()
    assert [g["params"] for g in so["param_groups"]] == [g["params"] for g in st["param_groups"]]


def test_plain_sgd_keeps_no_state_like_torch():
    a = make_params()
    b = clone_params(a)
    o, t = ours.SGD(a, lr=0.1), torch.optim.SGD(b, lr=0.1, foreach=False)
    drive(o, a, 3)
    drive(t, b, 3)
    assert len(o.state) == len(t.state) == 0
    assert o.state_dict()["state"] == t.state_dict()["state"] == {}


def test_loading_copies_nothing_it_need_not_cast():
    """Like torch, load_state_dict aliases tensors that already have the right dtype/device:
    a checkpoint dict that is reused must be deep-copied (or saved) first."""
    p = make_params(shapes=[(3,)])
    opt = ours.Adam(p)
    drive(opt, p, 2)
    sd = opt.state_dict()
    opt2 = ours.Adam(clone_params(p))
    opt2.load_state_dict(copy.deepcopy(sd))
    assert opt2.state[opt2.param_groups[0]["params"][0]]["exp_avg"] is not sd["state"][0]["exp_avg"]


# ---------------------------------------------------------------- schedulers, closures, hooks

@pytest.mark.parametrize("name", NAMES)
def test_torch_lr_scheduler_drives_ours(name):
    our_cls, torch_cls = pair(name)
    a = make_params()
    b = clone_params(a)
    o = build(our_cls, a, CONFIGS[name], GROUP1)
    t = build(torch_cls, b, CONFIGS[name], GROUP1, {"foreach": False})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "lr_scheduler.step() before optimizer.step()"
        so = torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)
        st = torch.optim.lr_scheduler.StepLR(t, step_size=4, gamma=0.5)
        for step in range(1, 13):
            for ps, opt, sched in ((a, o, so), (b, t, st)):
                set_grads(ps, step)
                opt.step()
                sched.step()
            assert so.get_last_lr() == st.get_last_lr()
    assert o.param_groups[0]["lr"] == CONFIGS[name]["lr"] * 0.5 ** 3
    assert_same_state(o, t, a, b, TOL[torch.float64])


def test_other_schedulers_accept_ours():
    p = make_params(shapes=[(2,)])
    opt = ours.SGD(p, lr=0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)  # cycles momentum
        for step in range(1, 10):
            set_grads(p, step)
            opt.step()
            sched.step()
    assert opt.param_groups[0]["momentum"] != 0.9


@pytest.mark.parametrize("name", NAMES)
def test_closure_is_called_and_its_loss_returned(name):
    our_cls, torch_cls = pair(name)
    torch.manual_seed(0)
    target = torch.randn(3, dtype=torch.float64)
    a = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    o, t = our_cls([a], **CONFIGS[name]), torch_cls([b], **CONFIGS[name], foreach=False)
    calls = []

    def closure_for(p, opt):
        def closure():
            calls.append(1)
            opt.zero_grad()
            loss = ((p - target) ** 2).sum()
            loss.backward()
            return loss
        return closure

    for _ in range(5):
        lo, lt = o.step(closure_for(a, o)), t.step(closure_for(b, t))
        assert lo.item() == lt.item()
        assert lo.requires_grad  # computed with grad enabled, although step runs under no_grad
    assert len(calls) == 10
    assert torch.equal(a.detach(), b.detach())
    assert o.step() is None


def test_step_hooks_run():
    p = make_params(shapes=[(2,)])
    opt = ours.Adam(p)
    seen = []
    opt.register_step_pre_hook(lambda o, args, kwargs: seen.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append("post"))
    set_grads(p, 1)
    opt.step()
    assert seen == ["pre", "post"]


def test_zero_grad_sets_none():
    p = make_params(shapes=[(2,)])
    opt = ours.SGD(p, lr=0.1)
    set_grads(p, 1)
    opt.zero_grad()
    assert p[0].grad is None


def test_add_param_group_later():
    a, b = make_params(shapes=[(2,), (3,)])
    a2, b2 = clone_params([a, b])
    for cls, (x, y), extra in ((ours.Adagrad, (a, b), {}), (torch.optim.Adagrad, (a2, b2), {"foreach": False})):
        opt = cls([x], lr=0.1, initial_accumulator_value=0.2, **extra)
        opt.add_param_group({"params": [y], "lr": 0.05})
        for step in range(1, 4):
            set_grads([x, y], step)
            opt.step()
    assert torch.equal(b, b2)


# ---------------------------------------------------------------- bad input

BAD = [  # (optimizer, keyword arguments, name the message must contain)
    ("SGD", {"lr": -0.1}, "lr"),
    ("SGD", {"momentum": -0.5}, "momentum"),
    ("SGD", {"weight_decay": -1e-4}, "weight_decay"),
    ("SGD", {"nesterov": True}, "nesterov"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov"),
    ("Adagrad", {"lr": -1.0}, "lr"),
    ("Adagrad", {"lr_decay": -0.1}, "lr_decay"),
    ("Adagrad", {"weight_decay": -0.1}, "weight_decay"),
    ("Adagrad", {"initial_accumulator_value": -0.1}, "initial_accumulator_value"),
    ("Adagrad", {"eps": -1e-10}, "eps"),
    ("RMSprop", {"lr": -1.0}, "lr"),
    ("RMSprop", {"alpha": -0.1}, "alpha"),
    ("RMSprop", {"eps": -1.0}, "eps"),
    ("RMSprop", {"weight_decay": -1.0}, "weight_decay"),
    ("RMSprop", {"momentum": -0.1}, "momentum"),
    ("Adadelta", {"lr": -1.0}, "lr"),
    ("Adadelta", {"rho": -0.1}, "rho"),
    ("Adadelta", {"rho": 1.1}, "rho"),
    ("Adadelta", {"eps": -1e-6}, "eps"),
    ("Adadelta", {"weight_decay": -1.0}, "weight_decay"),
    ("Adam", {"lr": -1e-3}, "lr"),
    ("Adam", {"eps": -1e-8}, "eps"),
    ("Adam", {"betas": (1.0, 0.999)}, "betas[0]"),
    ("Adam", {"betas": (-0.1, 0.999)}, "betas[0]"),
    ("Adam", {"betas": (0.9, 1.0)}, "betas[1]"),
    ("Adam", {"betas": (0.9, -1e-3)}, "betas[1]"),
    ("Adam", {"betas": (0, 0.999)}, "betas"),
    ("Adam", {"weight_decay": -0.1}, "weight_decay"),
    ("AdamW", {"lr": -1e-3}, "lr"),
    ("AdamW", {"eps": -1e-8}, "eps"),
    ("AdamW", {"betas": (1.5, 0.999)}, "betas[0]"),
    ("AdamW", {"betas": (0.9, 1.0)}, "betas[1]"),
    ("AdamW", {"weight_decay": -0.1}, "weight_decay"),
]


@pytest.mark.parametrize("name,kwargs,arg", BAD, ids=[f"{n}-{a}-{kw}" for n, kw, a in BAD])
def test_bad_hyper_parameter_is_refused_naming_it(name, kwargs, arg):
    our_cls, torch_cls = pair(name)
    with pytest.raises(ValueError):  # the case is one torch refuses too
        torch_cls(make_params(shapes=[(2,)]), **kwargs)
    with pytest.raises(ValueError) as err:
        our_cls(make_params(shapes=[(2,)]), **kwargs)
    message = str(err.value)
    assert arg in message
    value = kwargs.get(arg.split("[")[0], kwargs.get("nesterov"))
    if arg.startswith("betas["):
        value = value[int(arg[6])]
    assert str(value) in message, f"the message does not show the value {value}: {message}"


def test_message_states_the_allowed_range():
    with pytest.raises(ValueError, match=r"Invalid rho: 1.5 \(expected 0.0 <= rho <= 1.0\)"):
        ours.Adadelta(make_params(shapes=[(2,)]), rho=1.5)
    with pytest.raises(ValueError, match=r"Invalid betas\[1\]: 1.0 \(expected 0.0 <= betas\[1\] < 1.0\)"):
        ours.Adam(make_params(shapes=[(2,)]), betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"Invalid lr: nan"):
        ours.SGD(make_params(shapes=[(2,)]), lr=float("nan"))


GOOD_EDGES = [  # boundary values torch accepts: so must we
    ("SGD", {"lr": 0.0, "momentum": 0.0, "dampening": -1.0}),
    ("Adagrad", {"eps": 0.0, "initial_accumulator_value": 0.0, "lr_decay": 0.0}),
    ("RMSprop", {"alpha": 0.0, "eps": 0.0}),
    ("RMSprop", {"alpha": 1.5}),
    ("Adadelta", {"rho": 0.0}),
    ("Adadelta", {"rho": 1.0}),
    ("Adam", {"betas": (0.0, 0.0), "eps": 0.0}),
    ("AdamW", {"weight_decay": 0.0, "betas": (0.0, 0.5)}),
    ("Adam", {"lr": torch.tensor(0.01)}),
    ("Adam", {"betas": (torch.tensor(0.9), torch.tensor(0.99))}),
]


@pytest.mark.parametrize("name,kwargs", GOOD_EDGES)
def test_boundary_values_torch_accepts_are_accepted(name, kwargs):
    our_cls, torch_cls = pair(name)
    a = make_params()
    b = clone_params(a)
    o, t = our_cls(a, **kwargs), torch_cls(b, **kwargs, foreach=False)
    for step in range(1, 4):
        for ps, opt in ((a, o), (b, t)):
            set_grads(ps, step)
            opt.step()
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, equal_nan=True, atol=1e-12, rtol=1e-12)


FLAGS = {name: [p.name for p in inspect.signature(pair(name)[0].__init__).parameters.values()
                if p.name in ("foreach", "fused", "capturable", "differentiable")] for name in NAMES}


@pytest.mark.parametrize("name,flag", [(n, f) for n in NAMES for f in FLAGS[n]
                                       if f in ("capturable", "differentiable")])
def test_implementation_flags_refused_when_truthy_accepted_when_off(name, flag):
    our_cls, _ = pair(name)
    with pytest.raises(ValueError, match=flag):
        our_cls(make_params(shapes=[(2,)]), **{flag: True})
    with pytest.raises(ValueError, match=flag):  # also in a parameter group
        our_cls([{"params": make_params(shapes=[(2,)]), flag: True}])
    for off in (False, None):
        opt = our_cls(make_params(shapes=[(2,)]), **{flag: off})
        assert opt.param_groups[0][flag] is off


@pytest.mark.parametrize("name,flag", [(n, f) for n in NAMES for f in FLAGS[n] if f in ("foreach", "fused")])
def test_foreach_and_fused_accepted(name, flag):
    """Our own fast paths (tested in test_optim_fast): the flag is kept in the group, as torch keeps it."""
    our_cls, _ = pair(name)
    opt = our_cls(make_params(shapes=[(2,)]), **{flag: True})
    assert opt.param_groups[0][flag] is True
    opt = our_cls([{"params": make_params(shapes=[(2,)]), flag: True}])
    assert opt.param_groups[0][flag] is True


@pytest.mark.parametrize("name", [n for n in NAMES if "fused" in FLAGS[n]])
def test_foreach_and_fused_together_refused_like_torch(name):
    our_cls, torch_cls = pair(name)
    for cls in (our_cls, torch_cls):
        with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
            cls(make_params(shapes=[(2,)]), foreach=True, fused=True)


def test_every_optimizer_has_torchs_flags():
    assert FLAGS == {"SGD": ["foreach", "differentiable", "fused"],
                     "Adagrad": ["foreach", "differentiable", "fused"],
                     "RMSprop": ["capturable", "foreach", "differentiable"],
                     "Adadelta": ["foreach", "capturable", "differentiable"],
                     "Adam": ["foreach", "capturable", "differentiable", "fused"],
                     "AdamW": ["foreach", "capturable", "differentiable", "fused"]}


@pytest.mark.parametrize("name", NAMES)
def test_empty_parameter_list_and_bare_tensor(name):
    our_cls, _ = pair(name)
    with pytest.raises(ValueError, match="empty parameter list"):
        our_cls([])
    with pytest.raises(ValueError, match="empty parameter list"):
        our_cls(iter([]))
    with pytest.raises(TypeError):
        our_cls(torch.zeros(2, requires_grad=True))
    with pytest.raises(TypeError):
        our_cls(make_params(shapes=[(2,)]), not_an_argument=1)


@pytest.mark.parametrize("name", ["RMSprop", "Adadelta", "Adam", "AdamW"])
def test_sparse_gradients_refused_like_torch(name):
    our_cls, torch_cls = pair(name)
    for cls in (our_cls, torch_cls):
        emb = torch.nn.Embedding(5, 2, sparse=True)
        opt = cls(emb.parameters(), lr=0.1)
        emb(torch.tensor([1, 2])).sum().backward()
        with pytest.raises(RuntimeError, match="sparse"):
            opt.step()


@pytest.mark.parametrize("name", ["SGD", "Adagrad"])
def test_sparse_gradients_with_weight_decay_refused_like_torch(name):
    """SGD and Adagrad take sparse gradients (see the parity tests), but not with weight decay."""
    for cls in pair(name):
        emb = torch.nn.Embedding(5, 2, sparse=True)
        opt = cls(emb.parameters(), lr=0.1, weight_decay=0.1)
        emb(torch.tensor([1, 2])).sum().backward()
        with pytest.raises(RuntimeError, match="weight_decay|sparse"):
            opt.step()


def test_adagrad_state_exists_before_the_first_step():
    a, b = make_params(shapes=[(2,), (3,)])
    opt = ours.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 9.0}],
                       initial_accumulator_value=0.5)
    assert opt.state[a]["step"].item() == 0.0
    assert torch.equal(opt.state[a]["sum"], torch.full((2,), 0.5, dtype=torch.float64))
    # as in torch, the constructor's value is used for every group
    assert torch.equal(opt.state[b]["sum"], torch.full((3,), 0.5, dtype=torch.float64))
    t = torch.optim.Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 9.0}],
                            initial_accumulator_value=0.5)
    assert torch.equal(t.state[b]["sum"], opt.state[b]["sum"])


# ---------------------------------------------------------------- the shared moment functions

@pytest.mark.parametrize("module,names", [
    ("rmsprop", ["ewma_", "ewma_sq_"]), ("adadelta", ["ewma_sq_"]),
    ("adam", ["ewma_", "ewma_sq_", "bias_correction"])])
def test_optimizers_use_the_shared_moment_functions(module, names, monkeypatch):
    """Replace a shared function where the optimizer module looks it up: it must be called."""
    import importlib
    mod = importlib.import_module(f"optimlab.optim.{module}")
    calls = {}
    for fn in names:
        original = getattr(moments, fn)
        assert getattr(mod, fn) is original

        def spy(*args, _fn=fn, _original=original):
            calls[_fn] = calls.get(_fn, 0) + 1
            return _original(*args)
        monkeypatch.setattr(mod, fn, spy)
    classes = {"rmsprop": [("RMSprop", {"centered": True})], "adadelta": [("Adadelta", {})],
               "adam": [("Adam", {}), ("AdamW", {})]}[module]
    for cls_name, kwargs in classes:
        calls.clear()
        p = make_params(shapes=[(3,)])
        opt = getattr(ours, cls_name)(p, **kwargs)
        set_grads(p, 1)
        opt.step()
        assert set(calls) == set(names), f"{cls_name} called {calls}"


def test_bench_prints_a_table(capsys):
    from optimlab import bench
    bench.main(["--sizes", "2e3", "--repeats", "2", "--warmup", "1"])
    out = capsys.readouterr().out
    assert "ours / for-loop" in out
    assert "Adam" in out and "SGD" in out
