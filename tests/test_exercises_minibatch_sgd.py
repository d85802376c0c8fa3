import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import minibatch_sgd as mb


def test_references_pass():
    assert check("ex-minibatch-gradient", mb.minibatch_gradient).status == PASSED
    assert check("ex-minibatch-variance", mb.minibatch_variance).status == PASSED


def test_gradient_reference_matches_autograd_and_linear_layer():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(12, 4, generator=g, dtype=torch.float64), torch.randn(12, generator=g, dtype=torch.float64)
    layer = torch.nn.Linear(4, 1, dtype=torch.float64)
    torch.nn.functional.mse_loss(layer(X).squeeze(-1), y).backward()
    g_w, g_b = mb.minibatch_gradient(layer.weight.detach()[0], layer.bias.detach()[0], X, y)
    assert torch.allclose(g_w, layer.weight.grad[0]) and torch.allclose(g_b, layer.bias.grad[0])


def test_variance_reference_matches_enumeration():
    # every batch of 2 out of 4 numbers, without and with replacement
    values = torch.tensor([0.0, 1.0, 3.0, 8.0], dtype=torch.float64)
    sigma2 = float(((values - values.mean()) ** 2).mean())
    pairs = torch.combinations(torch.arange(4), 2)
    without = float(((values[pairs].mean(1) - values.mean()) ** 2).mean())
    grid = torch.cartesian_prod(torch.arange(4), torch.arange(4))
    with_repl = float(((values[grid].mean(1) - values.mean()) ** 2).mean())
    assert mb.minibatch_variance(sigma2, 4, 2, False) == pytest.approx(without)
    assert mb.minibatch_variance(sigma2, 4, 2, True) == pytest.approx(with_repl)


@pytest.mark.parametrize("wrong, hint", [
    (mb._per_example, "per-example gradients"),
    (mb._without_two, "factor 2"),
    (mb._summed, "sums over the batch"),
    (mb._flipped, "sign is flipped"),
    (mb._bias_summed, "gradient for b is a sum"),
    (mb._divided_by_features, "number of features"),
    (mb._without_bias_in_residual, "bias b is missing"),
    (mb._bias_gradient_is_w_gradient_sum, "not the sum of the gradient for w"),
])
def test_gradient_mistakes_get_their_hint(wrong, hint):
    result = check("ex-minibatch-gradient", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


@pytest.mark.parametrize("wrong, hint", [
    (mb._no_correction, "finite population correction"),
    (mb._correction_over_n, "not (n − B)/n"),
    (mb._swapped, "swapped"),
    (mb._not_divided, "divided by B"),
    (mb._standard_deviation, "standard deviation"),
    (mb._divided_by_b_squared, "divided by B²"),
])
def test_variance_mistakes_get_their_hint(wrong, hint):
    result = check("ex-minibatch-variance", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stubs_and_wrong_shapes():
    def stub(*args):
        raise NotImplementedError("not yet")
    assert check("ex-minibatch-gradient", stub).status == NOT_IMPLEMENTED
    assert check("ex-minibatch-variance", stub).status == NOT_IMPLEMENTED

    def loops(w, b, X, y):
        return [2 * (X[i] @ w + b - y[i]) * X[i] for i in range(len(y))], None  # a list, not a tensor
    result = check("ex-minibatch-gradient", loops)
    assert result.status == FAILED and result.passed == 0
