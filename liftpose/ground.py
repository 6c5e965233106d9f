"""Which way is up: the camera's pitch and roll estimated from the poses themselves.

A person stands on the floor: over a clip, the ankle that carries the weight sits at the same
height above the floor, so the low points of the ankles lie on a plane parallel to the floor, and
the plane's normal is the world's up direction seen from the camera. ``estimate_ground`` fits that
plane (total least squares, trimmed, a few rounds) to the lower ankle of the frames in which it
stands still. In a direction in which those contacts spread less than ``prior_spread``, the tilt
comes from the body's mean vertical axis instead (ankles to thorax, over the frames where the
person stands straight with the trunk in line with the legs): the normal is the smallest
eigenvector of ``C - prior_spread^2 b b^T`` (C the contacts' covariance, b the body axis).

What decided the result (``Ground.method``):

- ``"floor"``: the contacts spread at least ``min_spread`` metres in both directions on the floor
  (the person moves around): the plane decides. Needs camera-frame positions that include the path
  (``poses + root_trajectory(...)[:, None]``): root-relative poses alone only show the feet moving
  relative to the pelvis.
- ``"floor+body"``: contacts, but narrow in one direction (the person stays in place): the body
  axis decides that direction (logged).
- ``"body"``: fewer than ten still ankle positions, but standing frames: up is the body's mean axis.
  People lean (walking: a few degrees forward), so expect a few degrees of error.
- ``"level"``: neither usable contacts nor a standing frame (e.g. a seated clip): the camera is
  assumed level (up is the camera's -y, ``liftpose.world.LEVEL_CAMERA``), with a warning in the log.

Camera frame: x right, y down, z forward. ``pitch`` is the angle the optical axis points below the
horizon (positive: looking down), ``roll`` the rotation of the image about the optical axis
(positive: the world's up appears tilted towards the image's +x), both in degrees.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from ._array import Array, to_numpy
from .skeleton import NUM_JOINTS

logger = logging.getLogger(__name__)

_ANKLES = (3, 6)
_HIPS = (1, 4)
_KNEES = (2, 5)
_THORAX = 8
#: Up direction of a level camera, in the camera frame (y points down).
LEVEL_UP = np.array([0.0, -1.0, 0.0])


@dataclass(frozen=True)
class Ground:
    """The floor seen from the camera: ``up`` (3,) unit vector in the camera frame; ``offset``
    (metres) such that the plane of the standing ankles (a few centimetres above the floor) is
    ``up . x + offset = 0`` in the camera frame: with the path included, ``offset`` is the camera's
    height above that plane; ``method`` ("floor", "floor+body", "body" or "level", module docstring);
    ``contacts``: the number of ankle positions the plane was fitted to; ``spread`` (metres): their
    standard deviation along the floor's narrower direction."""

    up: np.ndarray
    offset: float
    method: str
    contacts: int = 0
    spread: float = 0.0

    @property
    def pitch(self) -> float:
        """Degrees the optical axis points below the horizon (positive: the camera looks down)."""
        return math.degrees(math.asin(float(np.clip(-self.up[2], -1.0, 1.0))))

    @property
    def roll(self) -> float:
        """Degrees the image is rotated about the optical axis (0 when up is the image's -y)."""
        return math.degrees(math.atan2(float(self.up[0]), float(-self.up[1])))

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) camera-to-world rotation for ``liftpose.world.camera_to_world``: world z = up,
        world y = the optical axis made horizontal (forward), world x = y cross z (right)."""
        return up_rotation(self.up)


def up_rotation(up: Array) -> np.ndarray:
    """Camera-frame up vector (3,) -> (3, 3) camera-to-world rotation (rows: world x, y, z in camera
    coordinates) with world z = up and world y the camera's forward axis made horizontal. A level
    camera gives ``liftpose.world.LEVEL_CAMERA``."""
    z = np.asarray(up, dtype=np.float64)
    z = z / np.linalg.norm(z)
    forward = np.array([0.0, 0.0, 1.0])
    if abs(z @ forward) > 0.999:  # camera looking straight up or down: use the image's -y instead
        forward = np.array([0.0, -1.0, 0.0]) * np.sign(z @ forward)
    y = forward - (forward @ z) * z
    y /= np.linalg.norm(y)
    return np.stack([np.cross(y, z), y, z])


def tilt_of_rotation(camera_r: np.ndarray, world_up: Array = (0.0, 0.0, 1.0)) -> tuple[np.ndarray, float, float]:
    """A calibrated camera's true up vector, pitch and roll (degrees) in the conventions of ``Ground``.

    ``camera_r``: the (3, 3) ``R`` of ``liftpose.camera.Camera`` (``X_cam = R.T (X_world - T)``);
    ``world_up``: the world's up axis (Human3.6M: z)."""
    up = np.asarray(world_up, dtype=np.float64) @ np.asarray(camera_r, dtype=np.float64)
    g = Ground(up / np.linalg.norm(up), 0.0, "calibrated")
    return g.up, g.pitch, g.roll


