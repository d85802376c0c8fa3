import math

import pytest
import torch

from optimlab import objectives
from optimlab import signs_curvature_tools as sc
from optimlab.data import Split
from optimlab.optim import LBFGS, SGD, Lion
from optimlab.train import mlp

F64 = torch.float64


def small_split(seed=0, n=60, features=5, classes=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return Split(x, y, x[:10], y[:10])


def quadratic_problem(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(n, n, generator=g, dtype=F64)
    a = m @ m.T + 0.5 * torch.eye(n, dtype=F64)
    b = torch.randn(n, generator=g, dtype=F64)
    w_star = torch.linalg.solve(a, b)
    loss = lambda w: 0.5 * w @ a @ w - b @ w  # noqa: E731
    return sc.FlatProblem("quadratic", loss, torch.zeros(n, dtype=F64)), w_star, float(loss(w_star))


def test_bfgs_update_is_symmetric_and_meets_the_secant_condition():
    g = torch.Generator().manual_seed(0)
    h = torch.eye(5, dtype=F64)
    s = torch.randn(5, generator=g, dtype=F64)
    y = s + 0.2 * torch.randn(5, generator=g, dtype=F64)
    h_new = sc.bfgs_inverse_update(h, s, y)
    assert torch.allclose(h_new @ y, s, atol=1e-12)                     # H₊ y = s
    assert torch.allclose(h_new, h_new.T, atol=1e-14)
    rho = 1 / y.dot(s)                                                  # the factored form, by hand
    v = torch.eye(5, dtype=F64) - rho * torch.outer(y, s)
    assert torch.allclose(h_new, v.T @ h @ v + rho * torch.outer(s, s), atol=1e-12)


def test_two_loop_equals_the_dense_updates():
    problem, _, _ = quadratic_problem(6)
    g = torch.Generator().manual_seed(2)
    a = torch.autograd.functional.hessian(problem.loss, problem.w0)
    pairs = [(s, a @ s) for s in torch.randn(4, 6, generator=g, dtype=F64)]
    grad = torch.randn(6, generator=g, dtype=F64)
    h = 1.7 * torch.eye(6, dtype=F64)
    for s, y in pairs:
        h = sc.bfgs_inverse_update(h, s, y)
    assert torch.allclose(sc.two_loop(grad, pairs, 1.7), h @ grad, atol=1e-12)
    assert torch.allclose(sc.two_loop(grad, [], 0.3), 0.3 * grad)


def test_softmax_regression_hessian_in_closed_form_equals_autograd():
    problem = sc.softmax_regression(small_split(), weight_decay=0.1)
    w = torch.randn(problem.n, generator=torch.Generator().manual_seed(1), dtype=F64)
    exact = problem.hessian(w)
    by_autograd = torch.autograd.functional.hessian(problem.loss, w)
    assert torch.allclose(exact, by_autograd, atol=1e-12)
    assert problem.n == 3 * 6                                           # classes × (features + bias)


def test_softmax_regression_is_flat_only_along_a_common_bias_shift():
    problem = sc.softmax_regression(small_split(), weight_decay=0.1)
    w = torch.randn(problem.n, generator=torch.Generator().manual_seed(1), dtype=F64)
    shift = torch.zeros(3, 6, dtype=F64)
    shift[:, -1] = 1.0                                                  # every class bias + 1
    shift = shift.reshape(-1)
    assert float(problem.loss(w + 2 * shift)) == pytest.approx(float(problem.loss(w)), abs=1e-14)
    eigenvalues, vectors = torch.linalg.eigh(problem.hessian(w))
    assert eigenvalues[0].abs() < 1e-12 and eigenvalues[1] > 1e-3      # one flat direction, no more
    assert abs(float(vectors[:, 0].dot(shift))) == pytest.approx(float(shift.norm()), rel=1e-9)


def test_newton_solves_a_quadratic_in_one_step():
    problem, w_star, f_star = quadratic_problem(5)
    run = sc.newton(problem, iterations=1, line_search=False)
    assert torch.allclose(run.points[-1], w_star, atol=1e-10)
    assert run.iterates[-1] == pytest.approx(f_star, abs=1e-12)


def test_newton_and_bfgs_reach_the_minimum_of_a_logistic_regression():
    problem = sc.softmax_regression(small_split(), weight_decay=0.1)
    f_newton = sc.newton(problem, iterations=8).iterates[-1]
    run = sc.bfgs(problem, iterations=60)
    assert run.iterates[-1] == pytest.approx(f_newton, abs=1e-9)
    assert all(b <= a + 1e-12 for a, b in zip(run.iterates, run.iterates[1:]))   # line search: descent
    assert run.evaluations == 1 + sum(run.evals_per_iteration)


def test_bfgs_on_a_quadratic_ends_at_its_minimiser():
    problem, w_star, _ = quadratic_problem(4, seed=3)
    run = sc.bfgs(problem, iterations=30)
    assert torch.allclose(run.points[-1], w_star, atol=1e-6)


def test_run_optimizer_flat_counts_evaluations_and_matches_a_plain_loop():
    problem, _, _ = quadratic_problem(3)
    run = sc.run_optimizer_flat(problem, lambda p: SGD(p, lr=0.05), evaluations=7)
    assert run.evaluations == 7 and run.evals_per_iteration == [1] * 7 and len(run.points) == 8
    w = problem.w0.clone().requires_grad_(True)
    opt = torch.optim.SGD([w], lr=0.05)
    for expected in run.losses:
        opt.zero_grad()
        value = problem.loss(w)
        value.backward()
        assert float(value.detach()) == pytest.approx(expected, abs=1e-14)
        opt.step()
    assert torch.allclose(run.points[-1], w.detach(), atol=1e-14)


def test_run_optimizer_flat_with_lbfgs_matches_torch():
    problem = sc.softmax_regression(small_split(), weight_decay=0.1)
    runs = [sc.run_optimizer_flat(problem, lambda p, cls=cls: cls(p, line_search_fn="strong_wolfe", max_iter=30,
                                                                   max_eval=30), evaluations=30)
            for cls in (LBFGS, torch.optim.LBFGS)]
    assert runs[0].losses == pytest.approx(runs[1].losses, abs=1e-12)
    assert torch.allclose(runs[0].points[-1], runs[1].points[-1], atol=1e-12)


def test_best_so_far():
    assert sc.best_so_far([3.0, 1.0, 2.0, 0.5]).tolist() == [3.0, 1.0, 1.0, 0.5]


def test_network_problem_matches_the_module():
    data = small_split()
    model = mlp(5, [4], 3, seed=0, activation=torch.nn.Tanh)
    reference = mlp(5, [4], 3, seed=0, activation=torch.nn.Tanh).double()
    problem = sc.network_problem(data, model)
    expected = torch.nn.functional.cross_entropy(reference(data.x_train.double()), data.y_train).detach()
    assert float(problem.loss(problem.w0).detach()) == pytest.approx(float(expected), abs=1e-12)
    index = torch.tensor([0, 3, 7])
    expected = torch.nn.functional.cross_entropy(reference(data.x_train[index].double()), data.y_train[index]).detach()
    assert float(problem.batch_loss(problem.w0, index).detach()) == pytest.approx(float(expected), abs=1e-12)
    accuracy = float((reference(data.x_valid.double()).argmax(1) == data.y_valid).double().mean())
    assert problem.accuracy(problem.w0, data.x_valid, data.y_valid) == pytest.approx(accuracy)


def test_curvature_noise_vanishes_for_the_full_batch_and_not_for_small_ones():
    data = small_split(n=40)
    problem = sc.network_problem(data, mlp(5, [4], 3, seed=0, activation=torch.nn.Tanh))
    _, g = problem.value_and_grad(problem.w0)
    s = -0.1 * g / g.norm()
    noise = sc.curvature_noise(problem, problem.w0, s, (4, 40), repeats=5)
    assert noise[40]["independent"].max() < 1e-10 and noise[40]["same"].max() < 1e-10
    assert noise[4]["independent"].median() > noise[4]["same"].median() > 0
    assert 0 <= noise[4]["negative"] <= 1


def test_relative_update_rms_of_lion_is_one_and_of_sgd_is_the_gradient_rms():
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(16, 5, generator=g), torch.randint(0, 3, (16,), generator=g)) for _ in range(3)]
    loss_fn = torch.nn.CrossEntropyLoss()
    model = mlp(5, [4], 3, seed=0)
    rms = sc.relative_update_rms(model, Lion(model.parameters(), lr=1e-3), batches, loss_fn)
    assert torch.allclose(rms, torch.ones(3, dtype=F64), atol=1e-5)
    model = mlp(5, [4], 3, seed=0)
    model.zero_grad()
    loss_fn(model(batches[0][0]), batches[0][1]).backward()
    grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    rms = sc.relative_update_rms(model, SGD(model.parameters(), lr=1e-3), batches[:1], loss_fn)
    assert float(rms[0]) == pytest.approx(float(grads.pow(2).mean().sqrt()), rel=1e-3)


