import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import memory_geometry as ex
from optimlab.optim import Adafactor
from optimlab.optim.muon import zeropower_via_newton_schulz


def test_references_pass():
    assert check("ex-memory-factored", ex.factored_second_moment).status == PASSED
    assert check("ex-memory-ns", ex.newton_schulz).status == PASSED
    assert check("ex-memory-state", ex.adafactor_state_numbers).status == PASSED


def test_factored_reference_is_exact_for_rank_one_and_matches_the_optimizer():
    g = torch.Generator().manual_seed(0)
    r, c = torch.rand(5, 1, generator=g, dtype=torch.float64), torch.rand(1, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(ex.factored_second_moment(r @ c), r @ c)
    # one step of Adafactor from zero state: V̂ is the factored g², so the update is −α g / √V̂
    grad = torch.randn(5, 3, generator=g, dtype=torch.float64)
    param = torch.zeros(5, 3, dtype=torch.float64, requires_grad=True)
    opt = Adafactor([param], lr=1.0, eps=(1e-30, 1e-3), d=1e9)
    param.grad = grad.clone()
    opt.step()
    expected = -1e-3 * grad / ex.factored_second_moment(grad ** 2).sqrt()     # α_1 = ε2 · min(1, 1/√1)
    torch.testing.assert_close(param.detach(), expected)


@pytest.mark.parametrize("shape", [(3, 5), (6, 2), (4, 4)])
def test_newton_schulz_reference_matches_the_package_in_float64(shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(ex.newton_schulz(x), zeropower_via_newton_schulz(x, dtype=None))


def test_state_numbers_match_the_optimizer_state():
    for shape in [(4, 6), (2, 3, 5), (7,), ()]:
        param = torch.zeros(shape, requires_grad=True)
        opt = Adafactor([param])
        param.grad = torch.ones(shape)
        opt.step()
        count = sum(v.numel() for k, v in opt.state[param].items() if k != "step")
        assert ex.adafactor_state_numbers(shape) == count


@pytest.mark.parametrize("exercise, wrong, hint", [
    ("ex-memory-factored", ex._sums, "sums, not means"),
    ("ex-memory-factored", ex._not_normalised, "normaliser is missing"),
    ("ex-memory-factored", ex._divided_by_column_sum, "not by the sum of C"),
    ("ex-memory-factored", ex._square_root_estimate, "√v"),
    ("ex-memory-ns", ex._no_normalisation, "not normalised"),
    ("ex-memory-ns", ex._spectral_normalisation, "largest singular value"),
    ("ex-memory-ns", ex._powers_swapped, "b and c are swapped"),
    ("ex-memory-ns", ex._one_step_short, "one step short"),
    ("ex-memory-ns", ex._polar_factor, "exact U Vᵀ"),
    ("ex-memory-state", ex._no_batch, "batch dimensions"),
    ("ex-memory-state", ex._full, "full matrix"),
    ("ex-memory-state", ex._all_dims_summed, "multiply the count"),
    ("ex-memory-state", ex._vectors_factored, "not factored"),
])
def test_mistakes_get_their_hint(exercise, wrong, hint):
    result = check(exercise, wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stub_is_reported_as_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError("ex-memory-ns: ...")
    for exercise in ("ex-memory-factored", "ex-memory-ns", "ex-memory-state"):
        assert check(exercise, stub).status == NOT_IMPLEMENTED
