"""Small utilities every chapter uses: seeding and choosing a device."""

from __future__ import annotations

import importlib
import random

import numpy as np
import torch

__all__ = ["seed_everything", "default_device", "public_name"]


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device).

    Returns nothing, so that a cell ending with it shows no output; code that wants its own
    generator makes one with ``torch.Generator().manual_seed(seed)``.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def default_device() -> torch.device:
    """``cuda`` when a GPU is available, otherwise ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def public_name(obj) -> str:
    """The shortest dotted name under which ``obj`` (a class, function or method) is importable:
    ``optimlab.optim.SGD`` rather than ``optimlab.optim.sgd.SGD``, ``torch.optim.SGD.step``."""
    module = getattr(obj, "__module__", None) or ""
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", repr(obj))
    top = qualname.split(".")[0]
    target = getattr(importlib.import_module(module), top, None) if module else None
    parts = module.split(".")
    for i in range(1, len(parts)):
        prefix = ".".join(parts[:i])
        try:
            if target is not None and getattr(importlib.import_module(prefix), top, None) is target:
                return f"{prefix}.{qualname}"
        except ImportError:
            continue
    return f"{module}.{qualname}" if module else qualname
