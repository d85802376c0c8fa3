"""The workloads of the benchmark: a model, offline data, a loss, a validation target, a step budget.

Each workload trains in about a second of one CPU core and stands for a kind of problem: a convex
one (logistic regression on the digits), a multilayer perceptron, a convolutional network, and a
sequence task on generated data (modular addition of two tokens), where the embedding and the
weight decay matter. The validation metric is the error rate (lower is better); a run *reaches the
target* at the first evaluation where the validation error is at or below ``target``.

:func:`train` runs one trial: the seed fixes the initial weights and the order of the minibatches,
so the same (workload, optimizer, hyperparameters, seed) gives the same numbers on one machine.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import torch

from ..data import Split, load_digits

__all__ = ["Workload", "WORKLOADS", "modular_addition", "train"]


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    make_data: Callable[[], Split]
    make_model: Callable[[], torch.nn.Module]
    target: float            # validation error to reach
    steps: int               # step budget
    batch_size: int = 64
    eval_every: int = 20

    def data(self) -> Split:
        return _data(self.name)


@lru_cache(maxsize=None)
def _data(name: str) -> Split:
    return WORKLOADS[name].make_data()


def _digits_flat() -> Split:
    return load_digits(seed=0)


def _digits_images() -> Split:
    return load_digits(seed=0, flatten=False)


def modular_addition(p: int = 23, train_fraction: float = 0.8, seed: int = 0) -> Split:
    """All pairs (a, b) with 0 <= a, b < p, labelled (a + b) mod p, split at random."""
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    x = torch.stack([a.flatten(), b.flatten()], 1)
    y = (x[:, 0] + x[:, 1]) % p
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_train = int(train_fraction * len(x))
    train_idx, valid_idx = order[:n_train], order[n_train:]
    return Split(x[train_idx], y[train_idx], x[valid_idx], y[valid_idx])


class PairEmbedding(torch.nn.Module):
    """Embed each of the two tokens, concatenate, and classify with a one-hidden-layer MLP."""

    def __init__(self, p: int = 23, dim: int = 32, hidden: int = 128):
        super().__init__()
        self.embed = torch.nn.Embedding(p, dim)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(2 * dim, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, p))

    def forward(self, x):
        return self.mlp(self.embed(x).flatten(1))


def _logreg():
    return torch.nn.Linear(64, 10)


def _mlp():
    return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def _cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


WORKLOADS = {w.name: w for w in [
    Workload("logreg", "logistic regression on the digits (convex)", _digits_flat, _logreg,
             target=0.06, steps=200),
    Workload("mlp", "MLP 64-64-10 on the digits", _digits_flat, _mlp, target=0.04, steps=200),
    Workload("cnn", "small CNN on the 8×8 digit images", _digits_images, _cnn, target=0.05, steps=200),
    Workload("modular", "embeddings + MLP on (a + b) mod 23",
             modular_addition, PairEmbedding, target=0.10, steps=500),
]}


def _error(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) != y).float().mean())


def train(workload: Workload | str, make_optimizer: Callable, seed: int) -> dict:
    """One trial: train ``workload``'s model from the initial weights of ``seed``.

    ``make_optimizer(model)`` returns the optimizer. Every ``eval_every`` steps the validation error
    is recorded with the step and the CPU seconds spent in training so far (evaluation excluded).
    Returns the curve, the first step and the seconds at which the target was reached (``None`` if
    never) and the final validation error and training loss. A diverged run (a non-finite loss)
    stops there and keeps an error of 1.
    """
    w = WORKLOADS[workload] if isinstance(workload, str) else workload
    split = w.data()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = w.make_model()
    order = torch.Generator().manual_seed(10_000 + seed)
    optimizer = make_optimizer(model)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(split.x_train)
    perm, pos = torch.randperm(n, generator=order), 0
    steps, errors, seconds = [], [], []
    cpu, train_loss, diverged = 0.0, float("nan"), False
    schedule_free = hasattr(optimizer, "eval") and hasattr(optimizer, "train")
    for step in range(1, w.steps + 1):
        if pos + w.batch_size > n:
            perm, pos = torch.randperm(n, generator=order), 0
        idx = perm[pos:pos + w.batch_size]
        pos += w.batch_size
        start = time.process_time()
        model.train()
        optimizer.zero_grad()
        loss = loss_fn(model(split.x_train[idx]), split.y_train[idx])
        loss.backward()
        optimizer.step()
        cpu += time.process_time() - start
        train_loss = float(loss.detach())
        if not math.isfinite(train_loss):
            diverged = True
        if step % w.eval_every == 0 or step == w.steps or diverged:
            if schedule_free:
                optimizer.eval()
            model.eval()
            err = 1.0 if diverged else _error(model, split.x_valid, split.y_valid)
            if schedule_free:
                optimizer.train()
            steps.append(step)
            errors.append(err)
            seconds.append(cpu)
        if diverged:
            break
    hit = next((i for i, e in enumerate(errors) if e <= w.target), None)
    return {
        "steps": steps, "valid_error": errors, "seconds": seconds,
        "steps_to_target": None if hit is None else steps[hit],
        "seconds_to_target": None if hit is None else seconds[hit],
        "final_error": errors[-1], "final_train_loss": train_loss, "diverged": diverged,
    }
