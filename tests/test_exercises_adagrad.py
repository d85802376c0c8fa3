import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import adagrad as A
from optimlab.optim import Adagrad


def test_references_pass():
    assert check("ex-adagrad-step", A.adagrad_step).status == PASSED
    assert check("ex-adagrad-effective-lr", A.effective_lrs).status == PASSED


def test_step_reference_matches_the_optimizer():
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(5, generator=g, dtype=torch.float64)
    param = theta.clone().requires_grad_(True)
    opt = Adagrad([param], lr=0.3)
    state_sum = torch.zeros(5, dtype=torch.float64)
    for _ in range(4):
        grad = torch.randn(5, generator=g, dtype=torch.float64)
        param.grad = grad.clone()
        opt.step()
        theta, state_sum = A.adagrad_step(theta, grad, state_sum, 0.3)
        torch.testing.assert_close(param.detach(), theta)
        torch.testing.assert_close(opt.state[param]["sum"], state_sum)


def test_effective_lrs_match_the_optimizer_state():
    g = torch.Generator().manual_seed(1)
    grads = torch.randn(7, 3, generator=g, dtype=torch.float64)
    param = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = Adagrad([param], lr=0.2, initial_accumulator_value=0.1)
    for row in grads:
        param.grad = row.clone()
        opt.step()
    expected = 0.2 / (opt.state[param]["sum"].sqrt() + 1e-10)
    torch.testing.assert_close(A.effective_lrs(grads, 0.2, initial=0.1), expected)


@pytest.mark.parametrize("wrong, hint", [
    (A._step_eps_inside, "eps is inside"),
    (A._step_old_sum, "uses the old accumulator"),
    (A._step_no_sqrt, "square root is missing"),
    (A._step_abs_sum, "sums |g|"),
    (A._step_sum_not_returned, "returned accumulator is the old one"),
    (A._step_ascent, "uphill"),
    (A._step_sqrt_of_sum_of_abs, "root of the new sum"),
])
def test_step_mistakes_get_their_hint(wrong, hint):
    result = check("ex-adagrad-step", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


@pytest.mark.parametrize("wrong, hint", [
    (A._eff_sum_over_coordinates, "over the coordinates"),
    (A._eff_mean, "averaged over time"),
    (A._eff_square_of_sum, "summed before squaring"),
    (A._eff_no_sqrt, "square root is missing"),
    (A._eff_without_initial, "initial accumulator"),
    (A._eff_eps_inside, "eps is inside"),
])
def test_effective_lr_mistakes_get_their_hint(wrong, hint):
    result = check("ex-adagrad-effective-lr", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stub_and_in_place_learner():
    def stub(theta, grad, state_sum, lr, eps=1e-10):
        raise NotImplementedError("ex-adagrad-step: your code here")
    assert check("ex-adagrad-step", stub).status == NOT_IMPLEMENTED

    def in_place(theta, grad, state_sum, lr, eps=1e-10):   # modifies its inputs but returns the right values
        state_sum.addcmul_(grad, grad)
        theta.addcdiv_(grad, state_sum.sqrt().add_(eps), value=-lr)
        return theta, state_sum
    assert check("ex-adagrad-step", in_place).status == PASSED
