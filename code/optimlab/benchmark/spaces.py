"""The optimizers of the benchmark, their search spaces, and quasi-random sampling.

Each optimizer has one search space, the same for every workload (as in AlgoPerf's external tuning):
the learning rate on a log scale over three to four decades around the values the literature uses,
and, for the methods whose standard form has decoupled weight decay (AdamW, Lion, Schedule-Free
AdamW), the decay λ on a log scale from 0.01 to 10 (torch multiplies it by the learning rate, so
the shrink per step ηλ spans 1e-6 to 1). Every other hyperparameter stays at torch's default. A trial
is a point of the space, drawn by a Halton sequence: the points fill the space evenly, and the
draw is a pure function of the trial's index, so the same budget always gives the same trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from .. import optim

__all__ = ["Spec", "OPTIMIZERS", "halton", "sample", "radical_inverse"]

PRIMES = (2, 3, 5, 7, 11, 13)


def radical_inverse(i: int, base: int) -> float:
    """The digits of ``i`` in ``base`` mirrored behind the point: 1 -> 1/b, 2 -> 2/b, b -> 1/b²."""
    if i < 0:
        raise ValueError(f"Invalid index: {i} (expected i >= 0)")
    x, scale = 0.0, 1.0 / base
    while i:
        i, digit = divmod(i, base)
        x += digit * scale
        scale /= base
    return x


def halton(n: int, dim: int, start: int = 1) -> list[list[float]]:
    """The points ``start``, ..., ``start + n - 1`` of the Halton sequence in [0, 1)^dim."""
    if not 1 <= dim <= len(PRIMES):
        raise ValueError(f"Invalid dim: {dim} (expected 1 <= dim <= {len(PRIMES)})")
    return [[radical_inverse(i, b) for b in PRIMES[:dim]] for i in range(start, start + n)]


@dataclass(frozen=True)
class Spec:
    name: str
    label: str
    build: Callable[[torch.nn.Module, dict], torch.optim.Optimizer]
    space: dict = field(default_factory=dict)       # name -> (low, high), sampled on a log scale
    defaults: dict = field(default_factory=dict)    # torch's defaults of the searched names
    part: str = "II"


def sample(spec: Spec, budget: int) -> list[dict]:
    """``budget`` points of ``spec``'s space: trial i is Halton point i + 1, mapped log-uniformly."""
    names = sorted(spec.space)
    points = halton(budget, len(names)) if names else [[] for _ in range(budget)]
    out = []
    for u in points:
        hp = {}
        for name, ui in zip(names, u):
            low, high = spec.space[name]
            hp[name] = float(math.exp(math.log(low) + ui * (math.log(high) - math.log(low))))
        out.append(hp)
    return out


def _params(model):
    return model.parameters()


def _muon(model, hp):
    """Muon on the 2-D weights of the hidden linear layers; AdamW for the rest (embeddings, biases,
    convolutions, the output layer), at the same rate (Muon's step matched to AdamW's RMS)."""
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    hidden = {id(m.weight) for m in linears[:-1]}
    matrices = [p for p in model.parameters() if id(p) in hidden]
    rest = [p for p in model.parameters() if id(p) not in hidden]
    muon = optim.Muon(matrices, lr=hp["lr"], adjust_lr_fn="match_rms_adamw") if matrices else None
    adamw = optim.AdamW(rest, lr=hp["lr"])
    return _Pair(muon, adamw)


class _Pair:
    """Two optimizers stepped together (Muon for the matrices, AdamW for the rest)."""

    def __init__(self, *optimizers):
        self.optimizers = [o for o in optimizers if o is not None]

    def zero_grad(self):
        for o in self.optimizers:
            o.zero_grad()

    def step(self):
        for o in self.optimizers:
            o.step()


def _spec(name, label, cls, space, defaults, part="II", **fixed):
    return Spec(name, label, lambda model, hp: cls(_params(model), **fixed, **hp), space, defaults, part)


OPTIMIZERS = {s.name: s for s in [
    _spec("sgd", "SGD", optim.SGD, {"lr": (1e-2, 10.0)}, {"lr": 1e-3}),
    _spec("momentum", "SGD, momentum", optim.SGD, {"lr": (1e-3, 1.0)}, {"lr": 1e-3}, momentum=0.9),
    _spec("nesterov", "Nesterov", optim.SGD, {"lr": (1e-3, 1.0)}, {"lr": 1e-3}, momentum=0.9,
          nesterov=True),
    _spec("adagrad", "Adagrad", optim.Adagrad, {"lr": (1e-3, 1.0)}, {"lr": 1e-2}),
    _spec("rmsprop", "RMSprop", optim.RMSprop, {"lr": (1e-4, 1e-1)}, {"lr": 1e-2}),
    _spec("adadelta", "Adadelta", optim.Adadelta, {"lr": (0.1, 100.0)}, {"lr": 1.0}),
    _spec("adam", "Adam", optim.Adam, {"lr": (1e-4, 1e-1)}, {"lr": 1e-3}),
    _spec("adamw", "AdamW", optim.AdamW, {"lr": (1e-4, 1e-1), "weight_decay": (1e-2, 10.0)},
          {"lr": 1e-3, "weight_decay": 1e-2}),
    _spec("adamax", "Adamax", optim.Adamax, {"lr": (1e-4, 1e-1)}, {"lr": 2e-3}, part="IV"),
    _spec("nadam", "NAdam", optim.NAdam, {"lr": (1e-4, 1e-1)}, {"lr": 2e-3}, part="IV"),
    _spec("radam", "RAdam", optim.RAdam, {"lr": (1e-4, 1e-1)}, {"lr": 1e-3}, part="IV"),
    _spec("yogi", "Yogi", optim.Yogi, {"lr": (1e-4, 1e-1)}, {"lr": 1e-2}, part="IV"),
    _spec("lion", "Lion", optim.Lion, {"lr": (1e-5, 1e-2), "weight_decay": (1e-2, 10.0)},
          {"lr": 1e-4, "weight_decay": 0.0}, part="IV"),
    _spec("adafactor", "Adafactor", optim.Adafactor, {"lr": (1e-3, 1.0)}, {"lr": 1e-2}, part="IV"),
    Spec("muon", "Muon + AdamW", _muon, {"lr": (1e-4, 1e-1)}, {"lr": 1e-3}, part="IV"),
    _spec("sgd_sf", "SGD, schedule-free", optim.SGDScheduleFree, {"lr": (1e-2, 10.0)}, {"lr": 1.0},
          part="IV"),
    _spec("adamw_sf", "AdamW, schedule-free", optim.AdamWScheduleFree,
          {"lr": (1e-4, 1e-1), "weight_decay": (1e-2, 10.0)}, {"lr": 2.5e-3, "weight_decay": 0.0},
          part="IV"),
]}
