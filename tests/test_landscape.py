import math

import numpy as np
import pytest
import torch

from optimlab import landscape as L
from optimlab import objectives as O
from optimlab.trajectory import run_update

F64 = torch.float64


# --- the Hessian test --------------------------------------------------------------------------------

@pytest.mark.parametrize("hessian, kind", [
    (torch.diag(torch.tensor([1.0, 2.0])), "minimum"),
    (torch.diag(torch.tensor([-1.0, -2.0])), "maximum"),
    (torch.tensor([[1.0, 2.0], [2.0, 1.0]]), "saddle"),          # positive diagonal, eigenvalues 3 and -1
    (torch.tensor([[-2.0, 1.0], [1.0, -2.0]]), "maximum"),       # det > 0 but a maximum
    (torch.diag(torch.tensor([1.0, 0.0])), "degenerate"),
    (torch.diag(torch.tensor([1.0, -1.0, 0.0])), "saddle"),      # a zero does not hide both signs
    (torch.diag(torch.tensor([1.0, 1e-12])), "degenerate"),      # rounding-size eigenvalue counts as 0
    (torch.zeros(3, 3), "degenerate"),
    (2.0, "minimum"), (-0.5, "maximum"), (0.0, "degenerate"),    # numbers: 1-D second derivatives
])
def test_classify_hessian_known_cases(hessian, kind):
    assert L.classify_hessian(hessian) == kind


def test_classify_hessian_tolerance_is_relative_to_the_largest_eigenvalue():
    H = torch.diag(torch.tensor([1e6, 1e-3], dtype=F64))
    assert L.classify_hessian(H) == "degenerate"            # zero below 1e-8 · 1e6 = 1e-2
    assert L.classify_hessian(H, tol=1e-10) == "minimum"    # zero below 1e-4
    # small matrices: the threshold never drops below tol itself
    assert L.classify_hessian(torch.diag(torch.tensor([1e-10, 2e-10])), tol=1e-8) == "degenerate"
    with pytest.raises(ValueError):
        L.classify_hessian(torch.zeros(2, 3))


def test_classify_hessian_agrees_with_eigenvalue_signs_on_random_matrices():
    g = torch.Generator().manual_seed(1)
    for _ in range(200):
        d = int(torch.randint(1, 5, (1,), generator=g))
        A = torch.randn(d, d, generator=g, dtype=F64)
        S = (A + A.T) / 2
        e = torch.linalg.eigvalsh(S)
        expected = "minimum" if (e > 0).all() else "maximum" if (e < 0).all() else "saddle"
        assert L.classify_hessian(S) == expected


def test_classify_critical_point_on_objectives():
    p = L.classify_critical_point(O.saddle(), (0.0, 0.0))
    assert p.kind == "saddle" and p.eigenvalues == (-2.0, 2.0) and p.value == 0.0 and p.grad_norm == 0.0
    assert L.classify_critical_point(O.quadratic_2d(1.0, 2.0), (0.0, 0.0)).kind == "minimum"
    assert L.classify_critical_point(O.cubic(), (0.0,)).kind == "degenerate"
    assert "saddle" in repr(p)
    with pytest.raises(ValueError, match="not a critical point"):
        L.classify_critical_point(O.saddle(), (1.0, 0.0))


def test_critical_points_1d_on_x_cos_pi_x():
    f = O.x_cos(math.pi)
    found = L.critical_points_1d(f)
    assert [p.kind for p in found] == ["minimum", "maximum"] * 3
    minima = [p.x[0] for p in found if p.kind == "minimum"]
    np.testing.assert_allclose(minima, [m[0] for m in f.minima], atol=1e-9)
    for p in found:  # f'(x) = cos(πx) − πx sin(πx) vanishes there
        x = p.x[0]
        assert abs(math.cos(math.pi * x) - math.pi * x * math.sin(math.pi * x)) < 1e-8
        assert (p.eigenvalues[0] > 0) == (p.kind == "minimum")


def test_critical_points_1d_finds_a_touching_zero_and_no_false_ones():
    (inflection,) = L.critical_points_1d(O.cubic())
    assert abs(inflection.x[0]) < 1e-6 and inflection.kind == "degenerate"
    assert L.critical_points_1d(O.tanh()) == []
    with pytest.raises(ValueError):
        L.critical_points_1d(O.saddle())


