"""Checks for the exercises of the chapter *Convexity*."""

from __future__ import annotations

import torch

from ._core import Case, run_cases

F64 = torch.float64

# --- ex-convexity-project-ball: the nearest point of a ball ------------------------------------------


def project_ball(x, radius):
    """x itself inside the ball ‖z‖ <= radius, x·radius/‖x‖ outside."""
    norm = x.norm()
    if norm <= radius:
        return x.clone()
    return x * (radius / norm)


def _outside_only(scale):
    def wrong(x, radius):
        norm = x.norm()
        return x.clone() if norm <= radius else scale(x, radius, norm)
    return wrong


def _always_to_sphere(x, radius):
    return x * (radius / x.norm())


def _box(x, radius):
    return x.clamp(-radius, radius)


def _squared_norm_test(x, radius):
    return x.clone() if x.norm() ** 2 <= radius else x * (radius / x.norm())


_divides_by_norm_squared = _outside_only(lambda x, r, norm: x * (r / norm ** 2))
_unit_direction = _outside_only(lambda x, r, norm: x / norm)
_times_radius = _outside_only(lambda x, r, norm: x * r)
_unchanged = _outside_only(lambda x, r, norm: x.clone())


def check_project_ball(learner):
    g = torch.Generator().manual_seed(0)
    t = lambda *v: torch.tensor(v, dtype=F64)  # noqa: E731
    cases = [
        Case("(3, 4) onto the unit ball", (t(3.0, 4.0), 1.0)),
        Case("(0.3, 0.4), inside the unit ball", (t(0.3, 0.4), 1.0)),
        Case("(3, 4) onto the ball of radius 2.5", (t(3.0, 4.0), 2.5)),
        Case("(0.3, 0.4) with radius 0.3 (outside, norm < 1)", (t(0.3, 0.4), 0.3)),
        Case("(1.2, -0.5) with radius 4 (inside, radius > 1)", (t(1.2, -0.5), 4.0)),
        Case("(0, 0)", (t(0.0, 0.0), 1.0)),
        Case("(0.6, 0.8), on the sphere", (t(0.6, 0.8), 1.0)),
        Case("random point in 10-D, radius 1.5", (3 * torch.randn(10, generator=g, dtype=F64), 1.5)),
        Case("one coordinate, -7 onto radius 2", (t(-7.0), 2.0)),
    ]
    mistakes = {
        "points inside the ball must stay where they are: scale only when ‖x‖ > radius": _always_to_sphere,
        "that is the projection onto the box [-r, r]^d (clamping each coordinate), not onto the ball":
            _box,
        "the norm is divided twice: the projection is x · r / ‖x‖, not x · r / ‖x‖²": _divides_by_norm_squared,
        "the radius is missing: x / ‖x‖ lands on the unit sphere; scale by r / ‖x‖": _unit_direction,
        "x is multiplied by r without dividing by its norm: scale by r / ‖x‖": _times_radius,
        "the squared norm is compared with the radius: compare ‖x‖ with r (or ‖x‖² with r²)":
            _squared_norm_test,
        "points outside the ball are returned unchanged: scale them back by r / ‖x‖": _unchanged,
    }
    return run_cases("ex-convexity-project-ball", learner, project_ball, cases, mistakes=mistakes)


# --- ex-convexity-clip-grads: gradient clipping as a projection -----------------------------------------

def _global_norm(grads):
    return torch.sqrt(sum((g ** 2).sum() for g in grads))


def clip_grads(grads, max_norm):
    """Every gradient times min(1, max_norm / ‖all gradients together‖)."""
    total = float(_global_norm(grads))
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    return [g * scale for g in grads]


def _per_tensor(grads, max_norm):
    return [project_ball(g.reshape(-1), max_norm).reshape(g.shape) for g in grads]


def _sum_of_norms(grads, max_norm):
    total = float(sum(g.norm() for g in grads))
    return [g * min(1.0, max_norm / total) for g in grads]


def _always_rescaled(grads, max_norm):
    total = float(_global_norm(grads))
    return [g * (max_norm / total) for g in grads]


def _largest_entry(grads, max_norm):
    total = max(float(g.abs().max()) for g in grads)
    return [g * min(1.0, max_norm / total) for g in grads]


def _squared_norm(grads, max_norm):
    total = float(sum((g ** 2).sum() for g in grads))
    return [g * min(1.0, max_norm / total) for g in grads]


def check_clip_grads(learner):
    g = torch.Generator().manual_seed(1)
    r = lambda *shape, s=1.0: s * torch.randn(*shape, generator=g, dtype=F64)  # noqa: E731
    t = lambda *v: torch.tensor(v, dtype=F64)  # noqa: E731
    cases = [
        Case("[(3, 4)] clipped to 1", ([t(3.0, 4.0)], 1.0)),
        Case("[(3,), (4,)]: two tensors, global norm 5, clipped to 1", ([t(3.0), t(4.0)], 1.0)),
        Case("a small network's gradients (4×3, 4, 1×4, 1), clipped to 0.5",
             ([r(4, 3), r(4), r(1, 4), r(1)], 0.5)),
        Case("gradients of norm < max_norm stay", ([r(3, 2, s=0.1), r(2, s=0.1)], 5.0)),
        Case("one large tensor among small ones", ([r(5, s=0.01), r(2, 2, s=10.0), r(3, s=0.01)], 1.0)),
        Case("all-zero gradients", ([torch.zeros(2, 2, dtype=F64), torch.zeros(3, dtype=F64)], 1.0)),
        Case("a 0-d tensor among others, clipped to 2", ([t(1.0, -2.0, 3.0), torch.tensor(4.0, dtype=F64)], 2.0)),
    ]
    mistakes = {
        "each tensor is clipped on its own: compute one norm over all tensors together and scale them all "
        "by the same factor": _per_tensor,
        "the norms of the tensors are added: the global norm is sqrt(Σ ‖g_k‖²), the norm of the "
        "concatenation": _sum_of_norms,
        "gradients shorter than max_norm are stretched: scale only when the norm exceeds max_norm":
            _always_rescaled,
        "the largest entry is used as the norm: clip_grad_norm_ uses the Euclidean (2-)norm": _largest_entry,
        "the squared norm is used: divide max_norm by sqrt(Σ g²), not by Σ g²": _squared_norm,
    }
    return run_cases("ex-convexity-clip-grads", learner, clip_grads, cases, mistakes=mistakes)


CHECKS = {"ex-convexity-project-ball": check_project_ball, "ex-convexity-clip-grads": check_clip_grads}
