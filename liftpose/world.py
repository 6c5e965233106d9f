"""Output frames: from the model's camera-frame, root-relative poses to an upright world frame.

What the model cannot know, from 2D keypoints of one uncalibrated view:

- **Global translation.** Predictions are relative to the pelvis (joint 0 sits at the origin).
  ``liftpose.trajectory.root_trajectory`` recovers the camera-frame path from the 2D and the camera's
  focal length (``to_world(..., trajectory=...)`` adds it); its depth is as right as the assumed body
  size and focal length.
- **Absolute scale.** Poses come out at the size of an average Human3.6M subject (an ankle-to-head
  joint chain of about 1.6-1.7 m, see ``body_height``). A child or a tall adult gets the same size:
  use ``scale_to_height`` if you know the person's height.
- **The camera's orientation.** Camera frame: x right, y down, z forward (into the scene). Which way
  is "up" in the world depends on how the camera was held; ``camera_to_world`` takes it as given
  (``DEMO_ROTATION``, ``LEVEL_CAMERA`` or your own rotation); ``to_world(..., rotation="estimate")``
  measures the pitch and roll from the feet (``liftpose.ground``). The heading about the vertical
  stays unknown (the world's y is the camera's optical axis made horizontal).

``to_world`` chains the steps the official StridedTransformer demo (``demo/vis.py``) applies before
plotting: ``camera_to_world(pose, R=rot, t=0)`` with ``DEMO_ROTATION``, then shifting the vertical
axis so that the lowest joint is at 0.
"""

from __future__ import annotations

import numpy as np
import torch

from ._array import Array, as_float, namespace, to_numpy
from .bones import segment_lengths
from .skeleton import ROOT

#: Unit quaternion (w, x, y, z) used by the official StridedTransformer demo (``demo/vis.py``:
#: ``rot = [0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088]``, applied
#: with VideoPose3D's ``camera_to_world``/``qrot`` from ``common/camera.py``). It is the camera-to-world
#: rotation of Human3.6M camera 54138969 (subject S1): world z up, a camera pitched about 10.7 degrees
#: down and rolled about 1.5 degrees.
DEMO_ROTATION = np.array([0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088])

#: Camera-to-world rotation (3, 3) for a level camera (optical axis horizontal, no roll): world
#: x = camera x (right), world y = camera z (forward), world z = -camera y (up).
LEVEL_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def quaternion_to_matrix(q: Array) -> np.ndarray:
    """Unit quaternion (w, x, y, z) -> (3, 3) rotation matrix ``R`` with ``R @ v == qrot(q, v)``.

    ``q`` is normalised first (the demo's float32 constant is not exactly unit length).
    """
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(np.asarray(q, dtype=np.float64))
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _rotation_matrix(rotation: Array) -> np.ndarray:
    r = to_numpy(rotation)
    if r.shape == (4,):
        return quaternion_to_matrix(r)
    if r.shape == (3, 3):
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-5) or np.linalg.det(r) < 0:
            raise ValueError("rotation matrix must be orthonormal with determinant +1")
        return r
    raise ValueError(f"rotation must be a quaternion (w, x, y, z) or a (3, 3) matrix, got shape {r.shape}")


def _like(values: np.ndarray, x: Array) -> Array:
    if isinstance(x, torch.Tensor):
        return torch.as_tensor(values, dtype=x.dtype, device=x.device)
    return values.astype(x.dtype)


def camera_to_world(poses: Array, rotation: Array = DEMO_ROTATION, translation: Array | float = 0.0) -> Array:
    """Camera-frame poses (..., J, 3) -> world frame: ``R @ x + translation`` for every joint.

    ``rotation`` is a quaternion (w, x, y, z) or a (3, 3) camera-to-world matrix (for a calibrated
    camera in the Human3.6M convention of ``liftpose.camera.Camera``, that is ``camera.R``).
    Same as VideoPose3D's ``camera_to_world(X, R, t)``.
    """
    poses = as_float(poses)
    r = _like(_rotation_matrix(rotation), poses)
    return poses @ r.T + translation


def root_relative(poses: Array) -> Array:
    """Subtract the pelvis (joint 0) of each pose: (..., J, 3) -> (..., J, 3)."""
    poses = as_float(poses)
    return poses - poses[..., ROOT : ROOT + 1, :]


def place_on_ground(poses: Array, up_axis: int = 2, per_frame: bool = True) -> Array:
    """Shift poses along ``up_axis`` so the lowest joint is at 0 (the demo's ``z -= min(z)``).

    ``per_frame=True`` (the demo) grounds every pose (..., J, 3) separately, so feet always touch the
    floor; ``False`` uses one shift for the whole sequence (..., T, J, 3), so jumps stay visible.
    """
    poses = as_float(poses)
    xp = namespace(poses)
    low = xp.amin(poses[..., up_axis], axis=-1 if per_frame else (-2, -1), keepdims=True)
    up = _like(np.eye(3)[up_axis], poses)
    return poses - low[..., None] * up


