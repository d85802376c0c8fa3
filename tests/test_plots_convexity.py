"""The drawing helpers for convex sets and chords (plots.region_2d, plots.chords_1d)."""
import math

import matplotlib
import numpy as np
import torch
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from optimlab import plots
from optimlab.objectives import cosh, x_cos


def _disc(center, radius):
    c = torch.tensor(center, dtype=torch.float64)
    return lambda x: ((x - c) ** 2).sum(-1) <= radius ** 2


def test_region_2d_colours_segments_by_whether_they_stay_inside():
    a, b = _disc((0.0, 0.0), 1.0), _disc((1.6, 0.0), 1.0)
    union = lambda x: a(x) | b(x)  # noqa: E731
    inside_segment, leaving_segment = ((-0.5, 0.0), (2.1, 0.0)), ((0.0, 0.9), (1.6, 0.9))
    fig = plots.region_2d(union, ((-1.5, 3.0), (-1.5, 1.5)), segments=[inside_segment, leaving_segment])
    assert isinstance(fig, Figure) and not matplotlib.pyplot.fignum_exists(fig.number)
    ax = fig.axes[0]
    assert ax.collections, "the set is not shaded"
    lines = [line for line in ax.lines if len(line.get_xdata()) == 2]
    assert [to_hex(line.get_color()) for line in lines] == [plots.COLORS[2].lower(), plots.COLORS[1].lower()]
    np.testing.assert_allclose(lines[1].get_xydata(), leaving_segment)
    assert ax.get_xlim() == (-1.5, 3.0) and ax.get_aspect() == 1.0


def test_region_2d_into_given_axes():
    fig, axes = plots.subplots(1, 2)
    assert plots.region_2d(_disc((0, 0), 1.0), ((-2, 2), (-2, 2)), ax=axes[1], title="disc") is axes[1]
    assert axes[1].get_title() == "disc"


def test_chords_1d_marks_chords_below_the_curve():
    f = x_cos(math.pi)
    fig = plots.chords_1d(f, [(-1.5, 0.5), (0.5, 1.5)])
    ax = fig.axes[0]
    chords = [line for line in ax.lines if len(line.get_xdata()) == 2]
    assert [to_hex(c.get_color()) for c in chords] == [plots.COLORS[1].lower(), plots.COLORS[2].lower()]
    np.testing.assert_allclose(chords[0].get_ydata(), [float(f(-1.5)), float(f(0.5))])
    assert len(ax.collections) == 1, "only the violating chord shades its gap"
    fig = plots.chords_1d(cosh(), [(-2.0, 1.0), (-0.5, 2.5)], xlim=(-3, 3))
    ax = fig.axes[0]
    assert not ax.collections and ax.get_xlim() == (-3, 3)
    assert all(to_hex(c.get_color()) == plots.COLORS[2].lower() for c in ax.lines if len(c.get_xdata()) == 2)
