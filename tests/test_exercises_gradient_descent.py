import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import gradient_descent as gd


def test_references_pass():
    assert check("ex-gd-best-lr", gd.best_lr).status == PASSED
    assert check("ex-gd-safe-newton", gd.safe_newton_step).status == PASSED


def test_best_lr_is_optimal_numerically():
    for a, b in [(1.0, 2.0), (0.1, 2.0), (3.0, 0.2)]:
        etas = torch.linspace(1e-3, 1 / max(a, b), 20001, dtype=torch.float64)
        worst = torch.maximum((1 - 2 * etas * a).abs(), (1 - 2 * etas * b).abs())
        assert abs(float(etas[worst.argmin()]) - gd.best_lr(a, b)) < 1e-3


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, b: 2.0 / (a + b), "curvature of a·x² is 2a"),
    (lambda a, b: 1.0 / (2 * max(a, b)), "divided by two"),
    (lambda a, b: 1.0 / (2 * min(a, b)), "diverges in the other"),
])
def test_best_lr_mistakes_get_their_hint(wrong, hint):
    result = check("ex-gd-best-lr", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages)


@pytest.mark.parametrize("wrong, hint", [
    (gd._always_newton, "even where the Hessian is not positive definite"),
    (gd._always_gradient, "plain gradient step"),
    (gd._hessian_times_gradient, "multiplied by H"),
    (gd._newton_uphill, "should be subtracted"),
    (gd._diagonal_only, "only the diagonal"),
    (gd._determinant_test, "det H > 0"),
])
def test_safe_newton_mistakes_get_their_hint(wrong, hint):
    result = check("ex-gd-safe-newton", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_safe_newton_stub_and_crash():
    def stub(objective, x, lr=0.1):
        raise NotImplementedError("ex-gd-safe-newton: your code here")
    assert check("ex-gd-safe-newton", stub).status == NOT_IMPLEMENTED

    def scalar_only(objective, x, lr=0.1):
        return x - objective.grad(x) / float(objective.hessian(x))  # fails for dim 2
    result = check("ex-gd-safe-newton", scalar_only)
    assert result.status == FAILED and any("raised" in m for m in result.messages)
