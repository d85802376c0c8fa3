r"""Schedule-Free SGD and AdamW: averaging in place of a learning-rate schedule.

Algorithm (Defazio et al., 2024, "The Road Less Scheduled"; :math:`\gamma` = ``lr``,
:math:`\beta` = ``momentum`` (SGD) or ``betas[0]`` (AdamW), :math:`\lambda` = ``weight_decay``).
Three sequences share one parameter tensor's worth of memory each::

    input: x_1 = z_1 = θ_0, objective f, γ, β, λ, warmup W, r, p (weight_lr_power)
    for t = 1, 2, ...
        y_t ← (1 − β) z_t + β x_t                    where the gradient is taken
        γ_t ← γ · min(1, t / W)                       linear warmup (none when W = 0)
        d_t ← ∇f(y_t)                                  SGD
        d_t ← ∇f(y_t) / (√v̂_t + ε)                   AdamW, v_t Adam's second moment at y_t
        d_t ← d_t + λ y_t                             weight decay, taken at y
        z_{t+1} ← z_t − γ_t d_t                       the fast, "base" sequence: plain steps
        c_{t+1} ← w_t / Σ_{s≤t} w_s,  w_t = t^r · (max_{s≤t} γ_s)^p
        x_{t+1} ← (1 − c_{t+1}) x_t + c_{t+1} z_{t+1}  the slow one: a running average of z

``x`` is the point to evaluate and keep: with r = 0 and no warmup c_{t+1} = 1/t, so after the
first step x = z_2 and x_{t+1} is the plain average of z_2, ..., z_{t+1} (Polyak–Ruppert
averaging; the start x_1 drops out). ``y`` interpolates between them, and β plays the role of
momentum: with β = 0 the method is SGD on z with an averaged x; β = 0.9 is the default.

The parameter tensor holds y while training and x while evaluating, and ``z`` is kept in the
state; x is not stored, because ``x = (y − (1 − β) z) / β``. Substituting this into the two
updates gives the in-place form the code uses (and the paper's code too)::

    y_{t+1} = (1 − c) y_t + c z_t + γ_t (β (1 − c) − 1) d_t,    z_{t+1} = z_t − γ_t d_t

Call ``optimizer.train()`` before training steps and ``optimizer.eval()`` before evaluating
or saving (it moves the parameters from y to x; ``train()`` moves them back). A step in eval
mode raises ``RuntimeError``, as it would silently train the wrong point.

How this compares with other forms:

* The reference implementation ``schedulefree`` (the tests compare with it) keeps the counters
  (t, Σw, max γ) in the parameter groups; here they are per parameter in the state, as torch
  keeps ``step`` (the same numbers when every parameter has a gradient at every step), and the
  gradient is never modified in place.
* AdamW's second moment is bias-corrected like Adam's; there is no first moment: the
  interpolation y plays its role.
* There is no torch.optim twin. The relation to schedules: the averaging of x gives, for the
  last iterate of z, the effect of a linearly decaying schedule without knowing the horizon
  (the schedules chapter's "when do I stop?" problem).
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range, new_step_count, next_step
from .moments import bias_correction, ewma_sq_


def averaging_weight(state: dict, lr: float, r: float, weight_lr_power: float, t) -> float:
    """c_{t+1} = w_t / Σ_{s≤t} w_s with w_t = t^r · (max_{s≤t} γ_s)^p; updates the running sums in ``state``."""
    state["lr_max"] = max(float(state["lr_max"]), lr)
    weight = t ** r * state["lr_max"] ** weight_lr_power
    state["weight_sum"] = float(state["weight_sum"]) + weight
    return weight / state["weight_sum"] if state["weight_sum"] > 0 else 0.0


def schedule_free_step_(y: torch.Tensor, z: torch.Tensor, d: torch.Tensor,
                        lr: float, beta: float, c: float) -> None:
    """In place: z ← z − γd, and y ← (1 − β) z + β x with x ← (1 − c) x + c z."""
    y.lerp_(z, c)                                   # (1 − c) y_t + c z_t
    y.add_(d, alpha=lr * (beta * (1 - c) - 1))      # + γ(β(1 − c) − 1) d_t
    z.sub_(d, alpha=lr)                             # z_{t+1} = z_t − γ d_t


def warmed_up_lr(lr: float, t, warmup_steps: int) -> float:
    """γ_t = γ · min(1, t / W): linear warmup over the first W steps (t counts from 1)."""
    return lr * min(1.0, t / warmup_steps) if warmup_steps > 0 else lr


class _ScheduleFreeModes:
    """``train()`` / ``eval()``: the parameters hold y while training and x while evaluating."""

    def _beta(self, group) -> float:
        raise NotImplementedError

    @torch.no_grad()
    def eval(self):
        """Move every parameter from y to x = (y − (1 − β) z)/β, i.e. y + (1 − 1/β)(z − y)."""
        for group in self.param_groups:
            if group["train_mode"]:
                for p in group["params"]:
                    if "z" in self.state.get(p, {}):
                        p.lerp_(self.state[p]["z"], 1 - 1 / self._beta(group))
                group["train_mode"] = False

    @torch.no_grad()
    def train(self):
        """Move every parameter from x back to y = (1 − β) z + β x."""
        for group in self.param_groups:
            if not group["train_mode"]:
                for p in group["params"]:
                    if "z" in self.state.get(p, {}):
                        p.lerp_(self.state[p]["z"], 1 - self._beta(group))
                group["train_mode"] = True

    def step(self, closure=None):
        if not all(group["train_mode"] for group in self.param_groups):
            raise RuntimeError(f"{type(self).__name__}.step() in eval mode: call optimizer.train() "
                               f"before training (the parameters hold x, not y, after eval())")
        return super().step(closure)


def _check_common(lr, weight_decay, warmup_steps, r, weight_lr_power):
    check_range("lr", lr, 0.0)
    check_range("weight_decay", weight_decay, 0.0)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
        raise ValueError(f"Invalid warmup_steps: {warmup_steps!r} (expected an integer >= 0)")
    check_range("r", r, 0.0)
    check_range("weight_lr_power", weight_lr_power, 0.0)


def _counters(param) -> dict:
    return {"step": new_step_count(param), "weight_sum": 0.0, "lr_max": -1.0}


class SGDScheduleFree(_ScheduleFreeModes, Optimizer):
    """Schedule-Free SGD."""

    def __init__(self, params, lr: float = 1.0, momentum: float = 0.9, weight_decay: float = 0,
                 warmup_steps: int = 0, r: float = 0.0, weight_lr_power: float = 2.0):
        _check_common(lr, weight_decay, warmup_steps, r, weight_lr_power)
        check_range("momentum", momentum, 0.0, 1.0, low_inclusive=False)
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      warmup_steps=warmup_steps, r=r, weight_lr_power=weight_lr_power,
                                      train_mode=True))

    def _beta(self, group):
        return group["momentum"]

    def init_state(self, param, group):
        return {**_counters(param), "z": param.detach().clone()}      # z_1 = x_1 = θ_0

    def update(self, param, grad, state, group):
        lam, beta = group["weight_decay"], group["momentum"]
        t = next_step(state)                                          # t ← t + 1
        lr = warmed_up_lr(group["lr"], t, group["warmup_steps"])      # γ_t
        c = averaging_weight(state, lr, group["r"], group["weight_lr_power"], t)   # c_{t+1}
        d = grad.add(param, alpha=lam) if lam != 0 else grad          # d_t = ∇f(y_t) + λ y_t
        schedule_free_step_(param, state["z"], d, lr, beta, c)        # z_{t+1}, and y_{t+1} from x_{t+1}


class AdamWScheduleFree(_ScheduleFreeModes, Optimizer):
    """Schedule-Free AdamW."""

    def __init__(self, params, lr: float = 0.0025, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0):
        _check_common(lr, weight_decay, warmup_steps, r, weight_lr_power)
        check_range("eps", eps, 0.0)
        if len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
        check_range("betas[0]", betas[0], 0.0, 1.0, low_inclusive=False)
        check_range("betas[1]", betas[1], 0.0, 1.0)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      warmup_steps=warmup_steps, r=r, weight_lr_power=weight_lr_power,
                                      train_mode=True))

    def _beta(self, group):
        return group["betas"][0]

    def init_state(self, param, group):
        return {**_counters(param), "z": param.detach().clone(), "exp_avg_sq": torch.zeros_like(param)}

    def update(self, param, grad, state, group):
        (beta1, beta2), eps, lam = group["betas"], group["eps"], group["weight_decay"]
        t = next_step(state)                                          # t ← t + 1
        lr = warmed_up_lr(group["lr"], t, group["warmup_steps"])      # γ_t
        c = averaging_weight(state, lr, group["r"], group["weight_lr_power"], t)   # c_{t+1}
        v = ewma_sq_(state["exp_avg_sq"], grad, beta2)                # v_t = β2 v_{t−1} + (1−β2) ∇f(y_t)²
        d = grad / v.div(bias_correction(beta2, t)).sqrt_().add_(eps)  # d_t = ∇f(y_t) / (√v̂_t + ε)
        if lam != 0:
            d.add_(param, alpha=lam)                                  # d_t ← d_t + λ y_t
        schedule_free_step_(param, state["z"], d, lr, beta1, c)       # z_{t+1}, and y_{t+1} from x_{t+1}
