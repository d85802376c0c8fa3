"""optimlab: the from-scratch optimizers, schedules and teaching helpers of the course
*Optimization for Deep Learning*.

``optimlab.optim.Adam`` drops in for ``torch.optim.Adam`` (and likewise for the other
optimizers); the helper modules hold everything the chapters share: objectives,
trajectories, plots and animations, live cross-checks against torch, and exercise checks.
"""

__version__ = "0.1.0"
