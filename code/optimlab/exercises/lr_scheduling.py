"""Checks for the exercises of the chapter *Learning-rate scheduling*.

A schedule here is a function of the scheduler's step count ``k`` (``k = 0`` for the first update), as
in :mod:`optimlab.schedules`.
"""

from __future__ import annotations

import math

from ._core import Case, run_cases


# --- ex-lrs-floor-step: the first step at which the factor schedule sits on its floor ----------------

def floor_step(lr0, factor, floor):
    """The smallest k >= 0 with lr0 · factor**k <= floor, evaluated in floating point as
    :func:`optimlab.schedules.factor_lr` evaluates it, for 0 < factor < 1 and 0 < floor.

    The closed form is ceil(log(floor / lr0) / log(factor)); the two loops then correct it where
    rounding makes it disagree with the schedule: by the logarithms (1, 0.2, 0.008 gives a quotient of
    3.0000000000000004) or by the power itself (0.1**3 = 0.0010000000000000002 > 0.001, so the
    schedule with lr0 = 1, factor = 0.1, floor = 1e-3 reaches its floor at k = 4, not 3).
    """
    if lr0 <= floor:
        return 0
    k = max(0, math.ceil(math.log(floor / lr0) / math.log(factor)))
    while lr0 * factor ** k > floor:
        k += 1
    while k > 0 and lr0 * factor ** (k - 1) <= floor:
        k -= 1
    return k


def _closed_form_only(lr0, factor, floor):
    if lr0 <= floor:
        return 0
    return max(0, math.ceil(math.log(floor / lr0) / math.log(factor)))


def _floor_instead_of_ceil(lr0, factor, floor):
    return max(0, math.floor(math.log(floor / lr0) / math.log(factor)))


def _one_too_many(lr0, factor, floor):
    return floor_step(lr0, factor, floor) + 1


def _ratio_upside_down(lr0, factor, floor):
    return math.ceil(math.log(lr0 / floor) / math.log(factor))


def _log_of_difference(lr0, factor, floor):
    return max(0, math.ceil(math.log(lr0 - floor) / math.log(factor)))


def check_floor_step(learner):
    cases = [
        Case("η0=2, α=0.9, floor=0.01 (the chapter's factor schedule)", (2.0, 0.9, 0.01)),
        Case("η0=0.1, α=0.98, floor=0.001", (0.1, 0.98, 0.001)),
        Case("η0=1, α=0.5, floor=0.3", (1.0, 0.5, 0.3)),
        Case("η0=1, α=0.5, floor=0.25 (reached exactly at k=2)", (1.0, 0.5, 0.25)),
        Case("η0=0.8, α=0.5, floor=0.1 (reached exactly at k=3)", (0.8, 0.5, 0.1)),
        Case("η0=1, α=0.99, floor=0.5", (1.0, 0.99, 0.5)),
        Case("η0=0.3, α=0.1, floor=0.2 (one step is enough)", (0.3, 0.1, 0.2)),
        Case("η0=0.05, α=0.9, floor=0.05 (starts on the floor)", (0.05, 0.9, 0.05)),
        Case("η0=0.3, α=0.1, floor=0.001", (0.3, 0.1, 0.001)),
        Case("η0=1, α=0.1, floor=1e-3 (0.1**3 > 0.001 in floating point: k=4)",
             (1.0, 0.1, 1e-3)),
        Case("η0=1, α=0.2, floor=0.008 (the logarithms give 3.0000000000000004)",
             (1.0, 0.2, 0.008)),
        Case("η0=1, α=0.1, floor=1e-6 (0.1**6 > 1e-6 in floating point: k=7)",
             (1.0, 0.1, 1e-6)),
    ]
    mistakes = {
        "the closed form alone disagrees with the schedule where rounding matters: in floating point "
        "0.1**3 > 0.001, so with η0=1, α=0.1, floor=1e-3 the schedule is on its floor only from k=4; "
        "test η0·α^k <= floor at the computed k and at k − 1 and move by one step if needed":
            _closed_form_only,
        "rounded down: at the step you return the rate is still above the floor (round the logarithm "
        "ratio up)": _floor_instead_of_ceil,
        "one step too many: the floor is reached at the first k with η0·α^k <= floor, not after it":
            _one_too_many,
        "the ratio inside the logarithm is upside down: solve η0·α^k <= floor for k, i.e. "
        "k >= log(floor/η0) / log(α)": _ratio_upside_down,
        "log(η0 − floor) is not log(floor/η0): divide, do not subtract": _log_of_difference,
    }
    return run_cases("ex-lrs-floor-step", learner, floor_step, cases, mistakes=mistakes)


# --- ex-lrs-warmup-cosine: linear warmup, then a cosine to a final value --------------------------

