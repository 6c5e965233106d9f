"""A procedural Human3.6M-17 walker filmed by a tilted pinhole camera, with exact ground truth:
camera-frame joints, pelvis path, pixels, and the camera's true up vector (no dataset involved)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

WIDTH, HEIGHT, FOCAL = 1280, 720, 1000.0


@dataclass
class Clip:
    world: np.ndarray  # (T, 17, 3) metres, z up, feet at z ~ 0.08
    camera: np.ndarray  # (T, 17, 3) camera frame (x right, y down, z forward), metres
    uv: np.ndarray  # (T, 17, 2) pixels
    up: np.ndarray  # (3,) world up in the camera frame
    fps: float


def walker(frames: int = 150, fps: float = 50.0, radius: float = 1.2) -> np.ndarray:
    """(T, 17, 3) world joints (z up) of a person walking a circle of ``radius`` metres around the origin."""
    t = np.arange(frames) / fps
    heading = 1.0 * t / radius  # 1 m/s along the circle
    phase = 2 * np.pi * 0.9 * t
    centre = np.stack([radius * np.sin(heading), -radius * np.cos(heading), 0.92 + 0.02 * np.cos(2 * phase)], -1)
    fwd = np.stack([np.cos(heading), np.sin(heading), np.zeros_like(t)], -1)
    left = np.stack([-np.sin(heading), np.cos(heading), np.zeros_like(t)], -1)
    up = np.array([0.0, 0.0, 1.0])
    j = np.zeros((frames, 17, 3))
    j[:, 0] = centre
    for hip, knee, ankle, sign, p in ((1, 2, 3, -1.0, phase), (4, 5, 6, 1.0, phase + np.pi)):
        j[:, hip] = centre + sign * 0.12 * left
        swing, bend = 0.4 * np.sin(p), 0.3 * (1 + np.cos(p))
        thigh = np.cos(swing)[:, None] * -up + np.sin(swing)[:, None] * fwd
        shin_angle = swing - bend
        shin = np.cos(shin_angle)[:, None] * -up + np.sin(shin_angle)[:, None] * fwd
        j[:, knee] = j[:, hip] + 0.43 * thigh
        j[:, ankle] = j[:, knee] + 0.43 * shin
    j[:, 7] = centre + 0.24 * up + 0.02 * fwd
    j[:, 8] = centre + 0.50 * up + 0.03 * fwd
    j[:, 9] = centre + 0.60 * up + 0.08 * fwd
    j[:, 10] = centre + 0.70 * up + 0.04 * fwd
    for shoulder, elbow, wrist, sign, p in ((11, 12, 13, 1.0, phase + np.pi), (14, 15, 16, -1.0, phase)):
        j[:, shoulder] = j[:, 8] + sign * 0.17 * left - 0.02 * up
        arm = -0.3 * np.sin(p)
        upper = np.cos(arm)[:, None] * -up + np.sin(arm)[:, None] * fwd
        fore = np.cos(arm + 0.35)[:, None] * -up + np.sin(arm + 0.35)[:, None] * fwd
        j[:, elbow] = j[:, shoulder] + 0.28 * upper
        j[:, wrist] = j[:, elbow] + 0.25 * fore
    return j


def film(world: np.ndarray, fps: float = 50.0, pitch: float = 12.0, roll: float = 3.0, distance: float = 5.0) -> Clip:
    """A camera ``distance`` metres from the origin at 1.6 m height, looking down ``pitch`` degrees,
    rolled ``roll`` degrees."""
    # camera-to-world: start level (world x = cam x, world y = cam z, world z = -cam y), then pitch down and roll
    level = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    cam_rot = (
        Rotation.from_euler("x", -pitch, degrees=True).as_matrix()
        @ level
        @ Rotation.from_euler("z", roll, degrees=True).as_matrix()
    )
    centre = np.array([0.0, -distance, 1.6])
    camera = (world - centre) @ cam_rot  # X_cam = cam_rot^T (X - centre)
    uv = FOCAL * camera[..., :2] / camera[..., 2:] + [WIDTH / 2, HEIGHT / 2]
    return Clip(world, camera, uv, cam_rot.T @ np.array([0.0, 0.0, 1.0]), fps)


def clip(frames: int = 150, **kwargs) -> Clip:
    return film(walker(frames), **kwargs)
