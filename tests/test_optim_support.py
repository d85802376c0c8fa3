"""Helpers shared by the optimizer tests (this module holds no tests).

A *run* drives one optimizer over a fixed set of parameters of several shapes with gradients
that are a deterministic function of the step (a quadratic's gradient plus seeded noise), so
that ours and torch's can be stepped side by side and compared parameter by parameter and
state tensor by state tensor.
"""

from __future__ import annotations

import functools

import pytest
import torch

import optimlab.optim as ours

NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"]

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))]

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}

# shapes: a scalar, a vector, a matrix, a 3-D tensor, and a matrix whose gradient is sometimes None
SHAPES = [(), (5,), (3, 4), (2, 3, 2), (4, 2)]
SOMETIMES_NONE = 4          # index of the parameter whose grad is None on some steps
ZERO_GRAD_STEP = 7          # a step on which one parameter gets an all-zero gradient
GROUPS = [[0, 2, 4], [1, 3]]  # parameter indices of group 0 and group 1


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread is faster and immune to a busy machine; restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pair(name):
    """(our class, torch's class) of that name."""
    return getattr(ours, name), getattr(torch.optim, name)


def make_params(dtype=torch.float64, device="cpu", shapes=SHAPES, seed=0, complex_=False):
    """Fresh leaf tensors, identical for a given seed."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for shape in shapes:
        x = torch.randn(shape, generator=gen, dtype=torch.float64)
        if complex_:
            x = torch.complex(x, torch.randn(shape, generator=gen, dtype=torch.float64))
            x = x.to(torch.complex128 if dtype == torch.float64 else torch.complex64)
        else:
            x = x.to(dtype)
        out.append(x.to(device).requires_grad_())
    return out


def clone_params(params):
    return [p.detach().clone().requires_grad_() for p in params]


@functools.lru_cache(maxsize=None)
def _noise(step, i, shape, complex_):
    gen = torch.Generator().manual_seed(1000 * step + i)
    noise = torch.randn((*shape, 2) if complex_ else shape, generator=gen, dtype=torch.float64)
    return torch.view_as_complex(noise) if complex_ else noise


def set_grads(params, step, *, none_on=lambda i, step: False, zero_on=None, special=None):
    """Give every parameter the gradient for ``step`` (1-based): θ + seeded noise.

    That is the gradient of ½‖θ‖² + ⟨noise, θ⟩, so the gradient depends on where the optimizer
    has taken the parameters. ``none_on(i, step)`` says which gradients are None on that step;
    ``zero_on`` = (i, step) gets zeros; ``special(i, step, grad)`` may edit the gradient in
    place (NaN injection).
    """
    for i, p in enumerate(params):
        if none_on(i, step):
            p.grad = None
            continue
        if zero_on is not None and zero_on == (i, step):
            g = torch.zeros_like(p)
        else:
            g = p.detach() + _noise(step, i, tuple(p.shape), p.is_complex()).to(p.dtype).to(p.device)
        if special is not None:
            special(i, step, g)
        p.grad = g


def default_none_on(i, step):
    """The last parameter has no gradient on steps 1-2 (its state starts late) and every third step."""
    return i == SOMETIMES_NONE and (step <= 2 or step % 3 == 0)


def build(cls, params, config, group1, flags=None):
    """An optimizer with two groups: group 0 uses ``config``, group 1 overrides ``group1``."""
    groups = [{"params": [params[i] for i in GROUPS[0]]},
              {"params": [params[i] for i in GROUPS[1]], **group1}]
    return cls(groups, **config, **(flags or {}))


def run_pair(name, config, group1, *, steps=50, dtype=torch.float64, device="cpu",
             lr_change_at=25, none_on=default_none_on, special=None, params=None):
    """Step ours and torch's (foreach=False) side by side; return both optimizers and params."""
    our_cls, torch_cls = pair(name)
    p_ours = params if params is not None else make_params(dtype, device)
    p_torch = clone_params(p_ours)
    opt_ours = build(our_cls, p_ours, config, group1)
    opt_torch = build(torch_cls, p_torch, config, group1, {"foreach": False})
    for step in range(1, steps + 1):
        if step == lr_change_at:  # what a scheduler does: rewrite the lr of every group
            for o in (opt_ours, opt_torch):
                for g in o.param_groups:
                    g["lr"] *= 0.3
        for ps, o in ((p_ours, opt_ours), (p_torch, opt_torch)):
            set_grads(ps, step, none_on=none_on, zero_on=(0, ZERO_GRAD_STEP), special=special)
            o.step()
    return opt_ours, opt_torch, p_ours, p_torch


def assert_same_state(opt_a, opt_b, params_a, params_b, tol, equal_nan=False):
    """Parameters and every state entry agree; both keep state for the same parameters."""
    assert len(params_a) == len(params_b)
    for i, (a, b) in enumerate(zip(params_a, params_b)):
        if not equal_nan:  # a run that blew up would compare NaN with NaN: not a test
            assert torch.isfinite(b).all(), f"parameter {i} is not finite in torch's run"
        torch.testing.assert_close(a.detach(), b.detach(), atol=tol, rtol=tol, equal_nan=equal_nan,
                                   msg=lambda m: f"parameter {i}: {m}")
        sa, sb = opt_a.state.get(a, {}), opt_b.state.get(b, {})
        assert set(sa) == set(sb), f"parameter {i}: state keys {sorted(sa)} != torch's {sorted(sb)}"
        for key in sb:
            va, vb = sa[key], sb[key]
            if isinstance(vb, torch.Tensor):
                assert isinstance(va, torch.Tensor), f"parameter {i}: state[{key!r}] is not a tensor"
                assert va.dtype == vb.dtype, f"parameter {i}: state[{key!r}] dtype {va.dtype} != {vb.dtype}"
                assert va.shape == vb.shape, f"parameter {i}: state[{key!r}] shape {va.shape} != {vb.shape}"
                assert va.device == vb.device, f"parameter {i}: state[{key!r}] on {va.device} != {vb.device}"
                torch.testing.assert_close(va, vb, atol=tol, rtol=tol, equal_nan=equal_nan,
                                           msg=lambda m: f"parameter {i}, state[{key!r}]: {m}")
            else:
                assert va == vb, f"parameter {i}: state[{key!r}] = {va!r} != torch's {vb!r}"
