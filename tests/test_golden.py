"""Golden outputs: every bundled model lifts the committed synthetic walk to the poses stored in
tests/golden/NAME.npz, so a changed weight, a changed engine or a changed preprocessing fails here
(regenerate with ``python tests/make_golden.py`` only when the change is meant)."""

import numpy as np
import pytest
from make_golden import ROOT, bundled_models, golden_poses

from liftpose.registry import load_manifest


@pytest.mark.parametrize("name", bundled_models())
def test_bundled_model_reproduces_its_golden_poses(name):
    golden = np.load(ROOT / "golden" / f"{name}.npz")
    assert str(golden["sha256"]) == load_manifest()[name].sha256, (
        "weights changed: regenerate with tests/make_golden.py"
    )
    poses = golden_poses(name)
    assert poses.shape == golden["poses"].shape
    np.testing.assert_allclose(poses, golden["poses"], atol=2e-5, rtol=0)


def test_a_changed_weight_is_caught_by_the_tolerance():
    import torch
    from make_golden import INPUT

    from liftpose import Lifter
    from liftpose.formats import load_keypoints

    name = bundled_models()[0]
    data = load_keypoints(INPUT)
    lifter = Lifter.from_pretrained(name, device="cpu")
    with torch.no_grad():
        lifter.model.embed.weight[0, 0] += 1e-3  # one weight of four million, by a float16 step or so
    poses = lifter.predict(data.keypoints, data.image_size, layout=data.layout, fps=data.fps)
    assert np.abs(poses - np.load(ROOT / "golden" / f"{name}.npz")["poses"]).max() > 2e-5
