"""Camera geometry: world -> camera -> pixels, and the pixel normalisation the models expect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


@dataclass(frozen=True)
class Camera:
    """A calibrated pinhole camera with Brown distortion, in the Human3.6M convention.

    ``R`` (3, 3) is stored transposed (``X_cam = R.T @ (X_world - T)``), ``T`` (3,) is the camera
    centre in world metres, ``f`` and ``c`` (2,) are in pixels, ``k`` (3,) radial and ``p`` (2,)
    tangential distortion.
    """

    R: np.ndarray
    T: np.ndarray
    f: np.ndarray
    c: np.ndarray
    k: np.ndarray
    p: np.ndarray
    width: int
    height: int

    def world_to_camera(self, x: np.ndarray) -> np.ndarray:
        """World points (..., 3) in metres -> camera frame (..., 3) in metres."""
        return (x - self.T) @ self.R

    def project(self, x_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) -> distorted pixel coordinates (..., 2)."""
        xy = x_cam[..., :2] / x_cam[..., 2:3]
        r2 = np.sum(xy**2, axis=-1, keepdims=True)
        radial = 1 + self.k[0] * r2 + self.k[1] * r2**2 + self.k[2] * r2**3
        tangential = self.p[0] * xy[..., 1:2] + self.p[1] * xy[..., 0:1]
        xy = xy * (radial + tangential) + self.p[::-1] * r2
        return (self.f * xy + self.c).astype(x_cam.dtype)


def normalize_screen(uv: ArrayT, width: float, height: float) -> ArrayT:
    """Pixels (..., 2) -> model input: ``uv / width * 2 - [1, height / width]``.

    x spans [-1, 1]; y keeps the aspect ratio (the VideoPose3D / official convention).
    ``uv`` may be a numpy array or a torch tensor; the result has the same type, dtype and device.
    """
    offset = [1, height / width]
    offset = uv.new_tensor(offset) if isinstance(uv, torch.Tensor) else np.array(offset, dtype=uv.dtype)
    return uv / width * 2 - offset
