"""optimlab.nn against torch.nn: batch normalization (exact parity) and dropout (parity in distribution)."""

import inspect
import math

import pytest
import torch

from optimlab import nn as onn

F64 = torch.float64
# torch added the keyword-only ``bias`` argument (and ``bias=...`` in the repr) in recent versions.
TORCH_HAS_BN_BIAS = "bias" in inspect.signature(torch.nn.BatchNorm1d).parameters
needs_bias_kwarg = pytest.mark.skipif(not TORCH_HAS_BN_BIAS, reason="this torch has no BatchNorm(bias=...)")
TOL = dict(rtol=1e-10, atol=1e-10)

# (our layer, torch's layer, input shape) with 4 channels
LAYERS = [
    pytest.param(onn.BatchNorm1d, torch.nn.BatchNorm1d, (16, 4), id="1d-2D"),
    pytest.param(onn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 4, 5), id="1d-3D"),
    pytest.param(onn.BatchNorm2d, torch.nn.BatchNorm2d, (6, 4, 3, 5), id="2d"),
]


def make_pair(ours_cls, torch_cls, dtype=F64, seed=0, **kwargs):
    """Our layer and torch's with the same (random, not default) weight and bias."""
    theirs = torch_cls(4, dtype=dtype, **kwargs)
    ours = ours_cls(4, dtype=dtype, **kwargs)
    if theirs.affine:
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            theirs.weight.copy_(1 + 0.5 * torch.randn(4, generator=g, dtype=dtype))
            if theirs.bias is not None:
                theirs.bias.copy_(torch.randn(4, generator=g, dtype=dtype))
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def batches(shape, n, dtype=F64, seed=1):
    """n different batches with per-channel offsets and scales, so the statistics are not trivial."""
    g = torch.Generator().manual_seed(seed)
    view = [1, shape[1]] + [1] * (len(shape) - 2)
    out = []
    for _ in range(n):
        x = torch.randn(shape, generator=g, dtype=dtype)
        shift = 3 * torch.randn(shape[1], generator=g, dtype=dtype).view(view)
        scale = torch.rand(shape[1], generator=g, dtype=dtype).view(view) * 4 + 0.1
        out.append(x * scale + shift)
    return out


def assert_same_state(ours, theirs, **tol):
    so, st = ours.state_dict(), theirs.state_dict()
    assert so.keys() == st.keys()
    for k in st:
        if st[k].dtype == torch.long:
            assert so[k].dtype == torch.long and torch.equal(so[k], st[k]), k
        else:
            torch.testing.assert_close(so[k], st[k], **(tol or TOL), msg=k)


# ------------------------------------------------------------------ batch norm: parity with torch

@pytest.mark.parametrize("ours_cls, torch_cls, shape", LAYERS)
@pytest.mark.parametrize("kwargs", [
    {}, {"momentum": 0.3}, {"momentum": None}, {"affine": False}, {"eps": 1e-3},
    {"track_running_stats": False}, {"affine": False, "momentum": None},
    pytest.param({"bias": False}, marks=needs_bias_kwarg),
], ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
def test_batchnorm_training_steps_match_torch(ours_cls, torch_cls, shape, kwargs):
    """Forward values, input/weight/bias gradients and running statistics, step after step."""
    ours, theirs = make_pair(ours_cls, torch_cls, **kwargs)
    g = torch.Generator().manual_seed(2)
    for x in batches(shape, 5):
        xo, xt = x.clone().requires_grad_(), x.clone().requires_grad_()
        yo, yt = ours(xo), theirs(xt)
        torch.testing.assert_close(yo, yt, **TOL)
        w = torch.randn(shape, generator=g, dtype=F64)          # a loss that is not symmetric
        (yo * w).sum().backward()
        (yt * w).sum().backward()
        torch.testing.assert_close(xo.grad, xt.grad, **TOL)
        if theirs.affine:
            torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, **TOL)
            if theirs.bias is not None:
                torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, **TOL)
            ours.zero_grad(), theirs.zero_grad()
        assert_same_state(ours, theirs)
    if theirs.track_running_stats:
        assert int(ours.num_batches_tracked) == 5
        assert ours.running_mean.grad_fn is None and not ours.running_mean.requires_grad
    # evaluation mode: running statistics (or batch statistics when none are tracked)
    ours.eval(), theirs.eval()
    for x in batches(shape, 2, seed=7):
        torch.testing.assert_close(ours(x), theirs(x), **TOL)
    assert_same_state(ours, theirs)       # evaluation changes nothing


