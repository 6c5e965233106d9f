"""The converted official checkpoints reproduce the official outputs (the definition of parity)."""

import pytest
import torch
from safetensors.torch import load_file

from liftpose.config import ModelConfig
from liftpose.convert import convert_official
from liftpose.model import StridedTransformer


@pytest.mark.parametrize("frames", [27, 243, 351])
def test_converted_model_matches_official_outputs(reference_dir, tmp_path, frames):
    out = convert_official(reference_dir / f"official_T{frames}.pth", tmp_path)
    cfg = ModelConfig.load(out / "config.json")
    assert cfg.frames == frames
    model = StridedTransformer(cfg).eval()
    model.load_state_dict(load_file(out / "model.safetensors"), strict=False)
    io = load_file(reference_dir / f"official_T{frames}_io.safetensors")
    with torch.no_grad():
        centre, window = model(io["input_2d"])
    assert centre.shape == io["output_ste"][:, 0].shape
    assert (centre - io["output_ste"][:, 0]).abs().max() <= 1e-4
    assert (window - io["output_vte"]).abs().max() <= 1e-4
