import math

import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import adam as ex
from optimlab.optim import Adam


def test_references_pass():
    assert check("ex-adam-step", ex.adam_step).status == PASSED
    assert check("ex-adam-uncorrected", ex.uncorrected_ratio).status == PASSED


@pytest.mark.parametrize("lr, betas, eps", [(1e-3, (0.9, 0.999), 1e-8), (0.1, (0.5, 0.9), 1e-3), (0.05, (0.0, 0.99), 0.1)])
def test_reference_step_matches_the_optimizer(lr, betas, eps):
    g = torch.Generator().manual_seed(3)
    theta = torch.randn(5, generator=g, dtype=torch.float64)
    grads = torch.randn(6, 5, generator=g, dtype=torch.float64)
    param = theta.clone().requires_grad_(True)
    opt = Adam([param], lr=lr, betas=betas, eps=eps)
    m, v = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    for t, grad in enumerate(grads, start=1):
        param.grad = grad.clone()
        opt.step()
        theta, m, v = ex.adam_step(theta, grad, m, v, t, lr=lr, beta1=betas[0], beta2=betas[1], eps=eps)
        assert torch.allclose(param.detach(), theta, atol=1e-13)
        assert torch.allclose(opt.state[param]["exp_avg"], m, atol=1e-14)
        assert torch.allclose(opt.state[param]["exp_avg_sq"], v, atol=1e-14)


@pytest.mark.parametrize("wrong, hint", [
    (ex._no_correction, "no bias correction"),
    (ex._only_m_corrected, "only m is bias-corrected"),
    (ex._only_v_corrected, "only v is bias-corrected"),
    (ex._eps_inside, "inside the square root"),
    (ex._eps_before_correction, "before the bias correction"),
    (ex._next_t, "t + 1"),
    (ex._betas_swapped, "β1 and β2 are swapped"),
    (ex._weights_swapped, "β and 1 − β are swapped"),
    (ex._raw_gradient, "raw gradient"),
])
def test_step_mistakes_get_their_hint(wrong, hint):
    result = check("ex-adam-step", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_step_stub():
    def stub(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        raise NotImplementedError("ex-adam-step: your code here")
    assert check("ex-adam-step", stub).status == NOT_IMPLEMENTED


def test_uncorrected_ratio_matches_a_run():
    g = torch.ones(1, dtype=torch.float64)
    for t in (1, 2, 7):
        # Adam's corrected step is lr for a constant gradient (eps = 0); compare with the uncorrected one.
        m = (1 - 0.9 ** t) * g
        v = (1 - 0.999 ** t) * g ** 2
        assert float(m / v.sqrt()) == pytest.approx(ex.uncorrected_ratio(0.9, 0.999, t))
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = Adam([param], lr=1.0, eps=0.0)
    param.grad = torch.full((1,), 5.0, dtype=torch.float64)
    opt.step()
    assert float(param.detach()) == pytest.approx(-1.0)


@pytest.mark.parametrize("wrong, hint", [
    (lambda b1, b2, t: (1 - b1 ** t) / (1 - b2 ** t), "square root is missing"),
    (lambda b1, b2, t: math.sqrt(1 - b2 ** t) / (1 - b1 ** t), "upside down"),
    (lambda b1, b2, t: (1 - b2 ** t) / math.sqrt(1 - b1 ** t), "swapped"),
    (lambda b1, b2, t: 1 - b1 ** t, "only m is left uncorrected"),
    (lambda b1, b2, t: 1 / math.sqrt(1 - b2 ** t), "only v is left uncorrected"),
])
def test_uncorrected_mistakes_get_their_hint(wrong, hint):
    result = check("ex-adam-uncorrected", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


# --- ex-adam-sign: the longest step Adam can take ------------------------------------------------

def _step_bound(t, beta1=0.9, beta2=0.999):
    """B_t = (1−β1)/(1−β1ᵗ) · √((1−β2ᵗ)/(1−β2)) · √((1−ρᵗ)/(1−ρ)), ρ = β1²/β2 (the chapter's bound)."""
    rho = beta1 ** 2 / beta2
    return ((1 - beta1) / (1 - beta1 ** t) * math.sqrt((1 - beta2 ** t) / (1 - beta2))
            * math.sqrt((1 - rho ** t) / (1 - rho)))


def _steps(grads, betas=(0.9, 0.999), eps=0.0):
    from optimlab.compare import updates_for
    return updates_for(torch.optim.Adam, grads, lr=1.0, betas=betas, eps=eps, foreach=False).abs()[:, 0]


def test_step_bound_limit_is_about_7_27_eta_for_the_defaults():
    assert _step_bound(math.inf) == pytest.approx(0.1 / math.sqrt(0.001 * (1 - 0.81 / 0.999)), rel=1e-12)
    assert _step_bound(math.inf) == pytest.approx(7.2703, abs=1e-4)
    assert _step_bound(1) == pytest.approx(1.0)      # the first step of Adam is always η


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)])
def test_no_gradient_sequence_exceeds_the_bound(betas):
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(1, 301, dtype=torch.float64)
    sequences = [torch.randn(300, generator=gen, dtype=torch.float64),            # noise
                 torch.randn(300, generator=gen, dtype=torch.float64).exp() * 1e3,
                 1.05 ** t, 1.2 ** t, (betas[1] / max(betas[0], 1e-3)) ** (t / 3),
                 torch.where(t % 7 == 0, 100.0, 0.01).double()]                   # rare large gradients
    bounds = torch.tensor([_step_bound(float(k), *betas) for k in t], dtype=torch.float64)
    for g in sequences:
        assert (_steps(g[:, None], betas) <= bounds * (1 + 1e-9)).all()


def test_growing_gradients_reach_the_bound_and_a_lone_gradient_does_not():
    # zeros, then gradients growing by β2/β1 per step: Cauchy-Schwarz holds with equality
    zeros, growing = 4900, 100
    grads = torch.zeros(zeros + growing, 1, dtype=torch.float64)
    grads[zeros:, 0] = (0.999 / 0.9) ** torch.arange(growing, dtype=torch.float64)
    last = float(_steps(grads, eps=1e-8)[-1])       # ε = 1e-8: the zeros give 0/ε, not 0/0
    assert last == pytest.approx(_step_bound(zeros + growing), rel=1e-6)
    assert last > 7.2 and last > 2 * 0.1 / math.sqrt(0.001)    # far above η(1−β1)/√(1−β2) ≈ 3.16η
    lone = torch.zeros(zeros + growing, 1, dtype=torch.float64)
    lone[-1] = 1.0
    assert float(_steps(lone, eps=1e-8)[-1]) == pytest.approx(0.1 / math.sqrt(0.001) * math.sqrt(1 - 0.999 ** 5000)
                                                   / (1 - 0.9 ** 5000), rel=1e-6)
