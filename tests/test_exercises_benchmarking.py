import math

import numpy as np
import pytest

from optimlab.benchmark import stats
from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import benchmarking as B


def test_references_pass():
    assert check("ex-bench-score", B.profile_score).status == PASSED
    assert check("ex-bench-bootstrap", B.bootstrap_interval).status == PASSED


def test_score_matches_the_package_and_hand_values():
    assert B.profile_score([1.0, 2.0, math.inf]) == pytest.approx((1 + 2 / 3) / 3)
    assert B.profile_score([2.5]) == pytest.approx(0.5)
    for r in ([1.0, 3.0, 5.0], [1.2, math.inf, 1.0, 3.9]):
        assert B.profile_score(r) == pytest.approx(stats.profile_score(dict(enumerate(r))))


def test_bootstrap_matches_a_loop():
    rng = np.random.default_rng(0)
    values, idx = rng.normal(size=7), rng.integers(0, 7, size=(300, 7))
    means = sorted(float(np.mean([values[j] for j in row])) for row in idx)
    lo, hi = B.bootstrap_interval(values, idx)
    assert lo == pytest.approx(np.quantile(means, 0.025)) and hi == pytest.approx(np.quantile(means, 0.975))


@pytest.mark.parametrize("exercise, wrong, hint", [
    ("ex-bench-score", B._score_over_tau_max, "divided by τ_max"),
    ("ex-bench-score", B._score_unclipped, "negative"),
    ("ex-bench-score", B._share_within, "ρ(τ_max)"),
    ("ex-bench-score", B._score_over_solved, "number of all workloads"),
    ("ex-bench-bootstrap", B._normal_interval, "normal interval"),
    ("ex-bench-bootstrap", B._quantiles_at_level, "(1 − level)/2"),
    ("ex-bench-bootstrap", B._medians, "not its median"),
    ("ex-bench-bootstrap", B._values_not_resampled, "not of the values"),
])
def test_mistakes_get_their_hint(exercise, wrong, hint):
    result = check(exercise, wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stub():
    def stub(ratios, tau_max=4.0):
        raise NotImplementedError("ex-bench-score: your code here")
    assert check("ex-bench-score", stub).status == NOT_IMPLEMENTED
