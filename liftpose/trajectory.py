"""The person's path in the camera frame: where the pelvis is, in metres, in every frame.

``Lifter.predict`` returns root-relative joints ``P`` (T, 17, 3). If the camera's focal length ``f``
and principal point ``c`` (pixels) are known or assumed, the pelvis position ``t`` (T, 3) that makes
``P + t`` reproject onto the input 2D keypoints is a small least-squares problem per frame
(``root_trajectory``):

1. a linear start per frame (the DLT form ``x (Z_j + t_z) - (X_j + t_x) = 0``, two rows per joint,
   with ``x = (u - c_x) / f_x`` the normalised image coordinate), weighted by the detector's
   confidence;
2. a few Gauss-Newton steps on the true reprojection error, all frames at once, with a penalty on the
   pelvis's acceleration (Tikhonov on second differences over the clip): a banded linear system per
   step. The penalty is what makes the path as steady as the 2D: depth, which the 2D pins down only
   weakly (through the body's apparent size), is smoothed over about a second, the image-plane
   position, which the 2D pins down tightly, over a few frames.

**What it cannot know.** The depth comes from the body's apparent size: a pose twice as large,
twice as far away, reprojects identically. The lifted poses have the body size of an average
Human3.6M actor (``liftpose.world.body_height``), so for a child or a tall adult the whole path is
too far or too near by the ratio of sizes; ``height=`` rescales it (and scale the poses with
``liftpose.world.scale_to_height`` by the same ratio). The depth is also as wrong as the focal length:
with ``fov``/``focal`` guessed, depths scale with the error of ``f``. Lens distortion is not
modelled (undistort the keypoints first if it is strong).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from ._array import Array, to_numpy
from .formats import Layout, get_layout, to_h36m
from .preprocess import DEFAULT_THRESHOLD
from .skeleton import NUM_JOINTS

logger = logging.getLogger(__name__)

#: Field of view (degrees) across the image's longer side assumed when neither ``focal`` nor ``fov`` is
#: given: between a phone's main camera (26 mm equivalent, about 69 degrees) and a typical webcam
#: (about 60 degrees). Human3.6M's cameras have about 47 degrees.
DEFAULT_FOV = 65.0
#: Typical pelvis acceleration (m/s^2) the temporal penalty allows for (walking: 1-3 m/s^2).
DEFAULT_ACCELERATION = 2.0
#: Expected reprojection error of a joint (in units of the focal length, i.e. radians: 0.01 is 10 px
#: at f = 1000 px), from the 2D detector and the lifted pose together.
DEFAULT_NOISE = 0.01


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics: ``focal`` (fx, fy) and ``centre`` (cx, cy), both in pixels."""

    focal: np.ndarray
    centre: np.ndarray


def intrinsics(
    image_size: tuple[float, float],
    *,
    focal: float | tuple[float, float] | None = None,
    fov: float | None = None,
    principal_point: tuple[float, float] | None = None,
) -> Intrinsics:
    """Pinhole intrinsics for a video of ``image_size`` = (width, height) pixels.

    ``focal``: in pixels (one value, or (fx, fy)); else ``fov``: the field of view in degrees across
    the image's longer side; else ``DEFAULT_FOV`` (65 degrees, logged as an assumption).
    ``principal_point``: (cx, cy) in pixels, default the image centre.
    """
    width, height = (float(v) for v in image_size)
    if not (width > 0 and height > 0):
        raise ValueError(f"image_size must be (width, height) in pixels, both positive; got {image_size!r}")
    if focal is not None and fov is not None:
        raise ValueError("pass either focal (pixels) or fov (degrees), not both")
    if focal is None:
        if fov is None:
            fov = DEFAULT_FOV
            logger.info("no focal length or field of view given: assuming %g degrees across the longer side", fov)
        if not 1.0 <= fov < 179.0:
            raise ValueError(f"fov must be a field of view in degrees between 1 and 179, got {fov}")
        focal = max(width, height) / 2 / math.tan(math.radians(fov) / 2)
    f = np.broadcast_to(np.asarray(focal, dtype=np.float64), (2,)).copy()
    if not np.all(np.isfinite(f) & (f > 0)):
        raise ValueError(f"focal must be positive pixels (one value or (fx, fy)), got {focal!r}")
    c = np.array([width / 2, height / 2] if principal_point is None else principal_point, dtype=np.float64)
    if c.shape != (2,):
        raise ValueError(f"principal_point must be (cx, cy) in pixels, got {principal_point!r}")
    return Intrinsics(f, c)


def field_of_view(focal: float, size: float) -> float:
    """Degrees seen across ``size`` pixels by a lens of ``focal`` pixels."""
    return math.degrees(2 * math.atan(size / 2 / focal))


