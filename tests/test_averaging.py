import numpy as np
import pytest
import torch

from optimlab import averaging as A
from optimlab.exercises import FAILED, PASSED, check
from optimlab.exercises import averaging as E
from optimlab.optim import AdamWScheduleFree, SGDScheduleFree
from optimlab.optim.schedule_free import averaging_weight, warmed_up_lr


def test_noisy_quadratic_iterate_reaches_the_predicted_floor_and_the_average_goes_below():
    q = A.noisy_quadratic_asgd(curvatures=(1.0, 4.0), lr=0.1, noise=1.0, steps=800, seeds=40)
    floor = 0.1 / 2 * np.sum(1 / (2 - 0.1 * np.array([1.0, 4.0])))
    assert q["last"][-400:].mean() == pytest.approx(floor, rel=0.15)
    assert q["average"][-1].mean() < floor / 5


def test_noisy_quadratic_without_noise_average_is_the_mean_of_the_iterates():
    q = A.noisy_quadratic_asgd(curvatures=(1.0,), lr=0.5, noise=0.0, steps=5, seeds=1, start=2.0)
    xs = 2.0 * 0.5 ** np.arange(1, 6)          # x_t = (1 − ηa)^t x_0
    assert q["last"][:, 0] == pytest.approx(0.5 * xs**2)
    assert q["average"][-1, 0] == pytest.approx(0.5 * xs[1:].mean() ** 2)   # with t0 = 0, from x_2 on


def test_compare_to_reference_is_exact_for_schedule_free():
    import schedulefree
    assert A.compare_to_reference(SGDScheduleFree, schedulefree.SGDScheduleFree, lr=0.1, steps=10) < 1e-12
    assert A.compare_to_reference(AdamWScheduleFree, schedulefree.AdamWScheduleFree, lr=0.01, steps=10,
                                  warmup_steps=3) < 1e-12


def test_train_anytime_evaluates_schedule_free_at_x():
    losses = A.train_anytime(lambda p: AdamWScheduleFree(p, lr=0.01), 0, epochs=2)
    assert losses.shape == (2,) and np.all(np.isfinite(losses)) and losses[1] < losses[0]


def test_exercise_references_pass_and_mistakes_get_hints():
    assert check("ex-avg-running-mean", E.running_mean).status == PASSED
    assert check("ex-avg-x-from-y", E.x_from_y).status == PASSED
    assert check("ex-avg-sf-weights", E.sf_weights).status == PASSED
    wrong = check("ex-avg-x-from-y", lambda y, z, b: (y - b * z) / (1 - b))
    assert wrong.status == FAILED and any("swapped" in m for m in wrong.messages)
    wrong = check("ex-avg-sf-weights", E._current_lr)
    assert wrong.status == FAILED and any("largest rate" in m for m in wrong.messages)


def test_sf_weights_match_the_optimizer():
    lrs = [warmed_up_lr(0.2, t, 5) for t in range(1, 12)]
    state = {"lr_max": -1.0, "weight_sum": 0.0}
    from_optimizer = [averaging_weight(state, lr, 0.5, 2.0, t) for t, lr in enumerate(lrs, start=1)]
    torch.testing.assert_close(E.sf_weights(lrs, 0.5, 2.0), torch.tensor(from_optimizer, dtype=torch.float64))


def test_running_mean_is_the_mean():
    xs = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    avg = torch.zeros(3, dtype=torch.float64)
    for t, x in enumerate(xs, start=1):
        avg = E.running_mean(avg, x, t)
    torch.testing.assert_close(avg, xs.mean(0))
