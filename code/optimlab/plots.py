"""Figures and animations of optimization runs, in one book style.

Every function draws into ``ax`` when one is given and returns it; without ``ax`` it makes its own
figure, closes it (so Jupyter does not show it a second time) and returns the ``Figure``, which
displays once as the cell's result (or with ``display(fig)``). For several panels::

    fig, axes = plots.subplots(1, 2)
    plots.trace_1d(f, slow, ax=axes[0])
    plots.trace_1d(f, fast, ax=axes[1])
    fig                                   # last line of the cell: shows the figure

Trajectory arguments accept one :class:`~optimlab.trajectory.Trajectory`, a list of them, or a dict
``{label: trajectory}``. Importing this module applies the book style to matplotlib's defaults.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import HTMLWriter
from matplotlib.figure import Figure

from .objectives import DTYPE, Objective
from .trajectory import Trajectory

__all__ = ["COLORS", "BOOK_WIDTH", "DPI", "FONT_SIZE", "use_book_style", "subplots", "trace_1d", "trace_2d", "loss_curves", "surface_3d",
           "animate_1d", "animate_2d"]

#: Colour-blind-safe palette (Okabe and Ito), the default colour cycle of the book.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

#: Width of a figure in inches: at ``DPI`` it is the width of a page's output column at a
#: 1280 × 900 window (688 px), so a figure is shown at the size it is drawn.
BOOK_WIDTH = 6.8
#: Pixels per inch of every figure in the book.
DPI = 100
#: Font size in points: 12 pt at 100 dpi is 16.7 px, the size of the body text (16 px).
FONT_SIZE = 12

STYLE = {
    "figure.figsize": (BOOK_WIDTH, 3.6),
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    # the margin bbox_inches="tight" adds: 6.8 in + 2 × 0.04 in at 100 dpi is 688 px, the column's width
    "savefig.pad_inches": 0.04,
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": matplotlib.cycler(color=COLORS),
    "legend.frameon": False,
    "legend.fontsize": FONT_SIZE,
    "lines.linewidth": 1.6,
    "image.cmap": "viridis",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (fonts, palette, no top/right spines, light grid)."""
    matplotlib.rcParams.update(STYLE)


def _ensure_figures_display() -> None:
    """Make a returned Figure display as an image in IPython even when the inline backend is not
    active (for example under ``MPLBACKEND=Agg``), which would otherwise print ``<Figure size ...>``."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


use_book_style()
_ensure_figures_display()


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """``plt.subplots`` whose figure is closed at once: end the cell with ``fig`` to show it once.

    The default size is the page's width (``BOOK_WIDTH``) and 3.4 inches per row of panels; a wider
    ``figsize`` is cut to the page's width, so that the figure is shown at the size it is drawn."""
    kwargs.setdefault("figsize", (BOOK_WIDTH, 3.4 * nrows) if ncols * nrows > 1 else STYLE["figure.figsize"])
    kwargs.setdefault("layout", "constrained")
    width, height = kwargs["figsize"]
    kwargs["figsize"] = (min(width, BOOK_WIDTH), height)   # wider would be shrunk on the page
    fig, axes = plt.subplots(nrows, ncols, **kwargs)
    plt.close(fig)
    return fig, axes


