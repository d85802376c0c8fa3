import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import adadelta as ex
from optimlab.optim import Adadelta


def test_reference_passes():
    assert check("ex-adadelta-step", ex.adadelta_step).status == PASSED


@pytest.mark.parametrize("lr, rho, eps", [(1.0, 0.9, 1e-6), (0.5, 0.95, 1e-3), (2.0, 0.5, 0.1)])
def test_reference_step_matches_the_optimizer(lr, rho, eps):
    g = torch.Generator().manual_seed(1)
    theta = torch.randn(6, generator=g, dtype=torch.float64)
    grads = torch.randn(5, 6, generator=g, dtype=torch.float64)
    param = theta.clone().requires_grad_(True)
    opt = Adadelta([param], lr=lr, rho=rho, eps=eps)
    v, u = torch.zeros(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    for grad in grads:
        param.grad = grad.clone()
        opt.step()
        theta, v, u = ex.adadelta_step(theta, grad, v, u, lr=lr, rho=rho, eps=eps)
        assert torch.allclose(param.detach(), theta, atol=1e-14)
        assert torch.allclose(opt.state[param]["square_avg"], v, atol=1e-14)
        assert torch.allclose(opt.state[param]["acc_delta"], u, atol=1e-14)


@pytest.mark.parametrize("wrong, hint", [
    (ex._eps_outside, "outside the square roots"),
    (ex._old_square_avg, "previous average of g²"),
    (ex._ratio_upside_down, "upside down"),
    (ex._lr_in_accumulator, "scaled by lr"),
    (ex._gradient_in_accumulator, "averages g²"),
    (ex._new_acc_delta, "already-updated acc_delta"),
    (ex._lr_ignored, "lr is ignored"),
    (ex._uphill, "uphill"),
])
def test_mistakes_get_their_hint(wrong, hint):
    result = check("ex-adadelta-step", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stub_and_crash():
    def stub(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
        raise NotImplementedError("ex-adadelta-step: your code here")
    assert check("ex-adadelta-step", stub).status == NOT_IMPLEMENTED

    def two_values(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
        return ex.adadelta_step(theta, grad, square_avg, acc_delta, lr, rho, eps)[:2]
    assert check("ex-adadelta-step", two_values).status == FAILED
