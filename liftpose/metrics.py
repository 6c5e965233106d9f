"""Pose alignment and the standard 3D pose errors, for numpy arrays and torch tensors alike.

Every function takes poses of shape ``(..., J, D)`` (``D`` = 3 for 3D joints; the leading dimensions
are any batch/time dimensions and broadcast between prediction and target) and returns one error
**per pose**, of shape ``(...)`` (``joint_errors``: one per joint, ``(..., J)``), in the units of
the input (metres in, metres out). Reduce it as the protocol requires, e.g.
``mpjpe(pred, gt).mean()``. numpy in gives numpy out, torch in gives torch out (differentiable;
integer inputs are promoted to float).

Definitions (as in the Human3.6M literature, e.g. VideoPose3D's ``common/loss.py``):

- MPJPE: mean over joints of the Euclidean distance between predicted and true joints.
  Protocol 1 of Human3.6M applies it to root-relative poses (pelvis subtracted).
- P-MPJPE: MPJPE after aligning each predicted pose to its target with the least-squares similarity
  transform (rotation, uniform scale, translation; no reflection), see ``procrustes_align``.
- N-MPJPE: MPJPE after the least-squares uniform scale about the origin only,
  ``s = <pred, target> / <pred, pred>`` per pose (pass root-relative poses).
- MPJVE: MPJPE of the first differences along a time axis, i.e. velocity error in input units per
  frame (multiply by the frame rate for units per second).
"""

from __future__ import annotations

from typing import NamedTuple

from ._array import Array, as_float, eps, eye_like, namespace, vector_norm
from .errors import LiftposeError


class Similarity(NamedTuple):
    """A similarity transform acting on row vectors: ``x -> scale * x @ rotation + translation``.

    ``rotation`` (..., D, D) is proper (det +1), ``scale`` (...) and ``translation`` (..., D).
    """

    rotation: Array
    scale: Array
    translation: Array

    def apply(self, x: Array) -> Array:
        """Transform poses ``x`` (..., J, D) (leading dimensions broadcast with the transform's)."""
        return self.scale[..., None, None] * (x @ self.rotation) + self.translation[..., None, :]


def _poses(pred: Array, target: Array) -> tuple[Array, Array]:
    namespace(pred, target)
    pred, target = as_float(pred), as_float(target)
    if pred.ndim < 2 or target.ndim < 2 or pred.shape[-2:] != target.shape[-2:]:
        raise LiftposeError(
            f"poses must be (..., J, D) with the same J and D: got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    return pred, target


def _degenerate(centred: Array, raw: Array) -> Array:
    """True for poses whose joints all coincide, up to the rounding error of centring them."""
    xp = namespace(centred)
    spread = xp.sum(centred * centred, axis=(-2, -1))
    size = xp.sum(raw * raw, axis=(-2, -1))
    return spread <= (16 * eps(raw)) ** 2 * size


def procrustes_align(pred: Array, target: Array, scale: bool = True) -> tuple[Array, Similarity]:
    """Align each predicted pose to its target with the least-squares similarity transform.

    Minimises ``sum_j |scale * pred_j @ R + t - target_j|^2`` per pose over proper rotations ``R``
    (reflections are excluded: Kabsch/Umeyama with the determinant correction), ``scale >= 0`` and
    ``t``; with ``scale=False`` the scale is fixed to 1 (rigid alignment).

    Args:
        pred, target: (..., J, D) poses; leading dimensions broadcast.
    Returns:
        ``(aligned, transform)``: ``aligned`` (..., J, D) equals ``transform.apply(pred)``, and
        ``transform`` is a ``Similarity`` with rotation (..., D, D), scale (...), translation (..., D).

    Degenerate poses (all joints of the prediction or of the target at one point, up to rounding)
    have no defined rotation: the rotation is then the identity and the scale 0 (1 with
    ``scale=False``), so ``aligned`` is the target's centroid (or the prediction moved onto it),
    never NaN.
    """
    pred, target = _poses(pred, target)
    xp = namespace(pred)
    mu_p = xp.mean(pred, axis=-2, keepdims=True)
    mu_t = xp.mean(target, axis=-2, keepdims=True)
    p0, t0 = pred - mu_p, target - mu_t
    u, s, vh = xp.linalg.svd(p0.swapaxes(-1, -2) @ t0)
    # Flip the weakest axis when U V^T would be a reflection.
    sign = xp.sign(xp.linalg.det(u @ vh))
    flip = xp.concatenate([xp.ones_like(s[..., :-1]), sign[..., None]], axis=-1)
    rotation = (u * flip[..., None, :]) @ vh
    degenerate = _degenerate(p0, pred) | _degenerate(t0, target)
    rotation = xp.where(degenerate[..., None, None], eye_like(pred.shape[-1], pred), rotation)
    if scale:
        spread = xp.sum(p0 * p0, axis=(-2, -1))
        trace = xp.sum(s * flip, axis=-1)
        k = xp.where(degenerate, 0.0, trace / xp.where(degenerate, 1.0, spread))
    else:
        k = xp.ones_like(xp.sum(s, axis=-1))
    translation = (mu_t - k[..., None, None] * (mu_p @ rotation))[..., 0, :]
    transform = Similarity(rotation, k, translation)
    return transform.apply(pred), transform


def joint_errors(pred: Array, target: Array) -> Array:
    """Euclidean distance of every predicted joint to its target: (..., J, D) poses -> (..., J).

    ``joint_errors(pred, target).mean()`` is the MPJPE of a whole batch, the training loss.
    """
    pred, target = _poses(pred, target)
    return vector_norm(pred - target)


def mpjpe(pred: Array, target: Array) -> Array:
    """Mean per-joint position error: (..., J, D) poses -> (...) mean Euclidean distance over joints."""
    return joint_errors(pred, target).mean(-1)


def p_mpjpe(pred: Array, target: Array) -> Array:
    """MPJPE after per-pose similarity Procrustes alignment (Human3.6M protocol 2): (..., J, D) -> (...)."""
    aligned, _ = procrustes_align(pred, target, scale=True)
    return mpjpe(aligned, target)


def n_mpjpe(pred: Array, target: Array) -> Array:
    """MPJPE after the least-squares scale about the origin, per pose: (..., J, D) -> (...).

    A prediction that is all zeros gets scale 0 (no NaN).
    """
    pred, target = _poses(pred, target)
    xp = namespace(pred)
    num = xp.sum(pred * target, axis=(-2, -1), keepdims=True)
    den = xp.sum(pred * pred, axis=(-2, -1), keepdims=True)
    zero = den == 0
    k = xp.where(zero, 0.0, num / xp.where(zero, 1.0, den))
    return mpjpe(k * pred, target)


def mpjve(pred: Array, target: Array, axis: int = -3) -> Array:
    """Mean per-joint velocity error along the time ``axis`` (default: the one before the joints).

    (..., T, ..., J, D) -> (..., T - 1, ...): MPJPE of the frame-to-frame differences, in input
    units per frame.
    """
    pred, target = _poses(pred, target)
    ndim = max(pred.ndim, target.ndim)
    if not -ndim <= axis < ndim - 2 or axis in (-1, -2):
        raise LiftposeError(f"time axis {axis} must be a leading axis of the (..., J, D) poses (ndim {ndim})")
    xp = namespace(pred)
    return mpjpe(xp.diff(pred, axis=axis), xp.diff(target, axis=axis))
