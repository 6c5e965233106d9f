from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA

from liftpose.formats import LAYOUTS, get_layout, to_h36m
from liftpose.skeleton import JOINT_NAMES, LEFT_JOINTS, RIGHT_JOINTS

WILD = sorted((DATA / "wild").glob("coco17_*.npz"))


def mmpose_coco_to_h36m(k: np.ndarray) -> np.ndarray:
    """MMPose 0.x demo/body3d_two_stage_video_demo.py, covert_keypoint_definition (COCO -> H36M), restated."""
    out = np.zeros(k.shape[:-2] + (17, k.shape[-1]))
    out[..., 0, :] = (k[..., 11, :] + k[..., 12, :]) / 2
    out[..., 8, :] = (k[..., 5, :] + k[..., 6, :]) / 2
    out[..., 10, :] = (k[..., 1, :] + k[..., 2, :]) / 2
    out[..., 7, :] = (out[..., 0, :] + out[..., 8, :]) / 2
    out[..., [1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16], :] = k[
        ..., [12, 14, 16, 11, 13, 15, 0, 5, 7, 9, 6, 8, 10], :
    ]
    return out


def motionbert_halpe_to_h36m(x: np.ndarray) -> np.ndarray:
    """MotionBERT lib/data/dataset_wild.py, halpe2h36m, restated."""
    y = np.zeros(x.shape[:-2] + (17, x.shape[-1]))
    y[..., 0, :], y[..., 7, :], y[..., 8, :] = x[..., 19, :], (x[..., 18, :] + x[..., 19, :]) / 2, x[..., 18, :]
    y[..., 9, :], y[..., 10, :] = x[..., 0, :], x[..., 17, :]
    y[..., [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16], :] = x[..., [12, 14, 16, 11, 13, 15, 5, 7, 9, 6, 8, 10], :]
    return y


def test_layout_orders_match_the_published_ones():
    sizes = {"h36m": 17, "coco17": 17, "halpe26": 26, "body25": 25, "blazepose33": 33}
    assert {n: len(lay.joint_names) for n, lay in LAYOUTS.items()} == sizes
    for lay in LAYOUTS.values():
        assert len(set(lay.joint_names)) == len(lay.joint_names)
    anchors = {
        "coco17": {"nose": 0, "left_eye": 1, "left_shoulder": 5, "left_hip": 11, "right_ankle": 16},
        "halpe26": {"head": 17, "neck": 18, "hip": 19, "left_big_toe": 20, "right_heel": 25},
        "body25": {"neck": 1, "right_wrist": 4, "mid_hip": 8, "right_eye": 15, "left_ear": 18, "right_heel": 24},
        "blazepose33": {"left_eye": 2, "right_eye": 5, "left_shoulder": 11, "left_hip": 23, "right_foot_index": 32},
    }
    for name, expected in anchors.items():
        names = LAYOUTS[name].joint_names
        assert {k: names.index(k) for k in expected} == expected


def test_coco17_matches_mmpose_and_halpe26_matches_motionbert():
    rng = np.random.default_rng(0)
    coco = rng.uniform(0, 1000, size=(5, 17, 2))
    np.testing.assert_allclose(to_h36m(coco, "coco17"), mmpose_coco_to_h36m(coco), rtol=1e-12)
    halpe = rng.uniform(0, 1000, size=(5, 26, 2))
    np.testing.assert_allclose(to_h36m(halpe, "halpe26"), motionbert_halpe_to_h36m(halpe), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_left_and_right_are_kept_and_synthesised_joints_are_means(name):
    layout = LAYOUTS[name]
    k = np.random.default_rng(1).normal(size=(3, len(layout.joint_names), 2))
    out = to_h36m(k, name)
    names = layout.joint_names
    for j in LEFT_JOINTS + RIGHT_JOINTS:
        side = JOINT_NAMES[j].split("_")[0]
        assert names[layout.sources[j][0]].startswith(side)
        np.testing.assert_array_equal(out[:, j], k[:, names.index(JOINT_NAMES[j])])
    for j, src in enumerate(layout.sources):
        np.testing.assert_allclose(out[:, j], k[:, list(src)].mean(1), rtol=1e-12)
    assert len(layout.derived) == (0 if name == "h36m" else 5)


def test_h36m_layout_is_the_identity():
    k = np.random.default_rng(2).normal(size=(4, 17, 3))
    np.testing.assert_array_equal(to_h36m(k, "h36m"), k)


def test_synthesised_confidence_is_the_minimum_of_its_sources():
    k = np.random.default_rng(3).uniform(size=(6, 17, 3))
    out = to_h36m(k, "coco17")
    assert out.shape == (6, 17, 3)
    np.testing.assert_array_equal(out[:, 0, 2], np.minimum(k[:, 11, 2], k[:, 12, 2]))  # pelvis
    np.testing.assert_array_equal(out[:, 7, 2], k[:, [5, 6, 11, 12], 2].min(1))  # spine
    np.testing.assert_array_equal(out[:, 10, 2], np.minimum(k[:, 1, 2], k[:, 2, 2]))  # head
    np.testing.assert_array_equal(out[:, 13, 2], k[:, 9, 2])  # left wrist, copied


def test_nan_source_only_spoils_the_joints_made_from_it():
    k = np.random.default_rng(4).normal(size=(2, 17, 2))
    k[0, 1] = np.nan  # left eye
    out = to_h36m(k, "coco17")
    assert np.isnan(out[0, 10]).all()
    assert np.isfinite(np.delete(out[0], 10, axis=0)).all() and np.isfinite(out[1]).all()


def test_torch_in_torch_out():
    k = np.random.default_rng(5).normal(size=(2, 8, 33, 3)).astype(np.float32)
    out = to_h36m(torch.from_numpy(k), "blazepose33")
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (2, 8, 17, 3)
    np.testing.assert_allclose(out.numpy(), to_h36m(k, "blazepose33"), rtol=1e-6)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"body25.*25 joints.*17.*coco17"):
        to_h36m(np.zeros((4, 17, 2)), "body25")
    with pytest.raises(ValueError, match="unknown keypoint layout 'openpose'.*blazepose33"):
        get_layout("openpose")
    with pytest.raises(ValueError, match=r"\(..., K, 2\)"):
        to_h36m(np.zeros((4, 17, 4)), "coco17")


@pytest.mark.data
@pytest.mark.parametrize("path", WILD, ids=lambda p: Path(p).stem)
def test_real_coco17_sequences(path):
    k = np.load(path)["keypoints"]
    out = to_h36m(k, "coco17")
    assert out.shape == (len(k), 17, 2) and out.dtype == np.float32
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, mmpose_coco_to_h36m(k), rtol=1e-5, atol=1e-3)
    # left/right kept: H36M left hip/shoulder are COCO's left ones, on the same side of the pelvis
    np.testing.assert_array_equal(out[:, [4, 11]], k[:, [11, 5]])
    np.testing.assert_array_equal(out[:, [1, 14]], k[:, [12, 6]])
