"""Real data that installs offline: scikit-learn's bundled datasets, as seeded torch tensors.

Nothing here downloads: ``load_diabetes`` and ``load_digits`` ship inside scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Split:
    """Features and targets of a training and a validation set."""
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


def _split(x: torch.Tensor, y: torch.Tensor, valid_fraction: float, seed: int) -> Split:
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"Invalid valid_fraction: {valid_fraction} (expected 0.0 <= valid_fraction < 1.0)")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_valid = int(round(valid_fraction * len(x)))
    valid, train = order[:n_valid], order[n_valid:]
    return Split(x[train], y[train], x[valid], y[valid])


def _standardize(split: Split) -> Split:
    """Scale features (and regression targets) with the training set's mean and standard deviation."""
    mean, std = split.x_train.mean(0), split.x_train.std(0).clamp_min(1e-12)
    return Split((split.x_train - mean) / std, split.y_train, (split.x_valid - mean) / std, split.y_valid)


def load_diabetes(valid_fraction: float = 0.2, seed: int = 0, dtype: torch.dtype = torch.float32) -> Split:
    """scikit-learn's diabetes regression data (442 patients, 10 features), standardized.

    Features are standardized with training-set statistics; the target (disease progression after
    one year) is standardized too, so a mean-squared error of 1 means "no better than the mean".
    """
    from sklearn.datasets import load_diabetes as sk_load

    data = sk_load()
    x = torch.as_tensor(data.data, dtype=dtype)
    y = torch.as_tensor(data.target, dtype=dtype)
    split = _standardize(_split(x, y, valid_fraction, seed))
    mu, sd = split.y_train.mean(), split.y_train.std()
    return Split(split.x_train, (split.y_train - mu) / sd, split.x_valid, (split.y_valid - mu) / sd)


def load_digits(valid_fraction: float = 0.2, seed: int = 0, dtype: torch.dtype = torch.float32,
                flatten: bool = True) -> Split:
    """scikit-learn's handwritten digits (1797 images of 8×8 pixels, 10 classes).

    Pixels are scaled from 0..16 to 0..1. With ``flatten=False`` images have shape (N, 1, 8, 8).
    Targets are class indices (``torch.long``).
    """
    from sklearn.datasets import load_digits as sk_load

    data = sk_load()
    x = torch.as_tensor(data.images, dtype=dtype) / 16.0
    x = x.reshape(len(x), -1) if flatten else x.unsqueeze(1)
    y = torch.as_tensor(data.target, dtype=torch.long)
    return _split(x, y, valid_fraction, seed)
