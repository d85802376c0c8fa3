import math

import pytest
import torch

from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import challenges as ch
from optimlab.objectives import tanh
from optimlab.optim import SGD
from optimlab.trajectory import run_optimizer


def test_references_pass():
    assert check("ex-challenges-classify", ch.classify).status == PASSED
    assert check("ex-challenges-tanh-steps", ch.steps_to_cross).status == PASSED


def test_steps_to_cross_matches_a_run_of_sgd():
    for x0, lr in [(2.0, 1.0), (3.0, 0.5)]:
        run = run_optimizer(tanh(), SGD, x0=(x0,), steps=1000, lr=lr)
        assert ch.steps_to_cross(x0, lr) == int((run.xs[:, 0] <= 0).argmax())


def test_steps_to_cross_follows_the_continuous_estimate():
    # (x0/2 + sinh(2 x0)/4) / lr steps, to within a few percent far out on the plateau
    estimate = 4 / 2 + math.sinh(8) / 4
    assert abs(ch.steps_to_cross(4.0, 1.0) - estimate) / estimate < 0.05


@pytest.mark.parametrize("wrong, hint", [
    (ch._diagonal_signs, "diagonal entries"),
    (ch._determinant_test, "det H > 0"),
    (ch._no_tolerance, "never exactly zero"),
    (ch._ignores_tol_argument, "`tol` argument is ignored"),
    (ch._zero_first, "zero eigenvalue was tested first"),
    (ch._no_maximum, "is a maximum"),
])
def test_classify_mistakes_get_their_hint(wrong, hint):
    result = check("ex-challenges-classify", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


@pytest.mark.parametrize("wrong, hint", [
    (ch._tanh_as_gradient, "not tanh(x)"),
    (ch._sech_not_squared, "1/cosh²(x)"),
    (ch._one_minus_tanh, "square of tanh is missing"),
    (ch._counts_the_start, "one step too many"),
    (ch._one_short, "one step too few"),
    (ch._ascent, "uphill"),
])
def test_tanh_steps_mistakes_get_their_hint(wrong, hint):
    result = check("ex-challenges-tanh-steps", wrong)
    assert result.status == FAILED and hint in result.messages[0], result.messages


def test_stub_and_crash_are_reported():
    def stub(hessian, tol=1e-8):
        raise NotImplementedError("ex-challenges-classify: your code here")
    assert check("ex-challenges-classify", stub).status == NOT_IMPLEMENTED

    def eig_of_list(hessian, tol=1e-8):
        return "minimum" if min(hessian.diagonal().tolist()) > 0 and hessian.shape[0] < 3 else hessian.foo
    result = check("ex-challenges-classify", eig_of_list)
    assert result.status == FAILED and any("raised" in m for m in result.messages)


def test_classify_does_not_change_its_input():
    H = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64)
    before = H.clone()
    ch.classify(H)
    assert torch.equal(H, before)
