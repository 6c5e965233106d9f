"""The converted official checkpoints reproduce the official outputs (the definition of parity)."""

import pytest
import torch
from safetensors.torch import load_file

from liftpose.convert import convert_official
from liftpose.serialization import load_model


@pytest.mark.parametrize("frames", [27, 243, 351])
def test_converted_model_matches_official_outputs(reference_dir, tmp_path, frames):
    model = load_model(convert_official(reference_dir / f"official_T{frames}.pth", tmp_path))
    assert model.cfg.frames == frames
    io = load_file(reference_dir / f"official_T{frames}_io.safetensors")
    with torch.no_grad():
        centre, window = model(io["input_2d"])
    assert centre.shape == io["output_ste"][:, 0].shape
    assert (centre - io["output_ste"][:, 0]).abs().max() <= 1e-4
    assert (window - io["output_vte"]).abs().max() <= 1e-4
