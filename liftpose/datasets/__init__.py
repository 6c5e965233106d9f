"""Dataset readers for training and evaluation (the data itself never ships with liftpose)."""

from .h36m import Sequence, load_h36m
from .videopose3d import import_videopose3d, read_positions_2d, read_positions_3d

__all__ = ["Sequence", "import_videopose3d", "load_h36m", "read_positions_2d", "read_positions_3d"]
