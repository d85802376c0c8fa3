import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from optimlab import quadratic as Q
from optimlab.objectives import quadratic_2d
from optimlab.optim import SGD
from optimlab.trajectory import run_optimizer


def test_hand_values():
    # gradient descent: ρ = |1 − ηλ|
    assert float(Q.spectral_radius(0.4, 4.0)) == pytest.approx(0.6)
    assert float(Q.spectral_radius(0.6, 4.0)) == pytest.approx(1.4)
    assert float(Q.spectral_radius(0.6, 0.2)) == pytest.approx(0.88)
    # heavy ball, complex roots: ρ = √β
    assert float(Q.spectral_radius(0.6, 4.0, 0.5)) == pytest.approx(math.sqrt(0.5))
    # heavy ball, real roots: trace 1 + β − ηλ = 1.15, det β = 0.25 → roots (1.15 ± √0.3225)/2
    assert float(Q.spectral_radius(0.5, 0.2, 0.25)) == pytest.approx((1.15 + math.sqrt(1.15 ** 2 - 1)) / 2)
    # the matrix by hand
    M = Q.iteration_matrix(0.6, 4.0, 0.5)
    torch.testing.assert_close(M, torch.tensor([[0.5, 4.0], [-0.3, 1 - 2.4]], dtype=torch.float64))
    N = Q.iteration_matrix(0.6, 4.0, 0.5, nesterov=True)
    torch.testing.assert_close(N, torch.tensor([[0.5, 4.0], [-0.15, 1 - 2.4 * 1.5]], dtype=torch.float64))
    assert Q.max_stable_lr(4.0) == pytest.approx(0.5)
    assert Q.max_stable_lr(4.0, 0.5) == pytest.approx(0.75)
    assert Q.max_stable_lr(4.0, 0.5, nesterov=True) == pytest.approx(0.375)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("lr, lam, beta", [(0.1, 0.2, 0.0), (0.6, 4.0, 0.5), (0.3, 2.0, 0.9), (1.3, 0.7, 0.1),
                                           (0.05, 3.0, 0.95)])
