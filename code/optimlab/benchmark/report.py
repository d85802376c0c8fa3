"""Tables and figures of a study (``python -m optimlab.benchmark report DIR``).

Every method keeps one colour and line style everywhere (``STYLES``): Part II's methods in the
book's eight colours with solid lines, Part IV's dashed, the two schedule-free methods dotted.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .protocol import best_trial, load_study
from .spaces import OPTIMIZERS
from .stats import (TAU_MAX, bootstrap_ci, profile, profile_score, ratios, sensitivity, summarize,
                    times_to_target)
from .workloads import WORKLOADS

__all__ = ["STYLES", "results_table", "steps_table", "scores", "plot_profiles", "plot_errors",
           "plot_sensitivity", "plain_log_labels", "workload_table", "space_table", "reach_table", "transfer_table",
           "reproduce", "write_report"]


#: Colour (index into ``plots.COLORS``) and line style of each method: Part II solid, Part IV
#: dashed, the two schedule-free methods dotted; the pale yellow goes to methods shown less.
_LOOK = {"sgd": (0, "-"), "momentum": (1, "-"), "nesterov": (2, "-"), "adagrad": (3, "-"),
         "rmsprop": (7, "-"), "adadelta": (5, "-"), "adam": (6, "-"), "adamw": (4, "-"),
         "adamax": (7, "--"), "nadam": (1, "--"), "radam": (2, "--"), "yogi": (3, "--"),
         "lion": (0, "--"), "adafactor": (5, "--"), "muon": (6, "--"), "sgd_sf": (0, ":"),
         "adamw_sf": (4, ":")}


def _styles() -> dict:
    from ..plots import COLORS
    return {name: {"color": COLORS[i], "ls": ls} for name, (i, ls) in _LOOK.items()}


def plain_log_labels(ax, axis: str = "y"):
    """Label the ticks of a log axis as plain numbers (0.04, not 4 × 10⁻²)."""
    from matplotlib.ticker import FuncFormatter

    def minor(x, _pos):                      # label 2, 3 and 5 of each decade, not all eight
        lead = x / 10 ** math.floor(math.log10(x)) if x > 0 else 0
        return f"{x:.2g}" if round(lead) in (2, 3, 5) else ""

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter("{x:.2g}")
    target.set_minor_formatter(FuncFormatter(minor))
    return ax


STYLES = _styles()
#: Errors are drawn on log scales; an error of 0 is drawn at this value.
FLOOR = 3e-3


def _fmt_steps(v) -> str:
    return "never" if not math.isfinite(v) else f"{v:.0f}"


def results_table(groups: dict, workload: str, optimizers=None) -> list[dict]:
    """One row per optimizer: best hyperparameters, the seeds' final error (mean and 95 % bootstrap
    interval), the median steps to the target with its interval, how many seeds reached it, and the
    final error at torch's defaults."""
    rows = []
    for o in optimizers or OPTIMIZERS:
        g = groups.get((workload, o))
        if not g or not g["seed"]:
            continue
        errors = [t["final_error"] for t in g["seed"]]
        steps = [math.inf if t["steps_to_target"] is None else t["steps_to_target"] for t in g["seed"]]
        rows.append({
            "optimizer": o, "hparams": best_trial(g["tune"])["hparams"],
            "error": float(np.mean(errors)), "error_ci": bootstrap_ci(errors),
            "steps": float(np.median(steps)) if sum(map(math.isfinite, steps)) * 2 > len(steps)
            else math.inf,
            "steps_ci": bootstrap_ci(steps, np.median),
            "reached": sum(map(math.isfinite, steps)), "seeds": len(steps),
            "default_error": g["default"][0]["final_error"] if g["default"] else math.nan,
        })
    return rows


def steps_table(groups: dict, workloads=None) -> str:
    """Median steps to the target over the seeds, one column per workload (76 characters wide)."""
    workloads = list(workloads or WORKLOADS)
    times = times_to_target(groups)
    lines = [f"{'optimizer':<21}" + "".join(f"{w:>11}" for w in workloads)]
    for o in OPTIMIZERS:
        if o in times:
            lines.append(f"{OPTIMIZERS[o].label:<21}" +
                         "".join(f"{_fmt_steps(times[o].get(w, math.inf)):>11}" for w in workloads))
    return "\n".join(lines)


