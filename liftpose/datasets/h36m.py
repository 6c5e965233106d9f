"""Human3.6M in the flat format of ``poses_3d_world.npz`` + ``cameras.json`` +
``detections_2d_stacked_hourglass.npz`` (research use only: the data never ships with liftpose).

Each :class:`Sequence` is one (subject, action, camera) with root-relative camera-frame 3D
targets in metres and 2D inputs in pixels, either projected ground truth (``source="gt"``) or
the Stacked Hourglass detections (``source="sh"``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Camera

TRAIN_SUBJECTS: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS: tuple[str, ...] = ("S9", "S11")
CAMERA_IDS: tuple[str, ...] = ("54138969", "55011271", "58860488", "60457274")

#: Stacked Hourglass order (r-ankle, r-knee, r-hip, l-hip, l-knee, l-ankle, pelvis, spine, thorax,
#: head-top, r-wrist, r-elbow, r-shoulder, l-shoulder, l-elbow, l-wrist) -> Human3.6M-17 order.
#: Entry 9 (neck/nose) has no detection and is synthesised, see :data:`SH_NECK_FRACTION`.
SH_TO_H36M: tuple[int, ...] = (6, 2, 1, 0, 3, 4, 5, 7, 8, -1, 9, 13, 14, 15, 12, 11, 10)

#: The missing neck/nose joint is put at ``thorax + SH_NECK_FRACTION * (head - thorax)``: the
#: least-squares fraction of the projected ground truth of the training subjects (measured by
#: ``tests/test_h36m_data.py::test_neck_fraction``, data-dependent, not run in CI).
SH_NECK_FRACTION = 0.44


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


def stacked_hourglass_to_h36m(det: np.ndarray) -> np.ndarray:
    """(..., 16, 2) Stacked Hourglass detections -> (..., 17, 2) Human3.6M order."""
    out = det[..., [max(i, 0) for i in SH_TO_H36M], :].copy()
    thorax, head = det[..., 8, :], det[..., 9, :]
    out[..., 9, :] = thorax + SH_NECK_FRACTION * (head - thorax)
    return out


def load_h36m(
    root: str | Path,
    subjects: tuple[str, ...] = TRAIN_SUBJECTS,
    source: str = "gt",
    cameras: tuple[str, ...] = CAMERA_IDS,
) -> list[Sequence]:
    """Load every (subject, action, camera) of ``subjects`` from the folder ``root``.

    ``source``: ``"gt"`` projects the 3D ground truth with the camera's distortion; ``"sh"``
    uses the Stacked Hourglass detections (neck/nose synthesised).
    """
    if source not in ("gt", "sh"):
        raise ValueError(f"source must be 'gt' or 'sh', got {source!r}")
    root = Path(root)
    if not (root / "poses_3d_world.npz").exists():
        raise FileNotFoundError(f"{root} has no poses_3d_world.npz: point --data at the Human3.6M folder")
    cams = load_cameras(root / "cameras.json")
    poses = np.load(root / "poses_3d_world.npz")
    dets = np.load(root / "detections_2d_stacked_hourglass.npz") if source == "sh" else None
    out = []
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
            else:
                det = dets[f"{key}/{cid}"]
                if len(det) != len(world):
                    raise ValueError(f"{key}/{cid}: {len(det)} detections for {len(world)} frames")
                uv = stacked_hourglass_to_h36m(det)
            out.append(
                Sequence(
                    subject=subject,
                    action=action,
                    camera=cid,
                    poses_3d=(x_cam - x_cam[:, :1]).astype(np.float32),
                    keypoints_2d=uv.astype(np.float32),
                    width=cam.width,
                    height=cam.height,
                )
            )
    return out
