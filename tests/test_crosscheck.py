import torch

from optimlab.crosscheck import CrossCheck, crosscheck
from optimlab.optim import SGD
from optimlab.optim._base import Optimizer


def test_sgd_matches_torch_with_every_option():
    result = crosscheck(SGD, torch.optim.SGD, steps=20, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)
    assert isinstance(result, CrossCheck) and result.ok
    assert result.max_diff <= 1e-12 and result.steps == 20
    assert set(result.diffs) == {"parameters", "state"}
    text = repr(result)
    assert text.startswith("optimlab.optim.SGD vs torch.optim.SGD on ") and "20 steps" in text
    assert "largest difference" in text and "agree" in text
    assert "✓" in result._repr_html_()


def test_parameter_groups_and_float32_on_default_device():
    result = crosscheck(SGD, torch.optim.SGD, steps=10, dtype=torch.float32, lr=0.1, momentum=0.5,
                        groups=[{}, {"lr": 0.01, "momentum": 0.0}])
    assert result.ok and result.atol == 1e-5
    assert result.device == ("cuda:0" if torch.cuda.is_available() else "cpu") or result.device.startswith("cuda")


class _WrongSGD(Optimizer):
    """Plain SGD with the learning rate applied twice: crosscheck must catch it."""

    def __init__(self, params, lr=1e-3, momentum=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    def init_state(self, param, group):
        return {}

    def update(self, param, grad, state, group):
        param.add_(grad, alpha=-2 * group["lr"])


def test_a_wrong_optimizer_is_reported():
    result = crosscheck(_WrongSGD, torch.optim.SGD, steps=5, lr=0.1)
    assert not result.ok and result.max_diff > 1e-3
    assert "DIFFER" in repr(result) and "✗" in result._repr_html_()


def test_missing_state_is_reported():
    result = crosscheck(_WrongSGD, torch.optim.SGD, steps=3, lr=0.0, momentum=0.9)
    assert result.max_diff == 0.0 and not result.ok
    assert any("momentum_buffer" in note and "ours" in note for note in result.notes)


def test_schedulers_and_modules():
    sched = crosscheck(torch.optim.lr_scheduler.StepLR, torch.optim.lr_scheduler.StepLR, steps=12, step_size=5)
    assert sched.ok and set(sched.diffs) == {"learning rates"}
    wrong = crosscheck(torch.optim.lr_scheduler.StepLR, torch.optim.lr_scheduler.StepLR, steps=12, step_size=5,
                       gamma=0.5)
    assert wrong.ok  # same hparams on both sides
    module = crosscheck(torch.nn.BatchNorm1d, torch.nn.BatchNorm1d, steps=3, num_features=4, input_shape=(8, 4))
    assert module.ok and "buffers" in module.diffs


class _NoisyBatchNorm(torch.nn.BatchNorm1d):
    def forward(self, x):
        return super().forward(x) * 1.001


def test_a_different_module_is_reported():
    result = crosscheck(_NoisyBatchNorm, torch.nn.BatchNorm1d, steps=2, num_features=4, input_shape=(8, 4))
    assert not result.ok and result.diffs["outputs"] > 1e-4
