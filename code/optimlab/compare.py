"""Compare optimizers fairly: the same model, data and minibatches, several seeds, mean and spread.

>>> from optimlab.data import load_digits
>>> from optimlab.optim import SGD, Adam
>>> from optimlab.train import mlp
>>> task = Task(load_digits(), lambda seed: mlp(64, [32], 10, seed=seed), torch.nn.CrossEntropyLoss())
>>> sweep = sweep_lr(task, (Adam, {}), [1e-3, 1e-2], epochs=2)      # pick a learning rate
>>> results = compare(task, {"SGD": (SGD, {"lr": 0.3}), "Adam": (Adam, {"lr": sweep.best})}, epochs=5)
>>> results.table()                    # mean ± standard deviation over the seeds, one row per optimizer
>>> results.plot("train_loss")         # mean curve per optimizer, shaded from the worst to the best seed

An optimizer is given as ``(cls, hyperparameters)``, e.g. ``(SGD, {"lr": 0.1, "momentum": 0.9})``, or
as any callable that builds one from a list of parameters. For seed ``s``, every optimizer trains the
model ``task.make_model(s)`` on the minibatches of a loader seeded with ``s``: within one seed all
optimizers start from the same weights and see the same minibatches in the same order, so the
differences between rows come from the optimizers, and the spread over seeds shows how much of a
difference is luck.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from .data import Split
from .train import History, TensorLoader, accuracy, dataset_loss, train

__all__ = ["Task", "Spread", "Table", "Comparison", "Sweep", "build_optimizer", "run_seeds", "compare",
           "sweep_lr", "sweep_table", "updates_for"]


@dataclass(frozen=True)
class Task:
    """What the optimizers are compared on.

    * ``data``: a :class:`~optimlab.data.Split`;
    * ``make_model(seed)``: a fresh model whose initial weights depend only on ``seed``;
    * ``loss_fn(outputs, targets)``: the training loss;
    * ``batch_size``: the minibatch size.

    The default evaluation records ``train_loss`` and ``valid_loss`` (the loss over the whole training
    and validation sets) and, when the targets are class indices, ``valid_acc``.
    """
    data: Split
    make_model: Callable[[int], torch.nn.Module]
    loss_fn: Callable
    batch_size: int = 64

    def evaluate(self, model: torch.nn.Module) -> dict:
        d = self.data
        values = {"train_loss": dataset_loss(model, self.loss_fn, d.x_train, d.y_train),
                  "valid_loss": dataset_loss(model, self.loss_fn, d.x_valid, d.y_valid)}
        if not d.y_valid.is_floating_point():
            values["valid_acc"] = accuracy(model, d.x_valid, d.y_valid)
        return values


def build_optimizer(spec, params) -> torch.optim.Optimizer:
    """An optimizer over ``params`` from ``(cls, hyperparameters)`` or from a callable ``spec(params)``."""
    if isinstance(spec, tuple):
        cls, hparams = spec
        return cls(params, **hparams)
    if callable(spec):
        return spec(params)
    raise TypeError(f"an optimizer is given as (cls, hyperparameters) or as a callable, not {spec!r}")


def run_seeds(task: Task, spec, *, seeds: Sequence[int] = (0, 1, 2), epochs: int = 5,
              evaluate: Callable | None = None) -> list[History]:
    """Train one optimizer once per seed; ``evaluate`` (default ``task.evaluate``) runs after every epoch."""
    histories = []
    for seed in seeds:
        model = task.make_model(seed)
        optimizer = build_optimizer(spec, list(model.parameters()))
        loader = TensorLoader(task.data.x_train, task.data.y_train, task.batch_size, seed=seed)
        histories.append(train(model, optimizer, loader, task.loss_fn, epochs,
                               evaluate=evaluate or task.evaluate, progress=False))
    return histories


@dataclass(frozen=True)
class Spread:
    """One quantity over several seeds: ``values`` and their mean, standard deviation, min and max.

    The standard deviation is the sample one (``ddof=1``); it is 0 for a single seed. Non-finite
    values (a run that diverged) make the mean, spread and extremes ``nan``.
    """
    values: tuple

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0

    @property
    def min(self) -> float:
        return float(np.min(self.values))

    @property
    def max(self) -> float:
        return float(np.max(self.values))

    def halfwidth(self, level: float = 0.95) -> float:
        """Half the width of the Student-t confidence interval for the mean at ``level``:
        ``t_{(1+level)/2, n−1} · std / √n`` (``nan`` for a single value)."""
        if not 0 < level < 1:
            raise ValueError(f"Invalid level: {level} (expected 0 < level < 1)")
        n = len(self.values)
        if n < 2:
            return math.nan
        from scipy import stats

        return float(stats.t.ppf((1 + level) / 2, n - 1) * self.std / math.sqrt(n))

    def format(self, spec: str = ".3f") -> str:
        """``mean ± std`` with both numbers in the format ``spec``."""
        return f"{self.mean:{spec}} ± {self.std:{spec}}"

    def __repr__(self) -> str:
        return f"Spread({self.format('.4g')}, n={len(self.values)})"


class Table:
    """A small table that shows as HTML in notebooks and on the book's pages, and as text elsewhere."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[str]], caption: str = ""):
        self.header, self.rows, self.caption = list(header), [list(r) for r in rows], caption

    def __repr__(self) -> str:
        widths = [max(len(str(c)) for c in column) for column in zip(self.header, *self.rows)]
        line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
        text = [line(self.header), line("-" * w for w in widths), *(line(r) for r in self.rows)]
        return "\n".join(([self.caption] if self.caption else []) + text)

    def _repr_html_(self) -> str:
        cell = 'style="padding:0.2em 0.8em;text-align:{align};white-space:nowrap"'
        head = "".join(f"<th {cell.format(align='left' if i == 0 else 'right')}>{html.escape(h)}</th>"
                       for i, h in enumerate(self.header))
        body = "".join("<tr>" + "".join(f"<td {cell.format(align='left' if i == 0 else 'right')}>"
                                        f"{html.escape(str(c))}</td>" for i, c in enumerate(r)) + "</tr>"
                       for r in self.rows)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f'<div style="overflow-x:auto"><table class="optimlab-table" style="border-collapse:collapse;'
                f'margin:0.5em 0">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>')


