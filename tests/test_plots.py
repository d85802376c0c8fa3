import base64
import re

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from optimlab import plots
from optimlab.objectives import quadratic_2d, rosenbrock, square, x_cos
from optimlab.optim import SGD
from optimlab.trajectory import run_optimizer


def test_backend_is_not_forced():
    # the helpers must never switch the backend themselves (a forced Agg drops notebook figures)
    import optimlab.plots  # noqa: F401
    assert "matplotlib.pyplot" in __import__("sys").modules
    assert matplotlib.get_backend().lower() != "" and plots.STYLE["axes.spines.top"] is False


def test_trace_1d_draws_curve_and_every_path():
    f = square()
    trajs = {f"lr={lr}": run_optimizer(f, SGD, steps=6, lr=lr) for lr in (0.05, 0.4, 1.1)}
    fig = plots.trace_1d(f, trajs)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    paths = [line for line in ax.lines if line.get_label().startswith("lr=")]
    assert [p.get_label() for p in paths] == list(trajs)
    for line, traj in zip(paths, trajs.values()):
        np.testing.assert_allclose(line.get_xdata(), traj.xs[:, 0])
        np.testing.assert_allclose(line.get_ydata(), traj.losses)
    # the diverging run leaves the bounds: the view widens to show it
    lo, hi = ax.get_xlim()
    assert lo < f.bounds[0][0] and hi > f.bounds[0][1]
    assert ax.get_legend() is not None
    assert not matplotlib.pyplot.fignum_exists(fig.number)  # closed: displays once, as the cell's value


def test_trace_into_given_axes_returns_axes():
    fig, axes = plots.subplots(1, 2)
    f = x_cos()
    traj = run_optimizer(f, SGD, steps=5, lr=0.3)
    assert plots.trace_1d(f, traj, ax=axes[0]) is axes[0]
    q = quadratic_2d()
    assert plots.trace_2d(q, run_optimizer(q, SGD, steps=5, lr=0.1), ax=axes[1]) is axes[1]
    assert len(fig.axes) == 2


def test_trace_2d_has_contours_path_and_minimum():
    q = quadratic_2d(1.0, 2.0)
    a, b = run_optimizer(q, SGD, steps=10, lr=0.1), run_optimizer(q, SGD, steps=10, lr=0.2)
    fig = plots.trace_2d(q, [a, b], labels=["slow", "fast"])
    ax = fig.axes[0]
    assert ax.collections, "contour lines are missing"
    labelled = {line.get_label(): line for line in ax.lines}
    np.testing.assert_allclose(labelled["slow"].get_xydata(), a.xs)
    np.testing.assert_allclose(labelled["fast"].get_xydata(), b.xs)
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    assert len(stars) == 1 and tuple(stars[0].get_xydata()[0]) == (0.0, 0.0)
    assert ax.get_xlim() == q.bounds[0]
    with pytest.raises(ValueError):
        plots.trace_2d(q, [a, b], labels=["only one"])


def test_loss_curves_log_scale_and_gap():
    q = quadratic_2d()
    traj = run_optimizer(q, SGD, steps=10, lr=0.1)
    fig = plots.loss_curves({"gd": traj, "raw": traj.losses})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    fig = plots.loss_curves({"negative": [-1.0, -2.0, -3.0]})
    assert fig.axes[0].get_yscale() == "linear"
    fig = plots.loss_curves(traj, minimum=1.0)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), traj.losses - 1.0)


def test_surface_3d():
    r = rosenbrock()
    fig = plots.surface_3d(r, run_optimizer(r, SGD, steps=5, lr=1e-3))
    ax = fig.axes[0]
    assert ax.name == "3d" and ax.collections and ax.lines


def _frames(html: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'data:image/png;base64,([^"]+)"', html)]


def test_animation_is_offline_html_with_few_frames():
    q = quadratic_2d()
    traj = run_optimizer(q, SGD, steps=60, lr=0.05)
    html = plots.animate_2d(q, traj, frames=12).data
    frames = _frames(html)
    assert len(frames) == 12 and all(f.startswith(b"\x89PNG") for f in frames)
    assert len(set(frames)) == 12  # every frame differs (the path grows)
    assert "font-awesome" not in html.lower() and "://" not in html  # nothing fetched from the network
    assert '<i class="fa' not in html
    assert html.count("<svg") == 9  # every player button has its inline icon
    assert "<script" in html and "anim" in html


def test_animation_1d_caps_frames_at_steps():
    f = square()
    html = plots.animate_1d(f, run_optimizer(f, SGD, steps=5, lr=0.3)).data
    assert len(_frames(html)) == 6
    with pytest.raises(ValueError):
        plots.animate_2d(f, run_optimizer(f, SGD, steps=2, lr=0.3))


def test_loss_curves_empty_ylabel_leaves_the_axis_unlabelled():
    ax = plots.loss_curves({"a": [3.0, 2.0, 1.0]}, ax=plots.subplots()[1], ylabel="")
    assert ax.get_ylabel() == ""
    ax = plots.loss_curves({"a": [3.0, 2.0, 1.0]}, ax=plots.subplots()[1])
    assert ax.get_ylabel() == "$f(x_t)$"
