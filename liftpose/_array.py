"""The few numpy/torch differences, so geometry code is written once for both.

numpy and torch share most of the API the geometry needs (``xp.sum(x, axis=..., keepdims=...)``,
``xp.linalg.svd``, ``xp.where``, ``xp.diff``, ...); ``namespace`` returns the module to call and the
helpers below cover the rest.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import torch

Array = np.ndarray | torch.Tensor


def namespace(*arrays: Any) -> ModuleType:
    """``torch`` if the arguments are tensors, ``numpy`` otherwise; mixing the two is an error."""
    kinds = {isinstance(a, torch.Tensor) for a in arrays}
    if len(kinds) > 1:
        raise TypeError("got both numpy arrays and torch tensors: pass all inputs as one kind")
    return torch if kinds == {True} else np


def as_float(x: Any) -> Array:
    """Tensors stay tensors (integer ones become the default float dtype); anything else becomes a
    float numpy array (float64 unless it already is floating point)."""
    if isinstance(x, torch.Tensor):
        return x if x.is_floating_point() else x.to(torch.get_default_dtype())
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def to_numpy(x: Any, dtype: Any = np.float64) -> np.ndarray:
    """A numpy array of ``dtype`` from a tensor (detached, copied to the CPU), an array or a list."""
    return np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=dtype)


def vector_norm(x: Array, axis: int = -1) -> Array:
    """Euclidean norm along ``axis`` (for tensors, with a zero subgradient at zero)."""
    if isinstance(x, torch.Tensor):
        return torch.linalg.vector_norm(x, dim=axis)
    return np.sqrt(np.sum(x * x, axis=axis))


def eye_like(n: int, x: Array) -> Array:
    """The (n, n) identity with the dtype (and device) of ``x``."""
    if isinstance(x, torch.Tensor):
        return torch.eye(n, dtype=x.dtype, device=x.device)
    return np.eye(n, dtype=x.dtype)


def eps(x: Array) -> float:
    """Machine epsilon of the dtype of ``x``."""
    return float(torch.finfo(x.dtype).eps if isinstance(x, torch.Tensor) else np.finfo(x.dtype).eps)