def test_memory_and_its_format():
    mem = sc.memory_bytes(1000, history=10, bytes_per_number=4)
    assert mem == {"Hessian": 4_000_000, "L-BFGS": (20_000 + 2000 + 10) * 4, "Adam": 8000, "Lion": 4000}
    assert sc.format_bytes(3 * 2 ** 20) == "3.0 MiB"
    assert sc.format_bytes(512) == "512 B"
    assert sc.format_bytes(1.5 * 2 ** 40) == "1.5 TiB"


def test_objective_problem_and_draw_paths():
    rosen = objectives.rosenbrock()
    problem = sc.objective_problem(rosen)
    assert float(problem.loss(problem.w0)) == pytest.approx(float(rosen(torch.tensor(rosen.x0))))
    from optimlab import plots
    fig, ax = plots.subplots()
    run = sc.bfgs(problem, iterations=3)
    sc.draw_paths(ax, rosen, {"BFGS": run.points}, {"BFGS": "#123456"})
    lines = [line for line in ax.get_lines() if line.get_label() == "BFGS"]
    assert len(lines) == 1 and lines[0].get_color() == "#123456" and len(lines[0].get_xdata()) == 4


class _HalfStep(LBFGS):
    def __init__(self, params, **kwargs):
        super().__init__(params, **{**kwargs, "lr": 0.5})


def test_crosscheck_lbfgs_agrees_with_torch_and_catches_a_difference():
    result = sc.crosscheck_lbfgs(LBFGS, torch.optim.LBFGS, steps=5, max_iter=4, history_size=3,
                                 line_search_fn="strong_wolfe")
    assert result.ok and math.isfinite(result.max_diff)
    result = sc.crosscheck_lbfgs(_HalfStep, torch.optim.LBFGS, steps=5, max_iter=4, history_size=3)
    assert not result.ok
