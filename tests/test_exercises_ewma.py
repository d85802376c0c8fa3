import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import ewma as E
from optimlab.optim.moments import bias_correction, ewma_


def test_references_pass():
    assert check("ex-ewma-weights", E.ewma_weights).status == PASSED
    assert check("ex-ewma-rms", E.debiased_rms).status == PASSED


@pytest.mark.parametrize("beta, t", [(0.9, 1), (0.9, 7), (0.5, 12), (0.99, 40)])
def test_weights_reproduce_the_corrected_average(beta, t):
    xs = torch.randn(t, generator=torch.Generator().manual_seed(t), dtype=torch.float64)
    m = torch.zeros((), dtype=torch.float64)
    for x in xs:
        ewma_(m, x, beta)
    w = E.ewma_weights(beta, t)
    assert float(w.sum()) == pytest.approx(1.0)
    assert float(w @ xs) == pytest.approx(float(m) / bias_correction(beta, t))


def test_rms_of_a_constant_stream_is_its_size():
    torch.testing.assert_close(E.debiased_rms(torch.full((9,), -2.5, dtype=torch.float64), 0.99),
                               torch.full((9,), 2.5, dtype=torch.float64))


@pytest.mark.parametrize("wrong, hint", [
    (E._weights_by_age, "order of age"),
    (E._weights_uncorrected, "bias correction 1 − β^t is missing"),
    (E._weights_without_one_minus_beta, "factor 1 − β is missing"),
    (E._weights_shifted_exponent, "off by one"),
    (E._weights_roles_swapped, "swapped"),
])
def test_weights_mistakes_get_their_hint(wrong, hint):
    result = check("ex-ewma-weights", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


@pytest.mark.parametrize("wrong, hint", [
    (E._rms_of_the_mean, "average the squares"),
    (E._rms_without_root, "square root is missing"),
    (E._rms_uncorrected, "bias correction is missing"),
    (E._rms_corrected_after_root, "after the square root"),
    (E._rms_shifted_correction, "t = 1"),
])
def test_rms_mistakes_get_their_hint(wrong, hint):
    result = check("ex-ewma-rms", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stub_and_crash():
    def stub(beta, t):
        raise NotImplementedError("ex-ewma-weights: your code here")
    assert check("ex-ewma-weights", stub).status == NOT_IMPLEMENTED

    def list_input_only(xs, beta):
        return torch.tensor(xs.tolist()[10])  # fails for short streams
    result = check("ex-ewma-rms", list_input_only)
    assert result.status == FAILED and any("raised" in m for m in result.messages)
