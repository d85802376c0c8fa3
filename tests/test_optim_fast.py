"""The fast paths, ``foreach=True`` and ``fused=True``, against the for-loop and torch.

Both are derived from each optimizer's single ``update`` (see ``optimlab.optim._fast``), so
they must give the for-loop's numbers over the whole option matrix of the parity tests:
foreach runs the same kernels (equal to double rounding here); fused is compiled. Compiling
is slow on a small machine, so the fused matrix is traced with the ``aot_eager`` backend (the
same graph, no code generation), all configurations of an optimizer as parameter groups of
one optimizer (one graph for all of them); Inductor, which fused uses by default, runs a
smaller case per optimizer in float32. No ``aten::_fused_*`` kernel of torch may run.
"""

from __future__ import annotations

import pytest
import torch

import optimlab.optim as ours
from optimlab.optim import _fast
from test_optim_parity import CASES, flags_on_off
from test_optim_support import (NAMES, TOL, ZERO_GRAD_STEP, assert_same_state, build, clone_params,  # noqa: F401
                                default_none_on, make_params, one_thread, pair, set_grads)

FUSED_NAMES = ["SGD", "Adagrad", "Adam", "AdamW"]  # those whose torch twin takes fused=True


def run_side_by_side(make_a, make_b, params, steps, *, lr_change_at=None, none_on=default_none_on,
                     check_every_step=None):
    """Step two optimizers over copies of ``params`` with the same gradients."""
    p_a, p_b = params, clone_params(params)
    opt_a, opt_b = make_a(p_a), make_b(p_b)
    for step in range(1, steps + 1):
        if step == lr_change_at:  # what a scheduler does
            for o in (opt_a, opt_b):
                for g in o.param_groups:
                    g["lr"] *= 0.3
        for ps, o in ((p_a, opt_a), (p_b, opt_b)):
            set_grads(ps, step, none_on=none_on, zero_on=(0, ZERO_GRAD_STEP))
            o.step()
        if check_every_step:
            check_every_step(opt_a, opt_b, p_a, p_b)
    return opt_a, opt_b, p_a, p_b


CONFIGS = [pytest.param(name, config, CASES[name][1], id=f"{name}-{i}")
           for name in NAMES for i, config in enumerate(CASES[name][0])]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name,config,group1", CONFIGS)
def test_foreach_matches_the_loop(name, config, group1, dtype):
    cls = getattr(ours, name)
    opt_a, opt_b, p_a, p_b = run_side_by_side(
        lambda p: build(cls, p, config, group1), lambda p: build(cls, p, config, group1, {"foreach": True}),
        make_params(dtype), 30, lr_change_at=25)
    assert_same_state(opt_a, opt_b, p_a, p_b, TOL[dtype])


@pytest.mark.parametrize("name", NAMES)
def test_foreach_with_complex_parameters_matches_torch(name):
    config = flags_on_off(name)
    our_cls, torch_cls = pair(name)
    opt_a, opt_b, p_a, p_b = run_side_by_side(
        lambda p: our_cls(p, **config, foreach=True), lambda p: torch_cls(p, **config, foreach=False),
        make_params(complex_=True), 10)
    assert_same_state(opt_a, opt_b, p_a, p_b, TOL[torch.float64])


# --- fused -------------------------------------------------------------------------------------

@pytest.fixture
def traced_only(monkeypatch):
    """fused=True compiled with aot_eager: the same graph as Inductor's input, in seconds."""
    monkeypatch.setattr(_fast, "FUSED_BACKEND", "aot_eager")
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.fixture
def dynamo_only(monkeypatch):
    """fused=True traced by dynamo and run eagerly: the cheapest check of what is traced."""
    monkeypatch.setattr(_fast, "FUSED_BACKEND", "eager")
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def all_configs_as_groups(name, params_per_group):
    """The parity matrix of one optimizer as parameter groups (optimizers for constructor-only options)."""
    configs, _ = CASES[name]
    by_ctor = {}  # Adagrad takes initial_accumulator_value from the constructor only
    for config in configs:
        key = config.get("initial_accumulator_value")
        by_ctor.setdefault(key, []).append(config)
    out = []
    for key, group_configs in by_ctor.items():
        ctor = {} if key is None else {"initial_accumulator_value": key}
        groups = lambda ps, gc=group_configs: [  # noqa: E731
            {"params": ps[i * params_per_group:(i + 1) * params_per_group], **{k: v for k, v in c.items()
                                                                              if k not in ctor}}
            for i, c in enumerate(gc)]
        out.append((ctor, groups, len(group_configs)))
    return out


