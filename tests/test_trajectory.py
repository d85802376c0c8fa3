import numpy as np
import pytest
import torch

from optimlab import objectives
from optimlab.objectives import quadratic_2d, square
from optimlab.optim import SGD
from optimlab.trajectory import Trajectory, run_optimizer, run_update


def test_gradient_descent_on_square_is_geometric():
    traj = run_optimizer(square(), SGD, x0=(2.0,), steps=8, lr=0.1)
    assert isinstance(traj, Trajectory)
    assert traj.xs.shape == (9, 1) and traj.losses.shape == (9,) and traj.grads.shape == (9, 1)
    np.testing.assert_allclose(traj.xs[:, 0], 2.0 * 0.8 ** np.arange(9))
    np.testing.assert_allclose(traj.losses, traj.xs[:, 0] ** 2)
    np.testing.assert_allclose(traj.grads[:, 0], 2 * traj.xs[:, 0])
    np.testing.assert_allclose(traj.lrs, 0.1)
    assert traj.steps == 8 and traj.loss == pytest.approx(traj.losses[-1])
    assert traj.label == "SGD(lr=0.1)"


def test_ours_and_torch_and_hand_written_agree():
    f = quadratic_2d(1.0, 2.0)
    ours = run_optimizer(f, SGD, steps=15, lr=0.1)
    theirs = run_optimizer(f, torch.optim.SGD, steps=15, lr=0.1)
    by_hand = run_update(f, lambda x, obj: x - 0.1 * obj.grad(x), steps=15)
    np.testing.assert_array_equal(ours.xs, theirs.xs)
    np.testing.assert_allclose(by_hand.xs, ours.xs, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(ours.xs[0], f.x0)


def test_divergence_is_recorded():
    traj = run_optimizer(square(), SGD, x0=(1.0,), steps=5, lr=1.5)
    np.testing.assert_allclose(traj.xs[:, 0], (-2.0) ** np.arange(6))


def test_noise_is_seeded_and_changes_the_path():
    f = quadratic_2d()
    a = run_optimizer(f, SGD, steps=10, lr=0.1, noise_std=0.5, seed=1)
    b = run_optimizer(f, SGD, steps=10, lr=0.1, noise_std=0.5, seed=1)
    c = run_optimizer(f, SGD, steps=10, lr=0.1, noise_std=0.5, seed=2)
    clean = run_optimizer(f, SGD, steps=10, lr=0.1)
    np.testing.assert_array_equal(a.xs, b.xs)
    assert not np.allclose(a.xs, c.xs) and not np.allclose(a.xs, clean.xs)
    # grads are the exact gradients at the iterates, without the noise
    np.testing.assert_allclose(a.grads, a.xs * np.array([2.0, 4.0]))
    # same seed, different optimizer: the same noise sequence (SGD with lr η vs torch's SGD)
    d = run_optimizer(f, torch.optim.SGD, steps=10, lr=0.1, noise_std=0.5, seed=1)
    np.testing.assert_allclose(a.xs, d.xs)


def test_scheduler_and_start_validation():
    traj = run_optimizer(square(), SGD, steps=4, lr=0.1,
                         scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5))
    np.testing.assert_allclose(traj.lrs, [0.1, 0.1, 0.05, 0.05])
    with pytest.raises(ValueError):
        run_optimizer(square(), SGD, x0=(1.0, 2.0), steps=1, lr=0.1)


def test_run_update_newton_on_quadratic_converges_in_one_step():
    f = quadratic_2d(0.1, 2.0)
    newton = run_update(f, lambda x, obj: x - torch.linalg.solve(obj.hessian(x), obj.grad(x)), steps=2)
    np.testing.assert_allclose(newton.xs[1:], 0.0, atol=1e-12)
    assert newton.label == "<lambda>"


def test_newton_step_lands_on_a_quadratics_minimum_and_follows_the_formula():
    from optimlab.trajectory import newton_step
    f = quadratic_2d(0.1, 2.0)
    run = run_update(f, newton_step, x0=(3.0, -1.0), steps=1)
    np.testing.assert_allclose(run.xs[1], 0.0, atol=1e-12)
    x = torch.tensor([0.7, -0.2], dtype=torch.float64)
    rosen = objectives.rosenbrock()
    expected = x - torch.linalg.inv(rosen.hessian(x)) @ rosen.grad(x)
    torch.testing.assert_close(newton_step(x, rosen), expected)
