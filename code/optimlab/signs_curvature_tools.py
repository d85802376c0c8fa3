r"""Second-order methods and experiments for the chapter *Signs and curvature*.

Newton's method and BFGS are not torch optimizers: they are written here as short functions on a
*flat problem*, one parameter vector :math:`w \in \mathbb{R}^n` and a loss :math:`f(w)`. The same
problems also run the package's optimizers (Rprop, Adam, L-BFGS, ...) through a closure, so every
method is counted in the same currency: evaluations of :math:`f` and :math:`\nabla f`.

>>> from optimlab.data import load_digits
>>> problem = softmax_regression(load_digits(), weight_decay=1e-3)
>>> run = newton(problem, iterations=10)
>>> run.losses[-1] < run.losses[0]
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from .optim.lbfgs import strong_wolfe

__all__ = ["FlatProblem", "Run", "softmax_regression", "network_problem", "two_loop", "bfgs_inverse_update",
           "newton", "bfgs", "gradient_descent", "run_optimizer_flat", "objective_problem", "draw_paths",
           "relative_update_rms", "best_so_far", "curvature_noise", "memory_bytes", "format_bytes",
           "crosscheck_lbfgs"]

DTYPE = torch.float64


@dataclass
class FlatProblem:
    """A loss ``loss(w)`` of one flat parameter vector ``w`` (float64) and the starting point ``w0``."""
    name: str
    loss: Callable[[torch.Tensor], torch.Tensor]
    w0: torch.Tensor
    exact_hessian: Callable[[torch.Tensor], torch.Tensor] | None = None
    predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    inputs: torch.Tensor | None = None
    targets: torch.Tensor | None = None

    @property
    def n(self) -> int:
        return self.w0.numel()

    def value_and_grad(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f(w) and ∇f(w), both detached."""
        w = w.detach().requires_grad_(True)
        value = self.loss(w)
        (grad,) = torch.autograd.grad(value, w)
        return value.detach(), grad

    def batch_loss(self, w: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """The cross-entropy on the training examples ``index`` only (a minibatch)."""
        return torch.nn.functional.cross_entropy(self.predict(w, self.inputs[index]), self.targets[index])

    def accuracy(self, w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
        """Fraction of the examples ``x`` whose largest logit at ``w`` is the true class ``y``."""
        with torch.no_grad():
            return float((self.predict(w.detach(), x.to(DTYPE)).argmax(1) == y).to(DTYPE).mean())

    def hessian(self, w: torch.Tensor) -> torch.Tensor:
        """∇²f(w), an n × n matrix: in closed form when the problem has one, else by autograd (one
        Hessian-vector product per column)."""
        if self.exact_hessian is not None:
            return self.exact_hessian(w.detach())
        return torch.autograd.functional.hessian(self.loss, w.detach(), vectorize=True)


@dataclass
class Run:
    """What one method did: the loss at every evaluation of f and ∇f (``losses[k]`` after k + 1
    evaluations), the loss at every iterate (``iterates[k]`` after k iterations) and the iterates
    themselves (``points``, the start included)."""
    name: str
    losses: list = field(default_factory=list)
    iterates: list = field(default_factory=list)
    evals_per_iteration: list = field(default_factory=list)
    points: list = field(default_factory=list)

    @property
    def evaluations(self) -> int:
        return len(self.losses)


def softmax_regression(data, weight_decay: float = 1e-3) -> FlatProblem:
    """Multinomial logistic regression on ``data`` (a :class:`~optimlab.data.Split` with class labels),
    with a bias per class and the penalty ``weight_decay / 2 · ‖W‖²``; starts from ``w = 0``.

    The loss is convex. With ``weight_decay > 0`` its minimum is attained, at one ``W``; the biases are
    fixed only up to a common shift (it changes no probability), so the Hessian is singular along it.
    """
    x = torch.cat([data.x_train.to(DTYPE), torch.ones(len(data.x_train), 1, dtype=DTYPE)], dim=1)
    y = data.y_train
    classes = int(y.max()) + 1

    n, d = x.shape
    penalized = torch.ones(classes, d, dtype=DTYPE)
    penalized[:, -1] = 0                                                # no penalty on the biases

    def loss(w):
        weights = w.view(classes, d)
        return (torch.nn.functional.cross_entropy(x @ weights.T, y)
                + 0.5 * weight_decay * (penalized * weights ** 2).sum())

    def hessian(w):
        # ∇²f = (1/N) Σ_i (diag(p_i) − p_i p_iᵀ) ⊗ x_i x_iᵀ + λ I (weights only)
        p = torch.softmax(x @ w.view(classes, d).T, dim=1)             # N × C probabilities
        h = torch.zeros(classes, d, classes, d, dtype=DTYPE)
        for c in range(classes):
            h[c, :, c, :] = (x * p[:, c:c + 1]).T @ x / n               # diag(p_i) ⊗ x_i x_iᵀ
        outer = (p[:, :, None] * x[:, None, :]).reshape(n, classes * d)
        h = h.reshape(classes * d, classes * d) - outer.T @ outer / n  # − p_i p_iᵀ ⊗ x_i x_iᵀ
        return h + torch.diag(weight_decay * penalized.reshape(-1))
    return FlatProblem("softmax regression", loss, torch.zeros(classes * d, dtype=DTYPE), hessian)


def network_problem(data, model: torch.nn.Module) -> FlatProblem:
    """The full-batch cross-entropy of ``model`` on ``data``'s training set, as a loss of one flat vector
    that holds all the model's parameters; starts from the model's initial weights."""
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    model = model.to(DTYPE)
    x, y = data.x_train.to(DTYPE), data.y_train

    def predict(w, inputs):
        params = {name: part.view(shape) for name, part, shape in zip(names, w.split(sizes), shapes)}
        return torch.func.functional_call(model, params, (inputs,))

    def loss(w):
        return torch.nn.functional.cross_entropy(predict(w, x), y)
    w0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).to(DTYPE)
    return FlatProblem("network", loss, w0, predict=predict, inputs=x, targets=y)


def two_loop(grad: torch.Tensor, pairs: list, gamma: float) -> torch.Tensor:
    r"""The product :math:`H g` of L-BFGS's inverse-Hessian estimate with ``grad``, without forming H.

    ``pairs`` are the stored :math:`(s_i, y_i)`, oldest first; ``gamma`` scales the initial estimate
    :math:`H_0 = \gamma I`. The result equals applying ``bfgs_inverse_update`` for every pair, in order,
    to :math:`\gamma I` and multiplying by ``grad``.
    """
    q = grad.clone()
    alphas = []
    for s, y in reversed(pairs):                  # newest to oldest
        rho = 1.0 / y.dot(s)                      # ρ_i = 1 / y_iᵀs_i
        alpha = rho * s.dot(q)                    # α_i = ρ_i s_iᵀq
        q -= alpha * y                            # q ← q − α_i y_i
        alphas.append(alpha)
    r = gamma * q                                 # r = H_0 q
    for (s, y), alpha in zip(pairs, reversed(alphas)):   # oldest to newest
        beta = y.dot(r) / y.dot(s)                # β_i = ρ_i y_iᵀr
        r += (alpha - beta) * s                   # r ← r + (α_i − β_i) s_i
    return r


def bfgs_inverse_update(h: torch.Tensor, s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""BFGS's update of the inverse-Hessian estimate:
    :math:`H_+ = (I - \rho s y^\top) H (I - \rho y s^\top) + \rho s s^\top` with :math:`\rho = 1/y^\top s`."""
    rho = 1.0 / y.dot(s)
    hy = h @ y                                                          # H y (H is symmetric)
    # expanded: H₊ = H − ρ (s (Hy)ᵀ + (Hy) sᵀ) + (ρ² yᵀHy + ρ) s sᵀ, O(n²) work
    return (h - rho * (torch.outer(s, hy) + torch.outer(hy, s))
            + (rho * rho * y.dot(hy) + rho) * torch.outer(s, s))


def _counting(problem: FlatProblem, run: Run):
    def value_and_grad(w):
        value, grad = problem.value_and_grad(w)
        run.losses.append(float(value))
        return value, grad
    return value_and_grad


def _line_search(value_and_grad, w, d, f, g, tau):
    """The strong Wolfe line search of ``optimlab.optim.LBFGS`` along ``d``: (f, ∇f, τ, evaluations)."""
    def phi(t):
        return value_and_grad(w + t * d)
    return strong_wolfe(phi, tau, d, f, g, g.dot(d))


def newton(problem: FlatProblem, iterations: int = 10, *, line_search: bool = True) -> Run:
    r"""Newton's method :math:`w \leftarrow w - \tau\, [\nabla^2 f(w)]^{-1} \nabla f(w)`, with τ from the
    strong Wolfe line search started at τ = 1 (or τ = 1 always when ``line_search`` is False)."""
    run = Run("Newton")
    value_and_grad = _counting(problem, run)
    w = problem.w0.clone()
    f, g = value_and_grad(w)
    run.iterates.append(float(f))
    run.points.append(w.clone())
    for _ in range(iterations):
        d = -torch.linalg.solve(problem.hessian(w), g)                  # d = −[∇²f]⁻¹ ∇f
        if line_search:
            f, g, tau, evals = _line_search(value_and_grad, w, d, f, g, 1.0)
        else:
            tau, evals = 1.0, 1
            f, g = value_and_grad(w + d)
        w = w + tau * d
        run.iterates.append(float(f))
        run.points.append(w.clone())
        run.evals_per_iteration.append(evals)
    return run


def bfgs(problem: FlatProblem, iterations: int = 50) -> Run:
    r"""BFGS with a dense inverse-Hessian estimate H (n × n), the strong Wolfe line search, and
    :math:`H_0 = \frac{y^\top s}{y^\top y} I` set after the first step (Nocedal and Wright, eq. 6.20)."""
    run = Run("BFGS")
    value_and_grad = _counting(problem, run)
    w = problem.w0.clone()
    f, g = value_and_grad(w)
    run.iterates.append(float(f))
    run.points.append(w.clone())
    h = None
    for k in range(iterations):
        d = -g if h is None else -(h @ g)                              # d = −H ∇f
        tau = min(1.0, 1.0 / float(g.abs().sum())) if h is None else 1.0
        f_new, g_new, tau, evals = _line_search(value_and_grad, w, d, f, g, tau)
        s, y = tau * d, g_new - g                                       # s = w₊ − w, y = ∇f₊ − ∇f
        if y.dot(s) > 1e-10:
            if h is None:
                h = float(y.dot(s) / y.dot(y)) * torch.eye(problem.n, dtype=DTYPE)
            h = bfgs_inverse_update(h, s, y)
        w, f, g = w + s, f_new, g_new
        run.iterates.append(float(f))
        run.points.append(w.clone())
        run.evals_per_iteration.append(evals)
    return run


def gradient_descent(problem: FlatProblem, lr: float, iterations: int) -> Run:
    """Plain full-batch gradient descent with a fixed learning rate (one evaluation per step)."""
    return run_optimizer_flat(problem, lambda params: torch.optim.SGD(params, lr=lr), evaluations=iterations,
                              name=f"gradient descent, lr = {lr:g}")


def run_optimizer_flat(problem: FlatProblem, make_optimizer: Callable, *, evaluations: int,
                       name: str = "") -> Run:
    """Minimise ``problem`` with ``make_optimizer([w])`` (any torch-style optimizer, ours or torch's),
    calling ``step(closure)`` until ``evaluations`` evaluations of f and ∇f are spent. Every call of the
    closure is recorded in ``losses``, and the parameters after each ``step`` in ``points`` (``iterates``
    stays empty: the loss at the new point would cost an evaluation that the optimizer did not ask for)."""
    run = Run(name)
    w = problem.w0.clone().requires_grad_(True)
    optimizer = make_optimizer([w])
    run.points.append(w.detach().clone())

    def closure():
        optimizer.zero_grad()
        value = problem.loss(w)
        value.backward()
        run.losses.append(float(value.detach()))
        return value
    while run.evaluations < evaluations:
        before = run.evaluations
        optimizer.step(closure)
        if run.evaluations == before:                                   # converged: nothing evaluated
            break
        run.evals_per_iteration.append(run.evaluations - before)
        run.points.append(w.detach().clone())
    run.losses = run.losses[:evaluations]
    return run


def objective_problem(objective, x0=None) -> FlatProblem:
    """A two-dimensional :class:`~optimlab.objectives.Objective` as a flat problem (from its ``x0``)."""
    start = objective.x0 if x0 is None else x0
    return FlatProblem(objective.name, objective, torch.as_tensor(start, dtype=DTYPE).reshape(-1).clone())


def draw_paths(ax, objective, paths: dict, colors: dict, *, markersize: float = 3.5):
    """Contours of ``objective`` and one path per entry of ``paths`` (``{name: points}``, points an
    array or list of shape (steps + 1, 2)), each in ``colors[name]``; a square marks each start."""
    from .plots import trace_2d
    trace_2d(objective, None, ax=ax)
    for name, points in paths.items():
        xy = torch.stack([torch.as_tensor(p) for p in points]).numpy() if isinstance(points, list) else points
        ax.plot(xy[:, 0], xy[:, 1], "-o", color=colors[name], ms=markersize, lw=1.2, label=name, zorder=3)
        ax.plot(xy[:1, 0], xy[:1, 1], "s", color=colors[name], ms=6, zorder=4)
    return ax


def relative_update_rms(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batches, loss_fn) -> torch.Tensor:
    """Train ``model`` on ``batches`` (pairs (x, y)) and return, for every step, the root mean square of
    the update of all weights, ``√mean((θ_t − θ_{t−1})²)``, divided by the learning rate η. For a sign
    method without weight decay this is exactly 1 (every coordinate moves by ±η)."""
    params = [p for p in model.parameters() if p.requires_grad]
    sizes = []
    for x, y in batches:
        before = [p.detach().clone() for p in params]
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        squares = sum(float(((p.detach() - b) ** 2).sum()) for p, b in zip(params, before))
        count = sum(p.numel() for p in params)
        sizes.append(math.sqrt(squares / count) / optimizer.param_groups[0]["lr"])
    return torch.tensor(sizes, dtype=DTYPE)


def best_so_far(losses) -> torch.Tensor:
    """The lowest loss among the first k evaluations, for every k."""
    return torch.tensor(losses, dtype=DTYPE).cummin(0).values


def curvature_noise(problem: FlatProblem, w: torch.Tensor, s: torch.Tensor, batch_sizes,
                    repeats: int = 20, seed: int = 0) -> dict:
    r"""How much minibatch noise corrupts the curvature pair :math:`(s, y)` at ``w``.

    ``y = ∇f(w + s) − ∇f(w)`` on the full batch is the reference. For each batch size B, ``repeats``
    times: y from two *independent* minibatches (as when consecutive steps see different data) and y
    from the *same* minibatch at both points (``problem.batch_loss``). Returns ``{B: {"independent": errors, "same": errors, "negative": fraction}}`` where
    errors are ``‖y_B − y‖ / ‖y‖`` (a tensor over the repeats) and ``negative`` is the fraction of
    independent pairs with ``y_Bᵀs ≤ 0``, which L-BFGS would have to skip.
    """
    def grad_at(point, index=None):
        point = point.detach().requires_grad_(True)
        value = problem.loss(point) if index is None else problem.batch_loss(point, index)
        return torch.autograd.grad(value, point)[0]
    y_full = grad_at(w + s) - grad_at(w)
    generator = torch.Generator().manual_seed(seed)
    n_examples = len(problem.targets)
    out = {}
    for b in batch_sizes:
        independent, same, negative = [], [], 0
        for _ in range(repeats):
            i1 = torch.randperm(n_examples, generator=generator)[:b]
            i2 = torch.randperm(n_examples, generator=generator)[:b]
            y_ind = grad_at(w + s, i2) - grad_at(w, i1)
            y_same = grad_at(w + s, i1) - grad_at(w, i1)
            independent.append(float((y_ind - y_full).norm() / y_full.norm()))
            same.append(float((y_same - y_full).norm() / y_full.norm()))
            negative += int(y_ind.dot(s) <= 0)
        out[b] = {"independent": torch.tensor(independent), "same": torch.tensor(same),
                  "negative": negative / repeats}
    return out


def memory_bytes(n: int, history: int = 100, bytes_per_number: int = 4) -> dict:
    """Optimizer memory for ``n`` parameters: a dense Hessian (n²), L-BFGS's ``history`` pairs (2 m n,
    plus its direction, previous gradient and the m numbers ρ), Adam's two moments (2n), Lion's one (n)."""
    return {"Hessian": n * n * bytes_per_number,
            "L-BFGS": (2 * history * n + 2 * n + history) * bytes_per_number,
            "Adam": 2 * n * bytes_per_number,
            "Lion": n * bytes_per_number}


def format_bytes(count: float) -> str:
    """``count`` bytes with a binary unit: ``format_bytes(3 * 2**20)`` is ``'3.0 MiB'``."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    power = 0 if count < 1024 else min(int(math.log(count, 1024)), len(units) - 1)
    return f"{count / 1024 ** power:.1f} {units[power]}" if power else f"{count:.0f} B"


def _state_diff(a, b) -> float:
    """Largest absolute difference between two state values: tensors, numbers or lists of tensors."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if not isinstance(a, (list, tuple)) or not isinstance(b, (list, tuple)) or len(a) != len(b):
            return float("inf")
        return max((_state_diff(x, y) for x, y in zip(a, b)), default=0.0)
    if torch.is_tensor(a) or torch.is_tensor(b):
        a = torch.as_tensor(a).detach().to("cpu", DTYPE)
        b = torch.as_tensor(b).detach().to("cpu", DTYPE)
        if a.shape != b.shape:
            return float("inf")
        return float((a - b).abs().max()) if a.numel() else 0.0
    if a is None or b is None:
        return 0.0 if a is b else float("inf")
    return abs(float(a) - float(b))


def crosscheck_lbfgs(ours, theirs, steps: int = 20, *, device=None, seed: int = 0, atol: float = 1e-10,
                     **hparams):
    """Run two L-BFGS classes side by side on the same seeded full-batch problem (a small tanh network
    with a least-squares loss, float64) for ``steps`` calls of ``step(closure)``; compare the
    parameters, the losses returned and every entry of the state, including L-BFGS's lists of
    stored pairs. Returns a :class:`~optimlab.crosscheck.CrossCheck`."""
    from .crosscheck import CrossCheck
    from .utils import default_device, public_name
    device = torch.device(device) if device is not None else default_device()
    g = torch.Generator().manual_seed(seed)
    init = [torch.randn(6, 4, generator=g, dtype=DTYPE) * 0.5, torch.randn(6, generator=g, dtype=DTYPE) * 0.1,
            torch.randn(3, 6, generator=g, dtype=DTYPE) * 0.5, torch.randn(3, generator=g, dtype=DTYPE) * 0.1]
    x, y = torch.randn(64, 4, generator=g, dtype=DTYPE), torch.randn(64, 3, generator=g, dtype=DTYPE)
    init, x, y = [t.to(device) for t in init], x.to(device), y.to(device)
    runs = []
    for cls in (ours, theirs):
        params = [t.clone().requires_grad_(True) for t in init]
        runs.append((params, cls(params, **hparams)))
    diffs = {"parameters": 0.0, "losses": 0.0, "state": 0.0}
    for _ in range(steps):
        losses = []
        for params, opt in runs:
            w1, b1, w2, b2 = params

            def closure(opt=opt, w1=w1, b1=b1, w2=w2, b2=b2):
                opt.zero_grad()
                value = ((torch.tanh(x @ w1.T + b1) @ w2.T + b2 - y) ** 2).mean()
                value.backward()
                return value
            losses.append(opt.step(closure))
        diffs["losses"] = max(diffs["losses"], _state_diff(*losses))
        (p_a, o_a), (p_b, o_b) = runs
        for a, b in zip(p_a, p_b):
            diffs["parameters"] = max(diffs["parameters"], _state_diff(a.detach(), b.detach()))
        s_a, s_b = o_a.state[p_a[0]], o_b.state[p_b[0]]
        for key in set(s_a) | set(s_b):
            value = _state_diff(s_a.get(key), s_b.get(key)) if key in s_a and key in s_b else float("inf")
            diffs["state"] = max(diffs["state"], value)
    missing = sorted(set(o_a.state[p_a[0]]) ^ set(o_b.state[p_b[0]]))
    notes = tuple(f"state {key!r} is kept by one side only" for key in missing)
    return CrossCheck(public_name(ours), public_name(theirs), str(device), steps, diffs, atol, notes)
