"""From-scratch optimizers with torch's names, signatures, defaults and state keys.

``optimlab.optim.X`` drops in for ``torch.optim.X``: same arguments, same parameter-group keys,
same state (so checkpoints load either way) and the same numbers as torch's for-loop
implementation (``foreach=False``). The running averages and the bias correction that
RMSprop, Adadelta, Adam and AdamW share live in :mod:`optimlab.optim.moments`.
"""

from . import lr_scheduler
from ._base import Optimizer
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .moments import bias_correction, ewma_, ewma_sq_
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
           "ewma_", "ewma_sq_", "bias_correction"]