def _new_axes(ax, projection=None, figsize=None):
    if ax is not None:
        return ax, False
    fig = plt.figure(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig.add_subplot(projection=projection), True


def _items(trajs, labels=None) -> list[tuple[str, Trajectory]]:
    """Normalise one trajectory, a list or a dict to a list of (label, trajectory)."""
    if trajs is None:
        return []
    if isinstance(trajs, Trajectory):
        trajs = [trajs]
    if isinstance(trajs, dict):
        items = list(trajs.items())
    else:
        items = [(t.label, t) for t in trajs]
    if labels is not None:
        labels = [labels] if isinstance(labels, str) else list(labels)
        if len(labels) != len(items):
            raise ValueError(f"{len(labels)} labels for {len(items)} trajectories")
        items = [(label, t) for label, (_, t) in zip(labels, items)]
    return items


def _range_1d(objective: Objective, items, limit: float = 4.0) -> tuple[float, float]:
    """The objective's bounds, widened to show the iterates (at most ``limit`` times as wide)."""
    lo, hi = objective.bounds[0]
    xs = np.concatenate([t.xs[:, 0] for _, t in items]) if items else np.array([])
    xs = xs[np.isfinite(xs)]
    if xs.size:
        centre, half = (lo + hi) / 2, limit * (hi - lo) / 2
        lo = max(min(lo, xs.min()), centre - half)
        hi = min(max(hi, xs.max()), centre + half)
        pad = 0.03 * (hi - lo)
        if xs.min() < objective.bounds[0][0]:
            lo -= pad
        if xs.max() > objective.bounds[0][1]:
            hi += pad
    return float(lo), float(hi)


def _finish(ax, created: bool, items, legend: bool | None, title: str | None):
    if title:
        ax.set_title(title)
    if legend or (legend is None and any(label for label, _ in items) and len(items) > 1):
        ax.legend()
    return ax.figure if created else ax


def _colour(colors, label, i):
    """The colour of the i-th curve: ``colors[label]`` when given (a method keeps its colour across
    panels), else the i-th colour of the palette."""
    if colors and label in colors:
        return colors[label]
    return COLORS[i % len(COLORS)]


def _draw_1d(ax, objective: Objective, items, xlim=None, n: int = 400, colors=None):
    lo, hi = xlim if xlim is not None else _range_1d(objective, items)
    grid = torch.linspace(lo, hi, n, dtype=DTYPE)
    with torch.no_grad():
        curve = objective(grid).numpy()
    ax.plot(grid.numpy(), curve, color="0.45", lw=1.4, zorder=1)
    paths = []
    for i, (label, t) in enumerate(items):
        colour = _colour(colors, label, i)
        (line,) = ax.plot(t.xs[:, 0], t.losses, "-o", color=colour, ms=4, lw=1.0, label=label or None, zorder=3)
        (start,) = ax.plot(t.xs[:1, 0], t.losses[:1], "s", color=colour, ms=6, zorder=4)
        paths.append((line, t.xs[:, 0], t.losses))
    ax.set_xlim(lo, hi)
    shown = [curve] + [t.losses[(t.xs[:, 0] >= lo) & (t.xs[:, 0] <= hi)] for _, t in items]
    values = np.concatenate(shown)
    values = values[np.isfinite(values)]
    pad = 0.06 * (values.max() - values.min() or 1.0)
    ax.set_ylim(values.min() - pad, values.max() + pad)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$f(x)$")
    return paths


def trace_1d(objective: Objective, trajs=None, ax=None, labels=None, *, xlim=None, legend=None,
             title: str | None = None, colors: dict | None = None):
    """The curve of a one-dimensional ``objective`` with the iterates of ``trajs`` on it (a square marks
    each start). The x-range is the objective's bounds, widened to show iterates that leave them.
    ``colors`` maps a label to its colour."""
    ax, created = _new_axes(ax)
    items = _items(trajs, labels)
    _draw_1d(ax, objective, items, xlim, colors=colors)
    return _finish(ax, created, items, legend, title)

def _set_scales(ax, arrays, logx: bool = False, logy="auto") -> None:
    """Log x when asked; log y when asked, or for ``"auto"`` when every finite value drawn is positive."""
    finite = np.concatenate([np.asarray(v, dtype=float)[np.isfinite(v)] for v in arrays]) if arrays else np.array([])
    if logx:
        ax.set_xscale("log")
    if logy is True or (logy == "auto" and finite.size and (finite > 0).all()):
        ax.set_yscale("log")

def _plane_axes(ax, bounds) -> None:
    """Axes of the (x1, x2) plane: the given limits, equal scales, no grid."""
    (lo1, hi1), (lo2, hi2) = bounds
    ax.set_xlim(lo1, hi1)
    ax.set_ylim(lo2, hi2)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(False)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


def _levels(values: np.ndarray, count: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    levels = np.unique(np.quantile(finite, np.linspace(0.0, 0.95, count) ** 1.5))
    return levels if len(levels) > 1 else count


def _draw_2d(ax, objective: Objective, items, levels: int = 18, n: int = 160, colors=None):
    x1, x2, values = objective.grid(n)
    ax.contour(x1, x2, values, levels=_levels(values, levels), cmap="Greys_r", linewidths=0.7, alpha=0.8, zorder=1)
    for m in objective.minima:
        ax.plot(*m, marker="*", color="0.2", ms=11, ls="none", zorder=2)
    paths = []
    for i, (label, t) in enumerate(items):
        colour = _colour(colors, label, i)
        (line,) = ax.plot(t.xs[:, 0], t.xs[:, 1], "-o", color=colour, ms=3.5, lw=1.0, label=label or None, zorder=3)
        ax.plot(t.xs[:1, 0], t.xs[:1, 1], "s", color=colour, ms=6, zorder=4)
        paths.append((line, t.xs[:, 0], t.xs[:, 1]))
    _plane_axes(ax, objective.bounds)
    return paths


def trace_2d(objective: Objective, trajs=None, ax=None, labels=None, *, levels: int = 18, legend=None,
             title: str | None = None, colors: dict | None = None):
    """Contours of a two-dimensional ``objective`` (stars at its known minimisers) with the paths of
    ``trajs`` (a square marks each start). The view is the objective's bounds, equal aspect.
    ``colors`` maps a label to its colour."""
    ax, created = _new_axes(ax)
    items = _items(trajs, labels)
    _draw_2d(ax, objective, items, levels, colors=colors)
    return _finish(ax, created, items, legend, title)


def loss_curves(curves, ax=None, *, logy="auto", minimum: float | None = None, xlabel: str = "step",
                ylabel: str | None = None, legend=None, title: str | None = None,
                colors: dict | None = None, styles: dict | None = None):
    """Loss against step for each curve. ``curves`` is ``{label: values}`` (values: a sequence or a
    Trajectory, whose ``losses`` are used), a Trajectory or a list of them. With ``minimum`` the curves
    show the gap ``f − minimum``. ``logy="auto"`` uses a log scale when every finite value is positive.
    ``colors`` and ``styles`` map a label to its colour and line style (curves that overlap stay apart)."""
    ax, created = _new_axes(ax)
    if isinstance(curves, Trajectory) or (isinstance(curves, (list, tuple)) and curves
                                          and isinstance(curves[0], Trajectory)):
        curves = dict(_items(curves))
    if not isinstance(curves, dict):
        curves = {"": curves}
    items = []
    for label, values in curves.items():
        values = np.asarray(values.losses if isinstance(values, Trajectory) else values, dtype=float)
        if minimum is not None:
            values = values - minimum
        look = {}
        if colors and label in colors:
            look["color"] = colors[label]
        if styles and label in styles:
            look["linestyle"] = styles[label]
        ax.plot(np.arange(len(values)), values, label=label or None, **look)
        items.append((label, values))
    _set_scales(ax, [v for _, v in items], logy=logy)
    ax.set_xlabel(xlabel)
    # ylabel="" leaves the axis unlabelled (a panel sharing its neighbour's label); None gives the default
    ax.set_ylabel(ylabel if ylabel is not None else ("$f(x_t) - f^*$" if minimum is not None else "$f(x_t)$"))
    return _finish(ax, created, items, legend, title)


def surface_3d(objective: Objective, trajs=None, ax=None, labels=None, *, n: int = 60, elev: float = 30,
               azim: float = -60, title: str | None = None):
    """The surface of a two-dimensional ``objective``, optionally with trajectories drawn on it."""
    ax, created = _new_axes(ax, projection="3d", figsize=(min(5.5, BOOK_WIDTH), 4.5))
    x1, x2, values = objective.grid(n)
    ax.plot_surface(x1, x2, values, cmap="viridis", alpha=0.75, linewidth=0, antialiased=True)
    items = _items(trajs, labels)
    for i, (label, t) in enumerate(items):
        ax.plot(t.xs[:, 0], t.xs[:, 1], t.losses, "-o", color=COLORS[(i + 1) % len(COLORS)], ms=3,
                label=label or None)
    ax.view_init(elev=elev, azim=azim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_zlabel("$f$")
    return _finish(ax, created, items, None, title)


# --- animations -------------------------------------------------------------------------------

# Inline icons for the player's buttons, replacing Font Awesome ones: they need no stylesheet, so
# the player looks the same in Jupyter, Colab and the book, online or offline. (16 × 16 viewBox.)
_ICONS = {
    "fa-minus": '<rect x="2" y="7" width="12" height="2"/>',
    "fa-plus": '<rect x="2" y="7" width="12" height="2"/><rect x="7" y="2" width="2" height="12"/>',
    "fa-play fa-flip-horizontal": '<polygon points="12,2 2,8 12,14"/>',
    "fa-play": '<polygon points="4,2 14,8 4,14"/>',
    "fa-pause": '<rect x="3" y="2" width="3.5" height="12"/><rect x="9.5" y="2" width="3.5" height="12"/>',
    "fa-step-forward": '<polygon points="3,2 11,8 3,14"/><rect x="11" y="2" width="2" height="12"/>',
    "fa-step-backward": '<rect x="3" y="2" width="2" height="12"/><polygon points="13,2 5,8 13,14"/>',
    "fa-fast-forward": '<polygon points="1,2 8,8 1,14"/><polygon points="8,2 15,8 8,14"/>',
    "fa-fast-backward": '<polygon points="15,2 8,8 15,14"/><polygon points="8,2 1,8 8,14"/>',
}


def _offline_player(html: str) -> str:
    """Drop the player's Font Awesome CDN stylesheet and draw its buttons with inline SVG icons."""
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html, flags=re.IGNORECASE | re.DOTALL)

    def icon(match: re.Match) -> str:
        shapes = _ICONS.get(match.group(1).replace("fa ", "", 1).strip())
        if shapes is None:
            return match.group(0)
        return ('<svg viewBox="0 0 16 16" width="1em" height="1em" fill="currentColor" aria-hidden="true" '
                f'style="vertical-align:-0.125em">{shapes}</svg>')
    return re.sub(r'<i class="(fa [^"]*)"></i>', icon, html)


def _smaller_frames(html: str, colors: int = 96) -> str:
    """Re-encode the player's PNG frames with a palette of ``colors`` colours: line plots look the same
    and the page is about three times lighter."""
    import base64
    import io

    from PIL import Image

    def shrink(match: re.Match) -> str:
        image = Image.open(io.BytesIO(base64.b64decode(match.group(1)))).convert("RGB")
        buffer = io.BytesIO()
        image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(buffer, format="PNG")
        return f'data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"'
    return re.sub(r'data:image/png;base64,([^"]+)"', shrink, html)


def _animate(objective: Objective, trajs, draw, *, labels=None, frames: int = 24, interval: int = 250,
             figsize=(5.0, 3.5), dpi: int = DPI, title: str | None = None, **draw_kwargs):
    from IPython.display import HTML

    items = _items(trajs, labels)
    if not items:
        raise ValueError("nothing to animate: pass at least one trajectory")
    steps = max(t.steps for _, t in items)
    shown = np.unique(np.linspace(0, steps, min(frames, steps + 1)).round().astype(int))
    # the book's dpi and font size: the player shows each frame at its drawn size, text at body size
    figsize = (min(figsize[0], BOOK_WIDTH), figsize[1])
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")
    paths = draw(ax, objective, items, **draw_kwargs)
    _finish(ax, False, items, None, title)
    counter = ax.text(0.02, 0.96, "", transform=ax.transAxes, va="top", fontsize=FONT_SIZE)
    fig.canvas.draw()
    fig.set_layout_engine("none")  # lay out once: every frame has the same axes

    # One savefig per frame with matplotlib's HTML player (FuncAnimation.to_jshtml would draw each
    # frame three times).
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "animation.html"
        writer = HTMLWriter(fps=1000 / interval, embed_frames=True, default_mode="once")
        with writer.saving(fig, str(path), dpi=dpi):
            for k in shown:
                for line, xs, ys in paths:
                    line.set_data(xs[: k + 1], ys[: k + 1])
                counter.set_text(f"step {k}")
                writer.grab_frame()
        html = path.read_text()
    plt.close(fig)
    return HTML(_offline_player(_smaller_frames(html)))


def animate_1d(objective: Objective, trajs, labels=None, *, frames: int = 24, interval: int = 250,
               title: str | None = None, xlim=None):
    """An animation of ``trajs`` walking down a one-dimensional ``objective``, as an HTML player that
    works in Jupyter and on a static page, offline. At most ``frames`` frames (iterates are subsampled
    evenly, first and last always shown)."""
    if objective.dim != 1:
        raise ValueError(f"animate_1d needs a one-dimensional objective, {objective.name} has dim {objective.dim}")
    return _animate(objective, trajs, _draw_1d, labels=labels, frames=frames, interval=interval,
                    title=title, xlim=xlim)


def animate_2d(objective: Objective, trajs, labels=None, *, frames: int = 24, interval: int = 250,
               title: str | None = None, levels: int = 18):
    """An animation of ``trajs`` moving over the contours of a two-dimensional ``objective``, as an HTML
    player that works in Jupyter and on a static page, offline. At most ``frames`` frames."""
    if objective.dim != 2:
        raise ValueError(f"animate_2d needs a two-dimensional objective, {objective.name} has dim {objective.dim}")
    (lo1, hi1), (lo2, hi2) = objective.bounds
    width = min(6.0, max(3.5, 3.4 * (hi1 - lo1) / (hi2 - lo2) + 0.7))
    return _animate(objective, trajs, _draw_2d, labels=labels, frames=frames, interval=interval,
                    title=title, figsize=(width, 3.6), levels=levels, n=100)


# --- convex sets and chords -------------------------------------------------------------------

def _segment_stays_inside(inside, a, b, n: int = 101) -> bool:
    t = torch.linspace(0, 1, n, dtype=DTYPE).unsqueeze(-1)
    a, b = torch.as_tensor(a, dtype=DTYPE), torch.as_tensor(b, dtype=DTYPE)
    with torch.no_grad():
        return bool(inside(a + t * (b - a)).all())


def region_2d(inside, bounds, ax=None, *, segments=(), n: int = 300, color: str = COLORS[0],
              title: str | None = None):
    """Shade the set ``{x : inside(x)}`` of the plane (``inside`` maps points ``(..., 2)`` to booleans)
    over ``bounds = ((x1_low, x1_high), (x2_low, x2_high))``, and draw ``segments`` (pairs of points):
    green when a segment stays in the set, vermilion when it leaves it (the set is then not convex)."""
    ax, created = _new_axes(ax)
    (lo1, hi1), (lo2, hi2) = bounds
    x1, x2 = torch.meshgrid(torch.linspace(lo1, hi1, n, dtype=DTYPE), torch.linspace(lo2, hi2, n, dtype=DTYPE),
                            indexing="xy")
    with torch.no_grad():
        mask = inside(torch.stack([x1, x2], dim=-1)).numpy().astype(float)
    ax.contourf(x1.numpy(), x2.numpy(), mask, levels=[0.5, 1.5], colors=[color], alpha=0.35)
    ax.contour(x1.numpy(), x2.numpy(), mask, levels=[0.5], colors=[color], linewidths=1.2)
    for a, b in segments:
        colour = COLORS[2] if _segment_stays_inside(inside, a, b) else COLORS[1]
        ax.plot([a[0], b[0]], [a[1], b[1]], "-o", color=colour, ms=4, lw=1.8, zorder=3)
    _plane_axes(ax, bounds)
    return _finish(ax, created, [], False, title)


def chords_1d(objective: Objective, pairs, ax=None, *, xlim=None, title: str | None = None, n: int = 400):
    """The curve of a one-dimensional ``objective`` with the chord between ``(a, f(a))`` and ``(b, f(b))``
    for each pair ``(a, b)``: green when the chord lies on or above the curve, vermilion (with the gap
    shaded) when the curve rises above it somewhere, which convex functions never do."""
    ax, created = _new_axes(ax)
    lo, hi = xlim if xlim is not None else objective.bounds[0]
    grid = torch.linspace(lo, hi, n, dtype=DTYPE)
    with torch.no_grad():
        ax.plot(grid.numpy(), objective(grid).numpy(), color="0.45", lw=1.4, zorder=1)
        for a, b in pairs:
            xs = torch.linspace(a, b, 200, dtype=DTYPE)
            curve = objective(xs).numpy()
            fa, fb = float(objective(a)), float(objective(b))
            chord = fa + (xs.numpy() - a) / (b - a) * (fb - fa)
            above = curve > chord + 1e-12 * max(1.0, abs(fa), abs(fb))
            colour = COLORS[1] if above.any() else COLORS[2]
            ax.plot([a, b], [fa, fb], "-o", color=colour, ms=4, lw=1.6, zorder=3)
            if above.any():
                ax.fill_between(xs.numpy(), chord, curve, where=above, color=colour, alpha=0.25, lw=0)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$f(x)$")
    return _finish(ax, created, [], False, title)


__all__ += ["region_2d", "chords_1d"]


# --- training histories -------------------------------------------------------------------------

_HISTORY_AXES = {"time": "training time (s)", "epochs": "epochs", "epoch": "epoch", "update": "updates"}


def history_curves(histories, key: str = "loss", *, x: str = "time", ax=None, logx: bool = False, logy="auto",
                   minimum: float | None = None, xlabel: str | None = None, ylabel: str | None = None,
                   legend=None, title: str | None = None):
    """An evaluated quantity of training runs against time, epochs or updates.

    ``histories`` is ``{label: history}``, each an :class:`optimlab.train.History` (anything with
    its ``curve(key, x)`` method). ``x`` is ``"time"`` (training seconds, evaluation excluded),
    ``"epochs"`` (passes over the data, fractional), ``"epoch"`` or ``"update"``. With ``minimum``
    the curves show the gap ``value − minimum``. With ``logx`` points at ``x <= 0`` (the evaluation
    before training) are left out; ``logy="auto"`` uses a log scale when every value is positive.
    """
    ax, created = _new_axes(ax)
    items = []
    for label, history in histories.items():
        xs, ys = (np.asarray(v, dtype=float) for v in history.curve(key, x))
        if minimum is not None:
            ys = ys - minimum
        if logx:
            keep = xs > 0
            xs, ys = xs[keep], ys[keep]
        ax.plot(xs, ys, label=label or None)
        items.append((label, ys))
    _set_scales(ax, [v for _, v in items], logx, logy)
    ax.set_xlabel(xlabel or _HISTORY_AXES.get(x, x))
    ax.set_ylabel(ylabel or (f"{key} − minimum" if minimum is not None else key))
    return _finish(ax, created, items, legend, title)


__all__ += ["history_curves"]


# --- many seeded runs ---------------------------------------------------------------------------

def spread_curves(curves, ax=None, *, x=None, band=(0.1, 0.9), logx: bool = False, logy="auto",
                  xlabel: str = "step", ylabel: str | None = None, legend=None, title: str | None = None):
    """The mean of many runs with a shaded band between two quantiles of the runs.

    ``curves`` is ``{label: values}`` with ``values`` of shape ``(points, runs)`` (a tensor or an
    array); ``x`` gives the positions of the points (default ``0, 1, 2, ...``). ``band`` is the pair of
    quantiles that bound the shading (``None``: no band). ``logy="auto"`` uses a log scale when every
    mean and band value is positive.
    """
    ax, created = _new_axes(ax)
    items, shown = [], []
    for i, (label, values) in enumerate(curves.items()):
        values = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        xs = np.arange(len(values)) if x is None else np.asarray(x, dtype=float)
        if len(xs) != len(values):
            raise ValueError(f"{label!r}: {len(values)} points but {len(xs)} x values")
        colour = COLORS[i % len(COLORS)]
        mean = values.mean(axis=1)
        ax.plot(xs, mean, color=colour, label=label or None)
        shown.append(mean)
        if band is not None and values.shape[1] > 1:
            low, high = np.quantile(values, band, axis=1)
            ax.fill_between(xs, low, high, color=colour, alpha=0.2, lw=0)
            shown += [low, high]
        items.append((label, mean))
    _set_scales(ax, shown, logx, logy)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return _finish(ax, created, items, legend, title)


__all__ += ["spread_curves"]


# --- images and hyperparameter sweeps ---------------------------------------------------------

def image_grid(images, ax=None, *, ncols: int | None = None, labels=None, gap: int = 1, cmap: str = "gray_r",
               title: str | None = None):
    """Small grey-scale images tiled into one picture, ``ncols`` per row, separated by ``gap`` pixels.

    ``images`` has shape ``(N, H, W)`` or ``(N, 1, H, W)`` (a tensor or an array). ``labels`` (one per
    image) are written in the top-left corner of each tile. The colour scale is shared by all tiles.
    """
    images = np.asarray(images.detach().cpu() if isinstance(images, torch.Tensor) else images, dtype=float)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected images of shape (N, H, W) or (N, 1, H, W), got {images.shape}")
    n, h, w = images.shape
    ncols = min(n, ncols or 8)
    nrows = -(-n // ncols)
    canvas = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = image
    if ax is None:
        width = min(0.45 * ncols * (w + gap) / 9 + 0.3, BOOK_WIDTH)       # at most the page's width
        height = width * (nrows * (h + gap)) / (ncols * (w + gap)) + 0.3
        fig = plt.figure(figsize=(width, height), layout="constrained")
        plt.close(fig)
        ax, created = fig.add_subplot(), True
    else:
        created = False
    finite = images[np.isfinite(images)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1,
              interpolation="nearest")
    ax.set_facecolor("white")
    if labels is not None:
        labels = list(labels)
        if len(labels) != n:
            raise ValueError(f"{len(labels)} labels for {n} images")
        for i, label in enumerate(labels):
            r, c = divmod(i, ncols)
            ax.text(c * (w + gap) - 0.3, r * (h + gap) - 0.3, str(label), fontsize=FONT_SIZE, color=COLORS[1],
                    ha="left", va="top")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _finish(ax, created, [], False, title)


def sweep_curves(results, ax=None, *, xlabel: str = "learning rate", ylabel: str | None = None, logx: bool = True,
                 logy="auto", legend=None, title: str | None = None):
    """A quantity measured at several settings of a hyperparameter, one line per configuration.

    ``results`` is ``{label: (xs, ys)}``. A non-finite value (a run that diverged) is not joined to the
    line; it is marked with an ``x`` at the top of the axes instead. ``logy="auto"`` uses a log scale
    when every finite value is positive.
    """
    ax, created = _new_axes(ax)
    items, finite_values = [], []
    for i, (label, (xs, ys)) in enumerate(results.items()):
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        if xs.shape != ys.shape:
            raise ValueError(f"{label!r}: {len(xs)} settings but {len(ys)} values")
        colour = COLORS[i % len(COLORS)]
        ok = np.isfinite(ys)
        ax.plot(xs[ok], ys[ok], "-o", color=colour, ms=4, label=label or None)
        if (~ok).any():
            ax.plot(xs[~ok], np.full((~ok).sum(), 0.97), "x", color=colour, ms=8, mew=2, clip_on=False,
                    transform=ax.get_xaxis_transform())
        finite_values.append(ys[ok])
        items.append((label, ys))
    _set_scales(ax, finite_values, logx, logy)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return _finish(ax, created, items, legend, title)


__all__ += ["image_grid", "sweep_curves"]


def dot_bars(values, ax=None, *, ylabel: str | None = None, bottom: float | None = None, title: str | None = None):
    """One bar per entry of ``values`` (``{label: sequence of numbers}``) at the mean of its numbers, with
    every number drawn as a dot on it (for example one dot per seed). ``bottom`` sets the lower end of the
    value axis (default: 0 when every value is non-negative, else automatic)."""
    ax, created = _new_axes(ax)
    names = list(values)
    if not names:
        raise ValueError("dot_bars needs at least one entry")
    runs = [np.asarray(values[name], dtype=float).ravel() for name in names]
    if any(r.size == 0 for r in runs):
        raise ValueError("every entry of dot_bars needs at least one value")
    means = [r.mean() for r in runs]
    ax.bar(range(len(names)), means, color=[COLORS[i % len(COLORS)] for i in range(len(names))], alpha=0.55)
    for i, r in enumerate(runs):
        ax.plot(np.full(r.size, i), r, ".", color="0.15", ms=6)
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right")
    ax.grid(False, axis="x")
    everything = np.concatenate(runs)
    if bottom is not None:
        ax.set_ylim(bottom=bottom)
    elif (everything >= 0).all():
        ax.set_ylim(bottom=0)
    if ylabel:
        ax.set_ylabel(ylabel)
    return _finish(ax, created, [], False, title)


__all__ += ["dot_bars"]
