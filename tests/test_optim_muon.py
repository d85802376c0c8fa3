"""Muon against torch.optim.Muon, and its Newton–Schulz iteration against the math.

torch runs Newton–Schulz in bfloat16, so parity with torch is asserted within bfloat16 rounding
of the update (after t steps: t · η' · 2⁻⁷, compared after every step). The math itself is
checked in float64: the iteration in the parameter's dtype against an SVD evaluation of the
polynomial on the singular values, which shares no code with the iteration.
"""

from __future__ import annotations

import inspect
import io
import math

import pytest
import torch

import optimlab.optim as ours
from optimlab.optim.muon import NS_COEFFICIENTS, adjusted_lr, zeropower_via_newton_schulz
from test_optim_support import DEVICES, clone_params, one_thread, set_grads  # noqa: F401

BF16_ULP = 2.0 ** -7   # bfloat16 keeps 8 significant bits: relative spacing 2⁻⁷ just below a power of 2
SHAPES = [(3, 4), (5, 2), (4, 4), (2, 6), (4, 2)]   # wide, tall, square; the last gets grad None at times
GROUPS = [[0, 2, 4], [1, 3]]
GROUP1 = {"lr": 0.01, "momentum": 0.8, "weight_decay": 0.02}


def make_matrices(dtype=torch.float64, seed=0, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype).to(device).requires_grad_()
            for s in SHAPES]


def build(cls, params, config, group1=GROUP1):
    return cls([{"params": [params[i] for i in GROUPS[0]]},
                {"params": [params[i] for i in GROUPS[1]], **group1}], **config)


def none_on(i, step):
    return i == 4 and (step <= 2 or step % 3 == 0)


def max_lr(opt):
    return max(adjusted_lr(g["lr"], g["adjust_lr_fn"], p.shape) for g in opt.param_groups for p in g["params"])


def assert_close_state(opt_a, opt_b, pa, pb, atol):
    for i, (a, b) in enumerate(zip(pa, pb)):
        torch.testing.assert_close(a.detach(), b.detach(), atol=atol, rtol=0, msg=lambda m: f"parameter {i}: {m}")
        sa, sb = opt_a.state.get(a, {}), opt_b.state.get(b, {})
        assert list(sa) == list(sb), f"parameter {i}: state keys {list(sa)} != torch's {list(sb)}"
        for key in sb:
            assert sa[key].dtype == sb[key].dtype and sa[key].shape == sb[key].shape
            torch.testing.assert_close(sa[key], sb[key], atol=atol, rtol=0,
                                       msg=lambda m: f"parameter {i}, state[{key!r}]: {m}")


def run_pair(config, dtype, steps=50, lr_change_at=25, check_every_step=True, device="cpu"):
    p_o = make_matrices(dtype, device=device)
    p_t = clone_params(p_o)
    opt_o, opt_t = build(ours.Muon, p_o, config), build(torch.optim.Muon, p_t, config)
    budget = 0.0   # the largest difference bfloat16 rounding can explain so far
    for step in range(1, steps + 1):
        if step == lr_change_at:
            for o in (opt_o, opt_t):
                for g in o.param_groups:
                    g["lr"] *= 0.3
        budget += max_lr(opt_t) * 1.5 * BF16_ULP   # |o_t| entries stay below about 1.5
        for ps, o in ((p_o, opt_o), (p_t, opt_t)):
            set_grads(ps, step, none_on=none_on)
            o.step()
        if check_every_step:
            assert_close_state(opt_o, opt_t, p_o, p_t, budget)
    return opt_o, opt_t, p_o, p_t, budget


CONFIGS = [
    {"lr": 0.02},
    {"lr": 0.05, "nesterov": False, "momentum": 0.9},
    {"lr": 0.02, "weight_decay": 0.0, "adjust_lr_fn": "original"},
    {"lr": 0.01, "adjust_lr_fn": "match_rms_adamw", "ns_steps": 3},
    {"lr": 0.02, "momentum": 0.0, "ns_coefficients": (1.5, -0.5, 0.0), "eps": 1e-3},  # cubic Newton–Schulz
]


def ids(c):
    return ",".join(f"{k}={v}" for k, v in c.items())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS, ids=ids)
