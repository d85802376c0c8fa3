"""plots.image_grid (tiles of small images) and plots.sweep_curves (a quantity against a hyperparameter)."""
import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from optimlab import plots


def test_image_grid_tiles_images_with_gaps_and_labels():
    images = torch.arange(5 * 4 * 3, dtype=torch.float32).reshape(5, 1, 4, 3)
    fig = plots.image_grid(images, ncols=3, labels=list("abcde"), title="tiles")
    assert isinstance(fig, Figure) and not matplotlib.pyplot.fignum_exists(fig.number)
    ax = fig.axes[0]
    canvas = ax.images[0].get_array()
    assert canvas.shape == (2 * 4 + 1, 3 * 3 + 2)                      # 2 rows, 3 columns, 1-pixel gaps
    np.testing.assert_array_equal(canvas[:4, :3], images[0, 0].numpy())
    np.testing.assert_array_equal(canvas[5:9, 4:7], images[4, 0].numpy())   # 5th image: row 1, column 1
    assert canvas.mask[4].all() and canvas.mask[5:9, 8:].all()          # gap row, empty last tile
    assert [t.get_text() for t in ax.texts] == list("abcde") and ax.get_title() == "tiles"


def test_image_grid_draws_into_given_axes_and_checks_shapes():
    fig, ax = plots.subplots()
    assert plots.image_grid(np.zeros((3, 8, 8)), ax=ax) is ax
    assert ax.images[0].get_array().shape == (8, 3 * 8 + 2)
    with pytest.raises(ValueError, match="shape"):
        plots.image_grid(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="labels"):
        plots.image_grid(np.zeros((3, 8, 8)), labels=[1, 2])


def test_sweep_curves_joins_finite_values_and_marks_divergence():
    results = {"plain": ([0.1, 1.0, 10.0], [0.5, 0.1, float("nan")]),
               "normalized": ([0.1, 1.0, 10.0], [0.4, 0.05, 0.01])}
    fig = plots.sweep_curves(results, ylabel="final loss")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_ylabel() == "final loss"
    lines = ax.get_lines()
    np.testing.assert_array_equal(lines[0].get_xdata(), [0.1, 1.0])       # the diverged run is not joined
    crosses = [line for line in lines if line.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [10.0]
    assert to_hex(crosses[0].get_color()) == plots.COLORS[0].lower()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["plain", "normalized"]


def test_sweep_curves_linear_axes_and_shape_check():
    fig, ax = plots.subplots()
    out = plots.sweep_curves({"a": ([0, 1, 2], [-1.0, 0.0, 1.0])}, ax=ax, logx=False, xlabel="λ")
    assert out is ax and ax.get_xscale() == "linear" and ax.get_yscale() == "linear" and ax.get_xlabel() == "λ"
    with pytest.raises(ValueError, match="settings"):
        plots.sweep_curves({"a": ([1, 2], [1.0])})


def test_dot_bars_draws_means_and_every_value():
    values = {"plain": [0.1, 0.2, 0.3], "ensemble": [0.15]}
    fig = plots.dot_bars(values, ylabel="error", bottom=0.05)
    ax = fig.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    np.testing.assert_allclose(heights, [0.2, 0.15])
    dots = [line for line in ax.get_lines() if line.get_marker() == "."]
    assert [list(d.get_ydata()) for d in dots] == [[0.1, 0.2, 0.3], [0.15]]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["plain", "ensemble"]
    assert ax.get_ylim()[0] == 0.05 and ax.get_ylabel() == "error"


def test_dot_bars_axes_and_checks():
    fig, ax = plots.subplots()
    assert plots.dot_bars({"a": [1.0, 2.0]}, ax=ax) is ax and ax.get_ylim()[0] == 0
    with pytest.raises(ValueError):
        plots.dot_bars({})
    with pytest.raises(ValueError):
        plots.dot_bars({"a": []})