@pytest.mark.parametrize("ours_cls, torch_cls, shape", LAYERS)
def test_batchnorm_float32_matches_torch(ours_cls, torch_cls, shape):
    ours, theirs = make_pair(ours_cls, torch_cls, dtype=torch.float32)
    assert ours.running_mean.dtype == torch.float32
    for x in batches(shape, 3, dtype=torch.float32):
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
    assert_same_state(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ours_cls, torch_cls, shape", LAYERS)
def test_state_dict_interchanges_with_torch(ours_cls, torch_cls, shape):
    """Train torch's layer, load its state into ours (and back): evaluation outputs agree."""
    _, theirs = make_pair(ours_cls, torch_cls)
    for x in batches(shape, 3):
        theirs(x)
    ours = ours_cls(4, dtype=F64)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert_same_state(ours, theirs)
    ours.eval(), theirs.eval()
    x = batches(shape, 1, seed=9)[0]
    torch.testing.assert_close(ours(x), theirs(x), **TOL)

    ours.train()
    for x in batches(shape, 2, seed=11):
        ours(x)
    back = torch_cls(4, dtype=F64)
    back.load_state_dict(ours.state_dict(), strict=True)
    assert int(back.num_batches_tracked) == 5
    assert_same_state(ours, back)


@needs_bias_kwarg
def test_repr_and_defaults_match_torch():
    for ours_cls, torch_cls in [(onn.BatchNorm1d, torch.nn.BatchNorm1d), (onn.BatchNorm2d, torch.nn.BatchNorm2d)]:
        for kw in [{}, {"momentum": None, "affine": False}, {"track_running_stats": False, "eps": 1e-3},
                   {"bias": False}]:
            ours, theirs = ours_cls(3, **kw), torch_cls(3, **kw)
            assert repr(ours) == repr(theirs)
            assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
            assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
            assert_same_state(ours, theirs)
    assert onn.BatchNorm1d(3, affine=False).weight is None
    assert onn.BatchNorm1d(3, track_running_stats=False).running_var is None


def test_network_with_batchnorm_trains_like_torch():
    """An MLP with our BatchNorm1d follows the same SGD trajectory as one with torch's."""
    torch.manual_seed(0)
    def net(bn):
        return torch.nn.Sequential(torch.nn.Linear(5, 8), bn(8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    theirs = net(torch.nn.BatchNorm1d)
    ours = net(onn.BatchNorm1d)
    ours.load_state_dict(theirs.state_dict())
    opt_o = torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(3)
    for _ in range(10):
        x = torch.randn(12, 5, generator=g, dtype=F64)
        y = torch.randint(0, 3, (12,), generator=g)
        for model, opt in [(ours, opt_o), (theirs, opt_t)]:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    assert_same_state(ours, theirs)
    ours.eval(), theirs.eval()
    x = torch.randn(4, 5, generator=g, dtype=F64)
    torch.testing.assert_close(ours(x), theirs(x), **TOL)


# ------------------------------------------------------------------ batch norm: hand values and errors

def test_batch_norm_functional_by_hand():
    """x = (1, 3): μ = 2, σ² = 1 (biased), unbiased 2; momentum 0.1 from μ̄ = 0, σ̄² = 1."""
    x = torch.tensor([[1.0], [3.0]], dtype=F64)
    rm, rv = torch.zeros(1, dtype=F64), torch.ones(1, dtype=F64)
    gamma, beta = torch.tensor([2.0], dtype=F64), torch.tensor([0.5], dtype=F64)
    y = onn.batch_norm(x, gamma, beta, rm, rv, training=True, momentum=0.1, eps=1e-5)
    s = 1 / math.sqrt(1 + 1e-5)
    torch.testing.assert_close(y, torch.tensor([[0.5 - 2 * s], [0.5 + 2 * s]], dtype=F64), rtol=0, atol=1e-15)
    torch.testing.assert_close(rm, torch.tensor([0.2], dtype=F64), rtol=0, atol=1e-15)
    torch.testing.assert_close(rv, torch.tensor([0.9 + 0.1 * 2.0], dtype=F64), rtol=0, atol=1e-15)
    # evaluation uses the running statistics: (x − 0.2)/sqrt(1.1 + ε)
    y = onn.batch_norm(x, None, None, rm, rv, training=False, eps=1e-5)
    torch.testing.assert_close(y, (x - 0.2) / math.sqrt(1.1 + 1e-5), rtol=0, atol=1e-15)


def test_batch_norm_functional_matches_torch_functional():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, 4, generator=g, dtype=F64)
    w, b = torch.randn(3, generator=g, dtype=F64), torch.randn(3, generator=g, dtype=F64)
    rm_o, rv_o = torch.randn(3, generator=g, dtype=F64), torch.rand(3, generator=g, dtype=F64) + 0.5
    rm_t, rv_t = rm_o.clone(), rv_o.clone()
    for training in (True, False):
        yo = onn.batch_norm(x, w, b, rm_o, rv_o, training, 0.25, 1e-4)
        yt = torch.nn.functional.batch_norm(x, rm_t, rv_t, w, b, training, 0.25, 1e-4)
        torch.testing.assert_close(yo, yt, **TOL)
        torch.testing.assert_close(rm_o, rm_t, **TOL)
        torch.testing.assert_close(rv_o, rv_t, **TOL)
    # training without running statistics: batch statistics only
    torch.testing.assert_close(onn.batch_norm(x, training=True),
                               torch.nn.functional.batch_norm(x, None, None, training=True), **TOL)


def test_momentum_none_is_the_cumulative_average():
    bn = onn.BatchNorm1d(2, momentum=None, dtype=F64)
    xs = batches((10, 2), 4)
    for x in xs:
        bn(x)
    means = torch.stack([x.mean(0) for x in xs])
    variances = torch.stack([x.var(0, unbiased=True) for x in xs])
    torch.testing.assert_close(bn.running_mean, means.mean(0), **TOL)
    torch.testing.assert_close(bn.running_var, variances.mean(0), **TOL)


def test_momentum_one_keeps_only_the_last_batch():
    bn = onn.BatchNorm2d(4, momentum=1.0, dtype=F64)
    for x in batches((3, 4, 2, 2), 3):
        bn(x)
    torch.testing.assert_close(bn.running_mean, x.mean((0, 2, 3)), **TOL)
    torch.testing.assert_close(bn.running_var, x.var((0, 2, 3), unbiased=True), **TOL)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        onn.BatchNorm1d(3)(torch.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        onn.BatchNorm2d(3)(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        onn.BatchNorm1d(3)(torch.randn(1, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        torch.nn.BatchNorm1d(3)(torch.randn(1, 3))          # the same rule as torch
    bn = onn.BatchNorm1d(3).eval()
    assert bn(torch.randn(1, 3)).shape == (1, 3)             # a single sample is fine in evaluation
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        onn.batch_norm(torch.randn(4, 3), training=False)
    with pytest.raises(ValueError, match=r"gamma has shape \(2,\), expected \(3,\)"):
        onn.batch_norm(torch.randn(4, 3), torch.ones(2), training=True)
    with pytest.raises(ValueError, match="Invalid momentum"):
        onn.BatchNorm1d(3, momentum=1.5)
    for layer in (onn.BatchNorm1d(3), onn.BatchNorm2d(3)):
        layer.eval()
        with torch.no_grad():
            layer.running_mean.fill_(2.0)
        layer.reset_parameters()
        assert_same_state(layer, torch.nn.BatchNorm1d(3))


# ------------------------------------------------------------------ dropout
# Statistical checks use n = 10^6 Bernoulli draws and a 6-sigma bound on the deviation of a
# sample mean: with a fixed seed the test is deterministic; were the seed changed, the normal
# approximation puts the chance of a false failure below 2e-9 per check.

N = 1_000_000
SIGMAS = 6.0


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def test_dropout_validates_p_like_torch():
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError) as ours:
            onn.Dropout(p)
        with pytest.raises(ValueError) as theirs:
            torch.nn.Dropout(p)
        assert str(ours.value) == str(theirs.value) == f"dropout probability has to be between 0 and 1, but got {p}"
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            onn.dropout(torch.ones(3), p)
    with pytest.raises(ValueError, match="but got nan"):     # torch lets NaN through; we do not
        onn.Dropout(float("nan"))
    assert repr(onn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))


def test_dropout_mask_is_the_bernoulli_draw_of_the_generator():
    x = torch.randn(50, 40, dtype=F64)
    y = onn.dropout(x, 0.3, training=True, generator=seeded(5))
    keep = torch.bernoulli(torch.full_like(x, 0.7), generator=seeded(5))
    assert torch.equal(y != 0, keep.bool())
    # the same seed gives the same output; another seed another mask
    assert torch.equal(y, onn.dropout(x, 0.3, training=True, generator=seeded(5)))
    assert not torch.equal(y, onn.dropout(x, 0.3, training=True, generator=seeded(6)))


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_kept_entries_are_scaled_exactly_like_torch(p, dtype):
    """On a tensor of ones both layers produce exactly the values {0, 1/(1 − p)} (rounded in dtype)."""
    ones = torch.ones(10_000, dtype=dtype)
    ours = onn.dropout(ones, p, generator=seeded(0))
    torch.manual_seed(0)
    theirs = torch.nn.Dropout(p)(ones)
    scale = torch.tensor(1 / (1 - p), dtype=dtype)
    assert set(ours.unique().tolist()) == set(theirs.unique().tolist()) == {0.0, scale.item()}
    x = torch.randn(10_000, dtype=dtype)
    y = onn.dropout(x, p, generator=seeded(1))
    kept = y != 0
    assert torch.equal(y[kept], x[kept] * scale)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    ones = torch.ones(N)
    y = onn.dropout(ones, p, generator=seeded(123))
    dropped = (y == 0).double()
    # fraction of zeros ~ p, standard deviation sqrt(p(1 − p)/N)
    assert abs(dropped.mean().item() - p) <= SIGMAS * math.sqrt(p * (1 - p) / N)
    # the mean is preserved: each entry has mean 1 and variance p/(1 − p)
    assert abs(y.double().mean().item() - 1) <= SIGMAS * math.sqrt(p / (1 - p) / N)
    # neighbours are dropped independently: P(both dropped) = p², over N/2 disjoint pairs
    pairs = dropped.view(-1, 2).prod(1)
    assert abs(pairs.mean().item() - p * p) <= SIGMAS * math.sqrt(p * p * (1 - p * p) / (N // 2))
    # torch's dropout draws its mask from the same distribution: compare the two fractions
    torch.manual_seed(321)
    theirs = torch.nn.Dropout(p)(ones)
    diff = dropped.mean().item() - (theirs == 0).double().mean().item()
    assert abs(diff) <= SIGMAS * math.sqrt(2 * p * (1 - p) / N)


def test_dropout_edge_cases_and_modes():
    x = torch.randn(100, 7)
    assert torch.equal(onn.dropout(x, 0.0, training=True), x)
    assert torch.equal(onn.dropout(x, 1.0, training=True), torch.zeros_like(x))
    assert torch.equal(torch.nn.Dropout(1.0)(x), torch.zeros_like(x))
    assert torch.equal(onn.dropout(x, 0.7, training=False), x)
    layer = onn.Dropout(0.7)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    torch.manual_seed(0)
    y = layer(x)
    assert 0 < (y == 0).float().mean().item() < 1
    # inplace writes into the input, like torch's
    z = x.clone()
    out = onn.Dropout(0.5, inplace=True)(z)
    assert out.data_ptr() == z.data_ptr() and torch.equal(out, z) and (z == 0).any()


def test_dropout_gradient_is_the_scaled_mask():
    x = torch.randn(30, 20, dtype=F64, requires_grad=True)
    y = onn.dropout(x, 0.25, generator=seeded(3))
    y.sum().backward()
    keep = torch.bernoulli(torch.full_like(x, 0.75), generator=seeded(3))
    torch.testing.assert_close(x.grad, keep / 0.75, rtol=0, atol=0)
