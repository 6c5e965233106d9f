"""Export the network to ONNX (optional extra ``pip install "liftpose-transformer[onnx]"``).

The graph is the bare network: normalised windows ``keypoints_2d`` (batch, T, 17, 2) ->
``centre`` (batch, 17, 3) and ``window`` (batch, T, 17, 3), root-relative camera-frame metres, with
a dynamic batch axis and a fixed window length T. Pixel normalisation, windowing of long sequences
and flip test-time augmentation stay with the caller (see docs/onnx.md).

Uses ``torch.onnx.export(..., dynamo=True)`` (the torch.export-based exporter, the default since
torch 2.9, which needs the ``onnx`` and ``onnxscript`` packages).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from .model import StridedTransformer
from .skeleton import JOINT_NAMES

INPUT_NAME = "keypoints_2d"
OUTPUT_NAMES = ("centre", "window")
#: Opset 18 is the lowest the dynamo exporter writes; onnxruntime supports it since 1.14.
OPSET = 18
_INSTALL = 'pip install "liftpose-transformer[onnx]"'


def _require(module: str, purpose: str) -> None:
    try:
        __import__(module)
    except ImportError as e:
        raise ImportError(f"{purpose} needs the {module} package: {_INSTALL}") from e


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Hide the exporter's noise that says nothing about this model: a logged warning per
    torchvision op it cannot register, and a FutureWarning from torch's own pytree code."""
    onnx_logger = logging.getLogger("torch.onnx")
    level = onnx_logger.level
    onnx_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*treespec", category=FutureWarning)
            yield
    finally:
        onnx_logger.setLevel(level)


def export_onnx(model: StridedTransformer, path: str | Path, *, opset: int = OPSET) -> Path:
    """Write ``model`` (any device or dtype; exported as a float32 CPU copy in eval mode) to the
    ONNX file ``path``, weights included in the one file. The model's config is stored as metadata
    (``liftpose.config``, ``liftpose.joints``, ``liftpose.input``). Returns ``path``."""
    _require("onnx", "ONNX export")
    _require("onnxscript", "ONNX export")
    path = Path(path)
    model = copy.deepcopy(model).float().cpu().eval()
    cfg = model.cfg
    example = torch.zeros(2, cfg.frames, cfg.joints, 2)
    with _quiet_exporter():
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            verbose=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
        )
    program.model.metadata_props.update(
        {
            "liftpose.config": json.dumps(cfg.to_dict()),
            "liftpose.joints": ",".join(JOINT_NAMES),
            "liftpose.input": "pixels normalised as u / width * 2 - [1, height / width]",
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path), external_data=False)
    return path


def verify_onnx(model: StridedTransformer, path: str | Path, *, batch: int = 3, seed: int = 0) -> float:
    """Run the ONNX file under onnxruntime (CPU) and PyTorch on the same random normalised windows
    (``batch`` of them, uniform in [-1, 1]); return the largest absolute difference over both outputs."""
    _require("onnxruntime", "checking an ONNX export")
    import onnxruntime as ort

    model = copy.deepcopy(model).float().cpu().eval()
    cfg = model.cfg
    x = torch.rand(batch, cfg.frames, cfg.joints, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUT_NAMES), {INPUT_NAME: x.numpy()})
    with torch.no_grad():
        want = model(x)
    return max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want, strict=True))
