import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import fast_optimizers as ex
from optimlab.fast_tools import state_numbers, step_bytes
from optimlab.optim import SGD, Adam


def test_references_pass():
    assert check("ex-fast-bytes", ex.bytes_per_step).status == PASSED
    assert check("ex-fast-bound", ex.step_time_bound).status == PASSED


def test_bytes_by_hand_and_from_the_optimizers_state():
    assert ex.bytes_per_step(1, 2) == 28                  # Adam: θ, g, m, v in; θ, m, v out
    assert ex.bytes_per_step(1, 1) == 20                  # momentum
    assert ex.bytes_per_step(1, 0) == 12                  # plain SGD
    assert ex.bytes_per_step(1, 2, param_bytes=2, state_bytes=4) == 22
    for cls, kwargs in [(SGD, {"lr": 0.1}), (SGD, {"lr": 0.1, "momentum": 0.9}), (Adam, {})]:
        s = state_numbers(cls, **kwargs)
        assert ex.bytes_per_step(10, s) == step_bytes(10, s)


def test_bound_by_hand():
    # 10⁶ Adam parameters: 28 MB at 28 GB/s take 1 ms; 13 MFLOP at 13 GFLOP/s also 1 ms
    assert ex.step_time_bound(10 ** 6, 13, 28, 13e9, 28e9) == pytest.approx(1e-3)
    assert ex.step_time_bound(10 ** 6, 13, 28, 130e9, 28e9) == pytest.approx(1e-3)      # memory-bound
    assert ex.step_time_bound(10 ** 6, 13, 28, 1.3e9, 28e9) == pytest.approx(1e-2)      # compute-bound


@pytest.mark.parametrize("exercise, wrong, hint", [
    ("ex-fast-bytes", ex._state_read_only, "count it twice"),
    ("ex-fast-bytes", ex._gradient_forgotten, "gradient is read too"),
    ("ex-fast-bytes", ex._gradient_written, "never written"),
    ("ex-fast-bytes", ex._one_dtype, "its own dtype"),
    ("ex-fast-bound", ex._sum, "do not add up"),
    ("ex-fast-bound", ex._min, "take the larger"),
    ("ex-fast-bound", ex._memory_only, "memory time alone"),
    ("ex-fast-bound", ex._compute_only, "arithmetic time alone"),
])
def test_mistakes_get_their_hint(exercise, wrong, hint):
    result = check(exercise, wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stub_is_reported_as_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError("ex-fast: ...")
    for exercise in ("ex-fast-bytes", "ex-fast-bound"):
        assert check(exercise, stub).status == NOT_IMPLEMENTED
