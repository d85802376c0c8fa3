"""optimlab.optim against torch.optim (foreach=False): parameters and every state tensor.

Each optimizer runs over a matrix of its options (every flag on and off, several
hyper-parameter values), with two parameter groups whose hyper-parameters differ, an lr change
mid-run, 50 steps, parameters of several shapes (one of which has no gradient on some steps
and one an all-zero gradient on one step).
"""

from __future__ import annotations

import copy
import itertools

import pytest
import torch

from test_optim_support import (DEVICES, NAMES, TOL, assert_same_state, make_params, one_thread,  # noqa: F401
                                pair, run_pair, set_grads)


def grid(cycled=None, **axes):
    """Every combination of the ``axes`` values, as a list of dicts.

    Each ``cycled`` option takes its values in turn along the list instead of multiplying its
    length (every value is still used, with varied partners).
    """
    keys = list(axes)
    configs = [dict(zip(keys, values)) for values in itertools.product(*axes.values())]
    for j, (key, values) in enumerate((cycled or {}).items()):
        for i, c in enumerate(configs):
            c[key] = values[(i // (j + 3) + i) % len(values)]
    return configs


def sgd_configs():
    out = []
    for c in grid(momentum=[0.0, 0.9], dampening=[0.0, 0.3], nesterov=[False, True],
                  weight_decay=[0.0, 0.1], maximize=[False, True]):
        if c["nesterov"] and (c["momentum"] == 0 or c["dampening"] != 0):
            continue  # refused by both (tested in test_optim_api)
        out.append({"lr": 0.05, **c})
    return out


# Each entry: (optimizer name, list of constructor configs, overrides for parameter group 1).
# Group 1 gets a different lr and at least one other hyper-parameter of its own.
CASES = {
    "SGD": (sgd_configs(), {"lr": 0.02, "weight_decay": 0.05}),
    "Adagrad": ([{"lr": 0.1, **c} for c in grid(
        lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1], initial_accumulator_value=[0.0, 0.5],
        maximize=[False, True], cycled={"eps": [1e-10, 1e-3]})],
        # torch ignores a group's own initial_accumulator_value; so must we
        {"lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.3}),
    "RMSprop": ([{"lr": 0.01, **c} for c in grid(
        weight_decay=[0.0, 0.1], momentum=[0.0, 0.5], centered=[False, True],
        maximize=[False, True], cycled={"alpha": [0.99, 0.9, 0.5], "eps": [1e-8, 1e-3]})],
        {"lr": 0.005, "alpha": 0.95, "momentum": 0.3}),
    "Adadelta": ([c for c in grid(
        weight_decay=[0.0, 0.1], maximize=[False, True], rho=[0.9, 0.5, 0.0, 1.0],
        cycled={"lr": [1.0, 0.5], "eps": [1e-6, 1e-3]})],
        {"lr": 0.7, "rho": 0.8}),
    "Adam": ([{"lr": 0.01, **c} for c in grid(
        weight_decay=[0.0, 0.1], amsgrad=[False, True], maximize=[False, True],
        decoupled_weight_decay=[False, True],
        cycled={"betas": [(0.9, 0.999), (0.5, 0.9), (0.0, 0.0)], "eps": [1e-8, 1e-3]})
        if not (c["decoupled_weight_decay"] and c["weight_decay"] == 0)],
        {"lr": 0.005, "betas": (0.8, 0.99), "weight_decay": 0.05}),
    "AdamW": ([{"lr": 0.01, **c} for c in grid(
        weight_decay=[0.0, 1e-2, 0.3], amsgrad=[False, True], maximize=[False, True],
        cycled={"betas": [(0.9, 0.999), (0.5, 0.9)], "eps": [1e-8, 1e-3]})],
        {"lr": 0.005, "betas": (0.8, 0.99), "weight_decay": 0.05}),
}


def config_id(config):
    return ",".join(f"{k}={v}" for k, v in config.items())


PARAMS = [pytest.param(name, config, CASES[name][1], id=f"{name}[{config_id(config)}]")
          for name in NAMES for config in CASES[name][0]]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,config,group1", PARAMS)
def test_matches_torch_float64(name, config, group1, device):
    opt_o, opt_t, p_o, p_t = run_pair(name, config, group1, dtype=torch.float64, device=device)
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64])


# float32: a few configurations per optimizer (the math is the same; rounding is what differs)
PARAMS32 = [pytest.param(name, config, CASES[name][1], id=f"{name}[{config_id(config)}]")
            for name in NAMES for config in CASES[name][0][::4]]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,config,group1", PARAMS32)
def test_matches_torch_float32(name, config, group1, device):
    opt_o, opt_t, p_o, p_t = run_pair(name, config, group1, dtype=torch.float32, device=device)
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float32])


def test_matrix_covers_every_option():
    """Each boolean option is exercised both on and off, each float one at two values or more."""
    for name, (configs, _) in CASES.items():
        for key in configs[0]:
            values = {repr(c[key]) for c in configs}
            if key == "lr" and name != "Adadelta":
                continue  # one lr per optimizer in group 0; group 1 and the mid-run change vary it
            assert len(values) >= 2, f"{name}: option {key} takes only the value(s) {values}"


