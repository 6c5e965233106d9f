from pathlib import Path

import pytest
import torch

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.exists():
        pytest.fail(f"reference fixtures missing: expected {REFERENCE} (the shared/ folder beside the repo)")
    return REFERENCE


@pytest.fixture(scope="session")
def converted_27(reference_dir, tmp_path_factory) -> Path:
    """A weights folder converted from the official T=27 fixture checkpoint (the real network)."""
    from liftpose.convert import convert_official

    return convert_official(reference_dir / "official_T27.pth", tmp_path_factory.mktemp("t27"))
