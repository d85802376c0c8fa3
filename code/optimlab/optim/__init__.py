"""From-scratch optimizers with torch's names, signatures, defaults and state keys."""

from ._base import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD"]
