"""optimlab.optim against torch.optim over the configurations PyTorch's own optimizer tests use.

``torch.testing._internal.common_optimizers.optim_db`` lists, for every optimizer in torch.optim,
the constructor arguments its test suite runs (``optim_inputs_func``), the arguments that must be
refused (``optim_error_inputs_func``) and what the optimizer needs (a closure, sparse gradients,
...). Every optimizer that exists both in ``optimlab.optim`` and in ``torch.optim`` is found at
run time, so an optimizer added to optimlab joins these tests without a change here.

For each configuration, with torch's implementation flags dropped (optimlab has one
implementation, torch's ``foreach=False``), ours and torch's take a few steps side by side on the
same small parameters (float64; two parameter groups where the optimizer supports them; 2-D
parameters only when torch's optimizer refuses others; sparse gradients where the optimizer takes
only those) and must agree to 1e-10, parameters and every entry of the state.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings

import pytest
import torch

import optimlab.optim as ours

pytest.importorskip("expecttest")  # torch's testing modules import it
_frozen = torch.backends.flags_frozen()
from torch.testing._internal.common_optimizers import OptimizerErrorEnum, optim_db  # noqa: E402

if not _frozen:  # importing torch's testing modules freezes torch.backends flags for everyone: undo that
    torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation_flag"] = True

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # raised inside torch's Adagrad

IMPLEMENTATION_FLAGS = ("foreach", "fused", "capturable", "differentiable")
TOL = 1e-10
STEPS = 8  # RAdam's first rectified step is the sixth
DENSE_SHAPES = [(3, 4), (4,), (2, 3), ()]
SPARSE_SHAPES = [(6, 3), (4, 2)]  # embedding tables: rows looked up per step give sparse gradients


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def in_both(info) -> bool:
    return hasattr(ours, info.name) and hasattr(torch.optim, info.name)


COMMON = [info for info in optim_db if in_both(info)]


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "default"


def cases():
    """(info, constructor kwargs, sparse gradients?) for every configuration of every common optimizer."""
    out = []
    for info in COMMON:
        for inp in info.optim_inputs_func(device="cpu"):
            sparse = info.only_supports_sparse_grads
            out.append(pytest.param(info, inp, sparse, id=f"{info.name}-{slug(inp.desc)}"))
        if info.supports_sparse and not info.only_supports_sparse_grads:
            kwargs, _ = info.metadata_for_sparse  # torch's sparse tests use these arguments
            out.append(pytest.param(info, _Input(kwargs, "sparse gradients"), True,
                                    id=f"{info.name}-sparse_gradients"))
    return out


class _Input:
    """An OptimizerInput-like record for the extra sparse-gradient case."""

    def __init__(self, kwargs, desc):
        self.params, self.kwargs, self.desc = None, dict(kwargs), desc


# ---------------------------------------------------------------- the harness

def make_params(shapes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_() for s in shapes]


def clone(params):
    return [p.detach().clone().requires_grad_() for p in params]


def loss_fn(params, step, sparse):
    """A quadratic with uneven curvature and a step-dependent linear term (a stochastic gradient).

    Dense: Σ_i ½ Σ c_i θ_i² + ⟨n_{i,step}, θ_i⟩. Sparse: the same on the rows of each table that
    step looks up (``F.embedding(sparse=True)``), a row looked up twice counting twice.
    """
    total = 0.0
    for i, p in enumerate(params):
        gen = torch.Generator().manual_seed(1000 * step + i)
        if sparse:
            rows = torch.tensor([(step + i) % p.shape[0], (2 * step) % p.shape[0], 1])
            x = torch.nn.functional.embedding(rows, p, sparse=True)
        else:
            x = p
        c = torch.linspace(0.5, 3.0, x.numel(), dtype=torch.float64).view(x.shape)
        noise = torch.randn(x.shape, generator=gen, dtype=torch.float64)
        total = total + (0.5 * c * x * x).sum() + (noise * x).sum()
    return total


def torch_defaults(cls):
    return {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items()
            if v.default is not inspect.Parameter.empty}


def groups_for(info, params, kwargs):
    """Two parameter groups (the second with half the lr) where the optimizer supports groups."""
    if not info.supports_param_groups or len(params) < 2:
        return list(params)
    lr = kwargs.get("lr", torch_defaults(info.optim_cls).get("lr"))
    half = len(params) // 2
    second = {"params": params[half:]}
    if lr is not None:
        second["lr"] = lr * 0.5  # (a new tensor for a tensor lr)
    return [{"params": params[:half]}, second]


def construct(cls, info, params, kwargs, is_torch):
    extra = {}
    if is_torch and "foreach" in inspect.signature(cls.__init__).parameters:
        extra["foreach"] = False  # torch's for-loop implementation, the one optimlab follows
    own = {k: v.clone() if torch.is_tensor(v) else v for k, v in kwargs.items()}
    return cls(groups_for(info, params, own), **own, **extra)


def choose_params(info, kwargs, sparse):
    """Parameters for this optimizer: mixed shapes, or 2-D only when torch refuses the others."""
    if sparse:
        return make_params(SPARSE_SHAPES)
    params = make_params(DENSE_SHAPES)
    try:
        construct(info.optim_cls, info, clone(params), kwargs, True)
        return params
    except ValueError:
        flat = make_params([s for s in DENSE_SHAPES if len(s) == 2])
        construct(info.optim_cls, info, clone(flat), kwargs, True)  # still refused: a real failure
        return flat


def run(info, cls, params, kwargs, sparse, is_torch, steps=STEPS):
    opt = construct(cls, info, params, kwargs, is_torch)
    losses = []
    for step in range(1, steps + 1):
        def closure():
            opt.zero_grad()
            loss = loss_fn(params, step, sparse)
            loss.backward()
            return loss

        if info.step_requires_closure:
            losses.append(opt.step(closure))
        else:
            losses.append(closure())
            opt.step()
    return opt, losses


def assert_same(a, b, where, tol=TOL):
    """Tensors to tol (same dtype and shape), numbers to TOL, containers entry by entry."""
    if torch.is_tensor(b):
        assert torch.is_tensor(a), f"{where}: {type(a).__name__} where torch has a tensor"
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{tuple(a.shape)} vs {b.dtype}{tuple(b.shape)}"
        a, b = (a.to_dense(), b.to_dense()) if b.is_sparse else (a, b)
        torch.testing.assert_close(a, b, atol=tol, rtol=tol, equal_nan=True, msg=lambda m: f"{where}: {m}")
    elif isinstance(b, dict):
        assert set(a) == set(b), f"{where}: keys {sorted(a)} vs torch's {sorted(b)}"
        for key in b:
            assert_same(a[key], b[key], f"{where}[{key!r}]", tol)
    elif isinstance(b, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} vs torch's {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]", tol)
    elif isinstance(b, float) and not isinstance(a, bool):
        assert math.isclose(a, b, rel_tol=tol, abs_tol=tol) or (math.isnan(a) and math.isnan(b)), \
            f"{where}: {a!r} vs torch's {b!r}"
    else:
        assert a == b, f"{where}: {a!r} vs torch's {b!r}"


def compare(info, our_cls, torch_cls, optim_input, sparse):
    kwargs = {k: v for k, v in optim_input.kwargs.items() if k not in IMPLEMENTATION_FLAGS}
    accepted = inspect.signature(our_cls.__init__).parameters
    missing = sorted(k for k in kwargs if k not in accepted)
    if missing:
        pytest.skip(f"optimlab.optim.{info.name} has no argument {missing}")
    if optim_input.params is not None:
        pytest.skip("the configuration brings its own parameters (a device-specific case)")
    params = choose_params(info, kwargs, sparse)
    p_o, p_t = clone(params), clone(params)
    opt_o, losses_o = run(info, our_cls, p_o, kwargs, sparse, False)
    opt_t, losses_t = run(info, torch_cls, p_t, kwargs, sparse, True)
    # torch's Muon multiplies by a float32 tensor lr in float32 (a relative rounding of ~1e-7);
    # ours keeps the parameter's precision. Everywhere else the numbers agree to TOL.
    tol = 1e-6 if info.name == "Muon" and isinstance(kwargs.get("lr"), torch.Tensor) else TOL
    for i, (a, b) in enumerate(zip(p_o, p_t)):
        assert torch.isfinite(b).all(), f"parameter {i} is not finite in torch's run"
        assert not torch.equal(b, params[i]), f"parameter {i} never moved: a vacuous comparison"
        torch.testing.assert_close(a.detach(), b.detach(), atol=tol, rtol=tol,
                                   msg=lambda m: f"parameter {i}: {m}")
        assert_same(opt_o.state.get(a, {}), opt_t.state.get(b, {}), f"state of parameter {i}", tol)
    assert_same([float(x.detach()) for x in losses_o], [float(x.detach()) for x in losses_t], "losses", tol)


# ---------------------------------------------------------------- the tests

def test_the_backend_flags_stay_settable():
    """Other tests may set torch.backends flags; importing optim_db must not forbid that."""
    assert torch.backends.flags_frozen() == _frozen


def test_the_common_optimizers_are_found():
    """Every optimizer of optimlab that torch also has is in the database (so it is tested here)."""
    names = {info.name for info in COMMON}
    ours_in_torch = {n for n in ours.__all__ if n != "Optimizer" and isinstance(getattr(ours, n), type)
                     and issubclass(getattr(ours, n), torch.optim.Optimizer) and hasattr(torch.optim, n)}
    assert ours_in_torch == names
    assert {"SGD", "Adam", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "SparseAdam"} <= names


@pytest.mark.parametrize("info,optim_input,sparse", cases())
def test_matches_torch_on_torchs_configurations(info, optim_input, sparse):
    compare(info, getattr(ours, info.name), getattr(torch.optim, info.name), optim_input, sparse)


@pytest.mark.parametrize("info", optim_db, ids=lambda info: info.name)
def test_the_harness_drives_every_optimizer_in_the_database(info):
    """torch against itself through the same harness, for every optimizer torch tests (LBFGS with
    its closure, Muon on 2-D parameters, SparseAdam on sparse gradients): an optimizer added to
    optimlab later meets a harness that already runs its twin."""
    inputs = info.optim_inputs_func(device="cpu")
    compare(info, info.optim_cls, info.optim_cls, inputs[-1], info.only_supports_sparse_grads)


def error_cases():
    out = []
    for info in COMMON:
        if info.optim_error_inputs_func is None:
            continue
        for k, err in enumerate(info.optim_error_inputs_func(device="cpu", dtype=torch.float64)):
            out.append(pytest.param(info, err, id=f"{info.name}-{k}-{slug(err.optimizer_error_input.desc)}"))
    return out


@pytest.mark.parametrize("info,error_input", error_cases())
def test_refuses_what_torch_refuses(info, error_input):
    """torch's list of bad constructor arguments and bad steps: ours raises (or warns) the same type."""
    inp = error_input.optimizer_error_input
    if any(inp.kwargs.get(flag) for flag in IMPLEMENTATION_FLAGS):
        pytest.skip("asks for one of torch's implementations; optimlab refuses those flags itself")
    cls = getattr(ours, info.name)
    params = inp.params if inp.params is not None else make_params([(2, 2)])
    expected = error_input.error_type

    def attempt():
        opt = cls(params, **inp.kwargs)
        if error_input.error_on == OptimizerErrorEnum.STEP_ERROR:
            for group in opt.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        p.grad = torch.ones_like(p)
            opt.step()

    if issubclass(expected, Warning):
        with pytest.warns(expected):
            attempt()
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(expected):
                attempt()