#: The joint chains of :func:`body_height` (Human3.6M order): both legs ankle-knee-hip, and
#: pelvis-spine-thorax-neck/nose-head.
HEIGHT_LEGS = ((1, 2), (2, 3), (4, 5), (5, 6))
HEIGHT_TRUNK = ((0, 7), (7, 8), (8, 9), (9, 10))


def body_height(poses: Array) -> Array:
    """Skeleton height (..., T, 17, 3) -> (...): median over frames of the joint-chain length
    ankle-knee-hip (mean of both legs) + pelvis-spine-thorax-neck/nose-head.

    Not a standing height: on Human3.6M (S1-S11, Walking) it is within 5% of the height of the head
    joint above the floor (95th percentile over frames). Units of the input.
    """
    poses = as_float(poses)
    xp = namespace(poses)
    if poses.ndim < 3:
        raise ValueError(f"poses must be (..., T, 17, 3), got {tuple(poses.shape)}")

    legs = segment_lengths(poses, HEIGHT_LEGS).sum(-1) / 2
    chain = legs + segment_lengths(poses, HEIGHT_TRUNK).sum(-1)
    return xp.quantile(chain, 0.5, axis=-1)


def scale_to_height(poses: Array, height: float) -> Array:
    """Scale each sequence (..., T, 17, 3) about the origin so that ``body_height`` equals ``height``."""
    poses = as_float(poses)
    return poses * (height / body_height(poses))[..., None, None, None]


def to_world(
    poses: Array,
    rotation: Array | str = DEMO_ROTATION,
    *,
    height: float | None = None,
    ground: bool = True,
    per_frame: bool | None = None,
    trajectory: Array | None = None,
) -> Array:
    """Root-relative camera-frame poses (..., T, 17, 3) -> upright world frame, z up.

    Subtracts the pelvis, optionally scales to ``height`` (``scale_to_height``), adds ``trajectory``
    (..., T, 3) (the camera-frame pelvis path of ``liftpose.trajectory.root_trajectory``, metres;
    scaled with the poses), rotates with ``camera_to_world(rotation)``, then (``ground=True``) puts
    the lowest joint at z = 0 (``place_on_ground``); with ``ground=False`` and no trajectory the pelvis
    stays at the origin.

    ``rotation``: a quaternion (w, x, y, z) or (3, 3) camera-to-world matrix, or ``"estimate"``: the
    camera's pitch and roll measured from the poses (``liftpose.ground.estimate_ground`` on each
    sequence, with the trajectory when given; the world's y axis is then the camera's optical axis
    made horizontal). ``per_frame`` (grounding): default True without a trajectory (each pose on the
    floor, as the official demo), False with one (one shift per sequence, so the path's height and
    jumps stay).
    """
    poses = root_relative(poses)
    scale = None
    if height is not None:
        scale = height / body_height(poses)
        poses = poses * scale[..., None, None, None]
    if trajectory is not None:
        traj = as_float(trajectory)
        if tuple(traj.shape) != tuple(poses.shape[:-2]) + (3,):
            raise ValueError(
                f"trajectory must be (..., T, 3) = {tuple(poses.shape[:-2]) + (3,)} to match poses "
                f"{tuple(poses.shape)}, got {tuple(traj.shape)}"
            )
        traj = _like(to_numpy(traj, None), poses)
        poses = poses + (traj * scale[..., None, None] if scale is not None else traj)[..., None, :]
    if isinstance(rotation, str):
        if rotation != "estimate":
            raise ValueError(f"rotation must be a quaternion, a (3, 3) matrix or 'estimate', got {rotation!r}")
        poses = _rotate_estimated(poses)
    else:
        poses = camera_to_world(poses, rotation)
    if per_frame is None:
        per_frame = trajectory is None
    return place_on_ground(poses, 2, per_frame) if ground else poses


def _rotate_estimated(poses: Array) -> Array:
    """Rotate each sequence (..., T, 17, 3) with the camera-to-world rotation of its estimated floor."""
    from .ground import estimate_ground

    p = to_numpy(poses)
    if p.ndim < 3:
        raise ValueError(f"rotation='estimate' needs sequences (..., T, 17, 3), got shape {p.shape}")
    flat = p.reshape((-1,) + p.shape[-3:])
    rots = np.stack([estimate_ground(seq).rotation for seq in flat]).reshape(p.shape[:-3] + (3, 3))
    return poses @ _like(np.swapaxes(rots, -1, -2), poses)[..., None, :, :]
