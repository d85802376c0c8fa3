"""The learning-rate scheduler classes, re-exported: they live in :mod:`optimlab.optim.lr_scheduler`."""

from .optim.lr_scheduler import *  # noqa: F401,F403
from .optim.lr_scheduler import __all__  # noqa: F401
