"""BVH export: the lifted motion as a skeleton animation that Blender, MotionBuilder, Maya, ... open.

``to_bvh(poses, trajectory, fps)`` turns camera-frame poses (T, 17, 3) and the pelvis path (T, 3)
(``liftpose.trajectory.root_trajectory``) into a :class:`Bvh`; ``write_bvh`` writes the file.

- **World frame.** BVH is Y up. The camera frame is turned upright with the floor estimated from
  the feet (``liftpose.ground.estimate_ground``, or a ``Ground`` / camera-to-world rotation you pass):
  BVH X = the camera's right made horizontal, Y = up, Z = towards the camera, so a person who faces
  the camera faces +Z (the usual BVH rest orientation). The floor (the clip's lowest joints, 5th
  percentile) is at Y = 0.
- **Skeleton.** The 17 Human3.6M joints, named as in ``liftpose.skeleton.JOINT_NAMES``, in the tree
  of ``liftpose.skeleton.BONES``. Every bone has one length for the whole clip, the median over the
  frames. Rest pose: legs and spine vertical, arms sideways (a T-pose); the pelvis's three children
  (hips, spine) and the thorax's three (neck, shoulders) keep the clip's median layout.
- **Rotations.** A joint with several children (pelvis, thorax) gets the rotation that best maps
  its rest children onto the lifted ones (Kabsch). A joint with one child gets the smallest rotation
  (swing) that turns its bone, as carried by the parent, onto the lifted bone: its twist about the
  bone follows the parent, so it cannot flip from frame to frame (a swing is ambiguous only for a
  bone turned exactly away from where it swings from: for hips, shoulders, spine and neck that is
  the rest direction, e.g. an arm crossing the chest to the other side; knees and elbows swing from
  a half-bent reference, so only a joint bent 90 degrees the wrong way would be). The three Euler
  angles of each joint are chosen, of the two that give the same rotation and
  their 360-degree turns, closest to the previous frame's. Channel orders put the bone's own axis in
  the middle (gimbal lock needs a 90-degree twist): ZYX for legs and spine, ZXY for arms and root.
- **Root.** ``Xposition Yposition Zposition`` = the pelvis path (without a trajectory: the pelvis
  stays above the origin at its standing height, feet on the floor in each frame).
- **Units.** Metres by default (``scale=100`` for centimetres).

Forward kinematics of the written file (``Bvh.positions``) is the "exported skeleton": the lifted
joints with bone lengths fixed to the medians (``Bvh.fit_error`` says how far apart they are).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from ._array import Array, to_numpy
from .ground import Ground, estimate_ground
from .skeleton import BONES, JOINT_NAMES, NUM_JOINTS
from .world import root_relative

logger = logging.getLogger(__name__)

#: Parent of each joint (-1 for the pelvis), from ``skeleton.BONES``.
PARENTS: tuple[int, ...] = tuple([-1] + [next(p for p, c in BONES if c == j) for j in range(1, NUM_JOINTS)])
CHILDREN: tuple[tuple[int, ...], ...] = tuple(tuple(c for p, c in BONES if p == j) for j in range(NUM_JOINTS))
_LEFT_ARM, _RIGHT_ARM = (11, 12, 13), (14, 15, 16)
#: Euler channel order of each joint (intrinsic, as written in the file): the bone's own axis in the middle.
ORDERS: tuple[str, ...] = tuple("ZXY" if j == 0 or j in _LEFT_ARM + _RIGHT_ARM else "ZYX" for j in range(NUM_JOINTS))
#: Rest direction of the bone from each single-child joint to its child (unit, BVH frame Y up, +X the
#: person's left): legs down, spine and neck up, arms sideways.
_REST_DIRECTION = {1: (0, -1, 0), 2: (0, -1, 0), 4: (0, -1, 0), 5: (0, -1, 0), 7: (0, 1, 0), 9: (0, 1, 0),
                   11: (1, 0, 0), 12: (1, 0, 0), 14: (-1, 0, 0), 15: (-1, 0, 0)}  # fmt: skip
#: Knees and elbows swing from a half-bent reference instead of from their straight rest direction
#: (knee: shin 90 degrees back, elbow: forearm 90 degrees forward): a swing is ambiguous only for a
#: bone turned straight away from where it swings from, and a knee or elbow bent 120-150 degrees is
#: common while one bent 90 degrees the wrong way is not. Pure flexion is then one Euler angle.
_SWING_REFERENCE = {2: (0, 0, -1), 5: (0, 0, -1), 12: (0, 0, 1), 15: (0, 0, 1)}
#: End Site offsets of the leaves (metres, rest frame): a foot forward, hands continuing the arm, the head up.
_END_SITES = {
    3: (0.0, -0.05, 0.12),
    6: (0.0, -0.05, 0.12),
    10: (0.0, 0.12, 0.0),
    13: (0.08, 0.0, 0.0),
    16: (-0.08, 0.0, 0.0),
}
#: Camera-to-world (z up) -> BVH (Y up): X = x, Y = z, Z = -y.
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass
class Bvh:
    """A BVH skeleton and motion. ``offsets`` (17, 3): each joint's rest offset from its parent
    (the pelvis's is zero); ``end_sites`` {leaf joint: (3,) offset}; ``root_positions`` (T, 3);
    ``angles`` (T, 17, 3) degrees in each joint's channel order (``orders``); ``fps``. Lengths in the
    file's unit (metres times ``scale``). ``source`` (T, 17, 3): the positions the motion was solved
    from (same frame and unit), when known."""

    offsets: np.ndarray
    end_sites: dict[int, np.ndarray]
    root_positions: np.ndarray
    angles: np.ndarray
    fps: float
    orders: tuple[str, ...] = ORDERS
    names: tuple[str, ...] = JOINT_NAMES
    source: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return len(self.root_positions)

    def local_rotations(self) -> np.ndarray:
        """(T, 17, 3, 3) each joint's rotation relative to its parent (from ``angles``)."""
        out = np.empty(self.angles.shape[:2] + (3, 3))
        for j, order in enumerate(self.orders):
            out[:, j] = Rotation.from_euler(order, self.angles[:, j], degrees=True).as_matrix()
        return out

    def positions(self) -> np.ndarray:
        """Forward kinematics: (T, 17, 3) joint positions in the BVH frame and unit."""
        local = self.local_rotations()
        world_rot = np.empty_like(local)
        pos = np.empty(local.shape[:2] + (3,))
        for j in range(NUM_JOINTS):
            parent = PARENTS[j]
            if parent < 0:
                world_rot[:, j], pos[:, j] = local[:, j], self.root_positions
            else:
                world_rot[:, j] = world_rot[:, parent] @ local[:, j]
                pos[:, j] = pos[:, parent] + world_rot[:, parent] @ self.offsets[j]
        return pos

    def fit_error(self) -> np.ndarray:
        """(T, 17) distance between ``positions()`` and the lifted ``source`` (file units): what fixing
        the bone lengths and the pelvis/thorax layout costs."""
        if self.source is None:
            raise ValueError("this Bvh has no source positions to compare with")
        return np.linalg.norm(self.positions() - self.source, axis=-1)

    def rotation_jumps(self) -> np.ndarray:
        """(T - 1, 17) degrees each joint's local rotation turns between consecutive frames."""
        r = self.local_rotations()
        rel = np.einsum("tjik,tjil->tjkl", r[:-1], r[1:])
        cos = (np.trace(rel, axis1=-2, axis2=-1) - 1) / 2
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))

    def text(self, precision: int = 6) -> str:
        """The BVH file's content."""
        f = f"{{:.{precision}f}}"

        def vec(v: np.ndarray) -> str:
            return " ".join(f.format(float(x)) for x in v)

        lines = ["HIERARCHY"]

        def joint(j: int, depth: int) -> None:
            pad = "  " * depth
            channels = " ".join(f"{axis}rotation" for axis in self.orders[j])
            if PARENTS[j] < 0:
                lines.append(f"ROOT {self.names[j]}")
                channels = f"6 Xposition Yposition Zposition {channels}"
            else:
                lines.append(f"{pad}JOINT {self.names[j]}")
                channels = f"3 {channels}"
            lines.extend([f"{pad}{{", f"{pad}  OFFSET {vec(self.offsets[j])}", f"{pad}  CHANNELS {channels}"])
            for c in CHILDREN[j]:
                joint(c, depth + 1)
            if not CHILDREN[j]:
                lines.extend(
                    [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {vec(self.end_sites[j])}", f"{pad}  }}"]
                )
            lines.append(f"{pad}}}")

        joint(0, 0)
        lines += ["MOTION", f"Frames: {self.frames}", f"Frame Time: {1.0 / self.fps:.8f}"]
        for t in range(self.frames):
            values = [self.root_positions[t]] + [self.angles[t, j] for j in range(NUM_JOINTS)]
            lines.append(vec(np.concatenate(values)))
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path, precision: int = 6) -> Path:
        """Write the file (``precision`` decimals for offsets, positions and degrees). Returns ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text(precision), encoding="ascii")
        return path


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def _body_frame(p: np.ndarray, left: int, right: int, centre: int, up: int) -> np.ndarray:
    """(T, 3, 3) per-frame frames (columns x = towards ``left``, y = towards ``up``, z = x cross y,
    forward) of a joint with a left/right pair and an upward child."""
    x = _unit(p[:, left] - p[:, right])
    y = p[:, up] - p[:, centre]
    y = _unit(y - np.sum(y * x, -1, keepdims=True) * x)
    return np.stack([x, y, np.cross(x, y)], -1)


def _kabsch(rest: np.ndarray, current: np.ndarray) -> np.ndarray:
    """(C, 3) rest vectors, (T, C, 3) current -> (T, 3, 3) rotations R minimising |R rest - current|."""
    h = np.einsum("ci,tcj->tij", rest, current)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("tij,tjk->tik", u, vt)))
    fix = np.ones(h.shape[:1] + (3,))
    fix[:, 2] = d
    return np.einsum("tji,tj,tkj->tik", vt, fix, u)


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) smallest rotations turning unit vectors a (T, 3) onto b (T, 3)."""
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1)
    c = np.sum(a * b, -1)
    angle = np.arctan2(s, c)
    # exactly opposite: any axis perpendicular to a
    perp = np.cross(a, np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]]))
    axis = np.where((s < 1e-9)[:, None], perp, axis)
    return Rotation.from_rotvec(_unit(axis) * angle[:, None]).as_matrix()


