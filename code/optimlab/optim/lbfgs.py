r"""L-BFGS: a quasi-Newton direction from the last few steps, then a step along it.

All parameters are treated as one vector θ ∈ ℝᴺ (complex ones as pairs of reals) and g is the
gradient of the whole objective. One call of ``step(closure)`` runs up to ``max_iter``
iterations; the closure re-evaluates f and its gradient, and it may be called several times.

Algorithm (torch's form; :math:`\eta` = ``lr``, m = ``history_size``, ε_g = ``tolerance_grad``,
ε_f = ``tolerance_change``; sᵢ = θᵢ₊₁ − θᵢ the steps, yᵢ = gᵢ₊₁ − gᵢ the changes of gradient)::

    input: θ, objective f (the closure), η, max_iter, max_eval, ε_g, ε_f, m, line_search_fn
    f, g ← f(θ), ∇f(θ)                                     one evaluation, every call
    if max|g| ≤ ε_g: stop                                  (already optimal)
    for k = 1, ..., max_iter
        if this is the very first iteration (n_iter = 1)
            d ← −g;  history empty;  γ ← 1
        else
            y ← g − g_prev;  s ← τ d                       (τ, d: the previous step length and direction)
            if yᵀs > 1e-10                                 curvature condition, else skip the pair
                append (s, y) and ρ = 1/(yᵀs) to the history, dropping the oldest beyond m pairs
                γ ← yᵀs / yᵀy                              scale of the initial inverse Hessian
            d ← −H g  by the two-loop recursion:
                q ← −g
                for i = newest, ..., oldest:  αᵢ ← ρᵢ sᵢᵀq;   q ← q − αᵢ yᵢ
                r ← γ q
                for i = oldest, ..., newest:  βᵢ ← ρᵢ yᵢᵀr;   r ← r + (αᵢ − βᵢ) sᵢ
                d ← r
        g_prev ← g;  f_prev ← f
        τ ← min(1, 1/‖g‖₁) η   on the very first iteration;  τ ← η  afterwards
        if gᵀd > −ε_f: stop                                (not a descent direction)
        if line_search_fn = "strong_wolfe"
            τ ← a step satisfying the strong Wolfe conditions along d, started at τ (below)
            θ ← θ + τ d;  f, g come from the line search
        else
            θ ← θ + τ d
            f, g ← f(θ), ∇f(θ)                             (skipped in the last iteration)
        stop if k = max_iter, or max_eval evaluations are spent, or max|g| ≤ ε_g,
             or max|τ d| ≤ ε_f, or |f − f_prev| < ε_f
    return the loss of the first evaluation

The strong Wolfe line search (Nocedal and Wright, Algorithms 3.5 and 3.6) looks for τ with

    f(θ + τd) ≤ f(θ) + c1 τ gᵀd          sufficient decrease (c1 = 1e-4)
    |∇f(θ + τd)ᵀd| ≤ c2 |gᵀd|            curvature, strong form (c2 = 0.9)

in two phases, each trial point costing one evaluation, at most ``max_eval`` minus those
already spent: *bracketing* tries τ, then extrapolates (the minimiser of the cubic through the
last two points' values and slopes, kept in [τ + 0.01 (τ − τ_prev), 10 τ]) until a point meets
both conditions or an interval is known to hold one; *zoom* then shrinks that interval, trying
the cubic's minimiser, moved to 10 % of the interval from its ends when it lands too near an
end twice in a row (or on or beyond one), until a point meets both conditions or the interval
is shorter than 1e-9 / max|d|.

State (kept under the first parameter, as torch keeps it, with torch's names): ``func_evals``
and ``n_iter`` (totals over all calls), ``d`` (direction), ``t`` (τ), ``old_dirs`` (the yᵢ),
``old_stps`` (the sᵢ), ``ro`` (the ρᵢ), ``H_diag`` (γ), ``prev_flat_grad``, ``prev_loss`` and
``al`` (the αᵢ of the last two-loop recursion).

How torch's form compares with the textbook (Nocedal and Wright, Algorithm 7.4/7.5):

* The iteration counter ``n_iter`` survives between calls: only the very first iteration ever
  takes the scaled gradient step; later calls continue from the stored history.
* Without a line search the step is the fixed τ = η (η = 1 is the natural quasi-Newton step);
  the textbook always uses a line search. The first step is shortened to at most η/‖g‖₁.
* The line search's own interval tolerance is a fixed 1e-9, not ``tolerance_change``.
* A pair (s, y) with yᵀs ≤ 1e-10 is skipped rather than damped.
* Only one parameter group (no per-parameter options), as in torch.
"""

