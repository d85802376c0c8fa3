"""Multi-seed optimizer comparisons: fair (same start, same minibatches), reproducible, summarised honestly."""

import math

import numpy as np
import pytest
import torch

from optimlab.compare import Comparison, Spread, Sweep, Table, Task, build_optimizer, compare, run_seeds, sweep_lr
from optimlab.data import Split, load_digits
from optimlab.optim import SGD, Adam
from optimlab.train import mlp


def _regression_task(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(n, generator=g)
    data = Split(x[:32], y[:32], x[32:], y[32:])

    def make_model(seed):
        return mlp(3, [], 1, seed=seed)

    return Task(data, make_model, lambda out, t: ((out.squeeze(-1) - t) ** 2).mean(), batch_size=8)


def test_build_optimizer_from_tuple_and_callable():
    p = [torch.zeros(2, requires_grad=True)]
    assert isinstance(build_optimizer((SGD, {"lr": 0.1}), p), SGD)
    assert isinstance(build_optimizer(lambda params: Adam(params, lr=0.1), p), Adam)
    with pytest.raises(TypeError):
        build_optimizer("SGD", p)


def test_runs_are_reproducible_and_seeds_differ():
    task = _regression_task()
    a = run_seeds(task, (SGD, {"lr": 0.05}), seeds=(0, 1), epochs=2)
    b = run_seeds(task, (SGD, {"lr": 0.05}), seeds=(0, 1), epochs=2)
    assert [h.losses for h in a] == [h.losses for h in b]
    assert a[0].losses != a[1].losses
    assert [e["epoch"] for e in a[0].evals] == [0, 1, 2]
    assert set(a[0].evals[-1]) >= {"train_loss", "valid_loss"} and "valid_acc" not in a[0].evals[-1]


def test_same_seed_means_same_start_for_every_optimizer():
    task = _regression_task()
    results = compare(task, {"SGD": (SGD, {"lr": 0.05}), "Adam": (Adam, {"lr": 0.05})}, seeds=(3,), epochs=1)
    first = {name: runs[0].evals[0]["train_loss"] for name, runs in results.histories.items()}
    assert first["SGD"] == first["Adam"]
    assert results.names == ["SGD", "Adam"] and results.seeds == (3,)


def test_spread_statistics():
    s = Spread((1.0, 2.0, 4.0))
    assert s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx(float(np.std([1, 2, 4], ddof=1)))
    assert (s.min, s.max) == (1.0, 4.0)
    assert s.format(".2f") == "2.33 ± 1.53"
    assert Spread((5.0,)).std == 0.0
    assert math.isnan(Spread((1.0, float("nan"))).mean)


def test_final_table_and_curves():
    task = _regression_task()
    results = compare(task, {"SGD": (SGD, {"lr": 0.05}), "Adam": (Adam, {"lr": 0.01})}, seeds=(0, 1, 2), epochs=3)
    final = results.final("train_loss")
    for name, runs in results.histories.items():
        assert final[name].values == tuple(h.evals[-1]["train_loss"] for h in runs)
    xs, values = results.curves("train_loss")["SGD"]
    assert list(xs) == [0, 1, 2, 3] and values.shape == (3, 4)
    table = results.table(("train_loss", "valid_loss"))
    assert isinstance(table, Table)
    assert table.header == ["optimizer", "lr", "training loss", "validation loss"]
    assert table.rows[0][:2] == ["SGD", "0.05"] and table.rows[1][:2] == ["Adam", "0.01"]
    assert table.rows[0][2] == final["SGD"].format(".3f")
    assert "<table" in table._repr_html_() and "± " in repr(table)


def test_plot_draws_one_line_and_band_per_optimizer():
    task = _regression_task()
    results = compare(task, {"SGD": (SGD, {"lr": 0.05}), "Adam": (Adam, {"lr": 0.01})}, seeds=(0, 1), epochs=2)
    fig = results.plot("train_loss")
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    assert ax.get_yscale() == "log"
    xs, values = results.curves("train_loss")["Adam"]
    assert np.allclose(ax.lines[1].get_ydata(), values.mean(0))


def test_classification_task_reports_accuracy():
    data = load_digits()
    small = Split(data.x_train[:128], data.y_train[:128], data.x_valid[:64], data.y_valid[:64])
    task = Task(small, lambda seed: mlp(64, [8], 10, seed=seed), torch.nn.CrossEntropyLoss(), batch_size=32)
    runs = run_seeds(task, (Adam, {"lr": 0.01}), seeds=(0,), epochs=2)
    last = runs[0].evals[-1]
    assert 0.0 <= last["valid_acc"] <= 1.0
    assert last["train_loss"] < runs[0].evals[0]["train_loss"]


def test_sweep_picks_best_and_never_a_diverged_run():
    task = _regression_task()
    sweep = sweep_lr(task, (SGD, {}), [1e-4, 0.05, 1e4], seeds=(7,), epochs=2)
    assert isinstance(sweep, Sweep) and list(sweep.scores) == [1e-4, 0.05, 1e4]
    assert math.isnan(sweep.scores[1e4])        # diverged
    assert sweep.best == 0.05
    assert "best lr 0.05" in repr(sweep)
    assert Sweep({0.1: 0.5, 0.2: 0.9}, "valid_acc", "max").best == 0.2
    with pytest.raises(ValueError):
        Sweep({0.1: float("nan")}, "train_loss", "min").best
    with pytest.raises(ValueError):
        sweep_lr(task, (SGD, {}), [0.1], mode="lowest")
    with pytest.raises(TypeError):
        sweep_lr(task, lambda p: SGD(p, lr=0.1), [0.1])


def test_comparison_keeps_hyperparameters_of_callables_blank():
    task = _regression_task()
    results = compare(task, {"custom": lambda p: SGD(p, lr=0.01)}, seeds=(0,), epochs=1)
    assert isinstance(results, Comparison)
    assert results.table(("train_loss",)).rows[0][:2] == ["custom", ""]


def test_updates_for_follows_the_gradient_stream():
    from optimlab.compare import updates_for

    grads = torch.randn(6, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    plain = updates_for(SGD, grads, lr=0.1)
    assert plain.shape == grads.shape and torch.allclose(plain, -0.1 * grads)
    ours, theirs = updates_for(Adam, grads, lr=0.01), updates_for(torch.optim.Adam, grads, lr=0.01, foreach=False)
    assert torch.allclose(ours, theirs, atol=1e-15)
    assert torch.allclose(ours[0], -0.01 * grads[0].sign(), atol=1e-8)   # Adam's first step is lr·sign(g)


def test_sweep_table_lists_scores_and_choice():
    from optimlab.compare import sweep_table

    sweeps = {"A": Sweep({0.1: 0.5, 0.3: 0.25}, "train_loss", "min"), "B": Sweep({1.0: float("nan"), 3.0: 0.7},
                                                                              "train_loss", "min")}
    table = sweep_table(sweeps)
    assert table.header == ["optimizer", "training loss by learning rate", "chosen lr"]
    assert table.rows[0] == ["A", "0.1: 0.500   0.3: 0.250", "0.3"]
    assert table.rows[1][1].startswith("1: nan") and table.rows[1][2] == "3"


def test_spread_halfwidth_is_the_student_t_interval():
    # values 1, 2, 3: mean 2, sample std 1, t_{0.975, 2} = 4.302653 -> 4.302653 / sqrt(3)
    spread = Spread((1.0, 2.0, 3.0))
    assert spread.halfwidth() == pytest.approx(4.302653 / 3 ** 0.5, rel=1e-6)
    # t_{0.95, 4} = 2.131847 for a 90 % interval of five values with sample std 1
    five = Spread((-1.0, -0.5, 0.0, 0.5, 1.0))
    assert five.std == pytest.approx(0.790569, rel=1e-6)
    assert five.halfwidth(0.9) == pytest.approx(2.131847 * 0.790569 / 5 ** 0.5, rel=1e-6)
    assert math.isnan(Spread((1.0,)).halfwidth())
    with pytest.raises(ValueError, match="level"):
        spread.halfwidth(1.5)
