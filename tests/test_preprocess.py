import numpy as np
import pytest
import torch
from conftest import DATA

from liftpose.formats import to_h36m
from liftpose.preprocess import DEFAULT_THRESHOLD, fill_gaps, resample, resampled_length, valid_mask


def linear_motion(frames=40, joints=17, seed=0):
    """(T, J, 2) keypoints moving at constant per-joint velocity: linear interpolation is exact on it."""
    rng = np.random.default_rng(seed)
    start, velocity = rng.uniform(100, 500, (joints, 2)), rng.normal(size=(joints, 2))
    return start + np.arange(frames)[:, None, None] * velocity


def test_dropped_frames_and_joints_are_interpolated_over_time():
    truth = linear_motion()
    kp = truth.copy()
    kp[10:15] = np.nan  # five whole frames dropped
    kp[20, 3] = np.nan  # one joint in one frame
    kp[25:31, 7, 1] = np.inf  # a joint with a broken coordinate for six frames
    out = fill_gaps(kp)
    assert out.shape == truth.shape and np.isfinite(out).all()
    np.testing.assert_allclose(out, truth, rtol=1e-12)


def test_low_confidence_joints_are_replaced_and_valid_ones_kept_exactly():
    truth = linear_motion(seed=1)
    noise = np.random.default_rng(1).normal(scale=50, size=truth.shape)
    conf = np.full(truth.shape[:2] + (1,), 0.9)
    bad = np.zeros(truth.shape[:2], bool)
    bad[[5, 6, 7, 30], [2, 2, 2, 16]] = True
    conf[bad] = 0.1  # garbage coordinates, flagged by the detector
    kp = np.concatenate([np.where(bad[..., None], truth + noise, truth), conf], axis=-1)
    out = fill_gaps(kp)
    assert out.shape == truth.shape  # the confidence column is consumed
    np.testing.assert_allclose(out, truth, rtol=1e-12)
    np.testing.assert_array_equal(out[~bad], kp[..., :2][~bad])
    # with threshold 0 the garbage is trusted, as asked
    np.testing.assert_array_equal(fill_gaps(kp, threshold=0.0), kp[..., :2])


def test_sequence_ends_hold_the_nearest_valid_value():
    kp = linear_motion(frames=12, seed=2)
    kp[:3, 4] = np.nan
    kp[-2:, 9] = np.nan
    out = fill_gaps(kp)
    np.testing.assert_array_equal(out[:3, 4], np.broadcast_to(kp[3, 4], (3, 2)))
    np.testing.assert_array_equal(out[-2:, 9], np.broadcast_to(kp[-3, 9], (2, 2)))


def test_explicit_mask_batches_and_torch():
    truth = np.stack([linear_motion(seed=3), linear_motion(seed=4)])  # (N, T, J, 2)
    valid = np.ones(truth.shape[:3], bool)
    valid[0, 8:12, 0] = False
    valid[1, :, 5] = np.arange(truth.shape[1]) % 3 == 0
    kp = np.where(valid[..., None], truth, -1.0)
    np.testing.assert_allclose(fill_gaps(kp, valid=valid), truth, rtol=1e-12)
    out = fill_gaps(torch.from_numpy(kp).float(), valid=torch.from_numpy(valid))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), truth, rtol=1e-5)


def test_unfillable_inputs_are_errors():
    kp = linear_motion(frames=6)
    with pytest.raises(ValueError, match="no valid keypoint in any of its 6 frames"):
        fill_gaps(np.full_like(kp, np.nan))
    kp_conf = np.concatenate([kp, np.full(kp.shape[:2] + (1,), 0.8)], axis=-1)
    kp_conf[:, 6, 2] = 0.2
    with pytest.raises(ValueError, match=r"'6 \(left_ankle\)'.*all 6 frames.*lower `threshold`"):
        fill_gaps(kp_conf)
    batch = np.stack([kp, kp])
    batch[1, :, 13] = np.nan
    with pytest.raises(ValueError, match=r"'13 \(left_wrist\)'.*sequence \(1,\)"):
        fill_gaps(batch)
    with pytest.raises(ValueError, match="0 frames"):
        fill_gaps(np.zeros((0, 17, 2)))


