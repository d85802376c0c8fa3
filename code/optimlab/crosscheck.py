"""Run one of our implementations beside its torch twin on the same seeded problem and report the
largest difference.

>>> from optimlab.optim import SGD
>>> crosscheck(SGD, torch.optim.SGD, steps=50, lr=0.1, momentum=0.9)
optimlab.optim.SGD vs torch.optim.SGD on cpu, 50 steps: largest difference 0.0e+00 ...

What is compared depends on the pair:

* optimizers (subclasses of ``torch.optim.Optimizer``): a small two-layer network with parameters of
  several shapes (matrices, vectors, a 0-d scalar, and one parameter that never gets a gradient) is
  trained on seeded mini-batches; after every step the parameters and the optimizer state
  (``opt.state``, key by key) are compared;
* LR schedulers (subclasses of ``torch.optim.lr_scheduler.LRScheduler``): the learning rate after
  every ``scheduler.step()``;
* modules (``torch.nn.Module``): outputs, input gradients, parameter gradients and buffers over
  ``steps`` forward/backward passes in training mode, then one in evaluation mode
  (pass ``input_shape``).

Keyword arguments other than the ones of :func:`crosscheck` go to both constructors. torch's
optimizers get ``foreach=False`` unless told otherwise: their for-loop path is the reference (the
multi-tensor path agrees only up to rounding).
"""

from __future__ import annotations

import html
import inspect
from dataclasses import dataclass, field

import torch

from .utils import default_device, public_name

__all__ = ["CrossCheck", "crosscheck"]


@dataclass(frozen=True)
class CrossCheck:
    """The result of :func:`crosscheck`: the largest absolute difference per compared quantity."""
    ours: str
    theirs: str
    device: str
    steps: int
    diffs: dict
    atol: float
    notes: tuple = field(default=())

    @property
    def max_diff(self) -> float:
        """The largest absolute difference over everything compared."""
        return max(self.diffs.values(), default=0.0)

    @property
    def ok(self) -> bool:
        """True when every difference is within ``atol`` and nothing is missing on either side."""
        return self.max_diff <= self.atol and not self.notes

    def __repr__(self) -> str:
        parts = ", ".join(f"{k} {v:.1e}" for k, v in self.diffs.items())
        verdict = f"agree within {self.atol:.0e}" if self.ok else f"DIFFER (tolerance {self.atol:.0e})"
        text = (f"{self.ours} vs {self.theirs} on {self.device}, {self.steps} steps: largest difference "
                f"{self.max_diff:.1e} ({parts}) -- {verdict}")
        return "\n".join([text, *("  - " + note for note in self.notes)])

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#cf222e"
        lines = html.escape(repr(self)).split("\n")
        rest = "".join(f"<br>{line}" for line in lines[1:])
        return (f'<div class="optimlab-crosscheck" style="border-left:4px solid {colour};padding:0.4em 0.8em;'
                f'margin:0.4em 0"><span style="color:{colour};font-weight:bold">{"✓" if self.ok else "✗"}</span> '
                f'{lines[0]}{rest}</div>')


def _diff(a, b) -> float:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        a, b = torch.as_tensor(a).detach().double().cpu(), torch.as_tensor(b).detach().double().cpu()
        if a.shape != b.shape:
            return float("inf")
        if a.numel() == 0:
            return 0.0
        both_nan = torch.isnan(a) & torch.isnan(b)
        return float(torch.where(both_nan, 0.0, (a - b).abs()).max())
    if a is None or b is None:
        return 0.0 if a is b else float("inf")
    return abs(float(a) - float(b))


def _with_reference_flags(cls, hparams: dict) -> dict:
    params = inspect.signature(cls.__init__).parameters
    if "foreach" in params and "foreach" not in hparams:
        return {**hparams, "foreach": False}
    return hparams


def _network(device, dtype, seed: int):
    """Initial parameters of a tiny two-layer network, its seeded data, and its loss."""
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    init = [rand(6, 4) * 0.5, rand(6) * 0.1, rand(3, 6) * 0.5, rand(3) * 0.1, rand(()), rand(5)]
    inputs, targets = rand(64, 4), rand(64, 3)
    init = [t.to(device, dtype) for t in init]
    inputs, targets = inputs.to(device, dtype), targets.to(device, dtype)

    def loss(params, step: int):
        w1, b1, w2, b2, gain, _unused = params  # the last parameter never gets a gradient
        rows = slice(16 * (step % 4), 16 * (step % 4 + 1))
        out = (torch.tanh(inputs[rows] @ w1.T + b1) @ w2.T + b2) * (1 + 0.1 * torch.tanh(gain))
        return ((out - targets[rows]) ** 2).mean()
    return init, loss


