"""The compact Human3.6M pack (liftpose.datasets.compact): round trips on a synthetic folder
(default suite) and the size and errors on the real data (marked ``data``)."""

import shutil
import time

import numpy as np
import pytest
from conftest import DATA
from synthetic_h36m import write_synthetic_h36m

from liftpose.datasets.compact import DETECTIONS_FILE, POSES_FILE, compare, pack, unpack
from liftpose.datasets.h36m import load_h36m

H36M = DATA / "h36m"
FILES = ("poses_3d_world.npz", "cameras.json", "detections_2d_stacked_hourglass.npz")
F32 = 1e-4  # float32 rounding of values up to a few thousand (mm of 3D, px of detections)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return write_synthetic_h36m(tmp_path_factory.mktemp("h36m"), frames=(20, 40))


@pytest.fixture(scope="module")
def unpacked(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed")
    summary = pack(synthetic, out / "pack.npz")
    return unpack(out / "pack.npz", out / "h36m"), summary


def _arrays(folder, name):
    with np.load(folder / name) as z:
        return {k: z[k] for k in z.files}


def test_round_trip_keeps_keys_shapes_dtypes_and_the_cameras_file(synthetic, unpacked):
    folder, summary = unpacked
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    assert (folder / "cameras.json").read_bytes() == (synthetic / "cameras.json").read_bytes()
    for name in (POSES_FILE, DETECTIONS_FILE):
        a, b = _arrays(synthetic, name), _arrays(folder, name)
        assert sorted(a) == sorted(b)
        for key in a:
            assert (b[key].shape, b[key].dtype) == (a[key].shape, np.float32), key
    assert summary["sequences"] == 16 and summary["detection_sequences"] == 64


def test_round_trip_errors_are_at_most_half_a_millimetre_and_half_a_pixel(synthetic, unpacked):
    folder, summary = unpacked
    errors = compare(synthetic, folder)
    assert errors["max_mm"] <= 0.5 + F32 and errors["max_px"] <= 0.5 + F32
    # rounding, not truncation or a lost offset: the mean of a uniform +-0.5 error is 0.25
    assert 0.2 < errors["mean_mm"] < 0.3 and 0.2 < errors["mean_px"] < 0.3
    assert summary["max_mm"] <= 0.5 + F32 and summary["max_px"] <= 0.5 + F32


def test_load_h36m_reads_the_unpacked_folder_as_the_original(synthetic, unpacked):
    folder, _ = unpacked
    for source in ("gt", "sh"):
        a, b = load_h36m(synthetic, ("S1", "S9"), source), load_h36m(folder, ("S1", "S9"), source)
        assert [(s.subject, s.action, s.camera, s.width, s.height) for s in a] == [
            (s.subject, s.action, s.camera, s.width, s.height) for s in b
        ]
        for sa, sb in zip(a, b, strict=True):
            assert sa.poses_3d.shape == sb.poses_3d.shape and sa.keypoints_2d.shape == sb.keypoints_2d.shape
            # root-relative camera frame: two world points each off by <= 0.5 mm per coordinate
            joint_mm = 1000 * np.linalg.norm(sa.poses_3d - sb.poses_3d, axis=-1)
            assert joint_mm.max() <= 2 * 0.5 * np.sqrt(3) + F32
            # SH joints are convex combinations of detections, each off by <= 0.5 px
            assert np.abs(sa.keypoints_2d - sb.keypoints_2d).max() <= 0.5 + F32


def test_detections_far_off_or_without_3d_survive(synthetic, tmp_path):
    """Offsets beyond int8 (a detector failure) are kept exactly beside the int8 array, and
    detections of a recording without 3D (as in the released data) are delta-coded instead."""
    root = tmp_path / "orig"
    shutil.copytree(synthetic, root)
    poses, dets = _arrays(root, POSES_FILE), _arrays(root, DETECTIONS_FILE)
    del poses["S5/Eating"]
    dets["S9/Walking/54138969"][3, 5] += [400.3, -250.8]
    np.savez_compressed(root / POSES_FILE, **poses)
    np.savez_compressed(root / DETECTIONS_FILE, **dets)
    summary = pack(root, tmp_path / "pack.npz")
    folder = unpack(tmp_path / "pack.npz", tmp_path / "h36m")
    again = _arrays(folder, DETECTIONS_FILE)
    assert sorted(again) == sorted(dets) and "S5/Eating/54138969" in again
    assert summary["sequences"] == 15
    for key in ("S5/Eating/54138969", "S9/Walking/54138969"):
        assert np.abs(again[key] - dets[key]).max() <= 0.5 + F32, key
    assert compare(root, folder)["max_px"] <= 0.5 + F32


def test_subjects_select_what_is_packed_and_unknown_ones_are_refused(synthetic, tmp_path):
    pack(synthetic, tmp_path / "s9.npz", subjects=("S9",))
    folder = unpack(tmp_path / "s9.npz", tmp_path / "h36m")
    assert {k.split("/")[0] for k in _arrays(folder, POSES_FILE)} == {"S9"}
    assert {k.split("/")[0] for k in _arrays(folder, DETECTIONS_FILE)} == {"S9"}
    with pytest.raises(ValueError, match="no cameras for subjects \\['S6'\\]"):
        pack(synthetic, tmp_path / "bad.npz", subjects=("S1", "S6"))


def test_unpack_refuses_a_file_that_is_not_a_pack(synthetic, tmp_path):
    with pytest.raises(ValueError, match="not an .npz pack"):
        unpack(synthetic / "cameras.json", tmp_path / "out")
    with pytest.raises(ValueError, match="expected a liftpose-h36m-pack-1 pack"):
        unpack(synthetic / POSES_FILE, tmp_path / "out")


@pytest.mark.data
def test_real_pack_fits_the_device_budget_and_reconstructs_within_bounds(tmp_path):
    """All seven subjects in well under the 64 MiB that a lent GPU machine takes with the code."""
    if not H36M.exists():
        pytest.fail(f"Human3.6M data missing: expected {H36M}")
    start = time.time()
    summary = pack(H36M, tmp_path / "pack.npz")
    folder = unpack(tmp_path / "pack.npz", tmp_path / "h36m", compress=False)
    errors = compare(H36M, folder)
    assert summary["bytes"] < 45 * 2**20, summary
    assert summary["sequences"] == 205 and summary["frames"] == 497_888
    assert errors["max_mm"] <= 0.5 + F32 and errors["max_px"] <= 0.5 + F32, errors
    assert 0.2 < errors["mean_mm"] < 0.3 and 0.2 < errors["mean_px"] < 0.3, errors
    print(f"{summary['bytes'] / 2**20:.2f} MiB, {errors}, {time.time() - start:.0f} s")