def test_random_hessian_kinds():
    one = L.random_hessian_kinds(1, samples=4000)
    assert one["saddle"] == 0.0 and abs(one["minimum"] - 0.5) < 0.05
    kinds = [L.random_hessian_kinds(d, samples=4000) for d in (2, 3, 4)]
    for k in kinds:
        assert abs(sum(k.values()) - 1) < 1e-12
    assert kinds[0]["minimum"] > kinds[1]["minimum"] > kinds[2]["minimum"]
    assert L.random_hessian_kinds(3, seed=5) == L.random_hessian_kinds(3, seed=5)


def test_gradient_descent_endpoints_matches_a_loop():
    f = O.x_cos(math.pi)
    starts = torch.tensor([-1.7, 0.1, 0.6], dtype=F64)
    ends = L.gradient_descent_endpoints(f, starts, lr=0.02, steps=200)
    np.testing.assert_allclose(ends, [m[0] for m in f.minima], atol=1e-6)
    q = O.quadratic_2d(1.0, 2.0)
    ends = L.gradient_descent_endpoints(q, [[1.0, 1.0], [2.0, -1.0]], lr=0.1, steps=3)
    np.testing.assert_allclose(ends, np.array([[1.0, 1.0], [2.0, -1.0]]) * [0.8 ** 3, 0.6 ** 3])


# --- convexity checks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("objective, convex", [
    (O.square(), True), (O.cosh(), True), (O.quadratic_2d(0.1, 2.0), True), (O.rotated_quadratic(), True),
    (O.x_cos(math.pi), False), (O.tanh(), False), (O.cubic(), False), (O.saddle(), False), (O.rosenbrock(), False),
])
def test_check_convex_function_known_cases(objective, convex):
    for points in (2, 5):
        report = L.check_convex_function(objective, samples=3000, points=points)
        assert report.convex_on_samples == convex, (objective.name, points, report)
    if not convex:
        report = L.check_convex_function(objective)
        w, xs = torch.as_tensor(report.weights), torch.as_tensor(report.points)
        gap = objective((w[:, None] * xs).sum(0)) - (w * objective(xs)).sum()  # the reported sample violates
        assert abs(float(gap) - report.worst) < 1e-9 and report.worst > 0 and 0 < report.fraction <= 1
        assert "NOT convex" in repr(report)


def test_check_convex_function_plain_callables_and_bounds():
    report = L.check_convex_function(lambda x: x.abs().sum(-1), ((-1, 1), (-2, 2)))  # |x1| + |x2|
    assert report.convex_on_samples and report.points.shape == (2, 2)
    assert not L.check_convex_function(lambda x: torch.sin(x).squeeze(-1), (0.0, 6.0)).convex_on_samples
    with pytest.raises(ValueError):
        L.check_convex_function(lambda x: x.sum(-1))  # no bounds
    with pytest.raises(ValueError):
        L.check_convex_function(O.square(), points=1)
    assert L.check_convex_function(O.square(), seed=3).worst == L.check_convex_function(O.square(), seed=3).worst


def _disc(center, radius):
    c = torch.tensor(center, dtype=F64)
    return lambda x: ((x - c) ** 2).sum(-1) <= radius ** 2


def test_check_convex_set_intersection_and_union():
    a, b = _disc((0.0, 0.0), 1.0), _disc((1.6, 0.0), 1.0)
    box = ((-1.5, 3.0), (-1.5, 1.5))
    assert L.check_convex_set(lambda x: a(x) & b(x), box).convex_on_samples
    union = L.check_convex_set(lambda x: a(x) | b(x), box)
    assert not union.convex_on_samples and union.leaving > 0 and union.example is not None
    p, q = (torch.tensor(v, dtype=F64) for v in union.example)
    t = torch.linspace(0, 1, 101, dtype=F64)[:, None]
    segment = p + t * (q - p)
    assert bool((a(p) | b(p)) & (a(q) | b(q))) and not bool((a(segment) | b(segment)).all())
    assert L.check_convex_set(a, box).example is None
    with pytest.raises(ValueError):
        L.check_convex_set(_disc((10.0, 10.0), 0.1), box)


def test_sublevel_sets():
    assert L.check_convex_set(L.sublevel_set(O.rotated_quadratic(), 5.0), ((-4, 4), (-4, 4))).convex_on_samples
    assert not L.check_convex_set(L.sublevel_set(O.rosenbrock(), 1.0), ((-2, 2), (-1, 3))).convex_on_samples
    inside = L.sublevel_set(O.square(), 1.0)
    assert inside(torch.tensor([[0.5], [1.5]], dtype=F64)).tolist() == [True, False]


