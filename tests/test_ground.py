import logging

import numpy as np
import pytest
from synthetic_motion import FOCAL, HEIGHT, WIDTH, clip

from liftpose.ground import LEVEL_UP, Ground, angle_between, estimate_ground, tilt_of_rotation, up_rotation
from liftpose.trajectory import root_trajectory
from liftpose.world import LEVEL_CAMERA, to_world


@pytest.fixture(scope="module")
def walk():
    return clip(200, pitch=14.0, roll=-4.0)


def test_floor_recovers_pitch_and_roll(walk):
    g = estimate_ground(walk.camera, fps=walk.fps)
    truth = Ground(walk.up, 0.0, "true")
    assert g.method == "floor"
    assert truth.pitch == pytest.approx(14.0) and truth.roll == pytest.approx(4.0)  # roll: up leans to image +x
    assert abs(g.pitch - truth.pitch) < 1.0 and abs(g.roll - truth.roll) < 1.0
    assert angle_between(g.up, walk.up) < 1.0


def test_from_lifted_style_input_with_fitted_path(walk):
    rel = walk.camera - walk.camera[:, :1]
    t = root_trajectory(rel, walk.uv, (WIDTH, HEIGHT), focal=FOCAL, fps=walk.fps)
    assert angle_between(estimate_ground(rel + t[:, None]).up, walk.up) < 2.0


def test_standing_still_falls_back_to_the_body_axis(walk, caplog):
    still = np.repeat(walk.camera[:1], 60, axis=0)  # no path: contacts do not span the floor
    with caplog.at_level(logging.INFO, logger="liftpose.ground"):
        g = estimate_ground(still)
    assert g.method in ("body", "floor+body")
    assert angle_between(g.up, walk.up) < 8.0  # the body leans a little in this pose
    assert "body" in caplog.text


def test_no_standing_frame_assumes_a_level_camera(walk, caplog):
    seated = walk.camera[:20].copy()
    seated[:, [2, 5], :] = seated[:, [1, 4], :] + [0.0, 0.0, -0.4]  # knees forward: legs not straight
    with caplog.at_level(logging.WARNING, logger="liftpose.ground"):
        g = estimate_ground(seated[:5])
    assert g.method == "level" and np.array_equal(g.up, LEVEL_UP)
    assert "level camera" in caplog.text


def test_rotation_conventions():
    np.testing.assert_allclose(up_rotation(LEVEL_UP), LEVEL_CAMERA, atol=1e-12)
    r = up_rotation([0.1, -0.95, -0.2])
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    # a Human3.6M-style R (X_cam = R^T X_world): level camera looking along world y
    up, pitch, roll = tilt_of_rotation(LEVEL_CAMERA)
    np.testing.assert_allclose(up, LEVEL_UP, atol=1e-12)
    assert pitch == pytest.approx(0.0) and roll == pytest.approx(0.0)


def test_to_world_estimate_puts_the_walker_upright(walk):
    rel = walk.camera - walk.camera[:, :1]
    world = to_world(rel, "estimate", trajectory=walk.camera[:, 0])
    spine = world[:, 8] - world[:, 0]
    assert angle_between(spine.mean(0), [0, 0, 1]) < 5.0  # the trunk points up
    feet = world[:, [3, 6], 2].min(-1)
    assert feet.min() == pytest.approx(0.0, abs=1e-9) and np.percentile(feet, 50) < 0.02  # one floor for the clip
    with pytest.raises(ValueError, match="'estimate'"):
        to_world(rel, "level")
