"""liftpose: lift 2D human keypoint sequences to 3D joints with the Strided Transformer."""

from .config import DEFAULT_STRIDES, ModelConfig
from .model import StridedTransformer

__version__ = "0.1.0"

__all__ = ["DEFAULT_STRIDES", "ModelConfig", "StridedTransformer", "__version__"]