def test_radius_is_the_largest_eigenvalue_modulus(lr, lam, beta, nesterov):
    if nesterov and beta == 0:
        pytest.skip("Nesterov needs momentum > 0")
    M = Q.iteration_matrix(lr, lam, beta, nesterov=nesterov)
    expected = float(torch.linalg.eigvals(M).abs().max())
    assert float(Q.spectral_radius(lr, lam, beta, nesterov=nesterov)) == pytest.approx(expected, rel=1e-9)
    trace, det = Q.characteristic(lr, lam, beta, nesterov=nesterov)
    assert float(trace) == pytest.approx(float(torch.trace(M)))
    assert float(det) == pytest.approx(float(torch.linalg.det(M)))


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("lr, beta", [(0.4, 0.0), (0.6, 0.5), (0.6, 0.25), (0.2, 0.9)])
def test_matrix_reproduces_torch_and_optimlab_sgd(lr, beta, nesterov):
    if nesterov and beta == 0:
        pytest.skip("Nesterov needs momentum > 0")
    f = quadratic_2d(0.1, 2.0)                      # curvatures 0.2 and 4
    kwargs = dict(lr=lr, momentum=beta, nesterov=nesterov)
    ours = run_optimizer(f, SGD, x0=(-4.0, 3.0), steps=25, **kwargs)
    theirs = run_optimizer(f, torch.optim.SGD, x0=(-4.0, 3.0), steps=25, **kwargs)
    for k, (lam, x0) in enumerate([(0.2, -4.0), (4.0, 3.0)]):
        path = Q.error_path(lr, lam, beta, steps=25, x0=x0, nesterov=nesterov)
        np.testing.assert_allclose(ours.xs[:, k], path, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(theirs.xs[:, k], path, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("beta", [0.0, 0.3, 0.7, 0.95])
def test_stability_boundary(beta, nesterov):
    if nesterov and beta == 0:
        pytest.skip("Nesterov needs momentum > 0")
    lam = 2.5
    bound = Q.max_stable_lr(lam, beta, nesterov=nesterov)
    assert float(Q.spectral_radius(bound * 0.999, lam, beta, nesterov=nesterov)) < 1
    assert float(Q.spectral_radius(bound * 1.001, lam, beta, nesterov=nesterov)) > 1
    assert float(Q.spectral_radius(bound, lam, beta, nesterov=nesterov)) == pytest.approx(1.0)
    # and a long simulation agrees: just inside stays bounded, just outside grows
    inside = Q.error_path(bound * 0.99, lam, beta, steps=3000, nesterov=nesterov)
    outside = Q.error_path(bound * 1.01, lam, beta, steps=3000, nesterov=nesterov)
    assert abs(inside[-1]) < 1e-3 and abs(outside[-1]) > 1e3


def test_rate_predicts_the_simulated_decay():
    lr, lam, beta = 0.3, 1.0, 0.6
    xs = Q.error_path(lr, lam, beta, steps=400)
    # the envelope of |x_t| decays like ρ^t (complex roots: oscillates under the envelope)
    envelope = max(abs(v) for v in xs[-40:]) / max(abs(v) for v in xs[-240:-200])
    assert envelope ** (1 / 200) == pytest.approx(float(Q.spectral_radius(lr, lam, beta)), rel=1e-2)


def test_convergence_rate_and_phase_diagram():
    eig = (0.2, 4.0)
    assert float(Q.convergence_rate(0.4, 0.0, eig)) == pytest.approx(max(0.92, 0.6))
    lrs, momenta = np.linspace(0.01, 1.2, 120), np.linspace(0.0, 0.95, 96)
    diagram = Q.phase_diagram(eig, lrs, momenta)
    assert diagram.rates.shape == (96, 120)
    np.testing.assert_allclose(diagram.rates[7, 11], Q.convergence_rate(lrs[11], momenta[7], eig))
    lr, beta, rate = diagram.best()
    # the closed-form optimum of the heavy ball: β* = ((√κ − 1)/(√κ + 1))², η* = (2/(√L + √μ))², ρ* = √β*
    kappa = 20.0
    beta_star = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    lr_star = (2 / (math.sqrt(0.2) + math.sqrt(4.0))) ** 2
    assert rate == pytest.approx(math.sqrt(beta_star), abs=0.02)
    assert beta == pytest.approx(beta_star, abs=0.05) and lr == pytest.approx(lr_star, abs=0.05)
    assert float(Q.convergence_rate(lr_star, beta_star, eig)) == pytest.approx(math.sqrt(beta_star))
    # gradient descent's best: η = 2/(μ + L), ρ = (κ − 1)/(κ + 1)
    gd_lr, gd_rate = diagram.best_lr(0.0)
    assert gd_lr == pytest.approx(2 / 4.2, abs=0.01) and gd_rate == pytest.approx(19 / 21, abs=0.01)


def test_draw_phase_diagram():
    diagram = Q.phase_diagram((1.0,), np.linspace(0.01, 4.0, 50), np.linspace(0, 0.98, 40))
    fig = Q.draw_phase_diagram(diagram, title="one eigenvalue")
    assert isinstance(fig, Figure) and len(fig.axes) == 2           # the map and its colour bar
    assert fig.axes[0].get_title() == "one eigenvalue"
    import matplotlib.pyplot as plt
    f2, ax = plt.subplots()
    assert Q.draw_phase_diagram(diagram, ax=ax, colorbar=False) is ax
    plt.close(f2)


def test_argument_checks():
    with pytest.raises(ValueError):
        Q.max_stable_lr(1.0, 1.0)
    with pytest.raises(ValueError):
        Q.max_stable_lr(0.0, 0.5)
