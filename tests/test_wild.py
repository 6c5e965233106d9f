"""Plausibility on real detector output (../shared/data/wild, no 3D ground truth): a real person's
limb bones keep their length, so the lifted bone lengths must barely vary over a video.

Lifts every wild sequence with every model the manifest marks available; set LIFTPOSE_WILD_MODEL
to a model name or weights folder to check only those weights.
Run with ``pytest -m "data and slow" tests/test_wild.py -s`` to see the worst bone per sequence.
"""

import json
import os

import numpy as np
import pytest
from conftest import DATA, WILD_NORMALIZED, WILD_SIZE_SWAPPED

from liftpose import Lifter
from liftpose.bones import LIMB_BONES, bone_length_cv, bone_lengths
from liftpose.formats import load_keypoints
from liftpose.registry import load_manifest

WILD = DATA / "wild"
MODELS = (
    [os.environ["LIFTPOSE_WILD_MODEL"]]
    if "LIFTPOSE_WILD_MODEL" in os.environ
    else [name for name, entry in load_manifest().items() if entry.status == "available"]
)
MAX_CV = 0.25
SEQUENCES = [e["file"] for e in json.loads((WILD / "index.json").read_text())] if (WILD / "index.json").exists() else []

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module", params=MODELS)
def lifter(request) -> Lifter:
    return Lifter.from_pretrained(request.param, device="cpu")


@pytest.mark.parametrize(
    "name", SEQUENCES or [pytest.param(None, marks=pytest.mark.skip(reason=f"no {WILD}/index.json"))]
)
def test_limb_bone_lengths_are_steady(lifter, name):
    data = load_keypoints(WILD / name)
    size = data.image_size[::-1] if name in WILD_SIZE_SWAPPED else data.image_size
    poses = lifter.predict(data.keypoints, size, layout="coco17", normalized=name in WILD_NORMALIZED)
    assert poses.shape == (len(data.keypoints), 17, 3) and np.isfinite(poses).all()
    cv = bone_length_cv(poses)
    worst = max(cv, key=cv.get)
    mm = 1000 * bone_lengths(poses, {worst: LIMB_BONES[worst]})[:, 0]
    print(
        f"\n{name}: {len(poses)} frames, worst bone {worst} cv={cv[worst]:.3f} "
        f"(length {mm.min():.0f} to {mm.max():.0f} mm, median {np.median(mm):.0f})"
    )
    assert cv[worst] < MAX_CV, f"{name}: bone length CV over {MAX_CV}: " + ", ".join(
        f"{k} {v:.3f}" for k, v in cv.items()
    )
