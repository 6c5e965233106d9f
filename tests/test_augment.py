"""Detector-like training inputs (liftpose.augment): each defect does what it says, and nothing else."""

import numpy as np
import pytest
import torch

from liftpose.augment import DetectorAugment, adapter_joints, drop_mask, fill_windows
from liftpose.formats import LAYOUTS, to_h36m
from liftpose.preprocess import fill_gaps
from liftpose.skeleton import JOINT_NAMES

OFF = dict(detections=0, offset_px=0, jitter_px=0, drop=0, adapter=0, framing=0)


def _windows(seed=0, b=8, t=27):
    return torch.randn(b, t, 17, 2, generator=torch.Generator().manual_seed(seed)) * 0.3


def test_everything_off_returns_the_input_unchanged():
    x = _windows()
    assert torch.equal(DetectorAugment(**OFF)(x, _windows(1), torch.Generator().manual_seed(0)), x)


def test_detections_one_takes_every_window_from_the_detections():
    x, det = _windows(), _windows(1)
    assert torch.equal(DetectorAugment(**{**OFF, "detections": 1.0})(x, det, torch.Generator()), det)


def test_offsets_and_jitter_touch_only_ground_truth_windows():
    x, det = _windows(), _windows(1)
    out = DetectorAugment(**{**OFF, "detections": 0.5, "offset_px": 6, "jitter_px": 4})(
        x, det, torch.Generator().manual_seed(3)
    )
    from_det = (out == det).flatten(1).all(1)
    assert 0 < from_det.sum() < len(x)  # a mix, and the detector windows are the detections exactly
    moved = (out[~from_det] - x[~from_det]).abs().amax((1, 2, 3))
    assert (moved > 0).all() and (moved < 0.2).all()  # a few pixels (2/1000 units each), not a new pose


def test_same_generator_seed_gives_the_same_batch():
    x, det, aug = _windows(), _windows(1), DetectorAugment()
    a = aug(x, det, torch.Generator().manual_seed(7))
    b = aug(x, det, torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and not torch.equal(a, aug(x, det, torch.Generator().manual_seed(8)))


def test_fill_windows_is_fill_gaps_for_torch_batches():
    x = _windows(2, b=4, t=15)
    valid = ~drop_mask(x.shape[:3], 1.0, 3, torch.Generator().manual_seed(0))
    assert (~valid).any()
    expected = fill_gaps(np.where(valid.numpy()[..., None], x.numpy(), np.nan))
    np.testing.assert_allclose(fill_windows(x, valid).numpy(), expected, atol=1e-6)


def test_drop_mask_spares_the_pelvis_and_one_frame_of_every_joint():
    mask = drop_mask((64, 27, 17), 1.0, 3, torch.Generator().manual_seed(0))
    assert not mask[..., 0].any() and not mask.all(1).any()
    assert mask.any(1).sum(1).min() >= 1 and mask.any(1).sum(1).max() <= 3


def test_adapter_joints_are_what_the_coco17_adapter_makes_of_the_same_hips_and_shoulders():
    h36m = _windows(4, b=2, t=5)
    coco = torch.zeros(2, 5, 17, 2)
    names = LAYOUTS["coco17"].joint_names
    for i, name in enumerate(names):
        if name in JOINT_NAMES:
            coco[..., i, :] = h36m[..., JOINT_NAMES.index(name), :]
    via_adapter = to_h36m(coco, "coco17")
    torso = [JOINT_NAMES.index(n) for n in ("pelvis", "spine", "thorax")]
    ours = adapter_joints(h36m)
    torch.testing.assert_close(ours[..., torso, :], via_adapter[..., torso, :])
    others = [j for j in range(17) if j not in torso]
    assert torch.equal(ours[..., others, :], h36m[..., others, :])


def test_framing_scales_about_the_mean_pelvis_within_the_range():
    x = _windows(5)
    out = DetectorAugment(**{**OFF, "framing": 1.0, "scale": 1.5, "shift": 0.0})(
        x, None, torch.Generator().manual_seed(0)
    )
    ratio = (out - out[:, :, :1]).norm(dim=-1).sum((1, 2)) / (x - x[:, :, :1]).norm(dim=-1).sum((1, 2))
    assert ((ratio > 1 / 1.5 - 1e-5) & (ratio < 1.5 + 1e-5)).all() and ratio.std() > 0
    torch.testing.assert_close(out[:, :, 0].mean(1), x[:, :, 0].mean(1))


def test_probabilities_outside_zero_one_are_refused():
    with pytest.raises(ValueError, match="probability"):
        DetectorAugment(drop=1.5)


def test_clean_leaves_that_fraction_of_ground_truth_windows_exact():
    x = _windows(b=400)
    out = DetectorAugment(**{**OFF, "clean": 0.25, "offset_px": 6, "jitter_px": 4})(
        x, None, torch.Generator().manual_seed(0)
    )
    exact = (out == x).flatten(1).all(1).float().mean().item()
    assert 0.17 < exact < 0.33  # about a quarter, drawn per window
    moved = (out - x).abs().flatten(1).amax(1)
    assert ((moved == 0) | (moved > 1e-3)).all()  # a window is left alone or perturbed, not half of each


def test_clean_zero_keeps_the_batches_of_runs_made_without_it():
    x, det = _windows(), _windows(1)
    a = DetectorAugment()(x, det, torch.Generator().manual_seed(5))
    b = DetectorAugment(clean=0.0)(x, det, torch.Generator().manual_seed(5))
    c = DetectorAugment(clean=0.5)(x, det, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, c)
