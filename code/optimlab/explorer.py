"""An interactive explorer: pick an objective, an optimizer, a learning rate and a number of steps,
and see the trajectory and the loss curve.

Widgets need a live kernel, so a chapter calls :func:`explore` in a cell tagged ``skip-execution``,
next to a static figure or animation that carries the same idea in the rendered book::

    from optimlab.explorer import explore
    explore()                                   # every objective, every optimizer of optimlab.optim
    explore(objectives={"x²": square()}, lr=0.3)
"""

from __future__ import annotations

from typing import Callable

from .objectives import OBJECTIVES, Objective
from .trajectory import run_optimizer

__all__ = ["explore", "default_optimizers"]


def default_optimizers() -> dict:
    """Every optimizer class exported by ``optimlab.optim``, plus SGD with momentum 0.9."""
    import optimlab.optim as optim

    choices = {}
    for name in getattr(optim, "__all__", []):
        cls = getattr(optim, name)
        if isinstance(cls, type) and cls is not optim.Optimizer:
            choices[name] = (cls, {})
    if "SGD" in choices:
        choices["SGD, momentum 0.9"] = (optim.SGD, {"momentum": 0.9})
    return choices


def _objective(value) -> Objective:
    return value if isinstance(value, Objective) else value()


def explore(objectives: dict | None = None, optimizers: dict | None = None, *, lr: float = 0.1,
            steps: int = 20, x0=None):
    """Build the explorer widget (an ``ipywidgets.VBox``; it displays when it is a cell's last value).

    ``objectives`` maps a name to an Objective (or a function returning one); default: every entry of
    ``optimlab.objectives.OBJECTIVES``. ``optimizers`` maps a name to an optimizer class or to
    ``(class, extra_hyperparameters)``; default: :func:`default_optimizers`. ``x0`` overrides each
    objective's default start (only when its dimension matches)."""
    import ipywidgets as widgets
    from IPython.display import display

    from . import plots

    objectives = objectives or OBJECTIVES
    optimizers = {name: (spec if isinstance(spec, tuple) else (spec, {}))
                  for name, spec in (optimizers or default_optimizers()).items()}
    pick_objective = widgets.Dropdown(options=list(objectives), description="objective")
    pick_optimizer = widgets.Dropdown(options=list(optimizers), description="optimizer")
    pick_lr = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=1, step=0.05, description="lr",
                                     readout_format=".3g", continuous_update=False)
    pick_steps = widgets.IntSlider(value=steps, min=1, max=200, description="steps", continuous_update=False)

    def show(objective_name: str, optimizer_name: str, lr: float, steps: int):
        objective = _objective(objectives[objective_name])
        cls, extra = optimizers[optimizer_name]
        start = x0 if x0 is not None and len(x0) == objective.dim else None
        traj = run_optimizer(objective, cls, start, steps, lr=lr, **extra)
        fig, axes = plots.subplots(1, 2, figsize=(9.5, 3.6))
        trace: Callable = plots.trace_1d if objective.dim == 1 else plots.trace_2d
        trace(objective, traj, ax=axes[0], title=objective.name)
        plots.loss_curves({traj.label: traj.losses}, ax=axes[1], title=f"final loss {traj.loss:.4g}")
        display(fig)

    out = widgets.interactive_output(show, {"objective_name": pick_objective, "optimizer_name": pick_optimizer,
                                            "lr": pick_lr, "steps": pick_steps})
    controls = widgets.HBox([widgets.VBox([pick_objective, pick_optimizer]), widgets.VBox([pick_lr, pick_steps])])
    return widgets.VBox([controls, out])