def _continuous_euler(rotations: np.ndarray, order: str) -> np.ndarray:
    """(T, 3, 3) -> (T, 3) degrees, each frame the equivalent Euler triple closest to the previous one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gimbal-lock warnings: the triple is still a valid one
        e = Rotation.from_matrix(rotations).as_euler(order, degrees=True)
    alt = np.stack([e[:, 0] + 180.0, 180.0 - e[:, 1], e[:, 2] + 180.0], -1)
    out = np.empty_like(e)
    prev = np.zeros(3)
    for t in range(len(e)):
        best, cost = None, np.inf
        for cand in (e[t], alt[t]):
            cand = cand + 360.0 * np.round((prev - cand) / 360.0)
            d = np.sum((cand - prev) ** 2)
            if d < cost:
                best, cost = cand, d
        out[t] = prev = best
    return out


def _world_rotation(ground: Ground | Array | None, positions: np.ndarray, fps: float | None) -> np.ndarray:
    """Camera -> BVH (Y up) rotation, from a Ground, a camera-to-world (z up) rotation, or estimated."""
    if ground is None:
        ground = estimate_ground(positions, fps=fps)
        logger.info("floor from the poses: %s, pitch %.1f, roll %.1f degrees", ground.method, ground.pitch, ground.roll)
    rot = ground.rotation if isinstance(ground, Ground) else np.asarray(ground, dtype=np.float64)
    if rot.shape != (3, 3):
        raise ValueError(
            f"ground must be a liftpose.ground.Ground or a (3, 3) camera-to-world rotation, got {rot.shape}"
        )
    return _Z_UP_TO_Y_UP @ rot


def to_bvh(
    poses: Array,
    trajectory: Array | None = None,
    fps: float | None = None,
    *,
    ground: Ground | Array | None = None,
    scale: float = 1.0,
) -> Bvh:
    """Lifted poses -> a :class:`Bvh` (module docstring).

    Args:
        poses: (T, 17, 3) camera-frame joints in metres (root-relative, as ``Lifter.predict`` gives).
        trajectory: (T, 3) camera-frame pelvis path in metres (``root_trajectory``); None: the pelvis
            stays above the origin, and each frame's lowest joint is on the floor.
        fps: the clip's frame rate (default 50), written as the Frame Time.
        ground: the floor, a ``liftpose.ground.Ground`` or a (3, 3) camera-to-world rotation with world
            z up; default ``estimate_ground(poses + trajectory)``.
        scale: file units per metre (1: metres, 100: centimetres).
    """
    p = to_numpy(poses)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"poses must be one sequence (T, 17, 3) in metres, camera frame; got shape {p.shape}")
    p = root_relative(p)
    if trajectory is not None:
        traj = to_numpy(trajectory)
        if traj.shape != (len(p), 3):
            raise ValueError(f"trajectory must be (T, 3) = ({len(p)}, 3) metres to match poses, got {traj.shape}")
        p = p + traj[:, None]
    fps = float(fps) if fps else 50.0
    rot = _world_rotation(ground, p, fps)
    w = p @ rot.T  # (T, 17, 3) BVH frame, metres
    lowest = w[..., 1].min(-1)
    w[..., 1] -= np.quantile(lowest, 0.05) if trajectory is not None else lowest[:, None]
    if trajectory is None:
        w[..., [0, 2]] -= w[:, :1, [0, 2]]

    lengths = np.median(np.linalg.norm(w[:, 1:] - w[:, list(PARENTS[1:])], axis=-1), axis=0)
    length = dict(zip(range(1, NUM_JOINTS), lengths, strict=True))
    offsets = np.zeros((NUM_JOINTS, 3))
    for parent, frame_of in ((0, (4, 1, 0, 7)), (8, (11, 14, 8, 9))):
        frames = _body_frame(w, *frame_of)
        for c in CHILDREN[parent]:
            local = np.einsum("tij,ti->tj", frames, _unit(w[:, c] - w[:, parent]))
            offsets[c] = _unit(np.median(local, axis=0)) * length[c]
    for j, direction in _REST_DIRECTION.items():
        (c,) = CHILDREN[j]
        offsets[c] = np.asarray(direction, dtype=np.float64) * length[c]

    glob = np.empty((len(w), NUM_JOINTS, 3, 3))
    for j in range(NUM_JOINTS):  # parents come before children in the H36M order
        parent_rot = glob[:, PARENTS[j]] if PARENTS[j] >= 0 else np.broadcast_to(np.eye(3), (len(w), 3, 3))
        kids = CHILDREN[j]
        if len(kids) > 1:
            glob[:, j] = _kabsch(_unit(offsets[list(kids)]), _unit(w[:, list(kids)] - w[:, j : j + 1]))
        elif len(kids) == 1:
            rest = _unit(offsets[kids[0]])
            ref = np.asarray(_SWING_REFERENCE.get(j, rest), dtype=np.float64)
            start = _swing(rest[None], ref[None])[0]  # rest -> reference (identity without one)
            carried = np.einsum("tij,j->ti", parent_rot, ref)
            glob[:, j] = _swing(carried, _unit(w[:, kids[0]] - w[:, j])) @ parent_rot @ start
        else:
            glob[:, j] = parent_rot
    local = np.empty_like(glob)
    local[:, 0] = glob[:, 0]
    for j in range(1, NUM_JOINTS):
        local[:, j] = np.swapaxes(glob[:, PARENTS[j]], -1, -2) @ glob[:, j]
    angles = np.stack([_continuous_euler(local[:, j], ORDERS[j]) for j in range(NUM_JOINTS)], 1)
    end_sites = {j: np.asarray(v) * scale for j, v in _END_SITES.items()}
    return Bvh(offsets * scale, end_sites, w[:, 0] * scale, angles, fps, source=w * scale)


def write_bvh(path: str | Path, poses: Array, *args: Any, **kwargs: Any) -> Bvh:
    """``to_bvh(poses, *args, **kwargs)`` written to ``path`` (.bvh): the arguments after ``path``
    are :func:`to_bvh`'s (``trajectory``, ``fps``, keyword-only ``ground`` and ``scale``). Returns
    the :class:`Bvh` (its ``positions()`` are what a BVH reader should get back)."""
    bvh = to_bvh(poses, *args, **kwargs)
    bvh.write(path)
    return bvh
