"""Every plotting helper draws at the size the page shows: at most BOOK_WIDTH inches at DPI, text no
smaller than FONT_SIZE, and a method keeps its colour (and line style) when asked to."""

import base64
import io
import re

import matplotlib
import numpy as np
import pytest
from PIL import Image

from optimlab import plots
from optimlab.objectives import quadratic_2d, rosenbrock, square
from optimlab.optim import SGD
from optimlab.trajectory import run_optimizer

PAGE_PX = 688          # the width of the book's output column at 1280 × 900


def saved_width(fig) -> int:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=plots.DPI, bbox_inches="tight")
    return Image.open(io.BytesIO(buffer.getvalue())).size[0]


def text_sizes(fig) -> list[float]:
    return [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


@pytest.fixture(scope="module")
def runs():
    f = rosenbrock()
    return f, {f"lr = {lr}": run_optimizer(f, SGD, x0=(-1.2, 1.0), steps=30, lr=lr)
               for lr in (1e-3, 2e-3)}


def test_subplots_never_wider_than_the_page():
    fig, _ = plots.subplots(1, 2, figsize=(10, 3.6))
    assert fig.get_size_inches()[0] == pytest.approx(plots.BOOK_WIDTH)
    assert saved_width(fig) <= PAGE_PX
    fig, _ = plots.subplots(1, 3)
    assert fig.get_size_inches()[0] == pytest.approx(plots.BOOK_WIDTH)


def test_two_panel_figure_with_legends_fits_the_page(runs):
    f, trajs = runs
    fig, axes = plots.subplots(1, 2)
    plots.trace_2d(f, trajs, ax=axes[0])
    plots.loss_curves(trajs, ax=axes[1], minimum=0.0)
    assert saved_width(fig) <= PAGE_PX
    assert min(text_sizes(fig)) >= plots.FONT_SIZE


def test_image_grid_at_most_the_page_wide():
    images = np.random.default_rng(0).random((40, 8, 8))
    fig = plots.image_grid(images, ncols=20, labels=list(range(40)))
    assert fig.get_size_inches()[0] <= plots.BOOK_WIDTH + 1e-9
    assert saved_width(fig) <= PAGE_PX
    assert min(text_sizes(fig)) >= plots.FONT_SIZE


def test_surface_at_most_the_page_wide():
    f = quadratic_2d(1.0, 2.0)
    fig = plots.surface_3d(f, run_optimizer(f, SGD, steps=5, lr=0.1))
    assert fig.get_size_inches()[0] <= plots.BOOK_WIDTH
    assert saved_width(fig) <= PAGE_PX


def test_animation_frames_drawn_at_the_book_dpi():
    f = quadratic_2d(1.0, 2.0)
    html = plots.animate_2d(f, run_optimizer(f, SGD, steps=4, lr=0.1), frames=3).data
    frame = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html).group(1)
    width, _ = Image.open(io.BytesIO(base64.b64decode(frame))).size
    assert 0.5 * PAGE_PX <= width <= PAGE_PX      # shown at its drawn size, not shrunk
    one_d = square()
    html = plots.animate_1d(one_d, run_optimizer(one_d, SGD, x0=(2.0,), steps=3, lr=0.3), frames=2).data
    frame = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html).group(1)
    assert Image.open(io.BytesIO(base64.b64decode(frame))).size[0] <= PAGE_PX


def test_colors_and_styles_follow_the_label(runs):
    f, trajs = runs
    colors = {"lr = 0.001": "#123456", "lr = 0.002": "#abcdef"}
    reversed_trajs = dict(reversed(list(trajs.items())))
    ax = plots.trace_2d(f, reversed_trajs, ax=plots.subplots()[1], colors=colors)
    drawn = {line.get_label(): line.get_color() for line in ax.lines if line.get_label() in colors}
    assert drawn == colors
    ax = plots.loss_curves(trajs, ax=plots.subplots()[1], colors=colors, styles={"lr = 0.002": "--"})
    lines = {line.get_label(): line for line in ax.lines}
    assert lines["lr = 0.001"].get_color() == "#123456" and lines["lr = 0.002"].get_linestyle() == "--"
    ax = plots.trace_1d(square(), {"a": run_optimizer(square(), SGD, x0=(2.0,), steps=3, lr=0.1)},
                        ax=plots.subplots()[1], colors={"a": "#00ff00"})
    assert [line.get_color() for line in ax.lines if line.get_label() == "a"] == ["#00ff00"]