from __future__ import annotations

import torch

from ._base import Optimizer, check_range

C1, C2 = 1e-4, 0.9                 # strong Wolfe constants: sufficient decrease, curvature
LINE_SEARCH_TOLERANCE = 1e-9       # the line search's interval tolerance (fixed, as in torch)
CURVATURE_THRESHOLD = 1e-10        # a pair (s, y) is kept only if yᵀs exceeds this


def cubic_minimizer(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic with values f1, f2 and slopes g1, g2 at x1, x2, clamped to ``bounds``.

    ``bounds`` defaults to the interval between x1 and x2. When the cubic has no minimiser
    (its discriminant d1² − g1 g2 is negative) the midpoint of the bounds is returned.
    """
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_sq = d1 ** 2 - g1 * g2
    if d2_sq < 0:
        return (lo + hi) / 2.0
    d2 = d2_sq.sqrt()
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def strong_wolfe(phi, tau, d, f0, g0, slope0, c1=C1, c2=C2, tolerance=LINE_SEARCH_TOLERANCE, max_ls=25):
    """Line search along ``d`` from a point with loss ``f0``, gradient ``g0`` and slope ``slope0 = g0ᵀd``.

    ``phi(τ)`` returns (f, ∇f) at θ + τd. Returns (f, ∇f, τ, number of evaluations) at the step
    chosen: one that meets the strong Wolfe conditions, or the best point found when the search
    runs out of evaluations (``max_ls``) or its interval shrinks below ``tolerance``.
    """
    d_max = d.abs().max()
    g0 = g0.clone(memory_format=torch.contiguous_format)

    def armijo_fails(f, tau):                               # f(θ + τd) > f(θ) + c1 τ gᵀd
        return f > (f0 + c1 * tau * slope0)

    def curvature_holds(slope):                             # |∇f(θ + τd)ᵀd| ≤ −c2 gᵀd
        return abs(slope) <= -c2 * slope0

    # Phase 1, bracketing: points (τ, f, ∇f, slope); "prev" is the last trial, starting at τ = 0.
    f, g = phi(tau)
    evals, tries = 1, 0
    slope = g.dot(d)
    prev = (0, f0, g0, slope0)
    done = False
    bracket = None
    while tries < max_ls:
        if armijo_fails(f, tau) or (tries > 1 and f >= prev[1]):
            bracket = [prev, (tau, f, g.clone(memory_format=torch.contiguous_format), slope)]
            break                                           # too far: a good point lies in [τ_prev, τ]
        if curvature_holds(slope):
            bracket, done = [(tau, f, g, slope)], True      # τ is acceptable
            break
        if slope >= 0:
            bracket = [prev, (tau, f, g.clone(memory_format=torch.contiguous_format), slope)]
            break                                           # the slope turned: a minimum lies in [τ_prev, τ]
        # still going down steeply: extrapolate, to between a bit beyond τ and 10 τ
        tau_prev = prev[0]
        new_tau = cubic_minimizer(tau_prev, prev[1], prev[3], tau, f, slope,
                                  bounds=(tau + 0.01 * (tau - tau_prev), tau * 10))
        prev = (tau, f, g.clone(memory_format=torch.contiguous_format), slope)
        tau = new_tau
        f, g = phi(tau)
        evals, tries = evals + 1, tries + 1
        slope = g.dot(d)
    if tries == max_ls:                                     # out of evaluations: best of 0 and the last τ
        bracket = [(0, f0, g0, None), (tau, f, g, None)]

    # Phase 2, zoom: bracket[lo] is the lower of the two ends, bracket[hi] the other one.
    def ends_order():
        return (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)

    lo, hi = ends_order()
    insufficient_progress = False
    while not done and tries < max_ls:
        (a, fa, _, sa), (b, fb, _, sb) = bracket
        if abs(b - a) * d_max < tolerance:
            break                                           # the interval is too short to matter
        tau = cubic_minimizer(a, fa, sa, b, fb, sb)
        left, right = min(a, b), max(a, b)
        margin = 0.1 * (right - left)
        if min(right - tau, tau - left) < margin:           # the trial is near an end of the interval
            if insufficient_progress or tau >= right or tau <= left:
                tau = right - margin if abs(tau - right) < abs(tau - left) else left + margin
                insufficient_progress = False               # move it to 10 % inside the interval
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f, g = phi(tau)
        evals, tries = evals + 1, tries + 1
        slope = g.dot(d)
        if armijo_fails(f, tau) or f >= bracket[lo][1]:
            bracket[hi] = (tau, f, g.clone(memory_format=torch.contiguous_format), slope)
            lo, hi = ends_order()                           # τ replaces the high end
        else:
            if curvature_holds(slope):
                done = True                                 # τ is acceptable
            elif slope * (bracket[hi][0] - bracket[lo][0]) >= 0:
                bracket[hi] = bracket[lo]                   # the minimum lies on the other side of τ
            bracket[lo] = (tau, f, g.clone(memory_format=torch.contiguous_format), slope)
    tau, f, g, _ = bracket[lo]
    return f, g, tau, evals


def two_loop(g, steps, changes, rhos, gamma, alphas):
    """−H g for the L-BFGS inverse Hessian H built from the pairs (sᵢ, yᵢ), ρᵢ = 1/(yᵢᵀsᵢ), H₀ = γ I.

    ``alphas`` (a list at least as long as the history) receives the αᵢ, as torch's state ``al``.
    """
    q = g.neg()                                                  # q ← −g
    for i in reversed(range(len(steps))):
        alphas[i] = steps[i].dot(q) * rhos[i]                    # αᵢ = ρᵢ sᵢᵀq
        q.add_(changes[i], alpha=-alphas[i])                     # q ← q − αᵢ yᵢ
    r = torch.mul(q, gamma)                                      # r ← γ q
    for i in range(len(steps)):
        beta = changes[i].dot(r) * rhos[i]                       # βᵢ = ρᵢ yᵢᵀr
        r.add_(steps[i], alpha=alphas[i] - beta)                 # r ← r + (αᵢ − βᵢ) sᵢ
    return r


class LBFGS(Optimizer):
    """L-BFGS with an optional strong Wolfe line search; a drop-in for ``torch.optim.LBFGS``.

    ``step(closure)`` needs the closure: it re-evaluates the model, calls ``backward`` and
    returns the loss.
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        check_range("lr", lr, 0.0)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"Invalid params: {len(self.param_groups)} parameter groups (expected one: "
                             f"LBFGS doesn't support per-parameter options (parameter groups))")

    # -- the parameters as one vector θ

    def _params(self):
        return self.param_groups[0]["params"]

    def _flat_grad(self) -> torch.Tensor:
        """∇f as one vector: zeros for a parameter without gradient, complex as (real, imaginary) pairs."""
        parts = []
        for p in self._params():
            if p.grad is None:
                part = p.new_zeros(p.numel())
            else:
                part = (p.grad.to_dense() if p.grad.is_sparse else p.grad).view(-1)
            parts.append(torch.view_as_real(part).view(-1) if part.is_complex() else part)
        return torch.cat(parts)

    def _move(self, tau, d: torch.Tensor) -> None:
        """θ ← θ + τ d, parameter by parameter."""
        offset = 0
        for p in self._params():
            p = torch.view_as_real(p) if p.is_complex() else p
            p.add_(d[offset:offset + p.numel()].view_as(p), alpha=tau)
            offset += p.numel()

    def _evaluate_at(self, closure, theta0, tau, d):
        """(f, ∇f) at θ0 + τd; θ is put back to θ0 afterwards."""
        self._move(tau, d)
        f = float(closure())
        g = self._flat_grad()
        for p, p0 in zip(self._params(), theta0):
            p.copy_(p0)
        return f, g

    # -- one call: up to max_iter iterations

    @torch.no_grad()
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss of the first evaluation."""
        if len(self.param_groups) != 1:
            raise ValueError(f"Invalid params: {len(self.param_groups)} parameter groups (expected one)")
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        lr = group["lr"]
        if isinstance(lr, torch.Tensor):
            lr = lr.squeeze()                 # a 1-element tensor lr stays a tensor, as in torch
        max_iter, max_eval, m = group["max_iter"], group["max_eval"], group["history_size"]
        eps_g, eps_f, line_search = group["tolerance_grad"], group["tolerance_change"], group["line_search_fn"]

        state = self.state[self._params()[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        first_loss = closure()                                          # f, g ← f(θ), ∇f(θ)
        f = float(first_loss)
        g = self._flat_grad()
        evals = 1
        state["func_evals"] += 1
        if g.abs().max() <= eps_g:                                      # already optimal
            return first_loss

        d, tau = state.get("d"), state.get("t")
        Y, S, rho, gamma = state.get("old_dirs"), state.get("old_stps"), state.get("ro"), state.get("H_diag")
        g_prev, f_prev = state.get("prev_flat_grad"), state.get("prev_loss")

        for k in range(1, max_iter + 1):
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = g.neg()                                             # d = −g
                Y, S, rho, gamma = [], [], [], 1                        # empty history, γ = 1
            else:
                y = g.sub(g_prev)                                       # y = g − g_prev
                s = d.mul(tau)                                          # s = τ d
                ys = y.dot(s)                                           # yᵀs
                if ys > CURVATURE_THRESHOLD:
                    if len(Y) == m:                                     # keep the last m pairs
                        Y.pop(0), S.pop(0), rho.pop(0)
                    Y.append(y), S.append(s), rho.append(1.0 / ys)      # ρ = 1/(yᵀs)
                    gamma = ys / y.dot(y)                               # γ = yᵀs / yᵀy
                if "al" not in state:
                    state["al"] = [None] * m
                d = two_loop(g, S, Y, rho, gamma, state["al"])          # d = −H g
            if g_prev is None:
                g_prev = g.clone(memory_format=torch.contiguous_format)
            else:
                g_prev.copy_(g)                                         # g_prev ← g
            f_prev = f                                                  # f_prev ← f

            if state["n_iter"] == 1:
                tau = min(1.0, 1.0 / g.abs().sum()) * lr                # τ = min(1, 1/‖g‖₁) η
            else:
                tau = lr                                                # τ = η
            slope = g.dot(d)                                            # gᵀd
            if slope > -eps_f:
                break                                                   # not a descent direction

            spent, optimal = 0, False
            if line_search is not None:
                if line_search != "strong_wolfe":
                    raise RuntimeError(f"Invalid line_search_fn: {line_search!r} (expected None or "
                                       f"'strong_wolfe'; only 'strong_wolfe' is supported)")
                theta0 = [p.clone(memory_format=torch.contiguous_format) for p in self._params()]
                f, g, tau, spent = strong_wolfe(lambda t: self._evaluate_at(closure, theta0, t, d),
                                                tau, d, f, g, slope, max_ls=max_eval - evals)
                self._move(tau, d)                                      # θ ← θ + τ d
                optimal = g.abs().max() <= eps_g
            else:
                self._move(tau, d)                                      # θ ← θ + τ d
                if k != max_iter:                                       # f, g ← f(θ), ∇f(θ)
                    f = float(closure())
                    g = self._flat_grad()
                    optimal = g.abs().max() <= eps_g
                    spent = 1
            evals += spent
            state["func_evals"] += spent

            if k == max_iter or evals >= max_eval or optimal:
                break
            if d.mul(tau).abs().max() <= eps_f:                        # the step no longer moves θ
                break
            if abs(f - f_prev) < eps_f:                                 # the loss no longer changes
                break

        state.update(d=d, t=tau, old_dirs=Y, old_stps=S, ro=rho, H_diag=gamma,
                     prev_flat_grad=g_prev, prev_loss=f_prev)
        return first_loss