def test_fused_follows_changing_structure_and_learning_rate(traced_only):
    """Gradients that come and go and an lr changed every step: new graphs, never stale numbers."""
    config, group1 = CASES["Adam"][0][5], CASES["Adam"][1]

    def every_step_lr(opt_a, opt_b, p_a, p_b):
        for a, b in zip(p_a, p_b):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
        for o in (opt_a, opt_b):
            for g in o.param_groups:
                g["lr"] *= 0.9

    opt_a, opt_b, p_a, p_b = run_side_by_side(
        lambda p: build(ours.Adam, p, config, group1),
        lambda p: build(ours.Adam, p, config, group1, {"fused": True}),
        make_params(), 8, check_every_step=every_step_lr)
    assert_same_state(opt_a, opt_b, p_a, p_b, TOL[torch.float64])


@pytest.mark.parametrize("name", FUSED_NAMES)
def test_fused_matches_the_loop_over_the_whole_matrix(name, dynamo_only):
    cls = getattr(ours, name)
    shapes = [(), (5,), (2, 3)]
    for ctor, groups, n in all_configs_as_groups(name, len(shapes)):
        params = make_params(torch.float64, shapes=shapes * n)
        opt_a, opt_b, p_a, p_b = run_side_by_side(  # a fixed structure: one or two traces in all
            lambda p: cls(groups(p), **ctor), lambda p: cls(groups(p), **ctor, fused=True),
            params, 3, none_on=lambda i, step: False)
        assert_same_state(opt_a, opt_b, p_a, p_b, TOL[torch.float64])


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_fused_with_complex_parameters_matches_the_loop(name, traced_only):
    cls = getattr(ours, name)
    config = flags_on_off(name)
    opt_a, opt_b, p_a, p_b = run_side_by_side(
        lambda p: cls(p, **config), lambda p: cls(p, **config, fused=True), make_params(complex_=True), 4)
    assert_same_state(opt_a, opt_b, p_a, p_b, TOL[torch.float64])