def angle_between(a: Array, b: Array) -> np.ndarray:
    """Degrees between vectors (..., 3) and (..., 3)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    cos = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _body_axis(p: np.ndarray, straightness: float, collinear: float = 25.0) -> tuple[np.ndarray | None, np.ndarray]:
    """Mean unit vector ankles-midpoint -> thorax over the standing frames: both legs straight
    (hip-ankle distance at least ``straightness`` times thigh + shin) and the trunk in line with the
    legs (pelvis -> thorax within ``collinear`` degrees of ankles -> pelvis; a seated person with
    straight legs fails this). Returns (axis or None, mask of standing frames)."""
    legs = []
    for hip, knee, ankle in zip(_HIPS, _KNEES, _ANKLES, strict=True):
        chain = np.linalg.norm(p[:, knee] - p[:, hip], axis=-1) + np.linalg.norm(p[:, ankle] - p[:, knee], axis=-1)
        legs.append(np.linalg.norm(p[:, ankle] - p[:, hip], axis=-1) >= straightness * chain)
    feet = p[:, list(_ANKLES)].mean(1)
    standing = legs[0] & legs[1] & (angle_between(p[:, _THORAX] - p[:, 0], p[:, 0] - feet) <= collinear)
    if not standing.any():
        return None, standing
    axis = p[standing, _THORAX] - feet[standing]
    axis = (axis / np.linalg.norm(axis, axis=-1, keepdims=True)).mean(0)
    return axis / np.linalg.norm(axis), standing


def _plane(
    points: np.ndarray, prior: np.ndarray | None = None, strength: float = 0.0
) -> tuple[np.ndarray, float, float]:
    """Total least squares plane through (N, 3) points, pulled towards the normal ``prior``:
    the unit ``n`` minimising ``n^T C n + strength (1 - (n . prior)^2)`` (C: the points' covariance,
    m^2), i.e. the smallest eigenvector of ``C - strength prior prior^T``. A direction in which the
    points spread less than ``sqrt(strength)`` metres is decided by the prior rather than the points.
    Returns (normal, offset with normal . x + offset = 0, spread: standard deviation of the points
    along their narrower in-plane direction)."""
    centre = points.mean(0)
    cov = np.cov((points - centre).T, bias=True)
    spread = float(np.sqrt(max(np.linalg.eigvalsh(cov)[1], 0.0)))
    if prior is not None and strength > 0:
        cov = cov - strength * np.outer(prior, prior)
    normal = np.linalg.eigh(cov)[1][:, 0]
    return normal, float(-normal @ centre), spread


def estimate_ground(
    positions: Array,
    *,
    fps: float | None = None,
    min_spread: float = 0.1,
    prior_spread: float = 0.1,
    straightness: float = 0.93,
    rounds: int = 4,
) -> Ground:
    """Estimate the floor's up direction (and so the camera's pitch and roll) from a pose sequence.

    Args:
        positions: (T, 17, 3) camera-frame joints in metres, preferably with the path added
            (``poses + root_trajectory(...)[:, None]``); root-relative poses work for the body-axis
            fallback and for a person who moves little.
        fps: frame rate (default 50), to tell a standing foot (ankle speed under 0.25 m/s) from a
            swinging one.
        min_spread: the contacts must extend at least this much (metres, standard deviation along the
            floor's narrower direction) for the plane to decide alone.
        prior_spread: how strongly the body axis steers the plane (metres): in a direction in which the
            contacts spread less than this, the body axis decides the tilt rather than the contacts.
        straightness: a frame counts as standing when hip-ankle distance is at least this fraction
            of thigh + shin on both legs (and the trunk is in line with the legs).
        rounds: plane fits, each on the ankles lowest along the previous round's up.

    Returns:
        a ``Ground``; ``method`` says which evidence decided it (module docstring), and a fallback is
        logged.
    """
    p = to_numpy(positions)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"positions must be one sequence (T, 17, 3) in metres, camera frame; got shape {p.shape}")
    body, standing = _body_axis(p, straightness)
    up = body if body is not None else LEVEL_UP.copy()
    dt = 1.0 / (fps or 50.0)
    ankles = p[:, list(_ANKLES)]  # (T, 2, 3)
    speed = np.zeros(ankles.shape[:2])
    if len(p) > 2:
        v = np.linalg.norm(np.diff(ankles, axis=0), axis=-1) / dt
        speed = np.concatenate([v[:1], np.minimum(v[1:], v[:-1]), v[-1:]])
    fit: Ground | None = None
    frames = np.arange(len(p))
    for _ in range(rounds):
        low = np.argmin(ankles @ up, axis=1)
        pts = ankles[frames, low][speed[frames, low] < 0.25]
        if len(pts) < 10:
            break
        h = pts @ up
        pts = pts[h <= np.quantile(h, 0.5) + 0.05]  # the ankle on the floor, not a lifted foot held still
        normal, offset, _ = _plane(pts, body, prior_spread**2)
        resid = np.abs(pts @ normal + offset)
        pts = pts[resid <= max(3 * np.median(resid), 0.01)]
        normal, offset, spread = _plane(pts, body, prior_spread**2)
        if normal @ up < 0:
            normal, offset = -normal, -offset
        fit = Ground(normal, offset, "floor" if spread >= min_spread else "floor+body", len(pts), spread)
        up = normal
    if fit is not None and (fit.spread >= min_spread or body is not None):
        if fit.method != "floor":
            logger.info("foot contacts span only %.2f m: the tilt across them comes from the body axis", fit.spread)
        return fit
    ankle_height = float(np.median(np.min(ankles @ up, axis=1)))
    if body is not None:
        logger.info("no foot contacts: up is the body's mean axis over %d standing frames", int(standing.sum()))
        return Ground(body, -ankle_height, "body")
    logger.warning(
        "no foot contacts spanning the floor and no standing frame: assuming a level camera (up = camera -y)"
    )
    level = -float(np.median(np.min(ankles @ LEVEL_UP, axis=1)))
    return Ground(
        LEVEL_UP.copy(), level, "level", 0 if fit is None else fit.contacts, 0.0 if fit is None else fit.spread
    )
