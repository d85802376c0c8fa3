import numpy as np
import pytest
import torch

from optimlab import quadratic
from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import momentum as M


def test_references_pass():
    assert check("ex-momentum-rate", M.momentum_rate).status == PASSED
    assert check("ex-momentum-best", M.best_momentum).status == PASSED


@pytest.mark.parametrize("lr, beta, lam", [(0.6, 0.5, 4.0), (0.1, 0.25, 0.2), (1.0, 0.3, 3.0), (0.2, 0.0, 1.0)])
def test_rate_reference_is_the_spectral_radius(lr, beta, lam):
    M_ = quadratic.iteration_matrix(lr, lam, beta)
    assert M.momentum_rate(lr, beta, lam) == pytest.approx(float(torch.linalg.eigvals(M_).abs().max()))


def test_best_momentum_is_the_best_on_a_grid():
    lr, beta = M.best_momentum(0.2, 4.0)
    diagram = quadratic.phase_diagram([0.2, 4.0], np.linspace(0.3, 1.0, 701), np.linspace(0.2, 0.6, 401))
    grid_lr, grid_beta, grid_rate = diagram.best()
    assert grid_lr == pytest.approx(lr, abs=2e-3) and grid_beta == pytest.approx(beta, abs=2e-3)
    assert grid_rate == pytest.approx(beta ** 0.5, abs=1e-3)


@pytest.mark.parametrize("wrong, hint", [
    (M._rate_gradient_descent, "gradient descent's factor"),
    (M._rate_always_sqrt_beta, "only when the roots are complex"),
    (M._rate_real_part_only, "complex square root"),
    (M._rate_without_modulus, "modulus"),
    (M._rate_dampened_form, "averaged form"),
    (M._rate_det_squared, "not β²"),
])
def test_rate_mistakes_get_their_hint(wrong, hint):
    result = check("ex-momentum-rate", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


@pytest.mark.parametrize("wrong, hint", [
    (M._best_with_kappa, "needs √κ"),
    (M._best_beta_unsquared, "β is the square"),
    (M._best_gd_lr, "gradient descent's best learning rate"),
    (M._best_lr_unsquared, "learning rate is the square"),
    (M._best_swapped, "in that order"),
])
def test_best_mistakes_get_their_hint(wrong, hint):
    result = check("ex-momentum-best", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stub_and_crash():
    def stub(lr, beta, lam):
        raise NotImplementedError("ex-momentum-rate: your code here")
    assert check("ex-momentum-rate", stub).status == NOT_IMPLEMENTED

    def real_sqrt(lr, beta, lam):
        import math
        trace = 1 + beta - lr * lam
        return abs(trace + math.sqrt(trace * trace - 4 * beta)) / 2   # ValueError for complex roots
    result = check("ex-momentum-rate", real_sqrt)
    assert result.status == FAILED and any("raised ValueError" in m for m in result.messages)
