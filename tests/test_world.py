import numpy as np
import pytest
import torch
from conftest import DATA
from scipy.spatial.transform import Rotation

from liftpose.bones import LIMB_BONES, bone_length_cv, bone_lengths
from liftpose.world import (
    DEMO_ROTATION,
    LEVEL_CAMERA,
    body_height,
    camera_to_world,
    place_on_ground,
    quaternion_to_matrix,
    root_relative,
    scale_to_height,
    to_world,
)


def qrot(q, v):
    """VideoPose3D common/camera.py qrot, restated in numpy: rotate v (..., 3) by q (w, x, y, z)."""
    q = np.broadcast_to(q, v.shape[:-1] + (4,))
    uv = np.cross(q[..., 1:], v)
    uuv = np.cross(q[..., 1:], uv)
    return v + 2 * (q[..., :1] * uv + uuv)


def standing_skeleton(height_scale=1.0):
    """A camera-frame (y down) upright H36M pose, pelvis at the origin, bones of known length."""
    p = np.zeros((17, 3))
    p[[1, 4], 0] = [-0.1, 0.1]  # hips
    p[[2, 5], 1], p[[3, 6], 1] = 0.45, 0.9  # knees 0.45 below hips, ankles 0.45 below knees
    p[[2, 5], 0], p[[3, 6], 0] = p[[1, 4], 0], p[[1, 4], 0]
    p[7, 1], p[8, 1], p[9, 1], p[10, 1] = -0.25, -0.5, -0.6, -0.75
    p[[11, 14], 0], p[[11, 14], 1] = [0.2, -0.2], -0.5
    p[[12, 15], 0], p[[12, 15], 1] = [0.2, -0.2], -0.2
    p[[13, 16], 0], p[[13, 16], 1] = [0.2, -0.2], 0.05
    return p * height_scale  # chain = 0.45 + 0.45 + 0.25 + 0.25 + 0.1 + 0.15 = 1.65