def _crosscheck_optimizer(ours, theirs, steps, device, dtype, seed, groups, hparams):
    init, loss = _network(device, dtype, seed)
    runs = []
    for cls, kwargs in ((ours, hparams), (theirs, _with_reference_flags(theirs, hparams))):
        params = [t.clone().requires_grad_(True) for t in init]
        if groups:
            spec = [{"params": params[i::len(groups)], **extra} for i, extra in enumerate(groups)]
            opt = cls(spec, **kwargs)
        else:
            opt = cls(params, **kwargs)
        runs.append((params, opt))
    diffs = {"parameters": 0.0, "state": 0.0}
    missing = {}  # (key, side) -> parameter indices
    for step in range(steps):
        for params, opt in runs:
            def closure(params=params, opt=opt):
                opt.zero_grad()
                value = loss(params, step)
                value.backward()
                return value
            opt.step(closure)
        (p_ours, o_ours), (p_theirs, o_theirs) = runs
        for i, (a, b) in enumerate(zip(p_ours, p_theirs)):
            diffs["parameters"] = max(diffs["parameters"], _diff(a, b))
            s_a, s_b = o_ours.state.get(a, {}), o_theirs.state.get(b, {})
            for key in set(s_a) | set(s_b):
                if key not in s_a or key not in s_b:
                    side = "ours" if key not in s_a else "theirs"
                    missing.setdefault((key, side), set()).add(i)
                    continue
                diffs["state"] = max(diffs["state"], _diff(s_a[key], s_b[key]))
    notes = tuple(f"state {key!r} is missing from {side} (parameters {sorted(indices)})"
                  for (key, side), indices in sorted(missing.items()))
    return diffs, notes


def _crosscheck_scheduler(ours, theirs, steps, device, dtype, seed, hparams):
    lrs = []
    for cls in (ours, theirs):
        param = torch.zeros(1, device=device, dtype=dtype, requires_grad=True)
        opt = torch.optim.SGD([param], lr=0.1)
        scheduler = cls(opt, **hparams)
        seen = [scheduler.get_last_lr()[0]]
        for _ in range(steps):
            opt.step()
            scheduler.step()
            seen.append(scheduler.get_last_lr()[0])
        lrs.append(torch.tensor(seen, dtype=torch.float64))
    return {"learning rates": _diff(*lrs)}, ()


def _crosscheck_module(ours, theirs, steps, device, dtype, seed, input_shape, hparams):
    if input_shape is None:
        raise ValueError("crosscheck of modules needs input_shape, e.g. input_shape=(16, 8)")
    torch.manual_seed(seed)
    reference = theirs(**hparams).to(device, dtype)
    mine = ours(**hparams).to(device, dtype)
    mine.load_state_dict(reference.state_dict())
    g = torch.Generator().manual_seed(seed)
    diffs = {"outputs": 0.0, "input gradients": 0.0, "parameter gradients": 0.0, "buffers": 0.0}
    for step in range(steps + 1):
        training = step < steps
        x = torch.randn(*input_shape, generator=g, dtype=torch.float64).to(device, dtype)
        outs = []
        for module in (mine, reference):
            module.train(training)
            module.zero_grad()
            xi = x.clone().requires_grad_(True)
            out = module(xi)
            weight = torch.linspace(-1, 1, out.numel(), dtype=dtype, device=device).reshape(out.shape)
            (out * weight).sum().backward()
            outs.append((out, xi.grad, [p.grad for p in module.parameters()], list(module.buffers())))
        (o1, g1, pg1, b1), (o2, g2, pg2, b2) = outs
        diffs["outputs"] = max(diffs["outputs"], _diff(o1, o2))
        diffs["input gradients"] = max(diffs["input gradients"], _diff(g1, g2))
        for a, b in zip(pg1, pg2):
            diffs["parameter gradients"] = max(diffs["parameter gradients"], _diff(a, b))
        for a, b in zip(b1, b2):
            diffs["buffers"] = max(diffs["buffers"], _diff(a, b))
    notes = ()
    if len(pg1) != len(pg2) or len(b1) != len(b2):
        notes = (f"different numbers of parameters/buffers: {len(pg1)}/{len(b1)} vs {len(pg2)}/{len(b2)}",)
    return diffs, notes


def crosscheck(ours, theirs, steps: int = 50, *, device=None, dtype: torch.dtype = torch.float64,
               seed: int = 0, atol: float | None = None, groups: list[dict] | None = None,
               input_shape: tuple | None = None, **hparams) -> CrossCheck:
    """Run ``ours`` and its twin ``theirs`` (an optimizer, LR scheduler or module class) side by side.

    ``hparams`` go to both constructors. ``device`` defaults to CUDA when available, else the CPU.
    ``atol`` defaults to 1e-10 in float64 and 1e-5 otherwise. For optimizers, ``groups`` (a list of
    dicts of per-group overrides) splits the parameters into that many parameter groups.
    """
    device = torch.device(device) if device is not None else default_device()
    atol = atol if atol is not None else (1e-10 if dtype == torch.float64 else 1e-5)
    if isinstance(theirs, type) and issubclass(theirs, torch.optim.Optimizer):
        diffs, notes = _crosscheck_optimizer(ours, theirs, steps, device, dtype, seed, groups, hparams)
    elif isinstance(theirs, type) and issubclass(theirs, torch.optim.lr_scheduler.LRScheduler):
        diffs, notes = _crosscheck_scheduler(ours, theirs, steps, device, dtype, seed, hparams)
    elif isinstance(theirs, type) and issubclass(theirs, torch.nn.Module):
        diffs, notes = _crosscheck_module(ours, theirs, steps, device, dtype, seed, input_shape, hparams)
    else:
        raise TypeError(f"crosscheck compares optimizers, LR schedulers or modules, not {theirs!r}")
    return CrossCheck(public_name(ours), public_name(theirs), str(device), steps, diffs, atol, notes)
