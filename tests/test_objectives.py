import math

import numpy as np
import pytest
import torch

from optimlab import objectives as O


def test_shapes_batch_and_grid():
    f = O.quadratic_2d(1.0, 2.0)
    assert f(torch.tensor([1.0, 1.0])).shape == ()
    assert f(torch.zeros(4, 3, 2)).shape == (4, 3)
    x1, x2, values = f.grid(7)
    assert x1.shape == x2.shape == values.shape == (7, 7)
    np.testing.assert_allclose(values, x1 ** 2 + 2 * x2 ** 2)
    g = O.square()
    assert g(3.0).shape == () and float(g(3.0)) == 9.0
    assert g(torch.linspace(-1, 1, 5)).shape == (5,)
    assert g(torch.ones(5, 1)).shape == (5,)
    xs, ys = g.grid(11)
    np.testing.assert_allclose(ys, xs ** 2)
    with pytest.raises(ValueError):
        f(torch.zeros(3))


@pytest.mark.parametrize("c", [0.5, 1.3])
def test_x_cos_derivatives_by_hand(c):
    f = O.x_cos(c)
    x = torch.linspace(-5, 5, 23, dtype=torch.float64)
    torch.testing.assert_close(f.grad(x), torch.cos(c * x) - c * x * torch.sin(c * x))
    second = -2 * c * torch.sin(c * x) - c ** 2 * x * torch.cos(c * x)
    torch.testing.assert_close(f.hessian(x), second)


def test_x_cos_local_minima():
    f = O.x_cos(0.5)
    assert len(f.minima) >= 2
    for (m,) in f.minima:
        assert abs(float(f.grad(m))) < 1e-9
        assert float(f.hessian(m)) > 0
        assert f.bounds[0][0] < m < f.bounds[0][1]


def test_cosh_and_simple_1d_by_hand():
    x = torch.tensor([-1.2, 0.0, 0.7], dtype=torch.float64)
    for c in (1.0, 0.5):
        f = O.cosh(c)
        torch.testing.assert_close(f.grad(x), c * torch.sinh(c * x))
        torch.testing.assert_close(f.hessian(x), c ** 2 * torch.cosh(c * x))
    torch.testing.assert_close(O.square().grad(x), 2 * x)
    torch.testing.assert_close(O.cubic().grad(x), 3 * x ** 2)
    torch.testing.assert_close(O.cubic().hessian(x), 6 * x)
    torch.testing.assert_close(O.tanh().grad(x), 1 - torch.tanh(x) ** 2)


def test_quadratics_by_hand():
    f = O.quadratic_2d(0.1, 2.0)
    torch.testing.assert_close(f.grad([3.0, -1.0]), torch.tensor([0.6, -4.0], dtype=torch.float64))
    torch.testing.assert_close(f.hessian([3.0, -1.0]), torch.diag(torch.tensor([0.2, 4.0], dtype=torch.float64)))
    assert f.hessian(torch.zeros(5, 2)).shape == (5, 2, 2)
    r = O.rotated_quadratic(1.0, 10.0, math.pi / 6)
    H = r.hessian([0.3, -0.2])
    torch.testing.assert_close(torch.linalg.eigvalsh(H), torch.tensor([2.0, 20.0], dtype=torch.float64))
    assert abs(float(H[0, 1])) > 1  # not axis-aligned
    x = torch.tensor([0.3, -0.2], dtype=torch.float64)
    torch.testing.assert_close(r.grad(x), H @ x)
    s = O.saddle()
    torch.testing.assert_close(s.grad([1.0, 2.0]), torch.tensor([2.0, -4.0], dtype=torch.float64))
    with pytest.raises(ValueError):
        O.quadratic([[1.0, 2.0], [0.0, 1.0]])


def test_rosenbrock_by_hand():
    f = O.rosenbrock(1.0, 100.0)
    x1, x2 = -1.5, 2.0
    expected = [-2 * (1 - x1) - 400 * x1 * (x2 - x1 ** 2), 200 * (x2 - x1 ** 2)]
    torch.testing.assert_close(f.grad([x1, x2]), torch.tensor(expected, dtype=torch.float64))
    assert float(f(torch.tensor(f.minima[0]))) == 0.0


@pytest.mark.parametrize("name", list(O.OBJECTIVES))
def test_registry_entries_are_consistent(name):
    f = O.OBJECTIVES[name]()
    assert len(f.bounds) == f.dim and all(lo < hi for lo, hi in f.bounds)
    assert f.x0 is not None and len(f.x0) == f.dim
    for m in f.minima:
        assert len(m) == f.dim
        assert float(torch.linalg.vector_norm(f.grad(torch.tensor(m, dtype=torch.float64)))) < 1e-8
    x = torch.tensor(f.x0, dtype=torch.float64)
    # autograd gradient against central finite differences
    eps = 1e-6
    fd = torch.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in torch.eye(f.dim, dtype=torch.float64)])
    torch.testing.assert_close(f.grad(x), fd, rtol=1e-5, atol=1e-5)