def flags_on_off(name):
    """Extra configurations that switch on everything at once."""
    return {
        "SGD": {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
        "Adagrad": {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
        "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
        "Adadelta": {"lr": 0.5, "weight_decay": 0.1},
        "Adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
        "AdamW": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
    }[name]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_nan_and_inf_gradients_propagate_like_torch(name, maximize, device):
    def poison(i, step, g):
        if step == 3 and i == 2:
            g.view(-1)[0] = float("nan")
        if step == 5 and i == 3:
            g.view(-1)[1] = float("inf")
            g.view(-1)[2] = -float("inf")

    config = {**flags_on_off(name), "maximize": maximize}
    opt_o, opt_t, p_o, p_t = run_pair(name, config, {}, steps=8, lr_change_at=None, special=poison,
                                      device=device)
    assert torch.isnan(p_t[2]).any(), "the NaN did not reach torch's parameter: the test is vacuous"
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64], equal_nan=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_complex_parameters_match_torch(name, device):
    config = flags_on_off(name)
    if name == "Adagrad":
        config = {**config, "initial_accumulator_value": 0.5}
    p = make_params(torch.float64, device, complex_=True)
    opt_o, opt_t, p_o, p_t = run_pair(name, config, {}, steps=20, params=p)
    assert p_o[0].is_complex()
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # raised inside torch's Adagrad
@pytest.mark.parametrize("lr_decay", [0.0, 0.1])
def test_adagrad_sparse_gradients_match_torch(lr_decay, device):
    """nn.Embedding(sparse=True) with Adagrad: only the rows looked up are accumulated and moved."""
    our_cls, torch_cls = pair("Adagrad")
    torch.manual_seed(0)
    emb_o = torch.nn.Embedding(10, 3, sparse=True, dtype=torch.float64).to(device)
    emb_t = torch.nn.Embedding(10, 3, sparse=True, dtype=torch.float64).to(device)
    emb_t.load_state_dict(emb_o.state_dict())
    opt_o = our_cls(emb_o.parameters(), lr=0.1, lr_decay=lr_decay, initial_accumulator_value=0.1)
    opt_t = torch_cls(emb_t.parameters(), lr=0.1, lr_decay=lr_decay, initial_accumulator_value=0.1,
                      foreach=False)
    w0 = emb_o.weight.detach().clone()
    for step in range(10):
        idx = torch.tensor([[step % 5, 3, 3, 7]], device=device)  # a repeated row: coalesced by the step
        for emb, opt in ((emb_o, opt_o), (emb_t, opt_t)):
            opt.zero_grad()
            (emb(idx) ** 2).sum().backward()
            assert emb.weight.grad.is_sparse
            opt.step()
    assert_same_state(opt_o, opt_t, list(emb_o.parameters()), list(emb_t.parameters()), 1e-12)
    never_seen = [5, 6, 8, 9]
    assert torch.equal(emb_o.weight[never_seen], w0[never_seen])
    assert torch.equal(opt_o.state[emb_o.weight]["sum"][never_seen],
                       torch.full((4, 3), 0.1, dtype=torch.float64, device=device))


@pytest.mark.parametrize("config", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                                    {"momentum": 0.5, "dampening": 0.3, "maximize": True}])
def test_sgd_sparse_gradients_match_torch(config):
    """torch's SGD takes sparse gradients too (its momentum buffer is then sparse)."""
    torch.manual_seed(0)
    emb_o = torch.nn.Embedding(6, 2, sparse=True, dtype=torch.float64)
    emb_t = copy.deepcopy(emb_o)
    opt_o = pair("SGD")[0](emb_o.parameters(), lr=0.1, **config)
    opt_t = pair("SGD")[1](emb_t.parameters(), lr=0.1, **config, foreach=False)
    for step in range(8):
        idx = torch.tensor([step % 3, 4, 4])
        for emb, opt in ((emb_o, opt_o), (emb_t, opt_t)):
            opt.zero_grad()
            (emb(idx) ** 2).sum().backward()
            opt.step()
    assert torch.equal(emb_o.weight, emb_t.weight)
    assert not torch.equal(emb_o.weight[0], emb_o.weight[5])
    if config:
        bo, bt = opt_o.state[emb_o.weight]["momentum_buffer"], opt_t.state[emb_t.weight]["momentum_buffer"]
        assert bo.is_sparse and bt.is_sparse
        assert torch.equal(bo.to_dense(), bt.to_dense())


@pytest.mark.parametrize("name", NAMES)
def test_step_count_is_float64_when_default_dtype_is(name):
    """torch makes `step` float64 when that is the default dtype; so do we."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        opt_o, opt_t, p_o, p_t = run_pair(name, flags_on_off(name), {}, steps=3)
    finally:
        torch.set_default_dtype(old)
    assert_same_state(opt_o, opt_t, p_o, p_t, TOL[torch.float64])


@pytest.mark.parametrize("name", NAMES)
def test_a_real_loss_matches_torch(name):
    """A small regression network trained by both: gradients come from autograd, not a formula."""
    torch.manual_seed(0)
    x, y = torch.randn(32, 4, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    net_o = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    net_t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    net_t.load_state_dict(net_o.state_dict())
    our_cls, torch_cls = pair(name)
    opt_o = our_cls(net_o.parameters(), **flags_on_off(name))
    opt_t = torch_cls(net_t.parameters(), **flags_on_off(name), foreach=False)
    for _ in range(50):
        for net, opt in ((net_o, opt_o), (net_t, opt_t)):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
            opt.step()
    assert_same_state(opt_o, opt_t, list(net_o.parameters()), list(net_t.parameters()),
                      TOL[torch.float64])


def test_a_parameter_without_gradient_gets_no_state_and_does_not_move():
    for name in NAMES:
        our_cls, _ = pair(name)
        a, b = make_params(shapes=[(3,), (2,)])
        b0 = b.detach().clone()
        opt = our_cls([a, b], **flags_on_off(name))
        for step in range(1, 4):
            set_grads([a, b], step, none_on=lambda i, s: i == 1)
            opt.step()
        assert torch.equal(b.detach(), b0), name
        if name == "Adagrad":  # created up front, and untouched
            assert opt.state[b]["step"].item() == 0.0
        else:
            assert b not in opt.state, name
        assert opt.state[a]["momentum_buffer" if name == "SGD" else "step"] is not None
