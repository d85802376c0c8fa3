import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import sgd


def test_references_pass():
    assert check("ex-sgd-per-example", sgd.per_example_gradients).status == PASSED
    assert check("ex-sgd-noise-floor", sgd.noise_floor).status == PASSED


def test_per_example_reference_matches_autograd():
    g = torch.Generator().manual_seed(0)
    X, y, theta = (torch.randn(9, 4, generator=g, dtype=torch.float64), torch.randn(9, generator=g, dtype=torch.float64),
                   torch.randn(4, generator=g, dtype=torch.float64))
    rows = []
    for i in range(len(X)):
        t = theta.clone().requires_grad_(True)
        (0.5 * (X[i] @ t - y[i]) ** 2).backward()
        rows.append(t.grad)
    assert torch.allclose(sgd.per_example_gradients(theta, X, y), torch.stack(rows))


def test_noise_floor_reference_matches_the_variance_recursion():
    # iterate v ← (1 − 2ηc)² v + η²σ² to its fixed point and weight by the curvature
    for a, b, lr, s in [(1.0, 2.0, 0.1, 1.0), (0.1, 5.0, 0.15, 0.5)]:
        total = 0.0
        for c in (a, b):
            v = 0.0
            for _ in range(20000):
                v = (1 - 2 * lr * c) ** 2 * v + lr ** 2 * s ** 2
            total += c * v
        assert sgd.noise_floor(a, b, lr, s) == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("wrong, hint", [
    (sgd._mean_gradient, "mean over the examples"),
    (sgd._summed_gradient, "sum over the examples"),
    (sgd._flipped_sign, "sign is flipped"),
    (sgd._doubled, "twice too large"),
    (sgd._times_theta, "scaled θ"),
    (sgd._squared_residual, "residual is squared"),
    (sgd._without_target, "target y_i is missing"),
])
def test_per_example_mistakes_get_their_hint(wrong, hint):
    result = check("ex-sgd-per-example", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


@pytest.mark.parametrize("wrong, hint", [
    (sgd._small_lr, "small-η approximation"),
    (sgd._sigma_not_squared, "unsquared"),
    (sgd._variance_not_loss, "total variance"),
    (sgd._curvature_c, "1 − 2ηc"),
    (sgd._noise_variance_eta, "not ησ²"),
    (sgd._one_coordinate, "only one coordinate"),
])
def test_noise_floor_mistakes_get_their_hint(wrong, hint):
    result = check("ex-sgd-noise-floor", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stubs_and_crashes():
    def stub(*args):
        raise NotImplementedError("ex-sgd-per-example: your code here")
    assert check("ex-sgd-per-example", stub).status == NOT_IMPLEMENTED
    assert check("ex-sgd-noise-floor", stub).status == NOT_IMPLEMENTED

    def loops_with_wrong_axis(theta, X, y):
        return (X @ theta - y) * X  # broadcasts (n,) against (n, d): fails or is wrong
    result = check("ex-sgd-per-example", loops_with_wrong_axis)
    assert result.status == FAILED
