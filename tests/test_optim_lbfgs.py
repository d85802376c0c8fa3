"""LBFGS against torch.optim.LBFGS on three problems, and its pieces against the math.

Each parity run calls ``step(closure)`` several times (each call runs up to ``max_iter``
iterations), changes the lr between calls, and compares the parameters and every state entry
(tensors, the lists of history tensors, the counters) with torch's.
"""

from __future__ import annotations

import inspect
import io

import pytest
import torch

import optimlab.optim as ours
from optimlab.optim.lbfgs import cubic_minimizer, strong_wolfe, two_loop
from test_optim_support import one_thread  # noqa: F401

F64 = torch.float64


# ---------------------------------------------------------------- problems

def rosenbrock(dtype=F64):
    x = torch.tensor([-1.2, 1.0, -0.5, 0.8, 0.3], dtype=dtype, requires_grad=True)

    def loss(calls):
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    return [x], loss


def logistic_regression(dtype=F64):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(40, 5, generator=gen, dtype=F64).to(dtype)
    y = (X @ torch.tensor([1.0, -2.0, 0.5, 0.0, 1.0], dtype=dtype) + 0.5 * torch.randn(40, generator=gen,
         dtype=F64).to(dtype) > 0).to(dtype)
    w = torch.zeros(5, dtype=dtype, requires_grad=True)
    b = torch.zeros((), dtype=dtype, requires_grad=True)

    def loss(calls):
        z = X @ w + b
        return torch.nn.functional.binary_cross_entropy_with_logits(z, y) + 1e-2 * (w ** 2).sum()
    return [w, b], loss


def tiny_mlp(dtype=F64):
    """A 3-4-1 tanh network, plus a scalar that enters the loss only on every third evaluation
    (its gradient is None on the others: L-BFGS reads that as zeros)."""
    gen = torch.Generator().manual_seed(1)
    X, Y = torch.randn(16, 3, generator=gen, dtype=F64).to(dtype), torch.randn(16, 1, generator=gen,
                                                                                dtype=F64).to(dtype)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).to(dtype)
    extra = torch.tensor(0.7, dtype=dtype, requires_grad=True)
    params = [*net.parameters(), extra]

    def loss(calls):
        out = torch.nn.functional.mse_loss(net(X), Y)
        return out + 0.1 * extra ** 2 if calls % 3 == 0 else out
    return params, loss


PROBLEMS = {"rosenbrock": rosenbrock, "logistic": logistic_regression, "mlp": tiny_mlp}


def make_closure(opt, params, loss, record=None, calls=None):
    """The closure L-BFGS calls; ``calls`` (a one-element list) counts evaluations and may be shared."""
    calls = [0] if calls is None else calls

    def closure():
        calls[0] += 1
        opt.zero_grad()
        value = loss(calls[0])
        value.backward()
        if record is not None:
            record.append([p.grad is None for p in params])
        return value
    return closure


def assert_same_value(a, b, tol, where):
    if isinstance(b, torch.Tensor):
        assert isinstance(a, torch.Tensor), f"{where}: {type(a).__name__} where torch has a tensor"
        assert a.dtype == b.dtype and a.shape == b.shape, \
            f"{where}: {a.dtype}{tuple(a.shape)} vs torch's {b.dtype}{tuple(b.shape)}"
        torch.testing.assert_close(a, b, atol=tol, rtol=tol, msg=lambda m: f"{where}: {m}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), f"{where}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_value(x, y, tol, f"{where}[{i}]")
    elif b is None or isinstance(b, int):
        assert a == b and type(a) is type(b), f"{where}: {a!r} vs torch's {b!r}"
    else:
        assert not isinstance(a, torch.Tensor), f"{where}: a tensor where torch has {type(b).__name__}"
        assert abs(a - b) <= tol * (1 + abs(b)), f"{where}: {a!r} vs torch's {b!r}"


def assert_same_lbfgs(opt_a, opt_b, pa, pb, tol):
    for i, (a, b) in enumerate(zip(pa, pb)):
        torch.testing.assert_close(a.detach(), b.detach(), atol=tol, rtol=tol, msg=lambda m: f"parameter {i}: {m}")
    sa, sb = opt_a.state[pa[0]], opt_b.state[pb[0]]
    assert list(sa) == list(sb), f"state keys {list(sa)} != torch's {list(sb)}"
    for key in sb:
        assert_same_value(sa[key], sb[key], tol, f"state[{key!r}]")
    assert len(opt_a.state) == len(opt_b.state) == 1


def run_pair(problem, config, dtype=F64, calls=4, lr_change_after=2):
    runs = []
    for cls in (ours.LBFGS, torch.optim.LBFGS):
        params, loss = PROBLEMS[problem](dtype)
        opt = cls(params, **config)
        record = []
        closure = make_closure(opt, params, loss, record)
        losses = []
        for call in range(1, calls + 1):
            losses.append(opt.step(closure).item())
            if call == lr_change_after:
                opt.param_groups[0]["lr"] *= 0.5
        runs.append((opt, params, losses, record))
    return runs


CONFIGS = [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"history_size": 3, "max_iter": 7},
    {"history_size": 3, "max_iter": 10, "line_search_fn": "strong_wolfe", "tolerance_change": 1e-6},
    {"lr": 0.3, "max_eval": 9, "tolerance_grad": 1e-4},
    {"lr": 0.8, "max_iter": 5, "line_search_fn": "strong_wolfe", "max_eval": 8},   # line search cut short
]