def test_quaternion_matrix_matches_scipy_and_videopose3d_qrot():
    q = np.random.default_rng(0).normal(size=(6, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    v = np.random.default_rng(1).normal(size=(17, 3))
    for quat in q:
        m = quaternion_to_matrix(quat)
        np.testing.assert_allclose(m, Rotation.from_quat(np.r_[quat[1:], quat[0]]).as_matrix(), atol=1e-12)
        np.testing.assert_allclose(camera_to_world(v, quat), qrot(quat, v), atol=1e-12)


def test_demo_rotation_matches_the_demo_call():
    pose = standing_skeleton()
    demo = qrot(DEMO_ROTATION.astype(np.float32), pose.astype(np.float32))  # camera_to_world(post_out, R=rot, t=0)
    demo[:, 2] -= demo[:, 2].min()  # post_out[:, 2] -= np.min(post_out[:, 2])
    np.testing.assert_allclose(to_world(pose[None])[0], demo, atol=1e-6)
    world = to_world(pose[None])[0]
    assert world[10, 2] > world[0, 2] > world[3, 2]  # head above pelvis above ankle: z is up


def test_level_camera_maps_image_up_to_world_up():
    assert np.isclose(np.linalg.det(LEVEL_CAMERA), 1.0)
    world = camera_to_world(standing_skeleton(), LEVEL_CAMERA)
    np.testing.assert_allclose(world[10], [0, 0, 0.75], atol=1e-12)  # head straight above the pelvis
    np.testing.assert_allclose(world[[11, 14], 0], [0.2, -0.2])  # left stays at +x


def test_rotation_validation():
    with pytest.raises(ValueError, match="determinant"):
        camera_to_world(np.zeros((17, 3)), np.diag([1.0, 1.0, -1.0]))
    with pytest.raises(ValueError, match="quaternion"):
        camera_to_world(np.zeros((17, 3)), np.eye(2))


def test_ground_per_frame_and_per_sequence():
    rng = np.random.default_rng(2)
    poses = rng.normal(size=(5, 17, 3))
    per_frame = place_on_ground(poses)
    np.testing.assert_allclose(per_frame[..., 2].min(-1), 0, atol=1e-12)
    np.testing.assert_array_equal(per_frame[..., :2], poses[..., :2])
    whole = place_on_ground(poses, per_frame=False)
    assert np.isclose(whole[..., 2].min(), 0) and whole[..., 2].min(-1).max() > 0.1  # frames keep their offsets
    np.testing.assert_allclose(np.diff(whole[..., 2], axis=0), np.diff(poses[..., 2], axis=0), atol=1e-12)
    np.testing.assert_allclose(place_on_ground(poses, up_axis=1)[..., 1].min(-1), 0, atol=1e-12)


def test_body_height_and_scaling():
    seq = np.stack([standing_skeleton(), standing_skeleton(), standing_skeleton(1.1)])
    np.testing.assert_allclose(body_height(seq), 1.65)  # median ignores the odd frame
    scaled = scale_to_height(np.stack([seq, 2 * seq]), 1.80)
    np.testing.assert_allclose(body_height(scaled), [1.80, 1.80])
    np.testing.assert_allclose(scaled[1], scaled[0])


def test_to_world_root_height_and_torch():
    pose = standing_skeleton() + np.array([0.3, -0.2, 4.0])  # not root-relative
    world = to_world(pose[None], LEVEL_CAMERA, height=1.8, ground=False)[0]
    np.testing.assert_allclose(world[0], 0, atol=1e-12)
    np.testing.assert_allclose(world[10, 2], 0.75 * 1.8 / 1.65)
    grounded = to_world(torch.from_numpy(pose[None]).float(), LEVEL_CAMERA, height=1.8)
    assert isinstance(grounded, torch.Tensor) and grounded.dtype == torch.float32
    np.testing.assert_allclose(grounded[0, :, 2].min().item(), 0, atol=1e-6)
    np.testing.assert_allclose(grounded[0].numpy(), world + [0, 0, 0.9 * 1.8 / 1.65], atol=1e-5)
    np.testing.assert_allclose(root_relative(pose)[0], 0)


@pytest.mark.data
def test_demo_rotation_is_human36m_camera_54138969_and_body_height_is_head_height():
    from liftpose.datasets.h36m import load_cameras

    cam = load_cameras(DATA / "h36m" / "cameras.json")["S1"]["54138969"]
    np.testing.assert_allclose(quaternion_to_matrix(DEMO_ROTATION), cam.R, atol=1e-6)
    world = np.load(DATA / "h36m" / "poses_3d_world.npz")
    for subject in ("S9", "S11"):
        poses = world[f"{subject}/Walking"] if f"{subject}/Walking" in world else world[f"{subject}/Walking 1"]
        cam_poses = cam.world_to_camera(poses)
        np.testing.assert_allclose(camera_to_world(cam_poses, cam.R, cam.T), poses, atol=1e-5)
        upright = to_world(cam_poses, DEMO_ROTATION, ground=False)  # S1's camera orientation, exact for S1
        assert np.all(upright[:, 10, 2] > upright[:, 3, 2])  # head above ankle in every frame
        head_height = np.percentile(poses[:, 10, 2], 95)
        assert 0.95 < body_height(poses) / head_height < 1.05


def test_bone_length_cv_is_zero_for_a_rigid_moving_skeleton_and_sees_one_stretched_bone():
    rotations = Rotation.from_euler("y", np.linspace(0, 3, 20)[:, None]).as_matrix()
    poses = standing_skeleton() @ rotations.transpose(0, 2, 1) + np.linspace(0, 1, 20)[:, None, None]
    assert list(bone_lengths(poses[0]).round(6)) == [0.45, 0.45, 0.45, 0.45, 0.3, 0.25, 0.3, 0.25]
    assert max(bone_length_cv(torch.from_numpy(poses)).values()) < 1e-9
    stretched = poses.copy()
    stretched[::2, 3] += stretched[::2, 3] - stretched[::2, 2]  # right knee-ankle: 0.45 and 0.9 m, alternately
    cv = bone_length_cv(stretched)
    assert set(cv) == set(LIMB_BONES) and cv["right_knee-right_ankle"] == pytest.approx(0.225 / 0.675)
    assert max(v for k, v in cv.items() if k != "right_knee-right_ankle") < 1e-9
    with pytest.raises(ValueError, match=r"one sequence \(T, J, 3\)"):
        bone_length_cv(poses[0])