# --- projections ---------------------------------------------------------------------------------------

def test_project_ball():
    x = torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]], dtype=F64)
    torch.testing.assert_close(L.project_ball(x, 1.0), torch.tensor([[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]], dtype=F64))
    torch.testing.assert_close(L.project_ball(torch.tensor([4.0, 1.0]), 1.0, center=[1.0, 1.0]),
                               torch.tensor([2.0, 1.0]))
    assert L.project_ball([2.0, 0.0], 1.0).dtype == F64
    with pytest.raises(ValueError):
        L.project_ball(x, -1.0)


def test_project_ball_is_the_nearest_point():
    g = torch.Generator().manual_seed(0)
    x = 3 * torch.randn(50, 3, generator=g, dtype=F64)
    p = L.project_ball(x, 1.5)
    candidates = L.project_ball(3 * torch.randn(2000, 3, generator=g, dtype=F64), 1.5)
    for xi, pi in zip(x, p):
        assert float((xi - pi).norm()) <= float((candidates - xi).norm(dim=-1).min()) + 1e-12
        # the projection's optimality condition: (x − p)·(z − p) <= 0 for every z in the ball
        assert float(((candidates - pi) @ (xi - pi)).max()) <= 1e-12


def test_project_box():
    torch.testing.assert_close(L.project_box(torch.tensor([-2.0, 0.5, 3.0]), -1.0, 1.0), torch.tensor([-1.0, 0.5, 1.0]))
    torch.testing.assert_close(L.project_box([5.0, 5.0], [0.0, 1.0], [2.0, 3.0]), torch.tensor([2.0, 3.0], dtype=F64))


def test_project_tensors_onto_ball_matches_clip_grad_norm():
    g = torch.Generator().manual_seed(0)
    shapes = [(4, 3), (3,), ()]
    grads = [torch.randn(s, generator=g, dtype=F64) for s in shapes]
    params = [torch.zeros(s, dtype=F64, requires_grad=True) for s in shapes]
    for p, gr in zip(params, grads):
        p.grad = gr.clone()
    mine = [gr.clone() for gr in grads]
    norm_torch = torch.nn.utils.clip_grad_norm_(params, 1.0)
    norm_mine = L.project_tensors_onto_ball_(mine, 1.0)
    torch.testing.assert_close(norm_mine, norm_torch)
    total = float(torch.sqrt(sum((m ** 2).sum() for m in mine)))
    assert abs(total - 1.0) < 1e-14
    for a, p in zip(mine, params):  # torch divides by norm + 1e-6: relative difference about 1e-6 / norm
        torch.testing.assert_close(p.grad, a * float(norm_mine) / (float(norm_mine) + 1e-6))
    small = [torch.full((2,), 0.1, dtype=F64)]
    L.project_tensors_onto_ball_(small, 1.0)
    assert torch.equal(small[0], torch.full((2,), 0.1, dtype=F64))   # inside the ball: unchanged
    assert float(L.project_tensors_onto_ball_([], 1.0)) == 0.0


def test_projected_gradient_descent_reaches_the_constrained_minimiser():
    # minimise (x1 − 3)² + (x2 − 4)² over the unit ball: the answer is (0.6, 0.8)
    f = O.Objective("far bowl", lambda x: (x[..., 0] - 3) ** 2 + (x[..., 1] - 4) ** 2, 2, ((-5, 5), (-5, 5)))
    step = L.projected_gradient_step(lambda x: L.project_ball(x, 1.0), lr=0.1)
    run = run_update(f, step, x0=(-1.0, 0.0), steps=100)
    np.testing.assert_allclose(run.x, [0.6, 0.8], atol=1e-8)
    assert (np.linalg.norm(run.xs, axis=1) <= 1 + 1e-12).all()
    assert "projected" in step.__name__


def test_project_ball_radius_zero_and_float32():
    torch.testing.assert_close(L.project_ball(torch.tensor([3.0, 4.0]), 0.0), torch.zeros(2))
    torch.testing.assert_close(L.project_ball(torch.tensor([3.0, 4.0]), 0.0, center=[1.0, 1.0]), torch.ones(2))
    assert L.project_ball(torch.tensor([3.0, 4.0]), 1.0).dtype == torch.float32
