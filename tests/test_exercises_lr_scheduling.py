import math

import pytest

from optimlab import schedules
from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import lr_scheduling as lrs


def test_references_pass():
    assert check("ex-lrs-floor-step", lrs.floor_step).status == PASSED
    assert check("ex-lrs-warmup-cosine", lrs.warmup_cosine).status == PASSED


@pytest.mark.parametrize("lr0, factor, floor", [
    (2.0, 0.9, 0.01), (0.1, 0.98, 0.001), (1.0, 0.5, 0.25), (0.8, 0.5, 0.1), (1.0, 0.5, 0.3),
    (0.05, 0.9, 0.05), (3.0, 0.999, 1e-3), (1.0, 0.1, 1e-6),
])
def test_floor_step_is_where_factor_lr_reaches_its_floor(lr0, factor, floor):
    k = lrs.floor_step(lr0, factor, floor)
    assert schedules.factor_lr(k, lr0, factor, floor) == floor
    assert k == 0 or schedules.factor_lr(k - 1, lr0, factor, floor) > floor


def test_warmup_cosine_equals_the_package_schedule():
    for lr0, W, T, final, s in [(0.3, 5, 20, 0.01, 1 / 3), (1.0, 10, 100, 0.0, 0.1), (0.1, 0, 10, 0.001, 0.5)]:
        for k in range(T + 15):
            expected = schedules.warmup_cosine_lr(k, lr0, W, T, final, s)
            assert math.isclose(lrs.warmup_cosine(k, lr0, W, T, final, s), expected, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("wrong, hint", [
    (lrs._floor_instead_of_ceil, "rounded down"),
    (lrs._one_too_many, "one step too many"),
    (lrs._ratio_upside_down, "upside down"),
    (lrs._log_of_difference, "divide, do not subtract"),
])
def test_floor_step_mistakes_get_their_hint(wrong, hint):
    result = check("ex-lrs-floor-step", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_floor_step_closed_form_without_correction_fails_on_a_decimal_factor():
    # 0.1**3 = 0.0010000000000000002 > 0.001: the schedule reaches the floor 1e-3 at k = 4, while
    # the quotient of logarithms is exactly 3.0; the check must try such a factor and say why
    assert schedules.factor_lr(3, 1.0, 0.1, 1e-3) > 1e-3
    assert schedules.factor_lr(4, 1.0, 0.1, 1e-3) == 1e-3
    assert lrs.floor_step(1.0, 0.1, 1e-3) == 4
    naive = lambda lr0, factor, floor: max(0, math.ceil(math.log(floor / lr0) / math.log(factor)))  # noqa: E731
    assert naive(1.0, 0.1, 1e-3) == 3
    result = check("ex-lrs-floor-step", naive)
    assert result.status == FAILED
    assert any("rounding matters" in m for m in result.messages), result.messages


def test_floor_step_corrected_closed_form_passes():
    def corrected(lr0, factor, floor):
        if lr0 <= floor:
            return 0
        k = math.ceil(math.log(floor / lr0) / math.log(factor))
        if lr0 * factor ** k > floor:
            k += 1
        elif k > 0 and lr0 * factor ** (k - 1) <= floor:
            k -= 1
        return k
    assert check("ex-lrs-floor-step", corrected).status == PASSED


@pytest.mark.parametrize("lr0, factor, floor", [
    (1.0, 0.1, 1e-3), (1.0, 0.1, 1e-6), (0.3, 0.1, 1e-3), (1.0, 0.2, 0.008), (10.0, 0.1, 0.01),
    (1.0, 0.3, 0.027), (2.0, 0.9, 0.01),
])
def test_floor_step_agrees_with_a_direct_search(lr0, factor, floor):
    k = 0
    while schedules.factor_lr(k, lr0, factor, floor) != floor:
        k += 1
    assert lrs.floor_step(lr0, factor, floor) == k


@pytest.mark.parametrize("wrong, hint", [
    (lrs._warmup_from_zero, "warmup starts at zero"),
    (lrs._warmup_one_ahead, "off by one in the warmup"),
    (lrs._no_final_value, "final value is missing"),
    (lrs._cosine_from_zero, "cosine starts at k = 0"),
    (lrs._cosine_after_warmup_lasts_t, "counts the warmup too"),
    (lrs._periodic, "climbs back up"),
    (lrs._linear_decay, "straight line"),
])
def test_warmup_cosine_mistakes_get_their_hint(wrong, hint):
    result = check("ex-lrs-warmup-cosine", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_warmup_cosine_torch_periodic_form_gets_the_periodic_hint():
    # a learner who copies torch's CosineAnnealingLR formula (no clamp at T) is told why it differs
    def torch_like(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
        if k < warmup_steps:
            return schedules.linear_warmup_lr(k, lr0, warmup_steps, start_factor)
        return schedules.cosine_annealing_lr(k - warmup_steps, lr0, total_steps - warmup_steps, lr_final)
    result = check("ex-lrs-warmup-cosine", torch_like)
    assert result.status == FAILED and any("climbs back up" in m for m in result.messages)


def test_stubs_and_crashes():
    def stub(*args, **kwargs):
        raise NotImplementedError("ex-lrs: your code here")
    assert check("ex-lrs-floor-step", stub).status == NOT_IMPLEMENTED
    assert check("ex-lrs-warmup-cosine", stub).status == NOT_IMPLEMENTED

    def divides_by_warmup(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
        ramp = lr0 * (start_factor + (1 - start_factor) * min(k / warmup_steps, 1.0))  # fails for W = 0
        return lrs.warmup_cosine(k, ramp, warmup_steps, total_steps, lr_final, start_factor) if k >= warmup_steps else ramp
    result = check("ex-lrs-warmup-cosine", divides_by_warmup)
    assert result.status == FAILED and any("ZeroDivisionError" in m for m in result.messages)