def ids(c):
    return ",".join(f"{k}={v}" for k, v in c.items()) or "defaults"


@pytest.mark.parametrize("config", CONFIGS, ids=ids)
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_matches_torch_float64(problem, config):
    (oa, pa, la, ra), (ob, pb, lb, rb) = run_pair(problem, config)
    assert la == pytest.approx(lb, rel=1e-10, abs=1e-12)
    assert ra == rb                                   # the same evaluations, the same None gradients
    assert_same_lbfgs(oa, ob, pa, pb, 1e-10)
    assert oa.state[pa[0]]["n_iter"] > 4              # the runs did iterate
    if problem == "mlp":
        assert any(r[-1] for r in ra) and not all(r[-1] for r in ra)   # grad None on some calls only


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[3]], ids=ids)
@pytest.mark.parametrize("problem", ["logistic", "mlp"])
def test_matches_torch_float32(problem, config):
    (oa, pa, _, _), (ob, pb, _, _) = run_pair(problem, config, dtype=torch.float32)
    assert_same_lbfgs(oa, ob, pa, pb, 1e-5)


def test_configs_reach_the_history_limit_and_the_line_search_limits():
    (oa, pa, _, _), _ = run_pair("rosenbrock", CONFIGS[2])
    assert len(oa.state[pa[0]]["old_dirs"]) == 3      # the oldest pairs were dropped
    (oa, pa, _, _), _ = run_pair("rosenbrock", CONFIGS[5])
    assert oa.state[pa[0]]["func_evals"] <= 4 * 8


def test_tensor_lr_matches_torch():
    (oa, pa, _, _), (ob, pb, _, _) = run_pair("logistic", {"lr": torch.tensor(0.5, dtype=F64)},
                                              lr_change_after=None)
    assert_same_lbfgs(oa, ob, pa, pb, 1e-10)


def test_complex_parameter_matches_torch():
    runs = []
    for cls in (ours.LBFGS, torch.optim.LBFGS):
        z = torch.tensor([1.0 + 2.0j, -0.5 + 0.1j], dtype=torch.complex128, requires_grad=True)
        target = torch.tensor([0.3 - 1.0j, 2.0 + 0.5j], dtype=torch.complex128)
        opt = cls([z], line_search_fn="strong_wolfe")
        closure = make_closure(opt, [z], lambda c: ((z - target).abs() ** 2).sum() + (z.real ** 4).sum())
        for _ in range(2):
            opt.step(closure)
        runs.append((opt, [z]))
    assert_same_lbfgs(*runs[0][:1], *runs[1][:1], runs[0][1], runs[1][1], 1e-10)


# ---------------------------------------------------------------- the pieces, by hand

