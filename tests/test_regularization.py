"""optimlab.regularization: penalties vs hand values, autograd and torch's weight decay; proximal and
decoupled steps; the digits data and its augmentation; ensembles."""

import functools
import math

import pytest
import torch

from optimlab import regularization as reg
from optimlab.data import load_digits

F64 = torch.float64


def small_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()


def data(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(20, 4, generator=g, dtype=F64), torch.randint(0, 3, (20,), generator=g)


# ------------------------------------------------------------------ penalties

def test_penalties_by_hand():
    a = torch.tensor([1.0, -2.0], dtype=F64, requires_grad=True)
    b = torch.tensor([[3.0, 0.0]], dtype=F64, requires_grad=True)
    assert reg.l2_penalty([a, b]).item() == 0.5 * (1 + 4 + 9)
    assert reg.l1_penalty([a, b]).item() == 1 + 2 + 3
    assert reg.l2_penalty(a).item() == 2.5                    # a single tensor works too
    reg.l2_penalty([a, b]).backward()
    assert torch.equal(a.grad, a.detach()) and torch.equal(b.grad, b.detach())   # ∇ ½‖w‖² = w
    a.grad, b.grad = None, None
    reg.l1_penalty([a, b]).backward()
    assert a.grad.tolist() == [1.0, -1.0] and b.grad.tolist() == [[1.0, 0.0]]   # sign(w), 0 at 0
    assert reg.l2_penalty([]).item() == 0.0 and reg.l1_penalty([]).item() == 0.0


def test_penalties_of_a_model_match_autograd_and_closed_forms():
    model = small_model()
    params = list(model.parameters())
    l2 = reg.l2_penalty(model.parameters())              # a generator is accepted
    l1 = reg.l1_penalty(params)
    flat = torch.cat([p.detach().flatten() for p in params])
    torch.testing.assert_close(l2, 0.5 * flat.dot(flat), rtol=1e-14, atol=0)
    torch.testing.assert_close(l1, flat.abs().sum(), rtol=1e-14, atol=0)
    grads = torch.autograd.grad(l2 + 0.3 * l1, params)
    for p, g in zip(params, grads):
        torch.testing.assert_close(g, p.detach() + 0.3 * p.detach().sign(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("opt_cls, kwargs", [
    (torch.optim.SGD, dict(lr=0.1)),
    (torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (torch.optim.Adam, dict(lr=0.01)),
], ids=["sgd", "sgd-momentum", "adam"])
def test_l2_penalty_is_torch_weight_decay(opt_cls, kwargs):
    """loss + λ·½Σ‖w‖² without weight decay follows exactly the trajectory of weight_decay=λ."""
    lam = 0.05
    x, y = data()
    m_pen, m_wd = small_model(), small_model()
    opt_pen = opt_cls(m_pen.parameters(), **kwargs, foreach=False)
    opt_wd = opt_cls(m_wd.parameters(), **kwargs, weight_decay=lam, foreach=False)
    for _ in range(10):
        opt_pen.zero_grad()
        loss = torch.nn.functional.cross_entropy(m_pen(x), y) + lam * reg.l2_penalty(m_pen.parameters())
        loss.backward()
        opt_pen.step()
        opt_wd.zero_grad()
        torch.nn.functional.cross_entropy(m_wd(x), y).backward()
        opt_wd.step()
    for p, q in zip(m_pen.parameters(), m_wd.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ proximal step

def test_prox_l1_by_hand_gives_exact_zeros_in_place():
    w = torch.tensor([-3.0, -0.5, 0.0, 0.2, 1.0, 1.5], dtype=F64)
    out = reg.prox_l1_(w, 1.0)
    assert out is w
    assert w.tolist() == [-2.0, 0.0, 0.0, 0.0, 0.0, 0.5]     # |w| ≤ τ becomes exactly 0
    assert int((w == 0).sum()) == 4 and reg.sparsity(w) == 4 / 6
    p = torch.nn.Parameter(torch.tensor([0.3, -2.0]))       # works on parameters that require grad
    reg.prox_l1_(p, 0.5)
    assert p.tolist() == [0.0, -1.5] and p.requires_grad
    with pytest.raises(ValueError, match="Invalid threshold"):
        reg.prox_l1_(w, -0.1)


def test_prox_l1_minimizes_its_objective():
    """prox_τ(w) = argmin_z ½(z − w)² + τ|z|: no point of a fine grid does better."""
    w = torch.linspace(-2, 2, 41, dtype=F64)
    tau = 0.7
    z = reg.prox_l1_(w.clone(), tau)
    grid = torch.linspace(-3, 3, 60001, dtype=F64)
    def objective(z_):
        return 0.5 * (z_ - w[:, None]) ** 2 + tau * z_.abs()
    best_on_grid = objective(grid[None, :]).min(1).values
    at_prox = objective(z[:, None]).squeeze(1)
    assert (at_prox <= best_on_grid + 1e-12).all()
    assert ((z == 0) == (w.abs() <= tau)).all()


def test_proximal_gradient_solves_the_lasso_and_subgradient_does_not_zero():
    """ISTA on ½‖Aw − b‖²/n + λ‖w‖₁ meets the optimality conditions and gives exact zeros;
    subgradient descent on the same objective leaves no exact zero."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn(40, 8, generator=g, dtype=F64)
    w_true = torch.tensor([2.0, 0, 0, -1.5, 0, 0, 0.5, 0], dtype=F64)
    b = A @ w_true + 0.1 * torch.randn(40, generator=g, dtype=F64)
    lam = 0.3
    def grad_f(w):
        return A.T @ (A @ w - b) / len(b)
    lr = 1 / torch.linalg.matrix_norm(A, ord=2).item() ** 2 * len(b)   # 1/L
    w = torch.zeros(8, dtype=F64)
    for _ in range(500):
        w -= lr * grad_f(w)
        reg.prox_l1_(w, lr * lam)
    gf = grad_f(w)
    zero = w == 0
    assert zero.sum() >= 3
    # optimality: ∇f_i = −λ sign(w_i) where w_i ≠ 0, |∇f_i| ≤ λ where w_i = 0
    torch.testing.assert_close(gf[~zero], -lam * w[~zero].sign(), rtol=0, atol=1e-9)
    assert (gf[zero].abs() <= lam + 1e-9).all()

    v = torch.zeros(8, dtype=F64, requires_grad=True)
    for t in range(500):
        loss = 0.5 * ((A @ v - b) ** 2).mean() + lam * reg.l1_penalty(v)
        (gv,) = torch.autograd.grad(loss, v)
        with torch.no_grad():
            v -= lr / math.sqrt(t + 1) * gv
    assert reg.sparsity(v) == 0.0


# ------------------------------------------------------------------ decoupled weight decay

def test_decoupled_weight_decay_by_hand():
    w = torch.tensor([1.0, -2.0], dtype=F64)
    assert reg.decoupled_weight_decay_(w, lr=0.1, wd=0.5) is w
    assert w.tolist() == [0.95, -1.9]
    with pytest.raises(ValueError, match="Invalid weight_decay"):
        reg.decoupled_weight_decay_(w, 0.1, -1.0)
    with pytest.raises(ValueError, match="Invalid lr"):
        reg.decoupled_weight_decay_(w, -0.1, 1.0)


def test_decay_then_adam_is_adamw():
    """decoupled_weight_decay_ followed by an Adam step without decay is torch's AdamW step."""
    lr, wd = 0.01, 0.1
    x, y = data()
    m_ours, m_adamw = small_model(), small_model()
    adam = torch.optim.Adam(m_ours.parameters(), lr=lr, foreach=False)
    adamw = torch.optim.AdamW(m_adamw.parameters(), lr=lr, weight_decay=wd, foreach=False)
    for _ in range(10):
        adam.zero_grad()
        torch.nn.functional.cross_entropy(m_ours(x), y).backward()
        for p in m_ours.parameters():
            reg.decoupled_weight_decay_(p, lr, wd)
        adam.step()
        adamw.zero_grad()
        torch.nn.functional.cross_entropy(m_adamw(x), y).backward()
        adamw.step()
    for p, q in zip(m_ours.parameters(), m_adamw.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


def test_decoupled_equals_l2_for_sgd_but_not_for_adam():
    lr, lam = 0.05, 0.2
    x, y = data()
    def run(opt_cls, decoupled, **kw):
        model = small_model()
        opt = opt_cls(model.parameters(), lr=lr, **kw, foreach=False)
        for _ in range(5):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            if not decoupled:
                loss = loss + lam * reg.l2_penalty(model.parameters())
            loss.backward()
            if decoupled:
                for p in model.parameters():
                    reg.decoupled_weight_decay_(p, lr, lam)
            opt.step()
        return torch.cat([p.detach().flatten() for p in model.parameters()])
    torch.testing.assert_close(run(torch.optim.SGD, True), run(torch.optim.SGD, False), rtol=1e-12, atol=1e-12)
    assert (run(torch.optim.Adam, True) - run(torch.optim.Adam, False)).abs().max() > 1e-3


# ------------------------------------------------------------------ data

def test_load_digits_tensors():
    d = reg.load_digits_tensors()
    flat = load_digits()                     # the same split, flattened
    assert d.x_train.shape[1:] == (1, 8, 8) and d.x_train.dtype == torch.float32
    assert len(d.x_train) + len(d.x_valid) == 1797
    assert torch.equal(d.x_train.reshape(len(d.x_train), -1), flat.x_train)
    assert torch.equal(d.y_valid, flat.y_valid)
    assert d.y_train.dtype == torch.long and set(d.y_train.tolist()) == set(range(10))
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0 and d.x_train.max() == 1.0
    # seeded: the same seed gives the same split, another seed another one
    assert torch.equal(reg.load_digits_tensors(seed=0).y_train, d.y_train)
    assert not torch.equal(reg.load_digits_tensors(seed=1).y_train, d.y_train)
    small = reg.load_digits_tensors(n_train=100, flatten=True, dtype=F64)
    assert small.x_train.shape == (100, 64) and small.x_train.dtype == F64
    assert torch.equal(small.y_train, d.y_train[:100]) and torch.equal(small.y_valid, d.y_valid)
    with pytest.raises(ValueError, match="Invalid n_train"):
        reg.load_digits_tensors(n_train=0)


# ------------------------------------------------------------------ augmentation

@functools.lru_cache(maxsize=None)
def _digits(dtype):
    return reg.load_digits_tensors(dtype=dtype)


def digit_images(n=16, dtype=torch.float32):
    return _digits(dtype).x_train[:n].clone()


def shift_with_zero_fill(img, dx, dy):
    """Move an (H, W) image dx pixels right and dy pixels down, zeros entering."""
    out = torch.roll(img, shifts=(dy, dx), dims=(0, 1))
    h, w = img.shape
    if dy > 0:
        out[:dy] = 0
    elif dy < 0:
        out[h + dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    elif dx < 0:
        out[:, w + dx:] = 0
    return out


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_augmentation_keeps_shape_dtype_and_is_seeded(dtype):
    x = digit_images(dtype=dtype)
    for images in (x, x[:, 0]):                      # (N, 1, 8, 8) and (N, 8, 8)
        a = reg.augment_digits(images, torch.Generator().manual_seed(0), max_shift=1, max_rotation_deg=15)
        b = reg.augment_digits(images, torch.Generator().manual_seed(0), max_shift=1, max_rotation_deg=15)
        c = reg.augment_digits(images, torch.Generator().manual_seed(1), max_shift=1, max_rotation_deg=15)
        assert a.shape == images.shape and a.dtype == dtype
        assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, images)
        assert a.min() >= 0 and a.max() <= 1 + 1e-6         # bilinear: convex combinations of pixels


def test_zero_augmentation_is_the_identity():
    x = digit_images()
    assert torch.equal(reg.augment_digits(x, torch.Generator().manual_seed(0), 0, 0.0), x)
    y = torch.rand(3, 2, 5, 7, dtype=F64)                    # other sizes: identity up to rounding
    torch.testing.assert_close(reg.affine_transform(y, torch.zeros(3), torch.zeros(3, 2, dtype=torch.long)),
                               y, rtol=0, atol=1e-12)


def test_integer_shifts_move_pixels_exactly():
    x = digit_images(n=25)
    shifts = torch.tensor([[dx, dy] for dx in range(-2, 3) for dy in range(-2, 3)])
    out = reg.affine_transform(x, torch.zeros(25), shifts)
    for i, (dx, dy) in enumerate(shifts.tolist()):
        assert torch.equal(out[i, 0], shift_with_zero_fill(x[i, 0], dx, dy)), (dx, dy)


def test_rotation_direction_and_composition():
    x = torch.rand(2, 1, 8, 8, dtype=F64)
    rot = reg.affine_transform(x, torch.tensor([90.0, -90.0]), torch.zeros(2, 2, dtype=torch.long))
    torch.testing.assert_close(rot[0], torch.rot90(x[0], 1, dims=(-2, -1)), rtol=0, atol=1e-12)   # counter-clockwise
    torch.testing.assert_close(rot[1], torch.rot90(x[1], -1, dims=(-2, -1)), rtol=0, atol=1e-12)
    r = torch.rand(1, 3, 5, dtype=F64)                       # non-square: 180° flips both axes
    torch.testing.assert_close(reg.affine_transform(r, torch.tensor([180.0]), torch.zeros(1, 2, dtype=torch.long)),
                               r.flip(-1, -2), rtol=0, atol=1e-12)
    # rotate first, then shift
    both = reg.affine_transform(x[:1], torch.tensor([90.0]), torch.tensor([[1, -2]]))
    expected = shift_with_zero_fill(torch.rot90(x[0, 0], 1), 1, -2)
    torch.testing.assert_close(both[0, 0], expected, rtol=0, atol=1e-12)


def test_random_affine_params_ranges():
    angles, shifts = reg.random_affine_params(4000, torch.Generator().manual_seed(0), max_shift=2,
                                              max_rotation_deg=12.0)
    assert angles.abs().max() <= 12.0 and angles.min() < -11.5 and angles.max() > 11.5
    assert shifts.dtype == torch.long and set(shifts.flatten().tolist()) == {-2, -1, 0, 1, 2}
    with pytest.raises(ValueError, match="Invalid max_shift"):
        reg.random_affine_params(3, torch.Generator(), max_shift=-1)
    with pytest.raises(ValueError, match="Invalid max_shift"):
        reg.random_affine_params(3, torch.Generator(), max_shift=1.5)


# ------------------------------------------------------------------ ensembles

def test_ensemble_averages_softmax_in_eval_mode():
    torch.manual_seed(0)
    models = [torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3)).double()
              for _ in range(3)]
    models[1].eval()
    x = torch.randn(10, 4, dtype=F64)
    probs = reg.make_ensemble_predictions(models, x)
    assert probs.shape == (10, 3) and not probs.requires_grad
    torch.testing.assert_close(probs.sum(1), torch.ones(10, dtype=F64), rtol=0, atol=1e-12)
    with torch.no_grad():
        expected = sum(torch.softmax(m.eval()(x), 1) for m in models) / 3
    torch.testing.assert_close(probs, expected, rtol=0, atol=1e-15)
    for m, mode in zip(models, (True, False, True)):
        m.train(mode)
    reg.make_ensemble_predictions(models, x)
    assert [m.training for m in models] == [True, False, True]     # modes restored
    torch.testing.assert_close(reg.make_ensemble_predictions(models, x), probs, rtol=0, atol=0)
    with pytest.raises(ValueError, match="at least one model"):
        reg.make_ensemble_predictions([], x)


# ------------------------------------------------------------------ augmented batches

def test_augmented_batches_are_seeded_fresh_per_pass_and_keep_labels():
    split = reg.load_digits_tensors(n_train=20)
    loader = reg.AugmentedBatches(split.x_train, split.y_train, 8, seed=3)
    assert len(loader) == 3
    first, second = list(loader), list(loader)
    assert [len(y) for _, y in first] == [8, 8, 4]
    assert all(x.shape == (len(y), 1, 8, 8) and x.dtype == split.x_train.dtype for x, y in first)
    assert not torch.equal(first[0][0], second[0][0])                  # new transformations every pass
    again = list(reg.AugmentedBatches(split.x_train, split.y_train, 8, seed=3))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, again))
    # each pass is a permutation of the examples: the labels come out shuffled, all of them
    assert sorted(torch.cat([y for _, y in first]).tolist()) == sorted(split.y_train.tolist())


def test_augmented_batches_without_transformations_return_the_images():
    split = reg.load_digits_tensors(n_train=12)
    loader = reg.AugmentedBatches(split.x_train, split.y_train, 5, seed=0, max_shift=0, max_rotation_deg=0)
    for images, labels in loader:
        # find each image among the originals: identical pixels and the same label
        for image, label in zip(images, labels):
            matches = (split.x_train == image).flatten(1).all(dim=1).nonzero().flatten()
            assert len(matches) >= 1 and label in split.y_train[matches]
    full = list(reg.AugmentedBatches(split.x_train, split.y_train, None, max_shift=0, max_rotation_deg=0))
    assert len(full) == 1 and torch.allclose(full[0][0], split.x_train) and torch.equal(full[0][1], split.y_train)


def test_augmented_batches_match_augment_digits_and_validate_arguments():
    split = reg.load_digits_tensors(n_train=10)
    (images, _), = list(reg.AugmentedBatches(split.x_train, split.y_train, None, seed=7))
    expected = reg.augment_digits(split.x_train, torch.Generator().manual_seed(7))
    assert torch.equal(images, expected)
    with pytest.raises(ValueError, match="batch_size"):
        reg.AugmentedBatches(split.x_train, split.y_train, 0)
    with pytest.raises(ValueError, match="different numbers"):
        reg.AugmentedBatches(split.x_train, split.y_train[:5])
    with pytest.raises(ValueError, match="max_shift"):
        reg.AugmentedBatches(split.x_train, split.y_train, max_shift=-1)


def test_augmented_batches_train_a_model():
    from optimlab.train import train
    split = reg.load_digits_tensors(n_train=40)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = torch.nn.functional.cross_entropy
    before = loss_fn(model(split.x_train), split.y_train).item()
    loader = reg.AugmentedBatches(split.x_train, split.y_train, 16, seed=0)
    history = train(model, opt, loader, loss_fn, 20, progress=False)
    assert len(history.losses) == 20 * 3
    assert loss_fn(model(split.x_train), split.y_train).item() < 0.5 * before
