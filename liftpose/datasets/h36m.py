"""Human3.6M in the flat format of ``poses_3d_world.npz`` + ``cameras.json`` +
``detections_2d_stacked_hourglass.npz`` (research use only: the data never ships with liftpose).

Each :class:`Sequence` is one (subject, action, camera) with root-relative camera-frame 3D
targets in metres and 2D inputs in pixels, either projected ground truth (``source="gt"``) or
the Stacked Hourglass detections (``source="sh"``).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..errors import LiftposeError
from ..world import root_relative

TRAIN_SUBJECTS: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS: tuple[str, ...] = ("S9", "S11")
CAMERA_IDS: tuple[str, ...] = ("54138969", "55011271", "58860488", "60457274")

#: Stacked Hourglass order (r-ankle, r-knee, r-hip, l-hip, l-knee, l-ankle, pelvis, "spine",
#: "thorax", head-top, r-wrist, r-elbow, r-shoulder, l-shoulder, l-elbow, l-wrist) -> Human3.6M-17
#: order, for the joints that the detector finds as such; -1 marks the three that are interpolated
#: (:data:`SH_INTERPOLATED`).
SH_TO_H36M: tuple[int, ...] = (6, 2, 1, 0, 3, 4, 5, -1, 8, -1, -1, 13, 14, 15, 12, 11, 10)

#: Human3.6M joint -> (SH base, SH tip, fraction): the joint is put at
#: ``det[base] + fraction * (det[tip] - det[base])``. On the released detections SH "spine" lies
#: well above the Human3.6M spine (median 41 px away on the training subjects), SH "thorax" is the
#: Human3.6M thorax (6.5 px) and the head top is 23 px from the Human3.6M head joint. The fractions
#: are least-squares fits of the training subjects' projected ground truth to their detections
#: (recomputed by ``tests/test_h36m_data.py::test_sh_fractions``, data-dependent, not run in CI) and
#: bring the median errors to 6.1 px (spine), 8.7 px (neck/nose) and 9.1 px (head).
SH_INTERPOLATED: dict[int, tuple[int, int, float]] = {7: (6, 7, 0.59), 9: (8, 9, 0.22), 10: (8, 9, 0.48)}


def action_name(sequence: str) -> str:
    """'Walking 1' -> 'Walking'; 'WalkDog' and 'WalkTogether' stay their own actions."""
    return sequence.split(" ")[0]


@dataclass
class Sequence:
    subject: str
    action: str  # e.g. "Walking 1"
    camera: str
    poses_3d: np.ndarray  # (N, 17, 3) root-relative camera frame, metres
    keypoints_2d: np.ndarray  # (N, 17, 2) pixels
    width: int
    height: int
    #: (N, 3) the pelvis in the camera frame, metres (the translation ``poses_3d`` was made relative to)
    root: np.ndarray | None = None


def load_cameras(path: str | Path) -> dict[str, dict[str, Camera]]:
    """``cameras.json`` -> ``cams[subject][camera_id]``."""
    raw = json.loads(Path(path).read_text())
    raw = raw.get("cameras", raw)
    return {
        subject: {
            cid: Camera(
                R=np.asarray(c["R"], np.float64),
                T=np.asarray(c["T_mm"], np.float64) / 1000.0,
                f=np.asarray(c["f"], np.float64),
                c=np.asarray(c["c"], np.float64),
                k=np.asarray(c["k"], np.float64),
                p=np.asarray(c["p"], np.float64),
                width=int(c["width"]),
                height=int(c["height"]),
            )
            for cid, c in cams.items()
        }
        for subject, cams in raw.items()
    }


def save_cameras(cams: dict[str, dict[str, Camera]], path: str | Path) -> None:
    """``cams[subject][camera_id]`` -> ``cameras.json`` (the inverse of :func:`load_cameras`)."""
    raw = {
        subject: {
            cid: {
                "R": np.asarray(c.R).tolist(),
                "T_mm": (np.asarray(c.T) * 1000.0).tolist(),
                "f": np.asarray(c.f).tolist(),
                "c": np.asarray(c.c).tolist(),
                "k": np.asarray(c.k).tolist(),
                "p": np.asarray(c.p).tolist(),
                "width": c.width,
                "height": c.height,
            }
            for cid, c in by_id.items()
        }
        for subject, by_id in cams.items()
    }
    Path(path).write_text(json.dumps(raw, indent=1) + "\n")


def stacked_hourglass_to_h36m(det: np.ndarray) -> np.ndarray:
    """(..., 16, 2) Stacked Hourglass detections -> (..., 17, 2) Human3.6M order."""
    out = det[..., [max(i, 0) for i in SH_TO_H36M], :].copy()
    for joint, (base, tip, fraction) in SH_INTERPOLATED.items():
        out[..., joint, :] = det[..., base, :] + fraction * (det[..., tip, :] - det[..., base, :])
    return out


def available_subjects(root: str | Path) -> tuple[str, ...]:
    """Subjects that have 3D poses in ``root/poses_3d_world.npz`` (reads only the archive's index)."""
    path = Path(root) / "poses_3d_world.npz"
    if not path.exists():
        raise FileNotFoundError(f"{Path(root)} has no poses_3d_world.npz: point --data at the Human3.6M folder")
    with np.load(path) as poses:
        return tuple(sorted({key.split("/", 1)[0] for key in poses.files}))


def load_h36m(
    root: str | Path,
    subjects: tuple[str, ...] = TRAIN_SUBJECTS,
    source: str = "gt",
    cameras: tuple[str, ...] = CAMERA_IDS,
) -> list[Sequence]:
    """Load every (subject, action, camera) of ``subjects`` from the folder ``root``.

    ``source``: ``"gt"`` projects the 3D ground truth with the camera's distortion; ``"sh"``
    uses the Stacked Hourglass detections (neck/nose synthesised). A camera sequence without
    detections is left out with a warning (in the released data: S11 "Directions", camera
    54138969; VideoPose3D drops S11 "Directions" altogether as a corrupted video).
    """
    if source not in ("gt", "sh"):
        raise LiftposeError(f"source must be 'gt' or 'sh', got {source!r}")
    root = Path(root)
    present = available_subjects(root)
    if set(subjects) - set(present):
        raise LiftposeError(
            f"subjects {sorted(set(subjects) - set(present))} have no poses in {root}; it has {list(present)}"
        )
    cams = load_cameras(root / "cameras.json")
    for subject in subjects:
        absent = [cid for cid in cameras if cid not in cams.get(subject, {})]
        if absent:
            raise LiftposeError(f"{root / 'cameras.json'} has no camera {absent} for subject {subject}")
    poses = np.load(root / "poses_3d_world.npz")
    dets = np.load(root / "detections_2d_stacked_hourglass.npz") if source == "sh" else None
    out, skipped = [], []
    for key in sorted(poses.files):
        subject, action = key.split("/", 1)
        if subject not in subjects:
            continue
        world = poses[key].astype(np.float64)
        for cid in cameras:
            cam = cams[subject][cid]
            x_cam = cam.world_to_camera(world)
            if source == "gt":
                uv = cam.project(x_cam)
            elif f"{key}/{cid}" not in dets.files:
                skipped.append(f"{key}/{cid}")
                continue
            else:
                det = dets[f"{key}/{cid}"]
                if len(det) != len(world):
                    raise LiftposeError(f"{key}/{cid}: {len(det)} detections for {len(world)} frames")
                uv = stacked_hourglass_to_h36m(det)
            out.append(
                Sequence(
                    subject=subject,
                    action=action,
                    camera=cid,
                    poses_3d=root_relative(x_cam).astype(np.float32),
                    keypoints_2d=uv.astype(np.float32),
                    width=cam.width,
                    height=cam.height,
                    root=x_cam[:, 0].astype(np.float32),
                )
            )
    if skipped:
        warnings.warn(f"no Stacked Hourglass detections for {skipped}: left out", stacklevel=2)
    return out
