import numpy as np
import pytest
import torch
from synthetic_motion import FOCAL, HEIGHT, WIDTH, clip

from liftpose.trajectory import DEFAULT_FOV, field_of_view, intrinsics, reprojection_error, root_trajectory
from liftpose.world import body_height

SIZE = (WIDTH, HEIGHT)


@pytest.fixture(scope="module")
def walk():
    return clip(150)


def relative(c):
    return c.camera - c.camera[:, :1]


def test_exact_2d_gives_the_true_path(walk):
    # the synthetic pelvis bobs at ~2.6 m/s^2: allow that acceleration and the fit is exact
    t = root_trajectory(relative(walk), walk.uv, SIZE, focal=FOCAL, fps=walk.fps, acceleration=50.0)
    np.testing.assert_allclose(t, walk.camera[:, 0], atol=2e-3)
    err = reprojection_error(relative(walk), t, walk.uv, intrinsics(SIZE, focal=FOCAL))
    assert err.max() < 0.5  # pixels


def test_noisy_2d_is_smoothed_without_losing_the_path(walk):
    rng = np.random.default_rng(0)
    uv = walk.uv + rng.normal(0.0, 3.0, walk.uv.shape)
    t = root_trajectory(relative(walk), uv, SIZE, focal=FOCAL, fps=walk.fps)
    per_frame = np.stack(
        [root_trajectory(relative(walk)[i : i + 1], uv[i : i + 1], SIZE, focal=FOCAL)[0] for i in range(0, 150, 10)]
    )
    true = walk.camera[:, 0]
    assert np.abs(t - true).mean(0).max() < 0.015  # metres, depth included
    assert np.abs(per_frame - true[::10]).mean(0)[2] > 2 * np.abs(t - true).mean(0)[2]  # the penalty helps depth
    # no jitter the 2D does not have: second differences as small as the true path's
    assert (
        np.linalg.norm(np.diff(t, 2, axis=0), axis=-1).mean()
        < 1.5 * np.linalg.norm(np.diff(true, 2, axis=0), axis=-1).mean()
    )


def test_confidence_weights_ignore_a_wrong_joint(walk):
    kp = np.concatenate([walk.uv, np.ones(walk.uv.shape[:-1] + (1,))], -1)
    kp[:, 13, :2] += 300.0  # a left wrist detected far away ...
    kp[:, 13, 2] = 0.1  # ... with low confidence: below the threshold, weight 0
    t = root_trajectory(relative(walk), kp, SIZE, focal=FOCAL, acceleration=50.0)
    np.testing.assert_allclose(t, walk.camera[:, 0], atol=2e-3)


def test_batched_torch_and_height(walk):
    rel = relative(walk)
    one = root_trajectory(rel, walk.uv, SIZE, focal=FOCAL)
    both = root_trajectory(
        torch.as_tensor(np.stack([rel, rel])), torch.as_tensor(np.stack([walk.uv, walk.uv])), SIZE, focal=FOCAL
    )
    assert both.shape == (2, 150, 3)
    np.testing.assert_allclose(both[1], one, atol=1e-9)
    tall = root_trajectory(rel, walk.uv, SIZE, focal=FOCAL, height=2 * float(body_height(rel)))
    np.testing.assert_allclose(tall, 2 * one, rtol=1e-9)  # depth scales with the assumed body size


def test_intrinsics_defaults_and_errors():
    cam = intrinsics((1920, 1080))
    np.testing.assert_allclose(cam.centre, [960, 540])
    assert field_of_view(cam.focal[0], 1920) == pytest.approx(DEFAULT_FOV)
    assert intrinsics((1080, 1920), fov=90).focal[0] == pytest.approx(960)  # fov across the longer side
    with pytest.raises(ValueError, match="either focal"):
        intrinsics((640, 480), focal=500, fov=60)
    with pytest.raises(ValueError, match="fov must be"):
        intrinsics((640, 480), fov=0)


def test_mismatched_inputs_say_what_to_pass(walk):
    with pytest.raises(ValueError, match="one set of keypoints per pose"):
        root_trajectory(relative(walk)[:10], walk.uv[:12], SIZE)
    with pytest.raises(ValueError, match=r"\(T, 17, 3\)"):
        root_trajectory(relative(walk)[..., :2], walk.uv, SIZE)
