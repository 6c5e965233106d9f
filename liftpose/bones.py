"""Bone lengths of lifted poses, and how constant they stay over time (a plausibility check).

``segment_lengths`` is the one distance-between-joint-pairs computation of the library, for numpy
arrays and torch tensors alike (training's bone-length loss differentiates through it).

A real person's bones do not change length, so on a video without ground truth the spread of each
limb bone over time tells how steady the lifted skeleton is: ``bone_length_cv`` gives the
coefficient of variation (standard deviation / mean) per bone, 0 for a rigid skeleton.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._array import Array, as_float, to_numpy, vector_norm
from .errors import LiftposeError
from .skeleton import JOINT_NAMES

#: The limb bones of the arms and legs, both sides: name -> (joint, joint) in the Human3.6M order.
LIMB_BONES: dict[str, tuple[int, int]] = {
    f"{a}-{b}": (JOINT_NAMES.index(a), JOINT_NAMES.index(b))
    for a, b in (
        ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
        ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    )
}  # fmt: skip


def segment_lengths(poses: Array, pairs: Iterable[tuple[int, int]]) -> Array:
    """Distance between the joints ``a`` and ``b`` of each pair, for poses (..., J, D) -> (..., B),
    in the units of the input. numpy in gives numpy out, torch in gives torch out (differentiable).

    ``segment_lengths(poses, skeleton.BONES)`` are the 16 bones of the kinematic tree;
    :func:`bone_lengths` adds names, checks and a numpy result.
    """
    parents, children = (list(side) for side in zip(*pairs, strict=True))
    poses = as_float(poses)
    return vector_norm(poses[..., children, :] - poses[..., parents, :])


def bone_lengths(poses: Array, bones: dict[str, tuple[int, int]] | None = None) -> np.ndarray:
    """Poses (..., J, 3) -> lengths (..., B) of ``bones`` (default ``LIMB_BONES``), units of the input."""
    p = to_numpy(poses)
    pairs = list((LIMB_BONES if bones is None else bones).values())
    if p.ndim < 2 or p.shape[-1] != 3 or max(max(pair) for pair in pairs) >= p.shape[-2]:
        raise LiftposeError(f"poses must be (..., J, 3) with the bones' joints, got shape {p.shape}")
    return segment_lengths(p, pairs)


def bone_length_cv(poses: Array, bones: dict[str, tuple[int, int]] | None = None) -> dict[str, float]:
    """Coefficient of variation over time (std / mean) of each bone's length in a sequence (T, J, 3).

    ``bones`` defaults to ``LIMB_BONES`` (hip-knee, knee-ankle, shoulder-elbow, elbow-wrist, both
    sides). Returns ``{bone name: cv}``, unitless; a bone of mean length 0 gives ``inf``.
    """
    bones = LIMB_BONES if bones is None else bones
    p = to_numpy(poses)
    if p.ndim != 3:
        raise LiftposeError(f"bone_length_cv takes one sequence (T, J, 3), got shape {p.shape}")
    lengths = bone_lengths(p, bones)
    mean = lengths.mean(0)
    cv = np.divide(lengths.std(0), mean, out=np.full_like(mean, np.inf), where=mean > 0)
    return dict(zip(bones, cv.tolist(), strict=True))
