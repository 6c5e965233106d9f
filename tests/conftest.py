import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _shared() -> Path:
    """The ``shared/`` folder beside the repo: $LIFTPOSE_SHARED, else ``../shared`` of this checkout,
    else ``../shared`` of the local repository it was cloned from (a CI clone in a temp folder)."""
    if "LIFTPOSE_SHARED" in os.environ:
        return Path(os.environ["LIFTPOSE_SHARED"])
    here = REPO.parent / "shared"
    if here.exists():
        return here
    origin = subprocess.run(["git", "-C", str(REPO), "remote", "get-url", "origin"], capture_output=True, text=True)
    beside_origin = Path(origin.stdout.strip()).parent / "shared"
    return beside_origin if origin.returncode == 0 and beside_origin.exists() else here


SHARED = _shared()
REFERENCE = SHARED / "reference"
DATA = SHARED / "data"
#: Wild clips whose stored metadata does not describe their keypoints (liftpose.checks stops both):
#: FLtest's keypoints are x / width, y / height in [0, 1]; 006FL's keypoints reach v = 1672 px
#: while it stores 1920x1080, and all fit 1080x1920, its portrait video's size.
WILD_NORMALIZED = ("coco17_filipkro_FLtest_0.npz",)
WILD_SIZE_SWAPPED = ("coco17_filipkro_006FL_0.npz",)


def assert_picture(path: Path, size: tuple[int, int]) -> None:
    """``path`` is a PNG of ``size`` (width, height) pixels with a drawing on a light background: many
    (anti-aliased) colours, and a few percent of the pixels dark, not none and not most."""
    import matplotlib.image

    image = matplotlib.image.imread(path)  # (height, width, RGB(A)) floats in [0, 1]; an error if not a PNG
    assert image.shape[1::-1] == size, image.shape
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 100
    assert 0.01 < (image[..., :3].min(-1) < 0.9).mean() < 0.5


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
