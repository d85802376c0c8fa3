import pytest
import torch

from optimlab import large_batch as LB
from optimlab.distributed import ring_allreduce_bytes
from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import data_parallel as E


def test_references_pass():
    assert check("ex-dp-ring-bytes", ring_allreduce_bytes).status == PASSED
    assert check("ex-dp-unequal-shards", E.full_batch_gradient).status == PASSED
    assert check("ex-dp-warmup", E.warmup_lr).status == PASSED


def test_full_batch_gradient_equals_the_mean_over_the_union():
    gen = torch.Generator().manual_seed(3)
    grads = torch.randn(10, 4, generator=gen, dtype=torch.float64)    # per-example gradients
    sizes = [1, 6, 3]
    shards = grads.split(sizes)
    means = torch.stack([s.mean(0) for s in shards])
    torch.testing.assert_close(E.full_batch_gradient(means, sizes), grads.mean(0))


def test_warmup_by_hand():
    assert E.warmup_lr(0, 0.1, 8, 10) == pytest.approx(0.1)
    assert E.warmup_lr(5, 0.1, 8, 10) == pytest.approx(0.45)
    assert E.warmup_lr(10, 0.1, 8, 10) == pytest.approx(0.8)
    assert E.warmup_lr(99, 0.1, 8, 10) == pytest.approx(0.8)


@pytest.mark.parametrize("exercise, wrong, hint", [
    ("ex-dp-ring-bytes", lambda n, p: (p - 1) / p * n, "reduce-scatter half"),
    ("ex-dp-unequal-shards", E._plain_average, "plain average"),
    ("ex-dp-unequal-shards", E._divided_by_p, "not by the number of processes"),
    ("ex-dp-warmup", E._from_zero, "not from 0"),
    ("ex-dp-warmup", E._one_late, "t = 0"),
])
def test_mistakes_get_their_hint(exercise, wrong, hint):
    result = check(exercise, wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_not_implemented():
    def stub(*args):
        raise NotImplementedError
    assert check("ex-dp-warmup", stub).status == NOT_IMPLEMENTED


def test_linear_scaling_rule():
    assert LB.linear_scaling_lr(0.1, 256, 8192) == pytest.approx(3.2)


def test_study_refuses_unequal_budgets():
    sgd = LB.Method("a", lambda p, lr: torch.optim.SGD(p, lr=lr), 64)
    other = LB.Method("b", lambda p, lr: torch.optim.SGD(p, lr=lr), 64)
    with pytest.raises(ValueError, match="grids"):
        LB.study([sgd, other], {"a": [0.1, 0.2], "b": [0.1]}, tune_seeds=[0], test_seeds=[1], epochs=1)


def test_study_picks_the_lowest_tuning_loss():
    sgd = LB.Method("sgd", lambda p, lr: torch.optim.SGD(p, lr=lr), 256)
    out = LB.study([sgd], {"sgd": [1e-4, 0.3]}, tune_seeds=[0], test_seeds=[1, 2], epochs=1)
    assert out["sgd"]["lr"] == 0.3
    assert out["sgd"]["scores"][0.3] < out["sgd"]["scores"][1e-4]
    assert out["sgd"]["valid_acc"].shape == (2,) and out["sgd"]["steps"] == 6