def scores(groups: dict, key: str = "steps_to_target", tau_max: float = TAU_MAX) -> dict:
    """AlgoPerf score of each optimizer, from the median steps (or seconds) to the target."""
    r = ratios(times_to_target(groups, key))
    return {o: profile_score(r[o], tau_max) for o in r}


def plot_profiles(groups: dict, optimizers, ax, key: str = "steps_to_target",
                  tau_max: float = TAU_MAX):
    """Performance profiles ρ(τ) of ``optimizers`` (ratios against the fastest of all methods)."""
    r = ratios(times_to_target(groups, key))
    taus = np.linspace(1.0, tau_max, 301)
    for o in [o for o in optimizers if o in r]:
        ax.step(taus, profile(r[o], taus), where="post", label=OPTIMIZERS[o].label, **STYLES[o])
    ax.set(xlabel="τ (times the fastest)", ylabel="share of workloads ρ(τ)", xlim=(1, tau_max),
           ylim=(-0.03, 1.03))
    return ax


def plot_errors(groups: dict, workload: str, ax, optimizers=None):
    """Final validation error of each optimizer: mean over seeds and 95 % bootstrap interval (bar),
    and the error at torch's defaults (open circle); errors below ``FLOOR`` are drawn at it."""
    rows = results_table(groups, workload, optimizers)
    for i, row in enumerate(rows):
        st = STYLES[row["optimizer"]]
        lo, hi = np.maximum(row["error_ci"], FLOOR)
        ax.plot([lo, hi], [i, i], color=st["color"], lw=3, solid_capstyle="butt")
        ax.plot(max(row["error"], FLOOR), i, "o", color=st["color"], ms=5)
        ax.plot(np.clip(row["default_error"], FLOOR, 1.0), i, "o", mfc="none", color=st["color"], ms=6)
    ax.axvline(WORKLOADS[workload].target, color="0.4", lw=0.8, ls="--")
    ax.set_yticks(range(len(rows)), [OPTIMIZERS[r["optimizer"]].label for r in rows])
    ax.invert_yaxis()
    ax.set(title=workload, xscale="log")
    ax.xaxis.set_major_formatter("{x:.2g}")
    return ax


def plot_sensitivity(groups: dict, workload: str, optimizers, ax):
    """Final validation error of every tuning trial against its learning rate."""
    for o in [o for o in optimizers if (workload, o) in groups]:
        s = sensitivity(groups, workload, o)
        ax.plot(s["values"], np.clip(s["final_error"], FLOOR, 1.0), marker="o", ms=4,
                label=OPTIMIZERS[o].label, **STYLES[o])
    ax.axhline(WORKLOADS[workload].target, color="0.4", lw=0.8, ls="--")
    ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="final validation error",
           title=workload)
    ax.yaxis.set_major_formatter("{x:.2g}")
    ax.yaxis.set_minor_formatter("")
    return ax


def workload_table() -> str:
    """The workloads: target error, step budget, batch size and what they are."""
    lines = [f"{'workload':<9}{'target':>7}{'steps':>6}{'batch':>6}  model and data"]
    for w in WORKLOADS.values():
        desc = w.description if len(w.description) <= 44 else w.description[:43] + "…"
        lines.append(f"{w.name:<9}{w.target:>7.2f}{w.steps:>6}{w.batch_size:>6}  {desc}")
    return "\n".join(lines)


def space_table() -> str:
    """Each optimizer's search space (log scale) and torch's defaults of the same names."""
    lines = [f"{'optimizer':<21}{'learning rate':>15}{'weight decay':>15}{'default lr':>12}"]
    for spec in OPTIMIZERS.values():
        lr = "{:.0e} – {:.0e}".format(*spec.space["lr"])
        wd = "{:.0e} – {:.0e}".format(*spec.space["weight_decay"]) if "weight_decay" in spec.space else "–"
        lines.append(f"{spec.label:<21}{lr:>15}{wd:>15}{spec.defaults['lr']:>12.1e}")
    return "\n".join(lines)


def reach_table(groups: dict, workloads=None) -> str:
    """How many of the tuning trials (points of the search space) reached the target."""
    workloads = list(workloads or WORKLOADS)
    lines = [f"{'optimizer':<21}" + "".join(f"{w:>11}" for w in workloads)]
    for o in OPTIMIZERS:
        cells = []
        for w in workloads:
            s = sensitivity(groups, w, o) if (w, o) in groups else None
            cells.append("–" if s is None else f"{sum(s['reached'])}/{len(s['reached'])}")
        lines.append(f"{OPTIMIZERS[o].label:<21}" + "".join(f"{c:>11}" for c in cells))
    return "\n".join(lines)


