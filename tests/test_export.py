"""ONNX export: the graph reproduces PyTorch under onnxruntime, with a dynamic batch axis."""

import json
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from liftpose.cli import main
from liftpose.config import ModelConfig
from liftpose.convert import convert_official
from liftpose.export import export_onnx, verify_onnx
from liftpose.model import StridedTransformer

SKIP = 'needs the optional extra: pip install "liftpose-transformer[onnx]"'


@pytest.fixture
def ort():
    for module in ("onnx", "onnxscript"):
        pytest.importorskip(module, reason=SKIP)
    return pytest.importorskip("onnxruntime", reason=SKIP)


def converted(reference_dir, tmp_path, frames: int) -> tuple[StridedTransformer, object]:
    """The official parity fixture converted to liftpose weights: (model in eval mode, its folder)."""
    out = convert_official(reference_dir / f"official_T{frames}.pth", tmp_path / f"T{frames}")
    model = StridedTransformer(ModelConfig.load(out / "config.json")).eval()
    model.load_state_dict(load_file(out / "model.safetensors"), strict=True)
    return model, out


def assert_onnx_matches(ort, model: StridedTransformer, path) -> None:
    """Batch 3 (the export traces batch 2), random normalised windows: both outputs within 1e-4."""
    t = model.cfg.frames
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "keypoints_2d"
    assert isinstance(inp.shape[0], str) and inp.shape[1:] == [t, 17, 2]
    x = torch.rand(3, t, 17, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    centre, window = session.run(["centre", "window"], {"keypoints_2d": x.numpy()})
    with torch.no_grad():
        want_centre, want_window = model(x)
    assert centre.shape == (3, 17, 3) and window.shape == (3, t, 17, 3)
    assert np.abs(centre - want_centre.numpy()).max() <= 1e-4
    assert np.abs(window - want_window.numpy()).max() <= 1e-4


def test_export_243_matches_pytorch(ort, reference_dir, tmp_path):
    model, _ = converted(reference_dir, tmp_path, 243)
    path = export_onnx(model, tmp_path / "T243.onnx")
    assert [p.name for p in tmp_path.glob("T243.onnx*")] == ["T243.onnx"]  # weights inside, no .data file
    assert_onnx_matches(ort, model, path)
    meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert ModelConfig.from_dict(json.loads(meta["liftpose.config"])) == model.cfg


def test_cli_export_27_matches_pytorch(ort, reference_dir, tmp_path, capsys):
    model, folder = converted(reference_dir, tmp_path, 27)
    main(["export-onnx", str(folder), str(tmp_path / "T27.onnx")])
    printed = capsys.readouterr().out
    assert "max abs difference" in printed and float(printed.split("difference ")[-1]) <= 1e-4
    assert_onnx_matches(ort, model, tmp_path / "T27.onnx")

    # The check the CLI prints would catch an export of other weights.
    other = StridedTransformer(model.cfg).eval()
    assert verify_onnx(other, tmp_path / "T27.onnx") > 1e-2


def test_export_without_onnx_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(ImportError, match=r'pip install "liftpose-transformer\[onnx\]"'):
        export_onnx(StridedTransformer(ModelConfig.for_frames(27)), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
