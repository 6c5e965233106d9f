"""The VideoPose3D importer, on small files in VideoPose3D's format written by the tests."""

import os

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from synthetic_h36m import write_synthetic_h36m

from liftpose.camera import Camera
from liftpose.datasets.h36m import CAMERA_IDS, load_cameras, load_h36m
from liftpose.datasets.videopose3d import (
    JOINTS_32_TO_17,
    cameras_from_videopose3d,
    import_videopose3d,
    read_positions_2d,
    read_positions_3d,
    with_keypoints,
)

H36M_SYMMETRY = [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]
COCO_SYMMETRY = [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]]


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    return write_synthetic_h36m(
        tmp_path_factory.mktemp("flat"), subjects=("S1", "S9"), actions=("Walking", "Eating 1"), frames=(8, 12)
    )


def _write_3d(path, flat) -> dict:
    """data_3d_h36m.npz: positions_3d[subject][action] = (N, 32, 3), the 17 joints at their mocap indices."""
    poses = np.load(flat / "poses_3d_world.npz")
    data: dict = {}
    rng = np.random.default_rng(1)
    for key in poses.files:
        subject, action = key.split("/")
        full = rng.normal(size=(len(poses[key]), 32, 3)).astype(np.float32)
        full[:, JOINTS_32_TO_17] = poses[key]
        data.setdefault(subject, {})[action] = full
    np.savez_compressed(path, positions_3d=data)
    return data


def _write_2d(path, seqs, symmetry=H36M_SYMMETRY, extra_frames=0, layout="h36m") -> None:
    data: dict = {}
    for s in seqs:
        kp = np.concatenate([s.keypoints_2d, s.keypoints_2d[-1:].repeat(extra_frames, 0)])
        data.setdefault(s.subject, {}).setdefault(s.action, [None] * 4)[CAMERA_IDS.index(s.camera)] = kp
    meta = {"layout_name": layout, "num_joints": 17, "keypoints_symmetry": symmetry}
    np.savez_compressed(path, positions_2d=data, metadata=meta)


class _RunsCode:
    """Unpickling this creates a directory: proof that loading a pickle runs code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


def test_pickles_are_refused_without_opt_in(tmp_path):
    marker = tmp_path / "code_ran"
    np.savez(tmp_path / "evil.npz", positions_3d=np.array([_RunsCode(marker)], dtype=object), allow_pickle=True)
    for read in (read_positions_3d, read_positions_2d):
        with pytest.raises(ValueError, match="arbitrary code.*allow_pickle=True"):
            read(tmp_path / "evil.npz")
    assert not marker.exists()


def test_positions_3d_keep_the_17_joints(tmp_path, flat):
    data = _write_3d(tmp_path / "data_3d_h36m.npz", flat)
    poses = read_positions_3d(tmp_path / "data_3d_h36m.npz", allow_pickle=True)
    assert set(poses) == set(np.load(flat / "poses_3d_world.npz").files)
    for key, pos in poses.items():
        subject, action = key.split("/")
        np.testing.assert_array_equal(pos, data[subject][action][:, JOINTS_32_TO_17])
        assert pos.shape[1:] == (17, 3) and pos.dtype == np.float32


def test_import_gives_the_same_sequences_as_the_flat_files(tmp_path, flat):
    _write_3d(tmp_path / "data_3d_h36m.npz", flat)
    out = import_videopose3d(
        tmp_path / "data_3d_h36m.npz", tmp_path / "imported", load_cameras(flat / "cameras.json"), allow_pickle=True
    )
    np.load(out / "poses_3d_world.npz", allow_pickle=False)  # the output holds no pickles
    ours, theirs = load_h36m(out, ("S1", "S9")), load_h36m(flat, ("S1", "S9"))
    assert [(s.subject, s.action, s.camera) for s in ours] == [(s.subject, s.action, s.camera) for s in theirs]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.poses_3d, b.poses_3d, atol=1e-6)
        np.testing.assert_allclose(a.keypoints_2d, b.keypoints_2d, atol=1e-3)


def test_positions_2d_per_camera_trimmed_to_the_mocap_length(tmp_path, flat):
    seqs = load_h36m(flat, ("S9",))
    _write_2d(tmp_path / "data_2d_h36m_test.npz", seqs, extra_frames=3)
    kps = read_positions_2d(tmp_path / "data_2d_h36m_test.npz", allow_pickle=True)
    assert set(kps) == {f"{s.subject}/{s.action}/{s.camera}" for s in seqs}
    replaced = with_keypoints(seqs, kps)
    for s, r in zip(seqs, replaced, strict=True):
        np.testing.assert_array_equal(r.keypoints_2d, s.keypoints_2d)
        assert r.poses_3d is s.poses_3d
    del kps[f"S9/Walking/{CAMERA_IDS[2]}"]
    with pytest.warns(UserWarning, match=f"S9/Walking/{CAMERA_IDS[2]}"):
        assert len(with_keypoints(seqs, kps)) == len(seqs) - 1
    short = {k: v[:5] for k, v in kps.items()}
    with pytest.raises(ValueError, match="frames of 2D keypoints for"):
        with_keypoints(seqs, short)


def test_other_keypoint_layouts_are_refused(tmp_path, flat):
    _write_2d(tmp_path / "coco.npz", load_h36m(flat, ("S9",)), symmetry=COCO_SYMMETRY, layout="coco")
    with pytest.raises(ValueError, match="'coco' layout"):
        read_positions_2d(tmp_path / "coco.npz", allow_pickle=True)


def _vp3d_project(world, orientation, translation_mm, intr):
    """VideoPose3D's world_to_camera (rotation by the inverse quaternion) and project_to_2d, in pixels."""
    q = np.asarray(orientation) / np.linalg.norm(orientation)
    qinv = q * np.array([1, -1, -1, -1])
    v = world - np.asarray(translation_mm) / 1000
    uv = np.cross(qinv[1:], v)
    x = v + 2 * (qinv[:1] * uv + np.cross(qinv[1:], uv))
    xy = x[..., :2] / x[..., 2:]
    r2 = np.sum(xy**2, axis=-1, keepdims=True)
    k, p = np.asarray(intr["radial_distortion"]), np.asarray(intr["tangential_distortion"])
    radial = 1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3
    tan = np.sum(p * xy, axis=-1, keepdims=True)
    xy = xy * (radial + tan) + p * r2
    return np.asarray(intr["focal_length"]) * xy + np.asarray(intr["center"])