def transfer_table(groups: dict, workloads=None) -> str:
    """The best learning rate of each optimizer on each workload."""
    workloads = list(workloads or WORKLOADS)
    lines = [f"{'optimizer':<21}" + "".join(f"{w:>11}" for w in workloads)]
    for o in OPTIMIZERS:
        cells = [f"{best_trial(groups[(w, o)]['tune'])['hparams']['lr']:.1e}"
                 if (w, o) in groups else "–" for w in workloads]
        lines.append(f"{OPTIMIZERS[o].label:<21}" + "".join(f"{c:>11}" for c in cells))
    return "\n".join(lines)


def reproduce(groups: dict, optimizer: str, seed: int = 1, workloads=None, build=None) -> list[dict]:
    """Run again, on this machine, the committed trial of ``optimizer``'s best hyperparameters with
    ``seed`` on each workload; return the committed and the new final error and steps to target.
    ``build(model, hparams)`` replaces the optimizer's own constructor (e.g. torch's twin)."""
    import torch

    from .workloads import train
    torch.set_num_threads(1)
    rows = []
    for w in workloads or WORKLOADS:
        committed = next(t for t in groups[(w, optimizer)]["seed"] if t["seed"] == seed)
        make = build or OPTIMIZERS[optimizer].build
        hp = committed["hparams"]
        again = train(w, lambda model: make(model, hp), seed)
        rows.append({"workload": w, "hparams": hp,
                     "committed_error": committed["final_error"], "error": again["final_error"],
                     "committed_steps": committed["steps_to_target"],
                     "steps": again["steps_to_target"], "curve": again["valid_error"],
                     "committed_curve": committed["valid_error"]})
    return rows


def write_report(out, figures=None) -> str:
    """Write the figures of the study in ``out`` and return its tables as text."""
    from .. import plots
    study = load_study(out)
    groups = summarize(study["trials"])
    workloads = [w for w in WORKLOADS if any(k[0] == w for k in groups)]
    figures = Path(figures or Path(out) / "figures")
    figures.mkdir(parents=True, exist_ok=True)
    text = [f"study: {study['meta'].get('environment', {}).get('command', '?')}", "",
            "median steps to the target over the seeds", steps_table(groups, workloads), ""]
    for key in ("steps_to_target", "seconds_to_target"):
        sc = sorted(scores(groups, key).items(), key=lambda kv: -kv[1])
        text.append(f"AlgoPerf score from {key.replace('_', ' ')} (τ in [1, {TAU_MAX:g}])")
        text += [f"  {OPTIMIZERS[o].label:<22}{s:.3f}" for o, s in sc]
        text.append("")
    for w in workloads:
        text.append(f"{w}: final validation error, mean [95 % CI] over seeds; default")
        for row in results_table(groups, w):
            lo, hi = row["error_ci"]
            text.append(f"  {OPTIMIZERS[row['optimizer']].label:<22}{row['error']:.3f} "
                        f"[{lo:.3f}, {hi:.3f}]  {row['reached']}/{row['seeds']} reached  "
                        f"default {row['default_error']:.3f}")
        text.append("")
    part2 = [o for o in OPTIMIZERS if OPTIMIZERS[o].part == "II"]
    part4 = [o for o in OPTIMIZERS if OPTIMIZERS[o].part == "IV"]
    fig, axes = plots.subplots(1, 2, figsize=(plots.BOOK_WIDTH, 3.6), sharey=True)
    plot_profiles(groups, part2, axes[0])
    plot_profiles(groups, part4, axes[1])
    for ax in axes:
        if ax.get_lines():
            ax.legend(loc="lower right")
    fig.savefig(figures / "profiles.png")
    fig, axes = plots.subplots(2, 2, figsize=(plots.BOOK_WIDTH, 9))
    for ax, w in zip(axes.flat, workloads):
        plot_errors(groups, w, ax)
    fig.savefig(figures / "errors.png")
    fig, axes = plots.subplots(2, 2, figsize=(plots.BOOK_WIDTH, 6))
    for ax, w in zip(axes.flat, workloads):
        plot_sensitivity(groups, w, ["momentum", "adam", "adamw", "lion"], ax)
    fig.savefig(figures / "sensitivity.png")
    text.append(f"figures in {figures}")
    return "\n".join(text)
