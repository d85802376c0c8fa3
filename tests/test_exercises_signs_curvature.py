import lion_pytorch
import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import signs_curvature as ex
from optimlab.optim import Lion, Rprop
from optimlab.signs_curvature_tools import bfgs_inverse_update

F64 = torch.float64


def test_references_pass():
    assert check("ex-signs-rprop", ex.rprop_step).status == PASSED
    assert check("ex-signs-lion", ex.lion_step).status == PASSED
    assert check("ex-signs-two-loop", ex.two_loop).status == PASSED


@pytest.mark.parametrize("cls", [Rprop, torch.optim.Rprop])
@pytest.mark.parametrize("etas, step_sizes", [((0.5, 1.2), (1e-6, 50.0)), ((0.3, 2.0), (1e-3, 0.05))])
def test_rprop_reference_matches_the_optimizers(cls, etas, step_sizes):
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(9, generator=g, dtype=F64)
    param = theta.clone().requires_grad_(True)
    opt = cls([param], lr=0.01, etas=etas, step_sizes=step_sizes)
    prev, delta = torch.zeros(9, dtype=F64), torch.full((9,), 0.01, dtype=F64)
    for _ in range(12):                       # gradients of a quadratic: signs flip as θ crosses 0
        grad = 2 * theta + 0.3 * torch.randn(9, generator=g, dtype=F64)
        param.grad = grad.clone()
        opt.step()
        theta, prev, delta = ex.rprop_step(theta, grad, prev, delta, etas, step_sizes)
        assert torch.allclose(param.detach(), theta, atol=1e-14)
        assert torch.allclose(opt.state[param]["prev"], prev, atol=1e-14)
        assert torch.allclose(opt.state[param]["step_size"], delta, atol=1e-14)


@pytest.mark.parametrize("cls", [Lion, lion_pytorch.Lion])
@pytest.mark.parametrize("lr, betas, weight_decay", [(1e-3, (0.9, 0.99), 0.0), (0.05, (0.5, 0.95), 0.3)])
def test_lion_reference_matches_the_optimizers(cls, lr, betas, weight_decay):
    g = torch.Generator().manual_seed(1)
    theta = torch.randn(3, 4, generator=g, dtype=F64)
    param = theta.clone().requires_grad_(True)
    opt = cls([param], lr=lr, betas=betas, weight_decay=weight_decay)
    m = torch.zeros(3, 4, dtype=F64)
    for _ in range(6):
        grad = torch.randn(3, 4, generator=g, dtype=F64)
        param.grad = grad.clone()
        opt.step()
        theta, m = ex.lion_step(theta, grad, m, lr, betas, weight_decay)
        assert torch.allclose(param.detach(), theta, atol=1e-14)
        assert torch.allclose(opt.state[param]["exp_avg"], m, atol=1e-14)


def test_two_loop_reference_equals_dense_bfgs_updates():
    pairs = ex._pairs(torch.Generator().manual_seed(3), 6, 4)
    grad = torch.randn(6, generator=torch.Generator().manual_seed(4), dtype=F64)
    h = 0.8 * torch.eye(6, dtype=F64)
    for s, y in pairs:
        h = bfgs_inverse_update(h, s, y)
    assert torch.allclose(ex.two_loop(grad, pairs, 0.8), h @ grad, atol=1e-12)


@pytest.mark.parametrize("exercise, wrong, hint", [
    ("ex-signs-rprop", ex._rprop_no_zeroing, "must not move"),
    ("ex-signs-rprop", ex._rprop_etas_swapped, "swapped"),
    ("ex-signs-rprop", ex._rprop_no_clip, "not clipped"),
    ("ex-signs-rprop", ex._rprop_magnitude, "gradient's size"),
    ("ex-signs-rprop", ex._rprop_old_step_size, "old step size"),
    ("ex-signs-rprop", ex._rprop_uphill, "uphill"),
    ("ex-signs-lion", ex._lion_momentum_first, "updated before"),
    ("ex-signs-lion", ex._lion_betas_swapped, "swapped"),
    ("ex-signs-lion", ex._lion_decay_without_lr, "not multiplied"),
    ("ex-signs-lion", ex._lion_no_sign, "sign is missing"),
    ("ex-signs-lion", ex._lion_sign_of_momentum, "updated buffer"),
    ("ex-signs-lion", ex._lion_uphill, "uphill"),
    ("ex-signs-two-loop", ex._two_loop_same_order, "oldest pair to the newest"),
    ("ex-signs-two-loop", ex._two_loop_no_gamma, "γ is missing"),
    ("ex-signs-two-loop", ex._two_loop_newest_only, "only the newest"),
    ("ex-signs-two-loop", ex._two_loop_oldest_first, "wrong order"),
    ("ex-signs-two-loop", ex._two_loop_beta_sign, "(β_i − α_i)"),
    ("ex-signs-two-loop", ex._two_loop_negated, "sign is flipped"),
])
def test_mistakes_get_their_hint(exercise, wrong, hint):
    result = check(exercise, wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_in_place_answers_pass_and_stubs_are_reported():
    def rprop_in_place(theta, grad, prev, step_size, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
        s = grad.mul(prev).sign_()
        factor = s.clone().masked_fill_(s > 0, etas[1]).masked_fill_(s < 0, etas[0]).masked_fill_(s == 0, 1)
        step_size = step_size.mul(factor).clamp_(*step_sizes)
        grad = grad.masked_fill(s < 0, 0)
        return theta.addcmul(grad.sign(), step_size, value=-1), grad, step_size
    assert check("ex-signs-rprop", rprop_in_place).status == PASSED

    def rprop_where(theta, grad, prev, step_size, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
        s = torch.sign(grad * prev)                   # Python numbers in torch.where: float32 factors
        factor = torch.where(s > 0, etas[1], torch.where(s < 0, etas[0], 1.0))
        step_size = (factor * step_size).clamp(*step_sizes)
        grad = torch.where(s < 0, 0.0, grad)
        return theta - torch.sign(grad) * step_size, grad, step_size
    assert check("ex-signs-rprop", rprop_where).status == PASSED

    for exercise in ("ex-signs-rprop", "ex-signs-lion", "ex-signs-two-loop"):
        def stub(*args, **kwargs):
            raise NotImplementedError(f"{exercise}: your code here")
        assert check(exercise, stub).status == NOT_IMPLEMENTED
