"""torch.compile of optimlab's optimizers, and checkpoints written by old versions of torch.

``torch.compile(optimizer.step)`` must give torch's eager numbers at *every* step (a compiled
optimizer can be fast and wrong) and settle into at most two graphs: one for the first step,
which creates the state, and one for every later step. Compilation is slow on a small
machine, so the cases here are few and tiny: every optimizer with the ``aot_eager`` backend
(dynamo's tracing and graph breaks, without code generation), and Adam, the case that used to
drift, with Inductor, the default backend.

Before ``next_step`` the rules read the step count with ``.item()``: dynamo broke the graph
there, recompiled the rest for each new count until it marked t as a dynamic float, and
Inductor then baked the step size ``lr / (1 − β1ᵗ)`` of t = 2 into the kernel: from the third
step on, Adam moved with the wrong step size (0.16 away from torch after 12 steps at lr 0.01).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch._dynamo.utils import counters

import optimlab.optim as ours
from test_optim_support import NAMES, clone_params, make_params, one_thread, pair, set_grads  # noqa: F401

# every option that changes the traced code switched on, per optimizer
CONFIGS = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
    "Adagrad": {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    "Adadelta": {"lr": 0.5, "weight_decay": 0.1},
    "Adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
    "AdamW": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
}

SHAPES = [(), (5,), (3, 4)]  # a 0-d parameter too: compiled in-place updates of 0-d tensors need care


def compiled_against_eager_torch(name, config, backend, dtype, steps=12):
    """Step ours compiled and torch's eager for-loop side by side; the largest difference per step."""
    torch._dynamo.reset()
    counters.clear()
    our_cls, torch_cls = pair(name)
    p_ours = make_params(dtype, shapes=SHAPES)
    p_torch = clone_params(p_ours)
    opt, ref = our_cls(p_ours, **config), torch_cls(p_torch, **config, foreach=False)
    step = torch.compile(opt.step, backend=backend)
    diffs = []
    for k in range(1, steps + 1):
        set_grads(p_ours, k)
        set_grads(p_torch, k)
        step()
        ref.step()
        diffs.append(max((a - b).abs().max().item() for a, b in zip(p_ours, p_torch)))
        for a, b in zip(p_ours, p_torch):
            assert opt.state[a].keys() == ref.state[b].keys()
            for key, value in ref.state[b].items():
                torch.testing.assert_close(opt.state[a][key], value, atol=1e-5, rtol=1e-5,
                                           msg=lambda m: f"step {k}, state[{key!r}]: {m}")
    return diffs, counters["stats"]["unique_graphs"], dict(counters["graph_break"])


@pytest.mark.parametrize("name", NAMES)
def test_compiled_step_matches_torch_every_step_in_at_most_two_graphs(name):
    """float64 and the cheap backend: the traced arithmetic is torch's, to double rounding."""
    diffs, graphs, breaks = compiled_against_eager_torch(name, CONFIGS[name], "aot_eager", torch.float64)
    assert not breaks, f"graph breaks: {breaks}"
    assert graphs <= 2, f"{graphs} graphs for 12 steps (one recompilation per step?)"
    assert max(diffs) < 1e-12, f"largest difference per step: {diffs}"


# The optimizers added after the first six: each compiled with the cheap backend, against torch.
MORE_CONFIGS = {
    "Adamax": {"lr": 0.01, "weight_decay": 0.1},
    "NAdam": {"lr": 0.01, "weight_decay": 0.1},
    "RAdam": {"lr": 0.01, "weight_decay": 0.1},          # crosses the rectification threshold at t = 6
    "ASGD": {"lr": 0.01, "t0": 3},                       # the average starts within the 12 steps
    "Rprop": {"lr": 0.01},
    "Adafactor": {"lr": 0.01},
}
# NAdam keeps the product of its momenta in float32 (as torch does); compiled, ours computes it from
# the same float32 values in another order, so it agrees to float32 rounding of that product.
MORE_TOL = {"NAdam": 1e-8}


