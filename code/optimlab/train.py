"""A small, honest training loop: one optimizer step per minibatch, evaluation kept out of the clock.

``train`` records the minibatch loss of every update and, every ``eval_every`` updates (and at the
start and the end), whatever ``evaluate(model)`` returns, stamped with the training time spent so
far. The clock stops while evaluating, so "loss against wall-clock time" compares optimizers, not
evaluation code.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset
from tqdm.std import tqdm


@dataclass
class History:
    """What one training run recorded.

    ``losses[k]`` and ``lrs[k]`` belong to update ``k + 1``; ``evals`` holds one dict per
    evaluation with the keys ``update``, ``epoch`` (the epoch in progress, 0 before training),
    ``epochs`` (passes over the data so far, fractional: updates divided by the loader's length),
    ``time`` (training seconds so far) and whatever ``evaluate`` returned.
    """
    losses: list = field(default_factory=list)
    lrs: list = field(default_factory=list)
    evals: list = field(default_factory=list)

    def curve(self, key: str, x: str = "update") -> tuple[list, list]:
        """``(xs, ys)`` of an evaluated quantity against ``"update"``, ``"epoch"``, ``"epochs"`` or ``"time"``."""
        return [e[x] for e in self.evals], [e[key] for e in self.evals]


def make_loader(x: torch.Tensor, y: torch.Tensor, batch_size: int, *, shuffle: bool = True,
                seed: int = 0) -> DataLoader:
    """A seeded ``DataLoader`` over tensors: the same seed gives the same minibatches in the same order.
    :class:`TensorLoader` yields the same minibatches faster."""
    if batch_size < 1:
        raise ValueError(f"Invalid batch_size: {batch_size} (expected 1 <= batch_size)")
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=generator)


class TensorLoader:
    """Minibatches of in-memory tensors, gathered with one indexing operation per batch.

    ``TensorLoader(x, y, batch_size, shuffle=shuffle, seed=seed)`` yields exactly the minibatches,
    in the same order, epoch after epoch, that ``make_loader`` with the same arguments yields: it
    draws its shuffles from a generator seeded the same way and consumes it the same way (torch's
    own ``RandomSampler`` and ``BatchSampler`` make the orders; one draw per epoch mirrors the seed a
    ``DataLoader`` iterator takes for its workers). It differs only in speed: a ``DataLoader`` over
    a ``TensorDataset`` fetches the examples of a batch one by one and stacks them, whereas this
    loader gathers the batch's rows of each tensor in one call (``x.index_select(0, indices)``). For
    data that already sits in memory as tensors the per-example work is pure overhead.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, *, shuffle: bool = True, seed: int = 0):
        if batch_size < 1:
            raise ValueError(f"Invalid batch_size: {batch_size} (expected 1 <= batch_size)")
        if len(x) != len(y):
            raise ValueError(f"x and y hold different numbers of examples: {len(x)} and {len(y)}")
        self.x, self.y, self.batch_size, self.shuffle = x, y, int(batch_size), shuffle
        self.generator = torch.Generator().manual_seed(seed)
        indices = range(len(x))
        sampler = RandomSampler(indices, generator=self.generator) if shuffle else SequentialSampler(indices)
        self.batch_sampler = BatchSampler(sampler, self.batch_size, drop_last=False)

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self):
        # A DataLoader iterator first draws a base seed from the loader's generator; do the same.
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        for batch in self.batch_sampler:
            index = torch.tensor(batch, dtype=torch.long)
            yield self.x.index_select(0, index), self.y.index_select(0, index)


def mlp(in_features: int, hidden: list[int] | tuple[int, ...], out_features: int, *, seed: int = 0,
        activation: type[torch.nn.Module] = torch.nn.ReLU, dtype: torch.dtype = torch.float32) -> torch.nn.Sequential:
    """A multilayer perceptron whose initial weights depend only on ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers, width = [], in_features
        for h in hidden:
            layers += [torch.nn.Linear(width, h, dtype=dtype), activation()]
            width = h
        layers.append(torch.nn.Linear(width, out_features, dtype=dtype))
        return torch.nn.Sequential(*layers)


@torch.no_grad()
def dataset_loss(model: torch.nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor) -> float:
    """The mean loss of ``model`` over a whole dataset, as a Python float."""
    return float(loss_fn(model(x), y))


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of examples whose largest logit is the true class."""
    return float((model(x).argmax(dim=1) == y).float().mean())


def _evaluate(model, evaluate, history, update, epoch, elapsed, per_epoch):
    if evaluate is None:
        return
    was_training = model.training
    model.eval()
    with torch.no_grad():
        values = evaluate(model)
    model.train(was_training)
    if not isinstance(values, dict):
        values = {"loss": float(values)}
    history.evals.append({"update": update, "epoch": epoch, "epochs": update / per_epoch if per_epoch else 0.0,
                          "time": elapsed,
                          **{k: float(v) for k, v in values.items()}})


def train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loader, loss_fn: Callable, epochs: int, *,
          evaluate: Callable | None = None, eval_every: int | None = None, scheduler=None,
          scheduler_interval: str = "epoch", progress: bool = True, desc: str | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``; return the :class:`History`.

    Each update is ``zero_grad → loss.backward() → optimizer.step()``, then ``scheduler.step()``
    (after the optimizer, as torch requires) once per update or once per epoch according to
    ``scheduler_interval`` ("step" or "epoch"). ``evaluate(model)`` returns a float or a dict of
    floats; it runs at the start, every ``eval_every`` updates (default: once per epoch) and at the
    end, in eval mode, without gradients and off the clock.
    """
    if epochs < 0:
        raise ValueError(f"Invalid epochs: {epochs} (expected 0 <= epochs)")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"Invalid scheduler_interval: {scheduler_interval!r} (expected 'epoch' or 'step')")
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"Invalid eval_every: {eval_every} (expected 1 <= eval_every)")
    history, update, elapsed, per_epoch = History(), 0, 0.0, len(loader)
    _evaluate(model, evaluate, history, update, 0, elapsed, per_epoch)
    bar = tqdm(total=epochs * per_epoch, desc=desc, disable=not progress, file=sys.stdout,
               mininterval=1.0, leave=True, dynamic_ncols=False, ncols=90)
    model.train()
    for epoch in range(1, epochs + 1):
        batches = iter(loader)
        while True:
            start = time.perf_counter()  # fetching the minibatch is part of training
            try:
                x, y = next(batches)
            except StopIteration:
                break
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            history.lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            if scheduler is not None and scheduler_interval == "step":
                scheduler.step()
            elapsed += time.perf_counter() - start
            update += 1
            history.losses.append(loss.item())
            bar.update(1)
            if eval_every is not None and update % eval_every == 0:
                _evaluate(model, evaluate, history, update, epoch, elapsed, per_epoch)
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step()
        if eval_every is None:
            _evaluate(model, evaluate, history, update, epoch, elapsed, per_epoch)
        bar.set_postfix(loss=f"{history.losses[-1]:.4f}" if history.losses else "n/a", refresh=False)
    if eval_every is not None and (not history.evals or history.evals[-1]["update"] != update):
        _evaluate(model, evaluate, history, update, epochs, elapsed, per_epoch)
    bar.close()
    return history
