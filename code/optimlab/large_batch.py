r"""Large batches on one machine: the linear scaling rule, warmup, LARS and LAMB, tuned alike.

Data parallelism over p processes multiplies the batch by p. Goyal et al. (2017) give the
rule for the learning rate: *multiply the batch by k, multiply the learning rate by k*, with a
*gradual warmup* that raises the rate from the small batch's η to kη over the first epochs.
LARS and LAMB instead rescale each layer's step by a trust ratio. Whether any of these holds on
a given problem is an empirical question, so this module answers it the fair way: every method
gets the same grid of learning rates, the best is chosen on seeds of its own, and the chosen
setting is then rerun on other seeds.

A *method* here is a name, a function ``build(params, lr)`` returning an optimizer, a batch
size and whether to warm up. Training is on the digits (the MLP of the course) for a fixed
number of epochs, so a batch k times larger takes k times fewer steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .data import Split, load_digits
from .schedules import linear_warmup_lr
from .train import TensorLoader, accuracy, dataset_loss, mlp

__all__ = ["linear_scaling_lr", "goyal_warmup_lr", "Method", "final_metrics", "tune", "study"]


def linear_scaling_lr(base_lr: float, base_batch: int, batch: int) -> float:
    """Goyal et al.'s rule: ``η · batch / base_batch``."""
    return base_lr * batch / base_batch


def goyal_warmup_lr(t: int, lr: float, k: float, warmup_steps: int) -> float:
    """Gradual warmup: from ``lr / k`` (the small batch's rate) linearly to ``lr`` over ``warmup_steps``."""
    return linear_warmup_lr(t, lr, warmup_steps, start_factor=1.0 / k)


@dataclass(frozen=True)
class Method:
    name: str
    build: Callable[..., torch.optim.Optimizer]   # build(params, lr)
    batch: int
    warmup_steps: int = 0
    warmup_from: float = 1.0                        # k: the warmup starts at lr / k


def final_metrics(method: Method, lr: float, *, seed: int, epochs: int, data: Split | None = None,
                  hidden: int = 64) -> dict:
    """Train the digits MLP from ``seed``'s weights and minibatches; the final validation loss and accuracy."""
    data = data or load_digits(seed=0)
    model = mlp(data.n_features, [hidden], 10, seed=seed)
    optimizer = method.build(model.parameters(), lr)
    loader = TensorLoader(data.x_train, data.y_train, method.batch, seed=seed)
    t = 0
    for _ in range(epochs):
        for x, y in loader:
            if method.warmup_steps:
                for group in optimizer.param_groups:
                    group["lr"] = goyal_warmup_lr(t, lr, method.warmup_from, method.warmup_steps)
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
            t += 1
    loss = dataset_loss(model, F.cross_entropy, data.x_valid, data.y_valid)
    return {"valid_loss": loss if np.isfinite(loss) else float("inf"),
            "valid_acc": accuracy(model, data.x_valid, data.y_valid), "steps": t}


def tune(method: Method, lrs: Sequence[float], *, seeds: Sequence[int], epochs: int,
         data: Split | None = None) -> tuple[float, dict]:
    """The learning rate of ``lrs`` with the lowest mean validation loss over ``seeds``, and every mean."""
    scores = {lr: float(np.mean([final_metrics(method, lr, seed=s, epochs=epochs, data=data)["valid_loss"]
                                 for s in seeds])) for lr in lrs}
    return min(scores, key=scores.get), scores


def study(methods: Sequence[Method], grids: dict, *, tune_seeds: Sequence[int], test_seeds: Sequence[int],
          epochs: int, data: Split | None = None) -> dict:
    """Tune every method on its grid (``grids[name]``, all of the same size) with ``tune_seeds``,
    then rerun the chosen rate on ``test_seeds``. Returns per method: the chosen ``lr``, the tuning
    ``scores`` and the test runs' ``valid_loss`` / ``valid_acc`` arrays."""
    sizes = {len(grids[m.name]) for m in methods}
    if len(sizes) != 1:
        raise ValueError(f"Invalid grids: sizes {sorted(sizes)} differ (every method gets the same budget)")
    data = data or load_digits(seed=0)
    out = {}
    for method in methods:
        lr, scores = tune(method, grids[method.name], seeds=tune_seeds, epochs=epochs, data=data)
        runs = [final_metrics(method, lr, seed=s, epochs=epochs, data=data) for s in test_seeds]
        out[method.name] = {"lr": lr, "scores": scores, "steps": runs[0]["steps"],
                            "valid_loss": np.array([r["valid_loss"] for r in runs]),
                            "valid_acc": np.array([r["valid_acc"] for r in runs])}
    return out