@pytest.mark.parametrize("name", sorted(MORE_CONFIGS))
def test_compiled_step_of_the_other_optimizers_matches_torch(name):
    diffs, graphs, breaks = compiled_against_eager_torch(name, MORE_CONFIGS[name], "aot_eager", torch.float64)
    assert not breaks, f"graph breaks: {breaks}"
    assert graphs <= 2, f"{graphs} graphs for 12 steps"
    assert max(diffs) < MORE_TOL.get(name, 1e-12), f"largest difference per step: {diffs}"


def test_compiled_adam_with_inductor_matches_torch_every_step():
    """The default backend and float32, the case that drifted: within float32 rounding at every step."""
    diffs, graphs, breaks = compiled_against_eager_torch("Adam", {"lr": 0.01}, "inductor", torch.float32)
    assert not breaks and graphs <= 2, (breaks, graphs)
    # float32 rounding of parameters of size ~1 moved 12 times: a few ulps (1.2e-7) per step
    assert all(d <= 1e-6 for d in diffs), f"largest difference per step: {diffs}"


# --- checkpoints from torch < 1.12 -----------------------------------------------------------------

def old_style(state_dict):
    """The same checkpoint as torch < 1.12 wrote it: every ``step`` a plain number."""
    out = copy.deepcopy(state_dict)
    for s in out["state"].values():
        if "step" in s:
            s["step"] = int(s["step"].item())
    return out


@pytest.mark.parametrize("name", [n for n in NAMES if n != "SGD"])  # SGD keeps no step
def test_checkpoint_with_a_plain_number_step_loads_and_steps_like_torch(name):
    our_cls, torch_cls = pair(name)
    config = CONFIGS[name]
    params = make_params(shapes=[(3,), (2, 2)])
    first = our_cls(params, **config)
    for k in (1, 2, 3):
        set_grads(params, k)
        first.step()
    checkpoint = old_style(first.state_dict())
    assert isinstance(checkpoint["state"][0]["step"], int)

    p_ours, p_torch = clone_params(params), clone_params(params)
    opt, ref = our_cls(p_ours, **config), torch_cls(p_torch, **config, foreach=False)
    opt.load_state_dict(checkpoint)
    ref.load_state_dict(old_style(first.state_dict()))
    for p in p_ours:
        step = opt.state[p]["step"]
        assert torch.is_tensor(step) and step.dim() == 0 and step.item() == 3.0
        assert step.dtype == ref.state[p_torch[0]]["step"].dtype
    for k in (4, 5):
        for ps, o in ((p_ours, opt), (p_torch, ref)):
            set_grads(ps, k)
            o.step()
    for a, b in zip(p_ours, p_torch):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
        assert opt.state[a]["step"].item() == 5.0


def test_checkpoint_with_a_plain_number_step_into_a_fused_group():
    """As torch does, a fused group keeps the converted step as float32 on the parameter's device."""
    params = make_params(shapes=[(3,)])
    first = ours.Adam(params)
    set_grads(params, 1)
    first.step()
    opt = ours.Adam(clone_params(params), fused=True)
    opt.load_state_dict(old_style(first.state_dict()))
    step = opt.state[opt.param_groups[0]["params"][0]]["step"]
    assert torch.is_tensor(step) and step.dtype == torch.float32 and step.item() == 1.0


def test_compiled_muon_matches_torch_every_step():
    """Muon (2-D parameters only, Newton–Schulz in bfloat16 on both sides): the same numbers, two graphs."""
    torch._dynamo.reset()
    counters.clear()
    gen = torch.Generator().manual_seed(0)
    init = [torch.randn(3, 4, generator=gen), torch.randn(4, 2, generator=gen)]
    p_ours = [torch.nn.Parameter(x.clone()) for x in init]
    p_torch = [torch.nn.Parameter(x.clone()) for x in init]
    opt, ref = ours.Muon(p_ours, lr=0.01), torch.optim.Muon(p_torch, lr=0.01)
    step = torch.compile(opt.step, backend="aot_eager")
    for _ in range(12):
        grads = [torch.randn(x.shape, generator=gen) for x in init]
        for a, b, g in zip(p_ours, p_torch, grads):
            a.grad, b.grad = g.clone(), g.clone()
        step()
        ref.step()
        for a, b in zip(p_ours, p_torch):
            torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-6, atol=1e-6)
    assert counters["stats"]["unique_graphs"] <= 2 and not counters["graph_break"]
