import pytest
import torch

from optimlab import landscape
from optimlab.exercises import FAILED, NOT_IMPLEMENTED, PASSED, check
from optimlab.exercises import convexity as cv

F64 = torch.float64


def test_references_pass():
    assert check("ex-convexity-project-ball", cv.project_ball).status == PASSED
    assert check("ex-convexity-clip-grads", cv.clip_grads).status == PASSED


def test_references_agree_with_the_package_and_with_torch():
    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        x, radius = 3 * torch.randn(5, generator=g, dtype=F64), float(torch.rand(1, generator=g)) * 4
        torch.testing.assert_close(cv.project_ball(x, radius), landscape.project_ball(x, radius))
    grads = [torch.randn(3, 4, generator=g, dtype=F64), torch.randn(4, generator=g, dtype=F64)]
    params = [torch.zeros_like(gr, requires_grad=True) for gr in grads]
    for p, gr in zip(params, grads):
        p.grad = gr.clone()
    torch.nn.utils.clip_grad_norm_(params, 0.5)
    for mine, p in zip(cv.clip_grads(grads, 0.5), params):
        torch.testing.assert_close(mine, p.grad, atol=1e-6, rtol=1e-5)


def test_torch_clip_grad_norm_passes_the_check():
    # the 1e-6 that torch adds to the norm is within the check's tolerance
    def with_torch(grads, max_norm):
        params = [torch.zeros_like(gr, requires_grad=True) for gr in grads]
        for p, gr in zip(params, grads):
            p.grad = gr.clone()
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        return [p.grad for p in params]
    assert check("ex-convexity-clip-grads", with_torch).status == PASSED


def test_project_ball_must_not_modify_its_input():
    def in_place(x, radius):
        norm = x.norm()
        return x if norm <= radius else x.mul_(radius / norm)
    # in-place results are still right (inputs are copied for each call) ...
    assert check("ex-convexity-project-ball", in_place).status == PASSED
    x = torch.tensor([3.0, 4.0], dtype=F64)
    cv.project_ball(x, 1.0)
    assert x.tolist() == [3.0, 4.0]  # ... and the reference itself leaves x alone


@pytest.mark.parametrize("wrong, hint", [
    (cv._always_to_sphere, "inside the ball must stay"),
    (cv._box, "box"),
    (cv._divides_by_norm_squared, "divided twice"),
    (cv._unit_direction, "radius is missing"),
    (cv._times_radius, "without dividing by its norm"),
    (cv._unchanged, "returned unchanged"),
    (cv._squared_norm_test, "squared norm is compared"),
])
def test_project_ball_mistakes_get_their_hint(wrong, hint):
    result = check("ex-convexity-project-ball", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


@pytest.mark.parametrize("wrong, hint", [
    (cv._per_tensor, "each tensor is clipped on its own"),
    (cv._sum_of_norms, "norms of the tensors are added"),
    (cv._always_rescaled, "stretched"),
    (cv._largest_entry, "largest entry"),
    (cv._squared_norm, "squared norm is used"),
])
def test_clip_grads_mistakes_get_their_hint(wrong, hint):
    result = check("ex-convexity-clip-grads", wrong)
    assert result.status == FAILED and any(hint in m for m in result.messages), result.messages


def test_stubs_are_not_implemented():
    def stub(x, radius):
        raise NotImplementedError("ex-convexity-project-ball: your code here")
    assert check("ex-convexity-project-ball", stub).status == NOT_IMPLEMENTED

    def stub_clip(grads, max_norm):
        raise NotImplementedError("ex-convexity-clip-grads: your code here")
    assert check("ex-convexity-clip-grads", stub_clip).status == NOT_IMPLEMENTED
