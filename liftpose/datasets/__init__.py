"""Dataset readers for training and evaluation (the data itself never ships with liftpose)."""

from .h36m import Sequence, load_h36m

__all__ = ["Sequence", "load_h36m"]
