"""A tiny synthetic Human3.6M folder in the flat format of ``../shared/data/h36m`` (for tests).

``poses_3d_world.npz`` (keys ``"S9/Walking 1"``, (N, 17, 3) world metres), ``cameras.json``
(``cameras[subject][camera_id]``, the Human3.6M convention of :class:`liftpose.camera.Camera`) and
``detections_2d_stacked_hourglass.npz`` (keys ``"S9/Walking 1/54138969"``, (N, 16, 2) pixels).
The poses are a rough standing skeleton that drifts and sways; the cameras stand in a ring and
look at it, so every joint is in front of every camera. The detections are the projections plus
pixel noise, in the Stacked Hourglass joint order (the interpolated joints placed so that the
reader's interpolation gives back spine and neck).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from liftpose.datasets.h36m import CAMERA_IDS, SH_INTERPOLATED, SH_TO_H36M, load_cameras

#: A standing Human3.6M-17 skeleton, world metres (z up), pelvis at the origin of the floor plan.
TEMPLATE = np.array([
    [0.00, 0.00, 0.95], [-0.13, 0.00, 0.95], [-0.13, 0.02, 0.52], [-0.13, 0.05, 0.08],
    [0.13, 0.00, 0.95], [0.13, 0.02, 0.52], [0.13, 0.05, 0.08], [0.00, 0.00, 1.18],
    [0.00, 0.00, 1.42], [0.00, -0.03, 1.52], [0.00, 0.00, 1.65], [0.17, 0.00, 1.40],
    [0.20, 0.00, 1.12], [0.22, 0.00, 0.86], [-0.17, 0.00, 1.40], [-0.20, 0.00, 1.12],
    [-0.22, 0.00, 0.86],
])  # fmt: skip

SUBJECTS: tuple[str, ...] = ("S1", "S5", "S9", "S11")
ACTIONS: tuple[str, ...] = ("Walking", "Walking 1", "Eating", "WalkDog")


def _look_at(centre: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The stored R (columns = camera x right, y down, z forward, in world coordinates)."""
    z = target - centre
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)


def make_cameras(rng: np.random.Generator, subjects: tuple[str, ...]) -> dict:
    """``cameras[subject][camera_id]`` as in ``cameras.json``: four cameras in a ring."""
    out = {}
    for subject in subjects:
        out[subject] = {}
        for i, cid in enumerate(CAMERA_IDS):
            angle = np.pi / 4 + i * np.pi / 2 + rng.uniform(-0.2, 0.2)
            centre = np.array([4.5 * np.cos(angle), 4.5 * np.sin(angle), rng.uniform(1.3, 1.7)])
            height = int(rng.choice([1000, 1002]))
            out[subject][cid] = {
                "R": _look_at(centre, np.array([0.0, 0.0, 1.0])).tolist(),
                "T_mm": (centre * 1000).tolist(),
                "f": rng.uniform(1140, 1150, 2).tolist(),
                "c": (np.array([500.0, height / 2]) + rng.uniform(-15, 15, 2)).tolist(),
                "k": [rng.uniform(-0.21, -0.19), rng.uniform(0.21, 0.25), rng.uniform(-0.01, 0.01)],
                "p": rng.uniform(-0.002, 0.002, 2).tolist(),
                "width": 1000,
                "height": height,
            }
    return out


def to_stacked_hourglass(uv: np.ndarray) -> np.ndarray:
    """(..., 17, 2) Human3.6M pixels -> (..., 16, 2) Stacked Hourglass order (inverting the reader's mapping)."""
    sh = np.zeros((*uv.shape[:-2], 16, 2), uv.dtype)
    filled = set()
    for joint, i in enumerate(SH_TO_H36M):
        if i >= 0:
            sh[..., i, :] = uv[..., joint, :]
            filled.add(i)
    for joint, (base, tip, fraction) in SH_INTERPOLATED.items():
        if tip not in filled:
            sh[..., tip, :] = sh[..., base, :] + (uv[..., joint, :] - sh[..., base, :]) / fraction
            filled.add(tip)
    return sh


def make_motion(rng: np.random.Generator, frames: int) -> np.ndarray:
    """(frames, 17, 3) world metres: the template turned, drifting and with swaying joints."""
    t = np.arange(frames)[:, None, None] / 50.0
    sway = 0.05 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5, (1, 17, 3)) * t + rng.uniform(0, 2 * np.pi, (1, 17, 3)))
    heading = rng.uniform(0, 2 * np.pi)
    rot = np.array([[np.cos(heading), -np.sin(heading), 0], [np.sin(heading), np.cos(heading), 0], [0, 0, 1]])
    drift = rng.uniform(-0.3, 0.3, 3) * np.array([1, 1, 0]) * t / max(t.max(), 1e-9)
    return ((TEMPLATE + sway) @ rot.T + drift).astype(np.float32)


def write_synthetic_h36m(
    root: str | Path,
    subjects: tuple[str, ...] = SUBJECTS,
    actions: tuple[str, ...] = ACTIONS,
    frames: tuple[int, int] = (30, 60),
    seed: int = 0,
    detection_noise_px: float = 3.0,
) -> Path:
    """Write the three files into ``root`` and return it. Sequence lengths are drawn from ``frames``."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "cameras.json").write_text(json.dumps(make_cameras(rng, subjects)))
    cams = load_cameras(root / "cameras.json")
    poses, dets = {}, {}
    for subject in subjects:
        for action in actions:
            world = make_motion(rng, int(rng.integers(frames[0], frames[1] + 1)))
            poses[f"{subject}/{action}"] = world
            for cid, cam in cams[subject].items():
                uv = to_stacked_hourglass(cam.project(cam.world_to_camera(world.astype(np.float64))))
                uv += rng.normal(0, detection_noise_px, uv.shape)
                dets[f"{subject}/{action}/{cid}"] = uv.astype(np.float32)
    np.savez_compressed(root / "poses_3d_world.npz", **poses)
    np.savez_compressed(root / "detections_2d_stacked_hourglass.npz", **dets)
    return root
