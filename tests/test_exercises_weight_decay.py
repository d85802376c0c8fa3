import pytest
import torch

from optimlab import regularization as reg
from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import weight_decay as wd


def test_references_pass():
    assert check("ex-wd-prox-l1", wd.prox_l1).status == PASSED
    assert check("ex-wd-sgdw", wd.sgdw_step).status == PASSED


def test_prox_reference_is_the_package_prox():
    w = torch.randn(50, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(wd.prox_l1(w, 0.3, 2.0), reg.prox_l1_(w.clone(), 0.6), rtol=0, atol=0)


def test_prox_reference_minimizes_the_proximal_objective():
    # prox(w) = argmin_u ½(u − w)² + τ|u|, checked by brute force on a grid
    grid = torch.linspace(-3, 3, 60001, dtype=torch.float64)
    for w in (-2.0, -0.4, 0.1, 0.7, 2.5):
        tau = 0.5
        best = grid[(0.5 * (grid - w) ** 2 + tau * grid.abs()).argmin()]
        assert abs(float(wd.prox_l1(torch.tensor(w, dtype=torch.float64), 1.0, tau)) - float(best)) < 1e-3


def test_sgdw_reference_matches_sgd_with_decoupled_decay_and_torch_without_momentum():
    # momentum 0 makes decoupled and coupled decay the same step: compare with torch's SGD(weight_decay)
    g = torch.Generator().manual_seed(1)
    p0, grad = torch.randn(7, generator=g, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64)
    p = p0.clone().requires_grad_(True)
    opt = torch.optim.SGD([p], lr=0.1, weight_decay=0.3)
    p.grad = grad.clone()
    opt.step()
    new, _ = wd.sgdw_step(p0, grad, None, 0.1, 0.0, 0.3)
    torch.testing.assert_close(new, p.detach(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("wrong, hint", [
    (wd._hard_threshold, "hard thresholding"),
    (wd._subgradient_step, "subgradient step"),
    (wd._one_sided, "one-sided"),
    (wd._threshold_lam, "the threshold is λ"),
    (wd._threshold_lr, "the threshold is η"),
    (wd._l2_shrink, "L2 weight decay"),
])
def test_prox_mistakes_get_their_hint(wrong, hint):
    result = check("ex-wd-prox-l1", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


@pytest.mark.parametrize("wrong, hint", [
    (wd._coupled, "coupled decay"),
    (wd._decay_without_lr, "not multiplied by the learning rate"),
    (wd._decay_after_step, "applied after the step"),
    (wd._dampened, "damped"),
    (wd._step_with_gradient, "uses the buffer"),
    (wd._no_decay, "weight decay is missing"),
])
def test_sgdw_mistakes_get_their_hint(wrong, hint):
    result = check("ex-wd-sgdw", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stubs_and_crashes_are_reported():
    def stub(*args, **kwargs):
        raise NotImplementedError("ex-wd-prox-l1: your code here")
    assert check("ex-wd-prox-l1", stub).status == NOT_IMPLEMENTED
    assert check("ex-wd-sgdw", stub).status == NOT_IMPLEMENTED

    def in_place_on_none(param, grad, buf, lr, momentum, weight_decay):
        buf.mul_(momentum).add_(grad)          # fails on the first step, where buf is None
        return param * (1 - lr * weight_decay) - lr * buf, buf
    result = check("ex-wd-sgdw", in_place_on_none)
    assert result.status == FAILED and any("raised AttributeError" in m for m in result.messages)
