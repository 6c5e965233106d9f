"""Condition 2D keypoint sequences before lifting: fill unreliable joints, resample the frame rate.

Both operations interpolate linearly along time (the axis before the joints of (..., T, J, C)
keypoints). They work on numpy arrays; torch tensors are accepted and returned as tensors (the work
is done in numpy on the CPU).

Typical use, for a 30 fps COCO detector output ``kp`` (T, 17, 3) with confidences::

    xy = fill_gaps(to_h36m(kp, "coco17"))          # (T, 17, 2), no NaN, no low-confidence joint
    xy50 = resample(xy, 30, 50)                       # what the models were trained on (50 fps)
    pose50 = lifter(xy50)                             # (M, 17, 3)
    pose = resample(pose50, 50, 30, frames=len(kp))  # one pose per input frame
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ._array import Array
from .errors import LiftposeError
from .skeleton import JOINT_NAMES

#: Confidence below which a joint is treated as missing (MMPose's ``--kpt-thr`` default; the
#: official StridedTransformer demo uses the same 0.3 for its leg clean-up). Detector-dependent.
DEFAULT_THRESHOLD = 0.3


def _numpy_io(x: Array) -> tuple[np.ndarray, Callable[[np.ndarray], Array]]:
    """``x`` as numpy, and a function returning a result to the kind (and device) of ``x``."""
    if isinstance(x, torch.Tensor):
        dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        return x.detach().cpu().numpy(), lambda y: torch.from_numpy(np.ascontiguousarray(y)).to(x.device, dtype)
    x = np.asarray(x)
    return (x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)), lambda y: y


def _joint_label(j: int, n_joints: int) -> str:
    return f"{j} ({JOINT_NAMES[j]})" if n_joints == len(JOINT_NAMES) else str(j)


def _sequence_label(index: tuple[int, ...]) -> str:
    return f"sequence {tuple(int(i) for i in index)}" if index else "the sequence"


def valid_mask(keypoints: Array, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Which joints are usable: (..., T, J, 2 or 3) -> (..., T, J) bool.

    A joint is valid when its coordinates are finite and, if a confidence column is present, its
    confidence is at least ``threshold`` (a NaN confidence is invalid).
    """
    kp, _ = _numpy_io(keypoints)
    if kp.ndim < 3 or kp.shape[-1] not in (2, 3):
        raise LiftposeError(f"keypoints must be (..., T, J, 2) or (..., T, J, 3) with confidence; got {kp.shape}")
    valid = np.isfinite(kp[..., :2]).all(-1)
    if kp.shape[-1] == 3:
        valid &= kp[..., 2] >= threshold
    return valid


def fill_gaps(keypoints: Array, threshold: float = DEFAULT_THRESHOLD, *, valid: Array | None = None) -> Array:
    """Replace missing joints by linear interpolation over time, per joint.

    Args:
        keypoints: (..., T, J, 2) coordinates or (..., T, J, 3) with a confidence column.
        threshold: joints with confidence below it are missing (see ``valid_mask``); NaN or infinite
            coordinates are always missing.
        valid: optional (..., T, J) bool mask of usable joints, combined (AND) with the above.
    Returns:
        (..., T, J, 2) coordinates: valid joints unchanged; a missing joint is interpolated linearly
        between the nearest valid frames of the same joint before and after it, and held at the
        nearest valid value before the first / after the last valid frame.
    Raises:
        ValueError: if a sequence has no valid joint in any frame, or a joint is valid in none of
            its frames (it cannot be filled from time; the message names it, and the fix is a lower
            ``threshold`` or a detector that sees it).
    """
    kp, back = _numpy_io(keypoints)
    ok = valid_mask(kp, threshold)
    if valid is not None:
        ok &= np.broadcast_to(np.asarray(valid, dtype=bool), ok.shape)
    n_frames, n_joints = ok.shape[-2:]
    if n_frames == 0:
        raise LiftposeError("empty sequence: keypoints have 0 frames")
    never = ~ok.any(axis=-2)  # (..., J)
    if never.all(axis=-1).any():
        where = tuple(np.argwhere(never.all(axis=-1))[0])
        raise LiftposeError(
            f"{_sequence_label(where)} has no valid keypoint in any of its {n_frames} frames "
            f"(all NaN or below confidence {threshold})"
        )
    if never.any():
        seq = tuple(np.argwhere(never)[0][:-1])
        names = [_joint_label(j, n_joints) for j in np.flatnonzero(never[seq])]
        raise LiftposeError(
            f"joints {names} of {_sequence_label(seq)} are missing (NaN or confidence below {threshold}) in all "
            f"{n_frames} frames, so they cannot be interpolated: lower `threshold` or provide those joints"
        )
    t = np.arange(n_frames)[:, None]
    prev = np.maximum.accumulate(np.where(ok, t, -1), axis=-2)
    after = np.flip(np.minimum.accumulate(np.flip(np.where(ok, t, n_frames), -2), axis=-2), -2)
    prev, after = np.where(prev < 0, after, prev), np.where(after >= n_frames, prev, after)
    weight = (t - prev) / np.maximum(after - prev, 1)
    xy = kp[..., :2]
    a = np.take_along_axis(xy, prev[..., None], axis=-3)
    b = np.take_along_axis(xy, after[..., None], axis=-3)
    return back(a + weight[..., None].astype(xy.dtype) * (b - a))


def resampled_length(frames: int, fps_in: float, fps_out: float) -> int:
    """Frames at ``fps_out`` that cover ``frames`` frames at ``fps_in``: ``ceil((frames - 1) * fps_out / fps_in) + 1``.

    The last output frame is the first at or past the last input frame's time, so mapping back to
    the input's times only ever interpolates.
    """
    if frames < 1:
        raise LiftposeError(f"need at least one frame, got {frames}")
    return math.ceil((frames - 1) * fps_out / fps_in - 1e-9) + 1


def resample(x: Array, fps_in: float, fps_out: float, *, frames: int | None = None, axis: int = -3) -> Array:
    """Resample a sequence along time by linear interpolation.

    Input frame ``n`` is at time ``n / fps_in``; output frame ``m`` is at time ``m / fps_out`` (both
    start at 0) and interpolates the two input frames around it; times past the last input frame
    hold its value.

    Args:
        x: (..., T, J, C) by default; ``axis`` is the time axis.
        frames: number of output frames; default ``resampled_length(T, fps_in, fps_out)``. To map a
            result back to the original rate with one output per original frame, pass the original
            frame count: ``resample(resample(x, 30, 50), 50, 30, frames=len(x))``.
    Returns:
        (..., frames, J, C), same kind and dtype as ``x``. Equal rates and default ``frames`` return
        an exact copy.
    """
    for name, fps in (("fps_in", fps_in), ("fps_out", fps_out)):
        if not (math.isfinite(fps) and fps > 0):
            raise LiftposeError(f"{name} must be a positive frame rate, got {fps}")
    arr, back = _numpy_io(x)
    n = arr.shape[axis]
    m = resampled_length(n, fps_in, fps_out) if frames is None else frames
    if m < 1:
        raise LiftposeError(f"frames must be at least 1, got {m}")
    pos = np.arange(m) * float(fps_in) / float(fps_out)
    lo = np.minimum(np.floor(pos).astype(np.int64), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    weight = np.clip(pos - lo, 0.0, 1.0).astype(arr.dtype)
    shape = [1] * arr.ndim
    shape[axis] = m
    a, b = np.take(arr, lo, axis=axis), np.take(arr, hi, axis=axis)
    return back(a + weight.reshape(shape) * (b - a))
