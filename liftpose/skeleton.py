"""The Human3.6M 17-joint skeleton that every liftpose model predicts."""

from __future__ import annotations

from ._array import Array

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck_nose", "head", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)  # fmt: skip
NUM_JOINTS = len(JOINT_NAMES)
ROOT = 0
LEFT_JOINTS: tuple[int, ...] = (4, 5, 6, 11, 12, 13)
RIGHT_JOINTS: tuple[int, ...] = (1, 2, 3, 14, 15, 16)

#: ``poses[..., FLIP_PERMUTATION, :]`` swaps left and right joints (used with a mirrored x axis).
FLIP_PERMUTATION: tuple[int, ...] = tuple(
    RIGHT_JOINTS[LEFT_JOINTS.index(j)]
    if j in LEFT_JOINTS
    else LEFT_JOINTS[RIGHT_JOINTS.index(j)]
    if j in RIGHT_JOINTS
    else j
    for j in range(NUM_JOINTS)
)

#: (parent, child) pairs of the kinematic tree.
BONES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
    (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16),
)  # fmt: skip


def flip_poses(x: Array) -> Array:
    """Mirror x and swap left/right joints of (..., J, C) normalised 2D or camera-frame 3D (numpy or
    torch; a new array)."""
    x = x[..., list(FLIP_PERMUTATION), :]  # advanced indexing: a copy for numpy and torch alike
    x[..., 0] *= -1
    return x


def average_mirrored(plain: Array, mirrored: Array) -> Array:
    """Flip augmentation's average: the 3D of the input (..., J, 3) and the 3D predicted from its
    mirror image (same shape, still mirrored), mirrored back with :func:`flip_poses`; numpy or
    torch, in the units of the input."""
    return (plain + flip_poses(mirrored)) / 2