def test_first_iteration_is_a_scaled_gradient_step():
    """n_iter = 1: d = −g and τ = min(1, 1/‖g‖₁) η, so θ_1 = θ_0 − min(1, 1/‖g‖₁) η g."""
    x = torch.tensor([1.0, -2.0, 0.5], dtype=F64, requires_grad=True)
    A = torch.diag(torch.tensor([1.0, 3.0, 0.5], dtype=F64))
    opt = ours.LBFGS([x], lr=0.7, max_iter=1)
    loss = opt.step(make_closure(opt, [x], lambda c: 0.5 * x @ A @ x))
    g = torch.tensor([1.0, -6.0, 0.25], dtype=F64)            # A θ_0
    step = min(1.0, 1.0 / g.abs().sum().item()) * 0.7          # ‖g‖₁ = 7.25
    torch.testing.assert_close(x.detach(), torch.tensor([1.0, -2.0, 0.5], dtype=F64) - step * g,
                               atol=1e-15, rtol=0)
    assert loss.item() == pytest.approx(0.5 * (1 + 12 + 0.125))
    s = opt.state[x]
    assert (s["n_iter"], s["func_evals"], s["old_dirs"], s["H_diag"]) == (1, 1, [], 1)
    torch.testing.assert_close(s["d"], -g)
    assert float(s["t"]) == pytest.approx(step)


def test_two_loop_recursion_equals_the_dense_bfgs_inverse_hessian():
    """H_0 = γI, H_{k+1} = (I − ρ s yᵀ) H_k (I − ρ y sᵀ) + ρ s sᵀ, then d = −H g."""
    gen = torch.Generator().manual_seed(5)
    n = 6
    M = torch.randn(n, n, generator=gen, dtype=F64)
    A = M @ M.T + n * torch.eye(n, dtype=F64)                  # curvature: y = A s, so yᵀs > 0
    S = [torch.randn(n, generator=gen, dtype=F64) for _ in range(4)]
    Y = [A @ s for s in S]
    rho = [1.0 / y.dot(s) for s, y in zip(S, Y)]
    gamma = (S[-1].dot(Y[-1]) / Y[-1].dot(Y[-1])).item()
    H = gamma * torch.eye(n, dtype=F64)
    eye = torch.eye(n, dtype=F64)
    for s, y, r in zip(S, Y, rho):
        H = (eye - r * torch.outer(s, y)) @ H @ (eye - r * torch.outer(y, s)) + r * torch.outer(s, s)
    g = torch.randn(n, generator=gen, dtype=F64)
    alphas = [None] * 10
    d = two_loop(g, S, Y, rho, gamma, alphas)
    torch.testing.assert_close(d, -H @ g, atol=1e-12, rtol=1e-12)
    assert all(a is not None for a in alphas[:4]) and alphas[4] is None
    # the secant equation of the newest pair: H y = s
    torch.testing.assert_close(H @ Y[-1], S[-1], atol=1e-12, rtol=1e-12)


def test_cubic_minimizer_on_a_cubic_is_exact():
    f, df = (lambda x: x ** 3 - 3 * x), (lambda x: 3 * x ** 2 - 3)   # local minimum at x = 1
    t = lambda v: torch.tensor(float(v), dtype=F64)                  # noqa: E731 (slopes are tensors, as g·d)
    for x1, x2 in [(0.0, 2.0), (2.0, 0.0), (-0.5, 1.5)]:
        got = cubic_minimizer(x1, f(x1), t(df(x1)), x2, f(x2), t(df(x2)))
        assert float(got) == pytest.approx(1.0, abs=1e-12)
    # clamped to the bounds
    assert float(cubic_minimizer(0.0, 0.0, t(-3), 2.0, 2.0, t(9), bounds=(1.5, 3.0))) == 1.5
    # no real minimiser (discriminant < 0): the middle of the bounds
    assert cubic_minimizer(0.0, 0.0, t(3.0), 1.0, 2.0, t(3.0), bounds=(0.0, 4.0)) == 2.0   # d1 = 0, d1² − 9 < 0


@pytest.mark.parametrize("start", [1e-3, 1.0, 30.0])
def test_strong_wolfe_returns_a_step_meeting_both_conditions(start):
    """Along the steepest descent direction of the Rosenbrock function at (−1.2, 1)."""
    x0 = torch.tensor([-1.2, 1.0], dtype=F64)

    def f_and_g(x):
        x = x.clone().requires_grad_()
        v = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        v.backward()
        return v.item(), x.grad

    f0, g0 = f_and_g(x0)
    d = -g0
    f, g, tau, evals = strong_wolfe(lambda t: f_and_g(x0 + t * d), start, d, f0, g0, g0.dot(d))
    slope0 = g0.dot(d).item()
    assert f <= f0 + 1e-4 * float(tau) * slope0                     # sufficient decrease
    assert abs(g.dot(d).item()) <= 0.9 * abs(slope0)                 # strong curvature condition
    assert f == pytest.approx(f_and_g(x0 + tau * d)[0]) and evals >= 1