def test_valid_mask():
    kp = np.zeros((2, 3, 3))
    kp[..., 2] = [[0.9, DEFAULT_THRESHOLD, 0.1], [np.nan, 1.0, 1.0]]
    kp[1, 2, 0] = np.nan
    np.testing.assert_array_equal(valid_mask(kp), [[True, True, False], [False, True, False]])


def test_resampled_length_rules():
    assert resampled_length(30, 30, 50) == 50  # 29/30 s needs 48.3 -> 49 intervals at 50 fps
    assert resampled_length(26, 25, 50) == 51
    assert resampled_length(50, 50, 25) == 26
    assert resampled_length(100, 50, 50) == 100
    assert resampled_length(1, 30, 50) == 1
    assert resampled_length(301, 29.97, 50) == 502
    with pytest.raises(ValueError):
        resampled_length(0, 30, 50)


def test_resample_is_exact_for_equal_rates_and_integer_ratios():
    x = np.random.default_rng(5).normal(size=(20, 17, 2)).astype(np.float32)
    np.testing.assert_array_equal(resample(x, 30, 30), x)
    up = resample(x, 25, 50)
    assert up.shape == (39, 17, 2) and up.dtype == np.float32
    np.testing.assert_array_equal(up[::2], x)
    np.testing.assert_allclose(up[1::2], (x[:-1] + x[1:]) / 2, atol=1e-6)
    np.testing.assert_array_equal(resample(up, 50, 25, frames=len(x)), x)


@pytest.mark.parametrize("fps", [24, 25, 29.97, 30, 60])
def test_round_trip_gives_one_output_per_input_frame(fps):
    x = linear_motion(frames=97, seed=6)
    there = resample(x, fps, 50)
    assert len(there) == resampled_length(97, fps, 50)
    back = resample(there, 50, fps, frames=len(x))
    assert back.shape == x.shape
    # Linear motion survives both interpolations, except where the 50 fps sequence had to hold its
    # last frame past the end of the input: there the error stays below one 50 fps frame of motion.
    np.testing.assert_allclose(back[:-1], x[:-1], rtol=1e-9)
    assert np.all(np.abs(back[-1] - x[-1]) <= np.abs(x[-1] - x[-2]) * fps / 50 + 1e-9)
    t = np.arange(200) / fps
    wave = np.sin(2 * np.pi * 1.5 * t)[:, None, None] * np.ones((1, 17, 3))
    smooth = resample(resample(wave, fps, 50), 50, fps, frames=len(wave))
    assert np.abs(smooth - wave).max() < 0.05  # a 1.5 Hz motion loses little


def test_resample_other_axis_torch_and_errors():
    x = np.random.default_rng(7).normal(size=(2, 10, 17, 3))
    np.testing.assert_array_equal(resample(x, 25, 50, axis=1), np.stack([resample(seq, 25, 50) for seq in x]))
    out = resample(torch.from_numpy(x), 30, 50, axis=1)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 16, 17, 3)
    np.testing.assert_allclose(out.numpy(), resample(x, 30, 50, axis=1))
    with pytest.raises(ValueError, match="fps_in"):
        resample(x, 0, 50)
    with pytest.raises(ValueError, match="frames"):
        resample(x, 30, 50, frames=0)


@pytest.mark.data
def test_real_sequence_with_dropped_frames_and_joints():
    k = np.load(DATA / "wild" / "coco17_filipkro_lol_0.npz")["keypoints"][:300].astype(np.float64)
    rng = np.random.default_rng(8)
    conf = np.ones(k.shape[:2] + (1,))
    dropped = rng.random(len(k)) < 0.1  # 10% of frames lost
    weak = rng.random(k.shape[:2]) < 0.05  # 5% of joints below threshold
    weak[[0, -1]] = False  # keep the ends so the comparison below interpolates
    dropped[[0, -1]] = False
    conf[weak] = 0.05
    kp = np.concatenate([k, conf], axis=-1)
    kp[dropped] = np.nan
    out = fill_gaps(to_h36m(kp, "coco17"))
    assert out.shape == (300, 17, 2) and np.isfinite(out).all()
    ref = to_h36m(k, "coco17")
    kept = valid_mask(to_h36m(kp, "coco17"))
    np.testing.assert_array_equal(out[kept], ref[kept])
    # filled joints land near the real detections (these are real people moving at video speed)
    assert np.median(np.linalg.norm(out - ref, axis=-1)[~kept]) < 10  # pixels, 960x544 video
