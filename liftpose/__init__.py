"""liftpose: lift 2D human keypoint sequences to 3D joints with the Strided Transformer."""

from .config import DEFAULT_STRIDES, ModelConfig
from .metrics import Similarity, mpjpe, mpjve, n_mpjpe, p_mpjpe, procrustes_align
from .model import StridedTransformer
from .predictor import Lifter

__version__ = "0.1.0"

__all__ = ["DEFAULT_STRIDES", "Lifter", "ModelConfig", "StridedTransformer", "__version__"]
__all__ += ["Similarity", "mpjpe", "mpjve", "n_mpjpe", "p_mpjpe", "procrustes_align"]
