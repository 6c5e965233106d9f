"""liftpose: lift 2D human keypoint sequences to 3D joints with the Strided Transformer."""

from ._version import __version__
from .config import DEFAULT_STRIDES, ModelConfig
from .errors import LiftposeError, LiftposeWarning, WeightsError
from .formats import LAYOUTS, to_h36m
from .metrics import Similarity, mpjpe, mpjve, n_mpjpe, p_mpjpe, procrustes_align
from .model import StridedTransformer
from .predictor import Lifter
from .preprocess import fill_gaps, resample
from .registry import load_manifest
from .serialization import load_model
from .world import to_world

__all__ = ["DEFAULT_STRIDES", "Lifter", "ModelConfig", "StridedTransformer", "__version__"]
__all__ += ["LiftposeError", "LiftposeWarning"]
__all__ += ["Similarity", "mpjpe", "mpjve", "n_mpjpe", "p_mpjpe", "procrustes_align"]
__all__ += ["WeightsError", "load_manifest", "load_model"]
__all__ += ["LAYOUTS", "fill_gaps", "resample", "to_h36m", "to_world"]
