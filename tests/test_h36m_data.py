"""The flat Human3.6M reader: checks on a synthetic folder (default suite) and on the real data
in ../shared/data/h36m (marked ``data``: ``pytest -m data``)."""

import numpy as np
import pytest
from conftest import DATA
from synthetic_h36m import write_synthetic_h36m

from liftpose.datasets.h36m import (
    CAMERA_IDS,
    SH_INTERPOLATED,
    SH_TO_H36M,
    TEST_SUBJECTS,
    TRAIN_SUBJECTS,
    available_subjects,
    load_cameras,
    load_h36m,
    save_cameras,
    stacked_hourglass_to_h36m,
)

H36M = DATA / "h36m"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return write_synthetic_h36m(tmp_path_factory.mktemp("h36m"), frames=(10, 20))


def test_targets_are_root_relative_camera_frame_of_the_projected_joints(synthetic):
    cams = load_cameras(synthetic / "cameras.json")
    world = np.load(synthetic / "poses_3d_world.npz")["S9/Eating"]
    seqs = {s.camera: s for s in load_h36m(synthetic, ("S9",)) if s.action == "Eating"}
    assert sorted(seqs) == sorted(CAMERA_IDS)
    for cid, seq in seqs.items():
        cam = cams["S9"][cid]
        x_cam = cam.world_to_camera(world.astype(np.float64))
        assert np.all(x_cam[..., 2] > 0)
        np.testing.assert_allclose(seq.poses_3d, x_cam - x_cam[:, :1], atol=1e-6)
        np.testing.assert_allclose(seq.keypoints_2d, cam.project(x_cam), atol=1e-3)
        assert (seq.width, seq.height) == (cam.width, cam.height)


def test_cameras_round_trip_through_json(synthetic, tmp_path):
    cams = load_cameras(synthetic / "cameras.json")
    save_cameras(cams, tmp_path / "cameras.json")
    again = load_cameras(tmp_path / "cameras.json")
    for subject, by_id in cams.items():
        for cid, cam in by_id.items():
            for name in ("R", "T", "f", "c", "k", "p"):
                np.testing.assert_allclose(getattr(again[subject][cid], name), getattr(cam, name), rtol=1e-12)


def test_stacked_hourglass_mapping_keeps_detected_joints_and_interpolates_the_rest():
    det = np.random.default_rng(0).uniform(0, 1000, (5, 16, 2))
    out = stacked_hourglass_to_h36m(det)
    for joint, i in enumerate(SH_TO_H36M):
        if i >= 0:
            np.testing.assert_array_equal(out[:, joint], det[:, i])
    for joint, (base, tip, fraction) in SH_INTERPOLATED.items():
        np.testing.assert_allclose(out[:, joint], (1 - fraction) * det[:, base] + fraction * det[:, tip])
    direct = [i for i in SH_TO_H36M if i >= 0]
    assert len(direct) == len(set(direct)) == 14
    assert sorted(j for j, i in enumerate(SH_TO_H36M) if i < 0) == sorted(SH_INTERPOLATED)


def test_missing_detections_are_left_out_with_a_warning(synthetic, tmp_path):
    dets = dict(np.load(synthetic / "detections_2d_stacked_hourglass.npz"))
    del dets["S11/Eating/54138969"]
    for name in ("poses_3d_world.npz", "cameras.json"):
        (tmp_path / name).write_bytes((synthetic / name).read_bytes())
    np.savez(tmp_path / "detections_2d_stacked_hourglass.npz", **dets)
    with pytest.warns(UserWarning, match="S11/Eating/54138969"):
        seqs = load_h36m(tmp_path, TEST_SUBJECTS, "sh")
    keys = {(s.subject, s.action, s.camera) for s in seqs}
    assert ("S11", "Eating", "54138969") not in keys
    assert len(keys) == len(load_h36m(tmp_path, TEST_SUBJECTS, "gt")) - 1


def test_unknown_subject_is_an_error(synthetic):
    assert available_subjects(synthetic) == ("S1", "S11", "S5", "S9")
    with pytest.raises(ValueError, match=r"\['S7'\] have no poses"):
        load_h36m(synthetic, ("S1", "S7"))


# ---- the real data (research use only; never copied into the repository) ----


@pytest.fixture(scope="module")
def h36m():
    if not (H36M / "poses_3d_world.npz").exists():
        pytest.fail(f"Human3.6M data missing: expected {H36M}")
    return H36M


@pytest.mark.data
def test_projected_ground_truth_lands_on_the_detections(h36m):
    """S9 Walking, camera 54138969: median 9.2 px between projection and detection over all
    detected joints (a wrong camera convention puts them hundreds of pixels apart)."""
    gt = next(s for s in load_h36m(h36m, ("S9",), "gt") if s.action == "Walking" and s.camera == "54138969")
    det = np.load(h36m / "detections_2d_stacked_hourglass.npz")["S9/Walking/54138969"]
    joints = [j for j, i in enumerate(SH_TO_H36M) if i >= 0]
    dist = np.linalg.norm(gt.keypoints_2d[:, joints] - det[:, [SH_TO_H36M[j] for j in joints]], axis=-1)
    assert np.median(dist) < 10
    mapped = np.linalg.norm(gt.keypoints_2d - stacked_hourglass_to_h36m(det), axis=-1)
    assert np.median(mapped) < 10
    assert np.all(np.median(mapped, axis=0) < 15), np.median(mapped, axis=0)


@pytest.mark.data
def test_frame_counts(h36m):
    poses = np.load(h36m / "poses_3d_world.npz")
    dets = np.load(h36m / "detections_2d_stacked_hourglass.npz")
    lengths = {key: len(poses[key]) for key in poses.files}
    assert len(lengths) == 205
    assert sum(lengths.values()) == 497_888
    assert sum(n for key, n in lengths.items() if key.split("/")[0] in TEST_SUBJECTS) == 131_788
    absent = {"S5/Discussion 2", "S5/Discussion 3", "S7/Discussion", "S7/SittingDown 1", "S9/Discussion 1"}
    assert not absent & set(lengths)
    expected = {f"{key}/{cid}" for key in lengths for cid in CAMERA_IDS}
    assert expected - set(dets.files) == {"S11/Directions/54138969"}
    for key in expected & set(dets.files):
        assert dets[key].shape == (lengths[key.rsplit("/", 1)[0]], 16, 2), key


@pytest.mark.data
def test_sh_fractions(h36m):
    """Recompute :data:`SH_INTERPOLATED`: per joint, the least-squares fraction f minimising
    |base + f (tip - base) - ground truth|^2 over all training frames and cameras."""
    dets = np.load(h36m / "detections_2d_stacked_hourglass.npz")
    num = {joint: 0.0 for joint in SH_INTERPOLATED}
    den = dict(num)
    for seq in load_h36m(h36m, TRAIN_SUBJECTS, "gt"):
        det = dets[f"{seq.subject}/{seq.action}/{seq.camera}"].astype(np.float64)
        for joint, (base, tip, _) in SH_INTERPOLATED.items():
            axis = det[:, tip] - det[:, base]
            num[joint] += np.sum(axis * (seq.keypoints_2d[:, joint] - det[:, base]))
            den[joint] += np.sum(axis * axis)
    for joint, (_, _, fraction) in SH_INTERPOLATED.items():
        assert abs(num[joint] / den[joint] - fraction) < 0.01, (joint, num[joint] / den[joint])
