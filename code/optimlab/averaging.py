"""Averaging the weights: Polyak–Ruppert on a noisy quadratic, EMA and SWA on a network, and
Schedule-Free training compared with schedules, for the chapter on averaging.

Every run is seeded; the network runs train the digits MLP, so that all methods of one seed
start from the same weights and see the same minibatches in the same order.
"""

from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn

from .data import Split, load_digits
from .optim import ASGD
from .train import TensorLoader, accuracy, dataset_loss

__all__ = ["noisy_quadratic_asgd", "digits_bn_mlp", "train_with_averages", "train_anytime",
           "compare_to_reference"]


def noisy_quadratic_asgd(*, curvatures: Sequence[float] = (1.0, 10.0), lr: float = 0.05, noise: float = 1.0,
                         steps: int = 2000, seeds: int = 20, start: float = 3.0) -> dict:
    """Constant-step SGD on f(x) = ½ Σ a_i x_i² with Gaussian gradient noise, averaged by torch's rule.

    ``ASGD(lr, lambd=0, t0=0)`` is plain SGD whose state ``ax`` averages the iterates from the second
    on. ``seeds`` independent runs are stacked as rows of one parameter. Returns f of the iterate
    and f of the average after every step, each a (steps, seeds) array.
    """
    a = torch.tensor(curvatures, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    x = torch.nn.Parameter(torch.full((seeds, len(curvatures)), start, dtype=torch.float64))
    opt = ASGD([x], lr=lr, lambd=0.0, t0=0)
    f = lambda z: 0.5 * (a * z ** 2).sum(1)            # noqa: E731  one value per seed
    last, avg = [], []
    for _ in range(steps):
        x.grad = a * x.detach() + noise * torch.randn(x.shape, generator=gen, dtype=torch.float64)
        opt.step()
        last.append(f(x.detach()).numpy())
        avg.append(f(opt.state[x]["ax"]).numpy())
    return {"last": np.array(last), "average": np.array(avg), "lr": lr, "noise": noise,
            "curvatures": np.array(curvatures)}


def digits_bn_mlp(seed: int, hidden: int = 64, batch_norm: bool = True) -> torch.nn.Sequential:
    """The digits MLP, with a batch-norm layer after the hidden layer when ``batch_norm``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = [torch.nn.Linear(64, hidden)]
        if batch_norm:
            layers.append(torch.nn.BatchNorm1d(hidden))
        layers += [torch.nn.ReLU(), torch.nn.Linear(hidden, 10)]
        return torch.nn.Sequential(*layers)


def _metrics(model, data: Split) -> dict:
    model.eval()
    with torch.no_grad():
        out = {"valid_loss": dataset_loss(model, F.cross_entropy, data.x_valid, data.y_valid),
               "valid_acc": accuracy(model, data.x_valid, data.y_valid)}
    model.train()
    return out


def train_with_averages(seed: int, *, lr: float = 0.1, epochs: int = 16, swa_start: int = 8,
                        swa_lr: float = 0.05, ema_decay: float = 0.98, batch_size: int = 64,
                        data: Split | None = None) -> dict:
    """SGD with momentum at a constant rate on the batch-norm MLP, with two weight averages.

    * EMA: ``AveragedModel`` with an exponential average of the weights (decay ``ema_decay``), and of
      the batch-norm statistics (``use_buffers=True``), updated after every step;
    * SWA: from epoch ``swa_start`` on the rate moves to ``swa_lr`` (``SWALR``) and the weights are
      averaged once per epoch; at the end ``update_bn`` recomputes the batch-norm statistics for the
      averaged weights.

    Returns the validation metrics of the last iterate, of the EMA, of SWA before and after
    ``update_bn``.
    """
    data = data or load_digits(seed=0)
    model = digits_bn_mlp(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True)
    swa = AveragedModel(model)
    swa_scheduler = SWALR(opt, swa_lr=swa_lr, anneal_epochs=2)
    loader = TensorLoader(data.x_train, data.y_train, batch_size, seed=seed)
    for epoch in range(epochs):
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            ema.update_parameters(model)
        if epoch >= swa_start:
            swa.update_parameters(model)
            swa_scheduler.step()
    out = {"last iterate": _metrics(model, data), "EMA": _metrics(ema, data)}
    out["SWA, stale BN"] = _metrics(swa, data)
    update_bn(((x, y) for x, y in TensorLoader(data.x_train, data.y_train, 256, shuffle=False)), swa)
    out["SWA"] = _metrics(swa, data)
    return out


def train_anytime(make_optimizer: Callable, seed: int, *, epochs: int, batch_size: int = 64,
                  schedule: Callable[[int], float] | None = None, data: Split | None = None) -> np.ndarray:
    """Train the digits MLP (no batch norm) and return the validation loss after every epoch.

    ``schedule(t)`` multiplies the base rate at update t (e.g. a cosine over the known horizon).
    Optimizers with ``train()``/``eval()`` (Schedule-Free) are evaluated in eval mode, at x.
    """
    data = data or load_digits(seed=0)
    model = digits_bn_mlp(seed, batch_norm=False)
    opt = make_optimizer(model.parameters())
    base = [group["lr"] for group in opt.param_groups]
    modes = hasattr(opt, "eval") and hasattr(opt, "train")
    loader = TensorLoader(data.x_train, data.y_train, batch_size, seed=seed)
    losses, t = [], 0
    for _ in range(epochs):
        if modes:
            opt.train()
        for x, y in loader:
            if schedule is not None:
                for group, lr in zip(opt.param_groups, base):
                    group["lr"] = lr * schedule(t)
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            t += 1
        if modes:
            opt.eval()
        loss = _metrics(model, data)["valid_loss"]
        losses.append(loss if math.isfinite(loss) else float("inf"))
    return np.array(losses)


def compare_to_reference(ours_cls, reference_cls, *, steps: int = 50, seed: int = 0, **kwargs) -> float:
    """Largest difference of the parameters (train point y, then eval point x) between ours and a
    reference Schedule-Free optimizer (run with ``foreach=False``) stepped on the same seeded
    gradients, in float64."""
    gen = torch.Generator().manual_seed(seed)
    start = [torch.randn(s, generator=gen, dtype=torch.float64) for s in [(6, 4), (6,), (3, 6)]]
    grads = [[torch.randn(x.shape, generator=gen, dtype=torch.float64) for x in start] for _ in range(steps)]
    sides = []
    for cls, extra in ((ours_cls, {}), (reference_cls, {"foreach": False})):
        params = [torch.nn.Parameter(x.clone()) for x in start]
        opt = cls(params, **kwargs, **extra)    # the reference's for-loop path
        opt.train()
        sides.append((params, opt))
    gap = 0.0
    for step_grads in grads:
        for params, opt in sides:
            for p, g in zip(params, step_grads):
                p.grad = g.clone()
            opt.step()
        gap = max(gap, *(float((p - q).detach().abs().max()) for p, q in zip(sides[0][0], sides[1][0])))
    for _, opt in sides:
        opt.eval()
    return max(gap, *(float((p - q).detach().abs().max()) for p, q in zip(sides[0][0], sides[1][0])))