INDUCTOR_CASES = {  # two groups that between them switch on every option, float32
    "SGD": ({"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
            {"lr": 0.02, "nesterov": False, "dampening": 0.3, "maximize": True}),
    "Adam": ({"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
             {"lr": 0.005, "betas": (0.5, 0.9), "maximize": True, "amsgrad": False,
              "decoupled_weight_decay": True, "weight_decay": 0.05}),
}


def no_fused_kernel_of_torch(step):
    """Run ``step`` under the profiler; fail if any of torch's ``_fused_*`` kernels ran."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
    names = {e.name for e in prof.events()}
    assert not [n for n in names if "_fused_" in n], sorted(names)
    return names


@pytest.mark.parametrize("name", list(INDUCTOR_CASES))
def test_fused_with_inductor_matches_the_loop_every_step_without_torchs_kernels(name):
    torch._dynamo.reset()
    cls = getattr(ours, name)
    config, group1 = INDUCTOR_CASES[name]

    def close(opt_a, opt_b, p_a, p_b):
        for a, b in zip(p_a, p_b):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)

    opt_a, opt_b, p_a, p_b = run_side_by_side(  # Adam: an lr change, then a compiled dynamic lr
        lambda p: build(cls, p, config, group1), lambda p: build(cls, p, config, group1, {"fused": True}),
        make_params(torch.float32), 8, none_on=lambda i, step: False, check_every_step=close,
        lr_change_at=5 if name == "Adam" else None)
    assert_same_state(opt_a, opt_b, p_a, p_b, TOL[torch.float32])
    set_grads(p_b, 9)
    names = no_fused_kernel_of_torch(opt_b.step)
    assert any("Compiled" in n or "inductor" in n.lower() or "graph" in n.lower() for n in names), sorted(names)
    # and the profiler does see torch's kernel where it runs: the check can fail
    p = make_params(torch.float32, shapes=[(3,)])
    set_grads(p, 1)
    with pytest.raises(AssertionError):
        no_fused_kernel_of_torch(getattr(torch.optim, name)(p, fused=True).step)


def test_foreach_runs_foreach_primitives_and_no_fused_kernel():
    p = make_params(torch.float32, shapes=[(3,), (4,)])
    opt = ours.Adam(p, foreach=True, amsgrad=True)
    set_grads(p, 1)
    names = no_fused_kernel_of_torch(opt.step)
    assert {"aten::_foreach_lerp_", "aten::_foreach_addcdiv_", "aten::_foreach_maximum_"} <= names


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_state_dicts_move_between_loop_foreach_fused_and_torch(name, traced_only):
    """One run passed from implementation to implementation ends where the loop alone ends."""
    our_cls, torch_cls = pair(name)
    config = flags_on_off(name)
    start = make_params(shapes=[(3,), (2, 2)])
    loop_params = clone_params(start)
    loop = our_cls(loop_params, **config)
    makers = [lambda p: our_cls(p, **config), lambda p: our_cls(p, **config, foreach=True),
              lambda p: our_cls(p, **config, fused=True), lambda p: torch_cls(p, **config, fused=True),
              lambda p: torch_cls(p, **config, foreach=False), lambda p: our_cls(p, **config)]
    params, state = clone_params(start), None
    step = 0
    for make in makers:
        params = clone_params(params)
        opt = make(params)
        if state is not None:
            opt.load_state_dict(state)
        for _ in range(2):
            step += 1
            for ps, o in ((params, opt), (loop_params, loop)):
                set_grads(ps, step, none_on=lambda i, s: False)
                o.step()
        state = opt.state_dict()
    assert_same_state(loop, opt, loop_params, params, 1e-12)


def test_fused_says_when_there_is_no_compiler(monkeypatch):
    monkeypatch.setattr(_fast, "_compiler_problem", lambda device_type: "no C++ compiler was found")
    with pytest.raises(RuntimeError, match=r"Adam\(fused=True\).*no C\+\+ compiler.*foreach=True"):
        ours.Adam(make_params(shapes=[(2,)]), fused=True)
    ours.Adam(make_params(shapes=[(2,)]), foreach=True)  # the other paths need none


def test_tensor_list_batches_methods_and_falls_back_per_tensor():
    a, b = [torch.tensor([1.0, 4.0]), torch.tensor([9.0])], [torch.tensor([2.0, 2.0]), torch.tensor([3.0])]
    x, y = _fast.TensorList([t.clone() for t in a]), _fast.TensorList(b)
    assert x.addcmul_(y, y, value=0.5) is x  # in place: itself, as a tensor returns itself
    assert [t.tolist() for t in x.tensors] == [[3.0, 6.0], [13.5]]
    z = x.sqrt().div_(2.0)
    assert [t.tolist() for t in z.tensors] == [pytest.approx([3 ** 0.5 / 2, 6 ** 0.5 / 2]),
                                               pytest.approx([13.5 ** 0.5 / 2])]
    assert [t.tolist() for t in torch.maximum(x, y, out=x).tensors] == [[3.0, 6.0], [13.5]]
    assert [t.tolist() for t in x.clamp(max=5.0).tensors] == [[3.0, 5.0], [5.0]]  # no primitive: per tensor
    assert x.dtype == torch.float32 and x.is_sparse is False
    with pytest.raises(TypeError, match="differs"):
        _ = x.shape
    with pytest.raises(TypeError, match="no truth value"):
        bool(x > 1.0)