def warmup_cosine(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
    """The rate of scheduler step k (k = 0 for the first update):

    * k < W:       η0 · (s + (1 − s) · k / W)                    (from s·η0 up towards η0)
    * W <= k <= T: η_T + (η0 − η_T) · (1 + cos(π (k − W) / (T − W))) / 2
    * k >= T:      η_T

    with W = warmup_steps, T = total_steps (warmup included, T > W), s = start_factor, η_T = lr_final.
    """
    if k < warmup_steps:
        return lr0 * (start_factor + (1 - start_factor) * k / warmup_steps)
    frac = min(k - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
    return lr_final + (lr0 - lr_final) * (1 + math.cos(math.pi * frac)) / 2


def _warmup_from_zero(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
    if k < warmup_steps:
        return lr0 * k / warmup_steps
    return warmup_cosine(k, lr0, warmup_steps, total_steps, lr_final, start_factor)


def _warmup_one_ahead(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
    if k < warmup_steps:
        return lr0 * (start_factor + (1 - start_factor) * (k + 1) / warmup_steps)
    return warmup_cosine(k, lr0, warmup_steps, total_steps, lr_final, start_factor)


def _no_final_value(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
    return warmup_cosine(k, lr0, warmup_steps, total_steps, 0.0, start_factor)


def _cosine_from_zero(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
    if k < warmup_steps:
        return warmup_cosine(k, lr0, warmup_steps, total_steps, lr_final, start_factor)
    frac = min(k, total_steps) / total_steps
    return lr_final + (lr0 - lr_final) * (1 + math.cos(math.pi * frac)) / 2


def _cosine_after_warmup_lasts_t(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
    if k < warmup_steps:
        return warmup_cosine(k, lr0, warmup_steps, total_steps, lr_final, start_factor)
    frac = min(k - warmup_steps, total_steps) / total_steps
    return lr_final + (lr0 - lr_final) * (1 + math.cos(math.pi * frac)) / 2


def _periodic(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
    if k < warmup_steps:
        return warmup_cosine(k, lr0, warmup_steps, total_steps, lr_final, start_factor)
    frac = (k - warmup_steps) / (total_steps - warmup_steps)
    return lr_final + (lr0 - lr_final) * (1 + math.cos(math.pi * frac)) / 2


def _linear_decay(k, lr0, warmup_steps, total_steps, lr_final=0.0, start_factor=1 / 3):
    if k < warmup_steps:
        return warmup_cosine(k, lr0, warmup_steps, total_steps, lr_final, start_factor)
    frac = min(k - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
    return lr0 + (lr_final - lr0) * frac


def check_warmup_cosine(learner):
    configs = [  # (lr0, W, T, lr_final, s), steps k to try
        ((0.3, 5, 20, 0.01, 1 / 3), (0, 1, 4, 5, 6, 12, 19, 20, 27)),
        ((1.0, 10, 100, 0.0, 0.1), (0, 3, 9, 10, 40, 99, 100, 150)),
        ((0.5, 4, 12, 0.05, 0.25), (0, 2, 3, 4, 8, 11, 12, 30)),
        ((0.1, 0, 10, 0.001, 1 / 3), (0, 5, 10, 14)),  # no warmup at all
        ((2.0, 1, 3, 0.2, 0.5), (0, 1, 2, 3, 4)),      # the shortest warmup and decay
    ]
    cases = []
    for (lr0, W, T, final, s), steps in configs:
        for k in steps:
            name = f"k={k}, lr0={lr0:g}, warmup_steps={W}, total_steps={T}, lr_final={final:g}, start_factor={s:.3g}"
            cases.append(Case(name, (k, lr0, W, T), {"lr_final": final, "start_factor": s}))
    mistakes = {  # the first matching hint is shown: the most specific ones come first
        "the warmup starts at zero: the first update (k = 0) must already use start_factor·η0, "
        "not 0": _warmup_from_zero,
        "off by one in the warmup: with (k + 1)/W the peak comes one step early (at k = W − 1); "
        "k = 0 must give start_factor·η0": _warmup_one_ahead,
        "the final value is missing: the cosine must end at lr_final, not at 0": _no_final_value,
        "the cosine starts at k = 0 instead of at the end of the warmup: use (k − W)/(T − W)":
            _cosine_from_zero,
        "the cosine lasts total_steps steps after the warmup; total_steps counts the warmup too, "
        "so the cosine spans T − W steps": _cosine_after_warmup_lasts_t,
        "after total_steps the rate climbs back up (torch's CosineAnnealingLR does that); here it "
        "must stay at lr_final": _periodic,
        "the decay is a straight line; it should follow half a cosine": _linear_decay,
    }
    return run_cases("ex-lrs-warmup-cosine", learner, warmup_cosine, cases, mistakes=mistakes,
                     atol=1e-9, rtol=1e-7)


CHECKS = {"ex-lrs-floor-step": check_floor_step, "ex-lrs-warmup-cosine": check_warmup_cosine}