def test_videopose3d_cameras_project_like_videopose3d():
    rng = np.random.default_rng(3)
    intrinsic = [
        {
            "id": cid,
            "center": rng.uniform(490, 520, 2).tolist(),
            "focal_length": rng.uniform(1140, 1150, 2).tolist(),
            "radial_distortion": [-0.2, 0.24, 0.003],
            "tangential_distortion": rng.uniform(-2e-3, 2e-3, 2).tolist(),
            "res_w": 1000,
            "res_h": 1002,
        }
        for cid in CAMERA_IDS
    ]
    extrinsic = {"S2": [{}, {}, {}, {}], "S9": []}
    world = rng.normal([0, 0, 1], 0.3, (20, 3))
    for _ in CAMERA_IDS:
        # A camera 5 m away looking at the origin (a random roll about its axis), as a quaternion.
        angle = rng.uniform(0, 2 * np.pi)
        centre = np.array([5 * np.cos(angle), 5 * np.sin(angle), 1.5])
        z = -centre / np.linalg.norm(centre)
        x = np.cross(z, [0, 0, 1.0])
        x /= np.linalg.norm(x)
        rot = np.stack([x, np.cross(z, x), z], axis=1)
        qx, qy, qz, qw = Rotation.from_matrix(rot).as_quat()  # scalar last; VideoPose3D stores (w, x, y, z)
        extrinsic["S9"].append({"orientation": [qw, qx, qy, qz], "translation": (centre * 1000).tolist()})
    cams = cameras_from_videopose3d(intrinsic, extrinsic)
    assert list(cams) == ["S9"] and list(cams["S9"]) == list(CAMERA_IDS)
    for cid, intr, extr in zip(CAMERA_IDS, intrinsic, extrinsic["S9"], strict=True):
        cam: Camera = cams["S9"][cid]
        assert (cam.width, cam.height) == (1000, 1002)
        expected = _vp3d_project(world, extr["orientation"], extr["translation"], intr)
        np.testing.assert_allclose(cam.project(cam.world_to_camera(world)), expected, atol=1e-6)
