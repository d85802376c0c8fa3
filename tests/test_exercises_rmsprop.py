import math

import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import rmsprop as ex
from optimlab.optim import RMSprop


def test_references_pass():
    assert check("ex-rmsprop-step", ex.rmsprop_step).status == PASSED
    assert check("ex-rmsprop-warmup", ex.step_ratio).status == PASSED


@pytest.mark.parametrize("lr, alpha, eps", [(0.01, 0.99, 1e-8), (0.1, 0.9, 1e-3), (0.3, 0.0, 0.1)])
def test_reference_step_matches_the_optimizer(lr, alpha, eps):
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(7, generator=g, dtype=torch.float64)
    grads = torch.randn(5, 7, generator=g, dtype=torch.float64)
    param = theta.clone().requires_grad_(True)
    opt = RMSprop([param], lr=lr, alpha=alpha, eps=eps)
    v = torch.zeros(7, dtype=torch.float64)
    for grad in grads:
        param.grad = grad.clone()
        opt.step()
        theta, v = ex.rmsprop_step(theta, grad, v, lr=lr, alpha=alpha, eps=eps)
        assert torch.allclose(param.detach(), theta, atol=1e-14)
        assert torch.allclose(opt.state[param]["square_avg"], v, atol=1e-14)


def test_step_ratio_matches_a_run_with_constant_gradient():
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = RMSprop([param], lr=1.0, alpha=0.9, eps=0.0)
    before = 0.0
    for t in range(1, 8):
        param.grad = torch.full((1,), 3.0, dtype=torch.float64)
        opt.step()
        assert abs(before - float(param.detach())) == pytest.approx(ex.step_ratio(0.9, t))
        before = float(param.detach())


@pytest.mark.parametrize("wrong, hint", [
    (ex._eps_inside, "inside the square root"),
    (ex._old_average, "previous average"),
    (ex._weights_swapped, "swapped"),
    (ex._no_one_minus_alpha, "without the factor"),
    (ex._no_sqrt, "square root is missing"),
    (ex._uphill, "uphill"),
    (ex._adagrad_sum, "Adagrad"),
])
def test_step_mistakes_get_their_hint(wrong, hint):
    result = check("ex-rmsprop-step", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_in_place_answer_passes_and_stub_is_reported():
    def in_place(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        return theta.addcdiv_(grad, square_avg.sqrt().add(eps), value=-lr), square_avg
    assert check("ex-rmsprop-step", in_place).status == PASSED

    def stub(theta, grad, square_avg, lr=0.01, alpha=0.99, eps=1e-8):
        raise NotImplementedError("ex-rmsprop-step: your code here")
    assert check("ex-rmsprop-step", stub).status == NOT_IMPLEMENTED


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, t: 1 / (1 - a ** t), "square root is missing"),
    (lambda a, t: 1 / math.sqrt(1 - a), "first step's ratio"),
    (lambda a, t: math.sqrt(1 - a ** t), "upside down"),
    (lambda a, t: 1 / math.sqrt(1 - a ** (t + 1)), "off by one"),
])
def test_warmup_mistakes_get_their_hint(wrong, hint):
    result = check("ex-rmsprop-warmup", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages
