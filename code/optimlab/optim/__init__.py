"""From-scratch optimizers with torch's names, signatures, defaults and state keys.

``optimlab.optim.X`` drops in for ``torch.optim.X``: same arguments, same parameter-group keys,
same state (so checkpoints load either way) and the same numbers as torch's for-loop
implementation (``foreach=False``). The running averages and the bias correction that
RMSprop, Adadelta, Adam and AdamW share live in :mod:`optimlab.optim.moments`.

Optimizers torch does not have, each held equal to a published reference implementation
and to steps computed by hand: ``Yogi``, ``Lion``, ``SGDScheduleFree``, ``AdamWScheduleFree``,
``LARS`` and ``LAMB``.
"""

from . import lr_scheduler
from ._base import Optimizer
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lamb import LAMB
from .lars import LARS
from .lbfgs import LBFGS
from .lion import Lion
from .moments import bias_correction, ewma_, ewma_sq_
from .muon import Muon
from .nadam import NAdam
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .schedule_free import AdamWScheduleFree, SGDScheduleFree
from .sgd import SGD
from .sparse_adam import SparseAdam
from .yogi import Yogi

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
           "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "SparseAdam", "Adafactor", "Muon", "LBFGS",
           "Yogi", "Lion", "SGDScheduleFree", "AdamWScheduleFree",
           "LARS", "LAMB", "ewma_", "ewma_sq_", "bias_correction"]
