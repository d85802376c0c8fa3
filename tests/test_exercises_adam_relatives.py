import math

import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import adam_relatives as ex
from optimlab.optim import Adamax
from optimlab.optim.nadam import momentum_at


def test_references_pass():
    assert check("ex-relatives-adamax-step", ex.adamax_step).status == PASSED
    assert check("ex-relatives-nadam-warmup", ex.steps_to_reach).status == PASSED


@pytest.mark.parametrize("lr, betas, eps", [(2e-3, (0.9, 0.999), 1e-8), (0.1, (0.5, 0.9), 1e-3), (0.05, (0.0, 0.99), 0.5)])
def test_reference_step_matches_the_optimizer_and_torch(lr, betas, eps):
    g = torch.Generator().manual_seed(7)
    theta = torch.randn(5, generator=g, dtype=torch.float64)
    grads = torch.randn(8, 5, generator=g, dtype=torch.float64) * torch.logspace(-2, 1, 8, dtype=torch.float64)[:, None]
    ours = theta.clone().requires_grad_(True)
    twin = theta.clone().requires_grad_(True)
    opts = [Adamax([ours], lr=lr, betas=betas, eps=eps),
            torch.optim.Adamax([twin], lr=lr, betas=betas, eps=eps, foreach=False)]
    m, u = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    for t, grad in enumerate(grads, start=1):
        ours.grad, twin.grad = grad.clone(), grad.clone()
        for opt in opts:
            opt.step()
        theta, m, u = ex.adamax_step(theta, grad, m, u, t, lr=lr, beta1=betas[0], beta2=betas[1], eps=eps)
        for p, opt in ((ours, opts[0]), (twin, opts[1])):
            torch.testing.assert_close(p.detach(), theta, rtol=0, atol=1e-13)
            torch.testing.assert_close(opt.state[p]["exp_inf"], u, rtol=0, atol=1e-14)
            torch.testing.assert_close(opt.state[p]["exp_avg"], m, rtol=0, atol=1e-14)


def test_adamax_step_by_hand():
    # t = 1, g = −2, m = u = 0: m_1 = −0.2, u_1 = 2 + ε, step η·(−0.2/0.1)/2 = −η
    theta, m, u = ex.adamax_step(torch.tensor([1.0], dtype=torch.float64), torch.tensor([-2.0], dtype=torch.float64),
                                 torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64), 1,
                                 lr=0.5, eps=0.0)
    assert float(theta) == pytest.approx(1.5) and float(m) == pytest.approx(-0.2) and float(u) == 2.0


@pytest.mark.parametrize("wrong, hint", [
    (ex._eps_outside, "ε is added after the maximum"),
    (ex._u_corrected, "u is bias-corrected"),
    (ex._m_uncorrected, "m is not bias-corrected"),
    (ex._signed_gradient, "signed gradient"),
    (ex._u_averaged, "u is an average"),
    (ex._weights_swapped, "β and 1 − β are swapped"),
])
def test_adamax_mistakes_get_their_hint(wrong, hint):
    result = check("ex-relatives-adamax-step", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_adamax_stub():
    def stub(theta, grad, m, u, t, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        raise NotImplementedError("ex-relatives-adamax-step: your code here")
    assert check("ex-relatives-adamax-step", stub).status == NOT_IMPLEMENTED


@pytest.mark.parametrize("fraction, psi", [(0.9, 0.004), (0.99, 0.004), (0.75, 0.004), (0.6, 0.04), (0.95, 0.4),
                                           (0.51, 0.5)])
def test_steps_to_reach_is_the_first_step_of_the_schedule(fraction, psi):
    t = ex.steps_to_reach(fraction, psi)
    beta1 = 0.9
    assert momentum_at(beta1, psi, t) >= fraction * beta1
    assert t == 1 or momentum_at(beta1, psi, t - 1) < fraction * beta1


def test_steps_to_reach_by_hand():
    # 0.96^(tψ) ≤ 0.02  ⇔  tψ ≥ ln 0.02 / ln 0.96 = 95.83...  ⇒  t = 23958 for ψ = 0.004
    assert ex.steps_to_reach(0.99) == 23958
    assert math.log(0.02) / math.log(0.96) / 0.004 == pytest.approx(23957.81, abs=0.01)


@pytest.mark.parametrize("wrong, hint", [
    (lambda f, psi=0.004: max(1, math.ceil(math.log(1 - f) / (psi * math.log(0.96)))), "the ½ is missing"),
    (lambda f, psi=0.004: max(1, math.ceil(math.log(2 * (1 - f)) / math.log(0.96))), "ψ is missing"),
    (lambda f, psi=0.004: max(1, math.floor(math.log(2 * (1 - f)) / (psi * math.log(0.96)))), "rounded down"),
    (lambda f, psi=0.004: math.log(2 * (1 - f)) / (psi * math.log(0.96)), "not a whole step"),
])
def test_steps_mistakes_get_their_hint(wrong, hint):
    result = check("ex-relatives-nadam-warmup", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_steps_stub():
    def stub(fraction, psi=0.004):
        raise NotImplementedError("ex-relatives-nadam-warmup: your code here")
    assert check("ex-relatives-nadam-warmup", stub).status == NOT_IMPLEMENTED
