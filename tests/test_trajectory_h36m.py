"""The acceptance figures of the pelvis path and the camera tilt on real Human3.6M sequences: every
12th of the 236 S9 + S11 camera sequences in name order (20 sequences, 40,494 frames; all of them:
benchmarks/trajectory_h36m.py). Run with ``pytest -m data -s``."""

import numpy as np
import pytest
from conftest import DATA

from liftpose import Lifter
from liftpose.datasets.h36m import load_cameras, load_h36m
from liftpose.ground import angle_between, estimate_ground, tilt_of_rotation
from liftpose.trajectory import root_trajectory, split_error

H36M = DATA / "h36m"
EVERY = 12

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def lifted():
    if not (H36M / "poses_3d_world.npz").exists():
        pytest.skip(f"no Human3.6M data in {H36M}")
    cams = load_cameras(H36M / "cameras.json")
    lifter = Lifter.from_pretrained("h36m-27", device="cpu")
    seqs = sorted(load_h36m(H36M, ("S9", "S11"), source="gt"), key=lambda s: f"{s.subject}/{s.action}/{s.camera}")
    out = []
    for s in seqs[::EVERY]:
        cam = cams[s.subject][s.camera]
        poses = lifter.predict(s.keypoints_2d, (s.width, s.height), mode="fast")
        path = root_trajectory(
            poses, s.keypoints_2d, (s.width, s.height), focal=tuple(cam.f), principal_point=tuple(cam.c)
        )
        out.append((s, cam, poses, path))
    assert len(out) == 20
    return out


def test_path_error_split_into_image_plane_and_depth(lifted):
    plane, depth, frames = 0.0, 0.0, 0
    for s, _, _, path in lifted:
        e_plane, e_depth = split_error(path, s.root)
        plane += e_plane.sum()
        depth += (np.abs(e_depth) / np.linalg.norm(s.root, axis=-1)).sum()
        frames += len(path)
    print(f"\nimage-plane {1000 * plane / frames:.1f} mm, depth {100 * depth / frames:.2f} % of the distance")
    assert plane / frames < 0.05  # metres
    assert depth / frames < 0.10


def test_camera_tilt_from_the_poses(lifted):
    errors = []
    for _, cam, poses, path in lifted:
        up, _, _ = tilt_of_rotation(cam.R)
        errors.append(angle_between(estimate_ground(poses + path[:, None]).up, up))
    print(f"\ntilt error mean {np.mean(errors):.2f} deg, max {np.max(errors):.1f}")
    assert np.mean(errors) < 3.0
