"""plots.history_curves: training histories against time, epochs or updates."""

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from optimlab import plots
from optimlab.train import History


def _history(times, losses, updates_per_epoch=4):
    h = History()
    for k, (t, v) in enumerate(zip(times, losses)):
        h.evals.append({"update": 2 * k, "epoch": 0, "epochs": 2 * k / updates_per_epoch, "time": t, "loss": v})
    return h


def test_curves_against_time_epochs_and_updates():
    runs = {"a": _history([0.0, 0.1, 0.2], [3.0, 2.0, 1.5]), "b": _history([0.0, 0.5, 1.0], [3.0, 1.0, 0.5])}
    fig = plots.history_curves(runs)
    assert isinstance(fig, Figure) and not matplotlib.pyplot.fignum_exists(fig.number)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    np.testing.assert_allclose(lines["b"].get_xdata(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(lines["b"].get_ydata(), [3.0, 1.0, 0.5])
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "training time (s)" and ax.get_legend() is not None

    fig = plots.history_curves(runs, x="epochs", minimum=0.5, logy=False)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [2.5, 0.5, 0.0])
    assert ax.get_yscale() == "linear" and ax.get_xlabel() == "epochs" and "minimum" in ax.get_ylabel()


def test_log_time_axis_drops_the_start_and_draws_into_given_axes():
    fig, axes = plots.subplots(1, 2)
    out = plots.history_curves({"a": _history([0.0, 0.1, 0.2], [3.0, 2.0, 1.5])}, ax=axes[1], logx=True,
                               title="runs")
    assert out is axes[1]
    assert axes[1].get_xscale() == "log" and axes[1].get_title() == "runs"
    np.testing.assert_allclose(axes[1].lines[0].get_xdata(), [0.1, 0.2])
    assert axes[1].get_legend() is None  # a single curve needs no legend


def test_unknown_key_raises():
    with pytest.raises(KeyError):
        plots.history_curves({"a": _history([0.0], [1.0])}, key="accuracy")


def test_spread_curves_mean_and_band():
    values = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])  # 2 points, 3 runs
    fig = plots.spread_curves({"runs": values}, x=[1, 10], band=(0.0, 1.0), logx=True, ylabel="gap")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [1, 10])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 4.0])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(1.0) and band[:, 1].max() == pytest.approx(6.0)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_ylabel() == "gap"


def test_spread_curves_without_band_and_checks_lengths():
    import torch

    fig = plots.spread_curves({"a": torch.tensor([[-1.0, 1.0], [0.0, 2.0]]), "b": np.ones(2)}, band=None)
    ax = fig.axes[0]
    assert not ax.collections and len(ax.lines) == 2 and ax.get_yscale() == "linear"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.0, 1.0])
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="x values"):
        plots.spread_curves({"a": np.ones((3, 2))}, x=[0, 1])