_LABELS = {"train_loss": "training loss", "valid_loss": "validation loss", "valid_acc": "validation accuracy",
           "time": "training time (s)"}


@dataclass
class Comparison:
    """The histories of several optimizers over the same seeds: ``histories[name][i]`` is seed ``seeds[i]``."""
    histories: dict
    seeds: tuple
    specs: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.histories)

    def final(self, key: str) -> dict[str, Spread]:
        """The last evaluated value of ``key`` per optimizer, over the seeds."""
        return {name: Spread(tuple(float(h.evals[-1][key]) for h in runs)) for name, runs in self.histories.items()}

    def curves(self, key: str, x: str = "epoch") -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per optimizer, ``(xs, values)`` with ``values`` of shape ``(seeds, evaluations)``."""
        out = {}
        for name, runs in self.histories.items():
            xs = np.asarray(runs[0].curve(key, x)[0], dtype=float)
            out[name] = xs, np.array([h.curve(key, x)[1] for h in runs], dtype=float)
        return out

    def table(self, keys: Sequence[str] = ("train_loss", "valid_acc"), *, formats: dict | None = None,
              hyperparameters: Sequence[str] = ("lr",)) -> Table:
        """One row per optimizer: its ``hyperparameters`` (when given as ``(cls, dict)``) and, for each of
        ``keys``, the final value as mean ± standard deviation over the seeds."""
        formats = {"train_loss": ".3f", "valid_loss": ".3f", "valid_acc": ".3f", "time": ".2f", **(formats or {})}
        header = ["optimizer", *hyperparameters, *(_LABELS.get(k, k) for k in keys)]
        finals = {k: self.final(k) for k in keys}
        rows = []
        for name in self.names:
            spec = self.specs.get(name)
            hparams = spec[1] if isinstance(spec, tuple) else {}
            row = [name, *(f"{hparams[h]:g}" if isinstance(hparams.get(h), (int, float)) else str(hparams.get(h, ""))
                           for h in hyperparameters)]
            row += [finals[k][name].format(formats.get(k, ".3g")) for k in keys]
            rows.append(row)
        caption = f"final values, mean ± standard deviation over {len(self.seeds)} seeds"
        return Table(header, rows, caption)

    def plot(self, key: str, ax=None, *, x: str = "epoch", logy: bool | None = None, band: bool = True,
             title: str | None = None):
        """The mean of ``key`` over the seeds against ``x``, one line per optimizer, shaded from the
        worst to the best seed. Returns the figure when it made one, else ``ax``."""
        import matplotlib.pyplot as plt

        from .plots import COLORS

        created = ax is None
        if created:
            fig, ax = plt.subplots(layout="constrained")
            plt.close(fig)
        curves = self.curves(key, x)
        for i, (name, (xs, values)) in enumerate(curves.items()):
            colour = COLORS[i % len(COLORS)]
            ax.plot(xs, values.mean(0), color=colour, label=name)
            if band and len(values) > 1:
                ax.fill_between(xs, values.min(0), values.max(0), color=colour, alpha=0.15, lw=0)
        finite = np.concatenate([v[np.isfinite(v)] for _, v in curves.values()])
        if logy or (logy is None and key.endswith("loss") and finite.size and (finite > 0).all()):
            ax.set_yscale("log")
        ax.set_xlabel({"epoch": "epoch", "epochs": "epochs", "update": "update", "time": "training time (s)"}[x])
        ax.set_ylabel(_LABELS.get(key, key))
        if title:
            ax.set_title(title)
        ax.legend()
        return ax.figure if created else ax


def compare(task: Task, optimizers: dict, *, seeds: Sequence[int] = (0, 1, 2), epochs: int = 5,
            evaluate: Callable | None = None) -> Comparison:
    """Train ``task`` with every optimizer of ``optimizers`` (``{name: (cls, hyperparameters)}`` or
    ``{name: callable}``) for ``epochs`` epochs, once per seed."""
    histories = {name: run_seeds(task, spec, seeds=seeds, epochs=epochs, evaluate=evaluate)
                 for name, spec in optimizers.items()}
    return Comparison(histories, tuple(seeds), dict(optimizers))


@dataclass(frozen=True)
class Sweep:
    """A learning-rate sweep: ``scores[lr]`` is the mean final ``key`` over the sweep's seeds; ``best`` is
    the learning rate with the lowest score (``mode="min"``) or the highest (``"max"``). A run that
    diverged scores ``nan`` and is never the best."""
    scores: dict
    key: str
    mode: str

    @property
    def best(self) -> float:
        finite = {lr: s for lr, s in self.scores.items() if math.isfinite(s)}
        if not finite:
            raise ValueError("every learning rate of the sweep diverged")
        pick = min if self.mode == "min" else max
        return pick(finite, key=finite.get)

    def __repr__(self) -> str:
        scores = ", ".join(f"{lr:g}: {s:.4g}" for lr, s in self.scores.items())
        return f"Sweep({self.key} by lr: {scores}; best lr {self.best:g})"


def sweep_table(sweeps: dict, *, fmt: str = ".3f") -> Table:
    """One row per named :class:`Sweep`: the score of every learning rate tried, and the one chosen."""
    rows = [[name, "   ".join(f"{lr:g}: {score:{fmt}}" for lr, score in sweep.scores.items()), f"{sweep.best:g}"]
            for name, sweep in sweeps.items()]
    key = next(iter(sweeps.values())).key if sweeps else "score"
    return Table(["optimizer", f"{_LABELS.get(key, key)} by learning rate", "chosen lr"], rows,
                 caption="learning-rate sweep")


def sweep_lr(task: Task, spec: tuple, lrs: Sequence[float], *, seeds: Sequence[int] = (0,), epochs: int = 3,
             key: str = "train_loss", mode: str = "min", evaluate: Callable | None = None) -> Sweep:
    """Train ``(cls, hyperparameters)`` with each learning rate of ``lrs`` and score it by the final ``key``,
    averaged over ``seeds``. Use seeds that the comparison itself does not use, so that the learning rate
    is not tuned on the runs it is then judged on."""
    if mode not in ("min", "max"):
        raise ValueError(f"Invalid mode: {mode!r} (expected 'min' or 'max')")
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise TypeError("sweep_lr needs the optimizer as (cls, hyperparameters)")
    cls, hparams = spec
    scores = {}
    for lr in lrs:
        runs = run_seeds(task, (cls, {**hparams, "lr": lr}), seeds=seeds, epochs=epochs, evaluate=evaluate)
        values = [float(h.evals[-1][key]) for h in runs]
        scores[lr] = float(np.mean(values)) if all(math.isfinite(v) for v in values) else math.nan
    return Sweep(scores, key, mode)


def updates_for(optimizer, grads: torch.Tensor, **hparams) -> torch.Tensor:
    """The updates ``θ_t − θ_{t−1}`` that ``optimizer`` (a class, ours or torch's) makes on one parameter
    when it is handed the gradients ``grads[0], grads[1], ...`` in turn, whatever the parameter's value.

    ``grads`` has shape ``(steps, *shape)``; the parameter starts at zero with that ``shape`` and dtype.
    Returns a tensor of the same shape as ``grads``. Useful to compare update rules on the same stream of
    gradients, independently of any loss.
    """
    theta = torch.zeros_like(grads[0], requires_grad=True)
    opt = optimizer([theta], **hparams)
    before, updates = theta.detach().clone(), []
    for g in grads:
        theta.grad = g.clone()
        opt.step()
        after = theta.detach().clone()
        updates.append(after - before)
        before = after
    return torch.stack(updates)
