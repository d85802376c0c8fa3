import pytest
import torch

from optimlab import nn as onn
from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import regularization as ex

F64 = torch.float64


def test_references_pass():
    assert check("ex-reg-batch-norm", ex.batch_norm_train).status == PASSED
    assert check("ex-reg-running-stats", ex.update_running_stats).status == PASSED


def test_references_agree_with_torch_batch_norm():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=g, dtype=F64) * 3 + 1
    layer = torch.nn.BatchNorm1d(5, dtype=F64, momentum=0.3)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(5, generator=g, dtype=F64))
        layer.bias.copy_(torch.randn(5, generator=g, dtype=F64))
        layer.running_mean.copy_(torch.randn(5, generator=g, dtype=F64))
        layer.running_var.copy_(torch.rand(5, generator=g, dtype=F64) + 0.5)
    old_mean, old_var = layer.running_mean.clone(), layer.running_var.clone()
    y = layer.train()(x)
    torch.testing.assert_close(ex.batch_norm_train(x, layer.weight.detach(), layer.bias.detach()), y.detach(),
                               rtol=1e-12, atol=1e-12)
    mean, var = ex.update_running_stats(old_mean, old_var, x, momentum=0.3)
    torch.testing.assert_close(mean, layer.running_mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(var, layer.running_var, rtol=1e-12, atol=1e-12)
    # and with the package's from-scratch functional form
    torch.testing.assert_close(onn.batch_norm(x, layer.weight.detach(), layer.bias.detach(), training=True),
                               y.detach(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("wrong, hint", [
    (ex._unbiased, "unbiased"),
    (ex._eps_outside, "outside the square root"),
    (ex._no_eps, "ε is missing"),
    (ex._per_example, "each example's features"),
    (ex._no_affine, "not applied"),
    (ex._swapped_affine, "swapped"),
    (ex._divided_by_variance, "divided by the variance"),
    (ex._not_centred, "mean is not subtracted"),
])
def test_batch_norm_mistakes_get_their_hint(wrong, hint):
    result = check("ex-reg-batch-norm", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


@pytest.mark.parametrize("wrong, hint", [
    (ex._biased_running_var, "biased batch variance"),
    (ex._momentum_on_old, "weighs the old value"),
    (ex._std_not_var, "standard deviations"),
    (ex._replaced, "replaced"),
    (ex._per_example_stats, "over each example"),
])
def test_running_stats_mistakes_get_their_hint(wrong, hint):
    result = check("ex-reg-running-stats", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stubs_are_reported_as_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError("your code here")
    assert check("ex-reg-batch-norm", stub).status == NOT_IMPLEMENTED
    assert check("ex-reg-running-stats", stub).status == NOT_IMPLEMENTED