def test_matches_torch_within_bfloat16_rounding(config, dtype, device):
    opt_o, _, p_o, _, budget = run_pair(config, dtype, device=device)
    assert set(opt_o.state) == set(p_o)                       # the None-at-times matrix got state too
    assert budget < 0.05 and all(p.abs().max() > 0.1 for p in p_o)   # the tolerance is not vacuous


def test_configs_cover_every_option():
    for key in ("nesterov", "momentum", "weight_decay", "adjust_lr_fn", "ns_steps", "ns_coefficients", "eps"):
        assert len({repr(c.get(key)) for c in CONFIGS}) >= 2, key


def test_bfloat16_iteration_is_torchs_bit_for_bit():
    """Not required by the tolerance above, but true: same operations in the same order."""
    from torch.optim._muon import _zeropower_via_newtonschulz
    gen = torch.Generator().manual_seed(3)
    for shape in [(3, 5), (6, 2), (4, 4)]:
        g = torch.randn(shape, generator=gen, dtype=torch.float64)
        ours_ = zeropower_via_newton_schulz(g)
        theirs = _zeropower_via_newtonschulz(g, NS_COEFFICIENTS, 5, 1e-7)
        assert ours_.dtype == theirs.dtype == torch.bfloat16
        assert torch.equal(ours_, theirs)


# ---------------------------------------------------------------- the math, in float64

def ns_by_svd(u, coefficients=NS_COEFFICIENTS, steps=5, eps=1e-7):
    """NS_k(u) = U p^k(Σ/‖u‖_F) Vᵀ with p(σ) = aσ + bσ³ + cσ⁵: the iteration acts on singular values only."""
    a, b, c = coefficients
    U, s, Vh = torch.linalg.svd(u.double(), full_matrices=False)
    s = s / max(torch.linalg.norm(u.double()).item(), eps)
    for _ in range(steps):
        s = a * s + b * s ** 3 + c * s ** 5
    return U @ torch.diag(s) @ Vh


@pytest.mark.parametrize("shape", [(3, 5), (7, 2), (4, 4)])
@pytest.mark.parametrize("coefficients,steps", [(NS_COEFFICIENTS, 5), ((1.5, -0.5, 0.0), 8), ((2.0, -1.5, 0.5), 4)])
def test_iteration_in_float64_is_the_polynomial_on_singular_values(shape, coefficients, steps):
    u = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    got = zeropower_via_newton_schulz(u, coefficients, steps, 1e-7, dtype=None)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, ns_by_svd(u, coefficients, steps), atol=1e-12, rtol=1e-12)
    # and the bfloat16 result is the same math up to bfloat16 rounding (2⁻⁸ per operation,
    # compounded over the steps: a few percent of entries of size about 1)
    low = zeropower_via_newton_schulz(u, coefficients, steps, 1e-7)
    assert (low.double() - got).abs().max() < 0.1


def test_singular_values_are_pushed_towards_one():
    """A matrix with singular values 10, 1, 0.1, 0.05 (condition 200): after torch's five steps
    all lie in [0.65, 1.25]; normalised by ‖u‖_F they started in [0.005, 0.995]."""
    gen = torch.Generator().manual_seed(2)
    Q1, _ = torch.linalg.qr(torch.randn(4, 4, generator=gen, dtype=torch.float64))
    Q2, _ = torch.linalg.qr(torch.randn(6, 4, generator=gen, dtype=torch.float64))
    sigma = torch.tensor([10.0, 1.0, 0.1, 0.05], dtype=torch.float64)
    u = Q2 @ torch.diag(sigma) @ Q1.T                          # 6 × 4, a tall one
    s = torch.linalg.svdvals(zeropower_via_newton_schulz(u, dtype=None))
    assert s.min() > 0.65 and s.max() < 1.25, s
    before = sigma / sigma.norm()
    assert before.min() < 0.006 and before.max() > 0.99
    # below about a⁻⁵ = 0.002 five steps are too few: σ = 0.01 (0.001 after normalising) reaches about 0.5
    tiny = torch.linalg.svdvals(zeropower_via_newton_schulz(Q2 @ torch.diag(sigma * torch.tensor(
        [1.0, 1.0, 1.0, 0.2], dtype=torch.float64)) @ Q1.T, dtype=None))
    assert 0.3 < tiny.min() < 0.6