def _second_difference(n: int) -> scipy.sparse.csr_matrix:
    """(n - 2, n) matrix of x[k-1] - 2 x[k] + x[k+1] (empty for n < 3)."""
    if n < 3:
        return scipy.sparse.csr_matrix((0, n))
    return scipy.sparse.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(n - 2, n))


def _linear_start(p: np.ndarray, xn: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-frame weighted DLT: (T, J, 3) poses, (T, J, 2) normalised 2D, (T, J) weights -> (T, 3).

    Rows ``[-1, 0, x] t = X - x Z`` and ``[0, -1, y] t = Y - y Z`` for every joint. Frames with fewer
    than two weighted joints (singular) come out NaN."""
    n_frames, n_joints = w.shape
    a = np.zeros((n_frames, n_joints, 2, 3))
    a[..., 0, 0] = a[..., 1, 1] = -1.0
    a[..., :, 2] = xn
    b = p[..., :2] - xn * p[..., 2:3]  # (T, J, 2)
    wa = a * w[..., None, None]
    h = np.einsum("tjri,tjrk->tik", wa, a)
    g = np.einsum("tjri,tjr->ti", wa, b)
    ok = np.linalg.cond(h) < 1e10
    t = np.full((n_frames, 3), np.nan)
    if ok.any():
        t[ok] = np.linalg.solve(h[ok], g[ok][..., None])[..., 0]
    return t


def _fill_frames(t: np.ndarray) -> np.ndarray:
    """Replace NaN rows of (T, 3) by linear interpolation between the nearest finite rows."""
    bad = ~np.isfinite(t).all(-1)
    if not bad.any():
        return t
    if bad.all():
        raise ValueError("no frame has two or more valid keypoints: the pelvis position cannot be fitted")
    idx = np.arange(len(t))
    return np.stack([np.interp(idx, idx[~bad], t[~bad, k]) for k in range(3)], -1)


def _fit_sequence(p: np.ndarray, xn: np.ndarray, w: np.ndarray, smooth: float, iterations: int) -> np.ndarray:
    """One sequence: (T, J, 3), (T, J, 2) normalised 2D, (T, J) weights already divided by the noise
    variance; ``smooth`` the weight of the squared second differences. Returns (T, 3)."""
    n = len(p)
    t = _fill_frames(_linear_start(p, xn, w))
    # Keep every start in front of the camera (a degenerate frame could put it behind).
    t[:, 2] = np.maximum(t[:, 2], 0.5 - p[..., 2].min(-1))
    d2 = _second_difference(n)
    penalty = scipy.sparse.kron(d2.T @ d2, scipy.sparse.identity(3)).tocsr() * smooth
    rows = (np.arange(n)[:, None, None] * 3 + np.arange(3)[None, :, None]).repeat(3, -1)
    cols = rows.transpose(0, 2, 1)
    for _ in range(iterations):
        q = p + t[:, None, :]
        z = np.maximum(q[..., 2], 1e-3)
        proj = q[..., :2] / z[..., None]
        r = xn - proj  # (T, J, 2)
        # d proj / d t: x = X / Z -> (1/Z, 0, -X/Z^2); y likewise.
        jac = np.zeros(r.shape + (3,))
        jac[..., 0, 0] = jac[..., 1, 1] = 1 / z
        jac[..., :, 2] = -proj / z[..., None]
        wj = jac * w[..., None, None]
        h = np.einsum("tjri,tjrk->tik", wj, jac)
        g = np.einsum("tjri,tjr->ti", wj, r)  # -gradient of the data term / 2
        a = scipy.sparse.csr_matrix((h.ravel(), (rows.ravel(), cols.ravel())), shape=(3 * n, 3 * n)) + penalty
        rhs = g.ravel() - penalty @ t.ravel()
        step = scipy.sparse.linalg.spsolve(a.tocsc(), rhs).reshape(n, 3)
        # Do not step through the camera plane: halve the step until every joint stays in front.
        for _ in range(20):
            if (p[..., 2] + (t + step)[:, None, 2]).min() > 1e-2:
                break
            step = step / 2
        t = t + step
        if np.abs(step).max() < 1e-6:
            break
    return t


def root_trajectory(
    poses: Array,
    keypoints_2d: Array,
    image_size: tuple[float, float],
    *,
    focal: float | tuple[float, float] | None = None,
    fov: float | None = None,
    principal_point: tuple[float, float] | None = None,
    layout: str | Layout = "h36m",
    fps: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    acceleration: float = DEFAULT_ACCELERATION,
    noise: float = DEFAULT_NOISE,
    height: float | None = None,
    iterations: int = 8,
) -> np.ndarray:
    """Camera-frame pelvis position per frame, so that ``poses + trajectory`` reprojects onto the 2D.

    Args:
        poses: (T, 17, 3) or (N, T, 17, 3) root-relative camera-frame joints in metres (x right,
            y down, z forward), e.g. from ``Lifter.predict``.
        keypoints_2d: the 2D input of those poses, (..., T, K, 2) pixels or (..., T, K, 3) with a
            detector's confidence, in ``layout`` (converted with ``to_h36m``). A joint's weight in the
            fit is its confidence (1 without one); NaN joints and those below ``threshold`` get 0.
        image_size: (width, height) of the video in pixels.
        focal, fov, principal_point: the camera (see ``intrinsics``; default ``DEFAULT_FOV`` = 65
            degrees across the longer side, principal point at the image centre). Depths scale with
            the focal length.
        fps: frame rate of the sequence (default 50); sets the time scale of ``acceleration``.
        acceleration: typical pelvis acceleration in m/s^2 (default 2): the temporal penalty is
            ``|second difference / (acceleration dt^2)|^2`` against reprojection errors measured in
            units of ``noise`` (default 0.01 = 10 px at f = 1000 px). Smaller: a smoother path.
        height: the person's ``liftpose.world.body_height`` in metres if known: the path is scaled by
            ``height / body_height(poses)`` (it then belongs to ``scale_to_height(poses, height)``).
        iterations: Gauss-Newton steps (stops earlier once a step moves less than a micrometre).

    Returns:
        float64 numpy (T, 3) or (N, T, 3): the pelvis in the camera frame, metres. The depth is only
        as right as the assumed body size and focal length (module docstring).
    """
    p = to_numpy(poses)
    kp = to_numpy(keypoints_2d)
    if p.ndim not in (3, 4) or p.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"poses must be (T, 17, 3) or (N, T, 17, 3) camera-frame metres, got shape {p.shape}")
    if kp.shape[-1] not in (2, 3):
        raise ValueError(
            f"keypoints_2d must be (..., T, K, 2) pixels or (..., T, K, 3) with confidence, got {kp.shape}"
        )
    kp = to_h36m(kp, get_layout(layout))
    if kp.shape[:-2] != p.shape[:-2]:
        raise ValueError(
            f"keypoints_2d cover {kp.shape[:-2]} (sequences, frames) but poses cover {p.shape[:-2]}: "
            "pass the 2D the poses were lifted from, one set of keypoints per pose"
        )
    if not (acceleration > 0 and noise > 0):
        raise ValueError(f"acceleration and noise must be positive, got {acceleration} and {noise}")
    cam = intrinsics(image_size, focal=focal, fov=fov, principal_point=principal_point)
    dt = 1.0 / (fps if fps else 50.0)
    xn = (kp[..., :2] - cam.centre) / cam.focal
    w = np.isfinite(xn).all(-1).astype(np.float64)
    if kp.shape[-1] == 3:
        conf = np.nan_to_num(kp[..., 2], nan=0.0)
        w *= np.where(conf >= threshold, np.clip(conf, 0.0, 1.0), 0.0)
    xn = np.nan_to_num(xn)
    w /= noise**2
    smooth = 1.0 / (acceleration * dt * dt) ** 2
    batched = p.ndim == 4
    p, xn, w = (p, xn, w) if batched else (p[None], xn[None], w[None])
    out = np.stack([_fit_sequence(p[i], xn[i], w[i], smooth, iterations) for i in range(len(p))])
    if height is not None:
        from .world import body_height

        out *= (height / body_height(p))[:, None, None]
    return out if batched else out[0]


def reprojection_error(
    poses: Array, trajectory: Array, keypoints_2d: Array, cam: Intrinsics, layout: str | Layout = "h36m"
) -> np.ndarray:
    """Pixel distance (..., T, 17) between ``poses + trajectory`` projected with ``cam`` and the 2D."""
    q = to_numpy(poses) + to_numpy(trajectory)[..., None, :]
    uv = q[..., :2] / q[..., 2:3] * cam.focal + cam.centre
    kp = to_h36m(to_numpy(keypoints_2d), get_layout(layout))[..., :2]
    return np.linalg.norm(uv - kp, axis=-1)


def split_error(estimated: Array, true: Array) -> tuple[np.ndarray, np.ndarray]:
    """Error of camera-frame positions (..., 3) against the truth, split by what the 2D decides:
    (image-plane part: distance perpendicular to the true point's line of sight, depth part: signed
    error along it, positive = too far), both (...) in the input's units."""
    est, ref = to_numpy(estimated), to_numpy(true)
    ray = ref / np.linalg.norm(ref, axis=-1, keepdims=True)
    err = est - ref
    along = np.sum(err * ray, axis=-1)
    return np.linalg.norm(err - along[..., None] * ray, axis=-1), along
