import numpy as np
import torch

from optimlab.exercises import ERROR, FAILED, NOT_IMPLEMENTED, PASSED, Case, check, run_cases, all_checks


def reference(x, lr):
    return x - lr * 2 * x


CASES = [Case("scalar", (1.5, 0.1)), Case("vector", (np.array([1.0, -2.0]), 0.25)),
         Case("tensor", (torch.tensor([0.5, 3.0], dtype=torch.float64), 0.4), {})]
MISTAKES = {"the step goes uphill": lambda x, lr: x + lr * 2 * x,
            "the factor 2 of the derivative is missing": lambda x, lr: x - lr * x}


def test_reference_passes():
    result = run_cases("ex-test", reference, reference, CASES, mistakes=MISTAKES)
    assert result.status == PASSED and result.ok and result.score == 1.0 and result.passed == 3
    assert "passed" in repr(result) and "#1a7f37" in result._repr_html_()


def test_wrong_answer_names_the_mistake():
    result = run_cases("ex-test", MISTAKES["the step goes uphill"], reference, CASES, mistakes=MISTAKES)
    assert result.status == FAILED and result.passed == 0 and not result.ok
    assert all("likely mistake: the step goes uphill" in m for m in result.messages)
    result = run_cases("ex-test", lambda x, lr: x - lr * x, reference, CASES, mistakes=MISTAKES)
    assert "the factor 2 of the derivative is missing" in result.messages[0]
    assert "expected" in result.messages[0] and "got" in result.messages[0]


def test_unknown_mistake_gets_no_hint_and_partial_score():
    def sometimes(x, lr):
        return reference(x, lr) if isinstance(x, float) else reference(x, lr) + 1
    result = run_cases("ex-test", sometimes, reference, CASES, mistakes=MISTAKES)
    assert result.status == FAILED and result.passed == 1 and abs(result.score - 1 / 3) < 1e-12
    assert not any("likely mistake" in m for m in result.messages)


def test_not_implemented_and_exceptions_are_reported_not_raised():
    def stub(x, lr):
        raise NotImplementedError("ex-test: write the update")
    result = run_cases("ex-test", stub, reference, CASES)
    assert result.status == NOT_IMPLEMENTED and result.score == 0 and "not implemented" in repr(result)

    def broken(x, lr):
        return x.missing_attribute
    result = run_cases("ex-test", broken, reference, CASES)
    assert result.status == FAILED and result.passed == 0
    assert "AttributeError" in result.messages[0]
    assert run_cases("ex-test", 42, reference, CASES).status == ERROR


def test_learner_cannot_change_the_inputs_seen_by_the_reference():
    def mutating(x, lr):
        if isinstance(x, torch.Tensor):
            x.mul_(0)
        return reference(x, lr)
    result = run_cases("ex-test", mutating, reference, CASES)
    assert result.passed == 2  # the tensor case fails, but the reference saw the original tensor
    assert "expected [0.1, 0.6]" in result.messages[0].replace("  ", " ")


def test_shape_mismatch_fails():
    result = run_cases("ex-test", lambda x, lr: np.atleast_1d(reference(x, lr))[None], reference, CASES)
    assert result.passed == 0


def test_registry_finds_chapter_checks():
    assert {"ex-gd-best-lr", "ex-gd-safe-newton"} <= set(all_checks())
    try:
        check("ex-no-such-exercise", reference)
    except KeyError as error:
        assert "ex-gd-best-lr" in str(error)
    else:
        raise AssertionError("an unknown id must raise KeyError")