def test_diagonal_matrix_by_hand():
    """On diag(3, 4) (‖·‖_F = 5) each step maps each diagonal entry σ to aσ + bσ³ + cσ⁵."""
    a, b, c = NS_COEFFICIENTS
    x = [3 / 5, 4 / 5]
    for _ in range(5):
        x = [a * s + b * s ** 3 + c * s ** 5 for s in x]
    got = zeropower_via_newton_schulz(torch.diag(torch.tensor([3.0, 4.0], dtype=torch.float64)), dtype=None)
    torch.testing.assert_close(got, torch.diag(torch.tensor(x, dtype=torch.float64)), atol=1e-14, rtol=0)
    assert all(0.6 < s < 1.25 for s in x)


class Muon64(ours.Muon):
    ns_dtype = None   # Newton–Schulz in the parameter's dtype


def test_optimizer_in_float64_follows_the_algorithm_box():
    """Muon with the iteration in float64 against the box, with NS evaluated by SVD: 20 steps at 1e-10."""
    config = {"lr": 0.03, "weight_decay": 0.1, "momentum": 0.9, "nesterov": True, "adjust_lr_fn": None}
    params = make_matrices()
    opt = Muon64(params, **config)
    thetas = [p.detach().clone() for p in params]
    bufs = [torch.zeros_like(t) for t in thetas]
    lr, lam, mu = 0.03, 0.1, 0.9
    for step in range(1, 21):
        set_grads(params, step)
        noise = [p.grad - p.detach() for p in params]             # set_grads gives ∇ = θ + noise
        opt.step()
        for i, theta in enumerate(thetas):
            g = theta + noise[i]                                  # the same gradient, at our own θ
            bufs[i] = mu * bufs[i] + (1 - mu) * g                 # b_t = μ b + (1 − μ) g
            u = (1 - mu) * g + mu * bufs[i]                        # Nesterov
            m, n = theta.shape
            thetas[i] = (1 - lr * lam) * theta - lr * math.sqrt(max(1, m / n)) * ns_by_svd(u)
    for p, theta, b in zip(params, thetas, bufs):
        torch.testing.assert_close(p.detach(), theta, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(opt.state[p]["momentum_buffer"], b, atol=1e-10, rtol=1e-10)


def test_first_step_by_hand():
    """b_1 = (1 − μ) g, u_1 = (1 − μ²) g ∝ g, so θ_1 = (1 − ηλ) θ_0 − η' NS(g) with η' = η √(m/n) for m > n."""
    theta0 = torch.tensor([[1.0, 2.0], [0.5, -1.0], [0.0, 3.0]], dtype=torch.float64)
    g = torch.tensor([[0.2, -0.1], [0.4, 0.3], [-0.5, 0.1]], dtype=torch.float64)
    p = theta0.clone().requires_grad_()
    opt = Muon64([p], lr=0.1, weight_decay=0.2, momentum=0.5)
    p.grad = g.clone()
    opt.step()
    expected = (1 - 0.1 * 0.2) * theta0 - 0.1 * math.sqrt(3 / 2) * ns_by_svd(g)
    torch.testing.assert_close(p.detach(), expected, atol=1e-13, rtol=0)
    torch.testing.assert_close(opt.state[p]["momentum_buffer"], 0.5 * g, atol=1e-16, rtol=0)


def test_adjusted_learning_rates():
    assert adjusted_lr(0.1, None, (8, 2)) == pytest.approx(0.2)              # √(8/2) = 2
    assert adjusted_lr(0.1, "original", (2, 8)) == pytest.approx(0.1)        # wide: √max(1, 1/4) = 1
    assert adjusted_lr(0.1, "match_rms_adamw", (2, 25)) == pytest.approx(0.1)  # 0.2 √25 = 1


# ---------------------------------------------------------------- drop-in surface

def test_signature_matches_torch():
    sig = lambda cls: [(p.name, p.kind, p.default)  # noqa: E731
                       for p in inspect.signature(cls.__init__).parameters.values()]
    assert sig(ours.Muon) == sig(torch.optim.Muon)


def test_defaults_and_group_keys_match_torch():
    o, t = ours.Muon(make_matrices()[:1]), torch.optim.Muon(make_matrices()[:1])
    assert o.defaults == t.defaults
    assert {k: v for k, v in o.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in t.param_groups[0].items() if k != "params"}


def through_bytes(state_dict):
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    buf.seek(0)
    return torch.load(buf)


def drive(opt, params, start, steps):
    for step in range(start, start + steps):
        set_grads(params, step, none_on=none_on)
        opt.step()


@pytest.mark.parametrize("direction", ["ours_to_torch", "torch_to_ours", "ours_to_ours"])
def test_checkpoints_move_between_torch_and_ours(direction):
    config = {"lr": 0.02, "momentum": 0.9, "adjust_lr_fn": "match_rms_adamw"}
    first, second = {"ours_to_torch": (ours.Muon, torch.optim.Muon),
                     "torch_to_ours": (torch.optim.Muon, ours.Muon),
                     "ours_to_ours": (ours.Muon, ours.Muon)}[direction]
    params = make_matrices()
    reference = clone_params(params)
    opt_ref = build(torch.optim.Muon, reference, config)
    drive(opt_ref, reference, 1, 20)
    opt = build(first, params, config)
    drive(opt, params, 1, 8)
    checkpoint = through_bytes(opt.state_dict())
    fresh = clone_params(params)
    opt2 = build(second, fresh, {"lr": 9.0}, {"lr": 9.0})      # hyper-parameters from the checkpoint
    opt2.load_state_dict(checkpoint)
    drive(opt2, fresh, 9, 12)
    assert opt2.param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"
    assert_close_state(opt2, opt_ref, fresh, reference, 0.0)   # bit for bit, as the iteration is


BAD = [({"lr": -0.1}, "lr", -0.1), ({"momentum": -0.5}, "momentum", -0.5),
       ({"weight_decay": -1.0}, "weight_decay", -1.0), ({"adjust_lr_fn": "rms"}, "adjust_lr_fn", "rms")]


@pytest.mark.parametrize("kwargs,arg,value", BAD, ids=[a for _, a, _ in BAD])
def test_bad_hyper_parameter_is_refused_naming_it(kwargs, arg, value):
    with pytest.raises(ValueError):
        torch.optim.Muon(make_matrices()[:1], **kwargs)
    with pytest.raises(ValueError, match=rf"Invalid {arg}: .*{value}.*expected") as err:
        ours.Muon(make_matrices()[:1], **kwargs)
    assert str(value) in str(err.value)


def test_message_states_the_allowed_range():
    with pytest.raises(ValueError, match=r"Invalid momentum: -0.5 \(expected 0.0 <= momentum\)"):
        ours.Muon(make_matrices()[:1], momentum=-0.5)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_only_matrices_are_accepted_like_torch(shape):
    for cls in (ours.Muon, torch.optim.Muon):
        with pytest.raises(ValueError, match="2D|2-D") as err:
            cls([torch.zeros(shape, requires_grad=True), torch.zeros(2, 2, requires_grad=True)])
        if cls is ours.Muon:
            assert str(tuple(shape)) in str(err.value) and "params" in str(err.value)


def test_step_time_errors_are_torchs():
    for cls in (ours.Muon, torch.optim.Muon):
        p = make_matrices()[:1]
        set_grads(p, 1)
        with pytest.raises(ValueError, match="100|steps"):
            cls(p, ns_steps=100).step()
        with pytest.raises(ValueError, match="[Cc]oefficients"):
            cls(p, ns_coefficients=(1.0, 2.0)).step()
        c = [torch.zeros(2, 2, dtype=torch.complex128, requires_grad=True)]
        c[0].grad = torch.ones_like(c[0])
        with pytest.raises(RuntimeError, match="complex"):
            cls(c).step()


def test_boundary_values_torch_accepts_are_accepted():
    kwargs = {"lr": 0.0, "momentum": 0.0, "weight_decay": 0.0}
    a = make_matrices()
    b = clone_params(a)
    o, t = ours.Muon(a, **kwargs), torch.optim.Muon(b, **kwargs)
    for ps, opt in ((a, o), (b, t)):
        set_grads(ps, 1)
        opt.step()
    assert_close_state(o, t, a, b, 0.0)