def along(objective, x0, d):
    def phi(t):
        x = (x0 + t * d).requires_grad_()
        v = objective(x)
        v.backward()
        return v.item(), x.grad
    return phi


OBJECTIVES = [
    lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum(),   # Rosenbrock
    lambda x: (torch.sin(3 * x) + 0.1 * x ** 2).sum(),                         # many local minima
    lambda x: (x ** 4).sum() - (x ** 2).sum() + 0.3 * x.prod(),                # quartic, two wells
    lambda x: (x[0] ** 2 + 1e-24).sqrt() + 0.01 * (x ** 2).sum(),              # a kink: the slope jumps
]


def test_line_search_and_interpolation_match_torchs_on_many_cases():
    """240 line searches along descent directions of four non-convex functions (one with a kink)
    from random points, starting steps from 1e-4 to 100, loose to tight curvature conditions
    (c2 = 0.9 down to 1e-4, so that the zoom works hard, down to its interval tolerance at the
    kink) and short evaluation budgets: the same trial points, in the same number, as torch's;
    then the cubic interpolation on random data."""
    from torch.optim.lbfgs import _cubic_interpolate, _strong_wolfe
    gen = torch.Generator().manual_seed(7)
    lengths = set()
    for case in range(240):
        objective = OBJECTIVES[case % 4]
        x0 = 2 * torch.randn(3, generator=gen, dtype=F64)
        f0, g0 = along(objective, x0, torch.zeros(3, dtype=F64))(0.0)
        d = torch.randn(3, generator=gen, dtype=F64) if case % 2 else -g0
        if g0.dot(d) > 0:
            d = -d
        phi = along(objective, x0, d)
        start = 10 ** (6 * torch.rand((), generator=gen).item() - 4)
        c2 = (0.9, 0.1, 1e-4)[case // 3 % 3]
        max_ls = 25 if case % 5 else 4
        trials_o, trials_t = [], []

        def traced(trials):
            def f(t):
                trials.append(float(t))
                return phi(t)
            return f
        fo, go, to, no = strong_wolfe(traced(trials_o), start, d, f0, g0, g0.dot(d), c2=c2, max_ls=max_ls)
        ft, gt, tt, nt = _strong_wolfe(lambda x, t, d: traced(trials_t)(t), None, start, d, f0, g0,
                                       g0.dot(d), c2=c2, max_ls=max_ls)
        assert trials_o == trials_t, f"case {case}"
        assert (fo, float(to), no) == (ft, float(tt), nt) and torch.equal(go, gt), f"case {case}"
        lengths.add(no)
    assert len(lengths) >= 10            # searches of many lengths: bracketing, zoom, budget cut-off
    for _ in range(200):
        x1, x2, f1, f2, s1, s2 = torch.randn(6, generator=gen, dtype=F64).tolist()
        args = (x1, f1, torch.tensor(s1, dtype=F64), x2, f2, torch.tensor(s2, dtype=F64))
        assert float(cubic_minimizer(*args)) == float(_cubic_interpolate(*args))
        bounds = (min(x1, x2) - 1, max(x1, x2) + 1)
        assert float(cubic_minimizer(*args, bounds=bounds)) == float(_cubic_interpolate(*args, bounds=bounds))


def test_strong_wolfe_solves_a_quadratic():
    """On f = ½θᵀAθ − bᵀθ (5-D), one call with the line search reaches A⁻¹b."""
    gen = torch.Generator().manual_seed(2)
    M = torch.randn(5, 5, generator=gen, dtype=F64)
    A, b = M @ M.T + torch.eye(5, dtype=F64), torch.randn(5, generator=gen, dtype=F64)
    x = torch.zeros(5, dtype=F64, requires_grad=True)
    opt = ours.LBFGS([x], line_search_fn="strong_wolfe", max_iter=50, tolerance_grad=1e-12,
                     tolerance_change=1e-14)
    opt.step(make_closure(opt, [x], lambda c: 0.5 * x @ A @ x - b @ x))
    torch.testing.assert_close(x.detach(), torch.linalg.solve(A, b), atol=1e-8, rtol=1e-8)


# ---------------------------------------------------------------- drop-in surface

def test_signature_matches_torch():
    sig = lambda f: [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]  # noqa: E731
    assert sig(ours.LBFGS.__init__) == sig(torch.optim.LBFGS.__init__)
    assert sig(ours.LBFGS.step) == sig(torch.optim.LBFGS.step)


def test_defaults_and_group_keys_match_torch():
    for kwargs in ({}, {"max_iter": 9}, {"max_iter": 9, "max_eval": 3}):
        o = ours.LBFGS([torch.zeros(2, requires_grad=True)], **kwargs)
        t = torch.optim.LBFGS([torch.zeros(2, requires_grad=True)], **kwargs)
        assert o.defaults == t.defaults
        assert {k: v for k, v in o.param_groups[0].items() if k != "params"} == \
            {k: v for k, v in t.param_groups[0].items() if k != "params"}
    assert o.defaults["max_eval"] == 3 and ours.LBFGS([torch.zeros(1, requires_grad=True)]).defaults["max_eval"] == 25


def through_bytes(state_dict):
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    buf.seek(0)
    return torch.load(buf)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("direction", ["ours_to_torch", "torch_to_ours", "ours_to_ours"])
def test_checkpoints_move_between_torch_and_ours(direction, line_search_fn):
    first, second = {"ours_to_torch": (ours.LBFGS, torch.optim.LBFGS),
                     "torch_to_ours": (torch.optim.LBFGS, ours.LBFGS),
                     "ours_to_ours": (ours.LBFGS, ours.LBFGS)}[direction]
    config = {"history_size": 4, "max_iter": 6, "line_search_fn": line_search_fn, "lr": 0.9}
    ref_params, ref_loss = tiny_mlp()
    ref = torch.optim.LBFGS(ref_params, **config)
    ref_closure = make_closure(ref, ref_params, ref_loss)
    for _ in range(4):
        ref.step(ref_closure)

    params, loss = tiny_mlp()
    calls = [0]                                            # the evaluation count goes on across the two
    opt = first(params, **config)
    closure = make_closure(opt, params, loss, calls=calls)
    for _ in range(2):
        opt.step(closure)
    checkpoint = through_bytes(opt.state_dict())
    opt2 = second(params, lr=5.0)                          # hyper-parameters come from the checkpoint
    opt2.load_state_dict(checkpoint)
    closure2 = make_closure(opt2, params, loss, calls=calls)
    for _ in range(2):
        opt2.step(closure2)
    assert opt2.param_groups[0]["history_size"] == 4
    assert_same_lbfgs(opt2, ref, params, ref_params, 1e-10)


def test_bad_lr_is_refused_naming_it():
    with pytest.raises(ValueError):
        torch.optim.LBFGS([torch.zeros(2, requires_grad=True)], lr=-1.0)
    with pytest.raises(ValueError, match=r"Invalid lr: -1.0 \(expected 0.0 <= lr\)"):
        ours.LBFGS([torch.zeros(2, requires_grad=True)], lr=-1.0)


def test_parameter_groups_are_refused_like_torch():
    groups = lambda: [{"params": [torch.zeros(2, requires_grad=True)]},  # noqa: E731
                      {"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1}]
    with pytest.raises(ValueError, match="parameter groups"):
        torch.optim.LBFGS(groups())
    with pytest.raises(ValueError, match=r"Invalid params: 2 parameter groups .*expected one"):
        ours.LBFGS(groups())


def test_step_needs_a_closure_and_a_known_line_search():
    for cls in (ours.LBFGS, torch.optim.LBFGS):
        x = torch.ones(2, dtype=F64, requires_grad=True)
        with pytest.raises(TypeError):
            cls([x]).step()
        opt = cls([x], line_search_fn="backtracking")
        with pytest.raises(RuntimeError, match="strong_wolfe"):
            opt.step(make_closure(opt, [x], lambda c: (x ** 2).sum()))


def test_already_optimal_returns_after_one_evaluation():
    for cls in (ours.LBFGS, torch.optim.LBFGS):
        x = torch.zeros(3, dtype=F64, requires_grad=True)
        opt = cls([x])
        opt.step(make_closure(opt, [x], lambda c: (x ** 2).sum()))
        assert dict(opt.state[x]) == {"func_evals": 1, "n_iter": 0}
