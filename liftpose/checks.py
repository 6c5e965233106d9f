"""Plausibility checks of 2D input, shared by ``Lifter.predict``, ``Lifter.stream`` and ``liftpose lift``.

The network accepts any numbers, so the common input mistakes give plausible-looking 3D unless they
are caught here. Each check raises a :class:`~liftpose.errors.LiftposeError` when the input is
certainly wrong and the fix is known, warns with :class:`~liftpose.errors.LiftposeWarning` when it
is probably wrong, and is silent otherwise:

- **normalised coordinates with a pixel image size** (every coordinate within [-1.5, 1.5] while
  the image is at least 100 px): error naming ``normalized=True``. The reverse (``normalized=True``
  with coordinates that reach past 2) is an error too.
- **points far outside the image** (more than twice the image's width / height beyond its edges,
  e.g. a detector's 1e9 garbage value): treated as missing, like a low-confidence joint, filled
  over time by ``fill_gaps``, and counted in a warning.
- **width and height swapped** (10 % or more of the keypoints beyond the stated frame, reaching
  1.2 times its size, all of them inside the swapped one): error naming the swapped size (a
  warning when they reach less far). Many keypoints outside the frame that
  the swap does not explain: a warning.
- **keypoint order that does not fit the layout** (COCO-17 declared as Human3.6M, or the
  reverse): an error naming the other layout when two signs agree: joints 0-4 cluster like a
  face (COCO-17) or spread like pelvis, hips and legs (Human3.6M) against the declared order, and
  the skeleton is upside down as declared but upright in the other order. One sign alone, an
  upside-down skeleton, a body lying sideways in most frames, and hips that point the other way
  from the shoulders in most frames: warnings.

Margins, measured on the real data (``tests/test_checks.py -m data`` checks that every sequence
passes silently): the "upright" fraction (frames whose thorax, neck, head and shoulders are on
average above the knees and ankles) is 1.000 on all ten wild COCO-17 clips and >= 0.934 on every
Human3.6M S9/S11 sequence and camera (ground truth and Stacked Hourglass; lowest: SittingDown),
against 0.000 to 0.022 for the wild clips read as Human3.6M and <= 0.354 for Human3.6M read as
COCO-17; silent from 0.6, an error needs < 0.2. The spread of joints 0-4 is 0.084-0.109 of the
body's extent on the wild clips (a face) and 0.282-0.611 on Human3.6M (pelvis to ankle); the
boundary is 0.18. The body axis lies more than 60 degrees from vertical in <= 27 % of the frames
of any Human3.6M sequence (SittingDown) and in none of the wild ones; warned from 60 %. Hips
crossing the shoulders (left/right order reversed between hips and shoulders, both wider than
0.15 torso lengths): <= 6.3 % of the frames on the real data; warned from 40 %. Keypoints more
than 5 % beyond the stated frame: none on the real data whose size is right (all of Human3.6M;
nine wild clips), 27 % on the wild clip ``coco17_filipkro_006FL_0`` whose stored size 1920x1080
is the swap of its portrait video's (keypoints reach v = 1672 px, 1.55 times the stated height,
all inside 1080x1920); error from 10 % when the points reach 1.2 times the stated size, a
warning below that. Every coordinate within [-1.5, 1.5]: never true of pixel input of a visible person in
an image of 100 px or more.

``check=False`` (``predict``, ``stream``; CLI ``--no-checks``) turns the checks off for input that
is right although it looks wrong.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from .errors import LiftposeError, LiftposeWarning
from .formats import LAYOUTS, Layout, get_layout, to_h36m
from .preprocess import valid_mask

#: Largest |coordinate| of input that is taken as normalised, and the least image side that makes
#: such input impossible as pixels.
NORMALISED_MAX, PIXEL_MIN_SIDE = 1.5, 100.0
#: Points farther than this many widths / heights beyond the image's edges are missing.
FAR_OUTSIDE = 2.0
#: Margin (fraction of the side) beyond the frame before a point counts as outside it, and the
#: fraction of points outside that is an error (explained by a swap) or a warning (not explained).
FRAME_MARGIN, OUTSIDE_FRACTION = 0.05, 0.10
#: Swapped width and height are an error (not a warning) when points reach this many times the
#: stated width or height: farther than detectors extrapolate joints past the image's edge.
SWAP_REACH = 1.2
#: Upright fraction: silent at or above OK, error below BAD when another layout is upright in at
#: least ALTERNATIVE of the frames (see the module docstring for the measured margins).
UPRIGHT_OK, UPRIGHT_BAD, UPRIGHT_ALTERNATIVE = 0.6, 0.2, 0.9
#: Fraction of frames with hips and shoulders crossed that is warned about, and of frames whose
#: body axis is more than 60 degrees from vertical.
CROSSED_WARN, SIDEWAYS_WARN = 0.4, 0.6
#: Spread of joints 0-4 relative to the body's extent that separates a face (COCO-17 order) from
#: pelvis, hips, knee and ankle (Human3.6M order); which of the two each 17-joint layout has first.
FACE_SPREAD = 0.18
_FACE_FIRST = {"coco17": True, "h36m": False}

# Human3.6M joints (liftpose.skeleton.JOINT_NAMES) used by the checks.
_UPPER = (8, 9, 10, 11, 14)  # thorax, neck/nose, head, shoulders
_LOWER = (2, 3, 5, 6)  # knees, ankles
_PELVIS, _THORAX, _R_HIP, _L_HIP, _L_SHOULDER, _R_SHOULDER = 0, 8, 1, 4, 11, 14


def _warn(message: str) -> None:
    """Warn with :class:`LiftposeWarning` at the user's line: the check that calls this is run by
    ``check_keypoints``, which ``Lifter.predict`` runs (so 5 levels up: this helper, the check,
    ``check_keypoints``, ``predict``, its caller)."""
    warnings.warn(message, LiftposeWarning, stacklevel=5)


def image_size(image_size: Sequence[float] | None, normalized: bool) -> tuple[float, float]:
    """Check ``image_size`` = (width, height) in pixels, needed for pixel input and, for the aspect
    ratio, for ``normalized=True`` input too; return it as two floats."""
    if image_size is None:
        kind = "the aspect ratio of normalised [0, 1]" if normalized else "normalising pixel"
        raise LiftposeError(
            f"image_size=(width, height) in pixels is required for {kind} coordinates; pass the video's "
            "size, e.g. image_size=(1920, 1080) (CLI: --image-size 1920x1080)"
        )
    try:
        width, height = (float(v) for v in image_size)
    except (TypeError, ValueError):
        raise LiftposeError(f"image_size must be (width, height) in pixels, got {image_size!r}") from None
    if not (np.isfinite(width) and np.isfinite(height) and width > 0 and height > 0):
        raise LiftposeError(f"image_size must be two positive numbers (width, height) in pixels, got {image_size!r}")
    return width, height


def to_pixels(keypoints: np.ndarray, size: tuple[float, float], normalized: bool, check: bool = True) -> np.ndarray:
    """(..., K, 2 or 3) keypoints -> pixels (a new float64 array): ``normalized`` input is x / width,
    y / height in [0, 1] and is multiplied by the size; pixel input is copied."""
    kp = np.array(keypoints, dtype=np.float64)
    if not normalized:
        return kp
    if check:
        reach = _finite_max_abs(kp[..., :2])
        if reach > 2.0:
            raise LiftposeError(
                f"normalized=True takes coordinates in [0, 1] (x / width, y / height), but these reach {reach:.4g}: "
                "they look like pixels; drop normalized=True (CLI: drop --normalized)"
            )
    kp[..., :2] *= size
    return kp


def check_keypoints(
    keypoints: np.ndarray, size: tuple[float, float], layout: str | Layout, threshold: float, *, warn_far: bool = True
) -> tuple[np.ndarray, int]:
    """Run every check on pixel keypoints (..., T, K, 2 or 3) in ``layout``; return them with the
    points far outside the image set to NaN (a new array when there are any) and their count.

    Raises :class:`LiftposeError` or warns with :class:`LiftposeWarning` as the module docstring
    says; ``warn_far=False`` leaves the warning about far points to the caller."""
    spec = get_layout(layout)
    kp = np.asarray(keypoints, dtype=np.float64)
    usable = valid_mask(kp, threshold)
    far = usable & _far_outside(kp[..., :2], size)
    xy = np.where((usable & ~far)[..., None], kp[..., :2], np.nan)
    check_scale(xy, size)
    n_far = int(far.sum())
    if n_far:
        kp = kp.copy()
        kp[..., :2][far] = np.nan
        if warn_far:
            warn_far_points(n_far, int(usable.sum()), size, kp.shape[-2], spec, first=np.argwhere(far)[0])
    check_frame(xy, size)
    sequences = xy.reshape(-1, *xy.shape[-3:]) if xy.ndim >= 3 else xy[None, None]
    for i, seq in enumerate(sequences):
        check_layout(seq, spec, where=f"sequence {i}: " if len(sequences) > 1 else "")
    return kp, n_far


def drop_far_points(frame: np.ndarray, size: tuple[float, float]) -> tuple[np.ndarray, int]:
    """One frame (K, 2 or 3) in pixels -> the same with the points far outside the image set to NaN
    (a new array when there are any), and their count."""
    far = _far_outside(frame[..., :2], size)
    if not far.any():
        return frame, 0
    frame = frame.copy()
    frame[..., :2][far] = np.nan
    return frame, int(far.sum())


def check_scale(xy: np.ndarray, size: tuple[float, float]) -> None:
    """Error for normalised-looking coordinates (all within +-1.5) with an image size in pixels."""
    reach = _finite_max_abs(xy)
    if np.isfinite(reach) and reach <= NORMALISED_MAX and min(size) >= PIXEL_MIN_SIDE:
        w, h = (f"{v:g}" for v in size)
        raise LiftposeError(
            f"the keypoints all lie within [-{NORMALISED_MAX}, {NORMALISED_MAX}] (largest |coordinate| {reach:.3g}) "
            f"while image_size is {w}x{h} pixels: they look normalised, not pixels. For x / width, y / height "
            f"coordinates in [0, 1] pass normalized=True with image_size=({w}, {h}) (CLI: --normalized), or "
            "multiply them by (width, height)"
        )


def warn_far_points(
    count: int, total: int, size: tuple[float, float], joints: int, layout: Layout, first: np.ndarray | None = None
) -> None:
    """Warn that ``count`` of ``total`` points lay far outside the image and were treated as missing."""
    w, h = (f"{v:g}" for v in size)
    example = ""
    if first is not None:
        names = layout.joint_names if len(layout.joint_names) == joints else None
        joint = f"'{names[first[-1]]}'" if names else f"{first[-1]}"
        example = f" (the first: frame {first[-2]}, joint {joint})"
    _warn(
        f"{count} of {total} keypoints lie more than {FAR_OUTSIDE:g}x the image size outside the {w}x{h} image"
        f"{example}: treated as missing, like a low-confidence joint, and filled from the neighbouring frames; "
        "check the detector's output and image_size"
    )


def check_frame(xy: np.ndarray, size: tuple[float, float]) -> None:
    """Error when many points lie outside the stated frame and inside the swapped one (width and
    height swapped, e.g. a portrait video); a warning when the swap does not explain them."""
    ok = np.isfinite(xy).all(-1)
    total = int(ok.sum())
    if total == 0:
        return
    pts = xy[ok]
    w, h = size
    outside = float((~_inside(pts, w, h)).mean())
    if outside < OUTSIDE_FRACTION:
        return
    if w != h and _inside(pts, h, w).mean() >= 0.99:
        reach = max(pts[:, 0].max() / w, pts[:, 1].max() / h)
        swap = (
            f"{outside:.0%} of the keypoints lie below or right of the stated {w:g}x{h:g} frame "
            f"(up to {reach:.2f} times "
            f"its size), but all fit a {h:g}x{w:g} one: width and height look swapped (a portrait video?); pass "
            f"image_size=({h:g}, {w:g}) (CLI: --image-size {h:g}x{w:g})"
        )
        if reach >= SWAP_REACH:  # beyond what a detector extrapolates past the image's edge
            raise LiftposeError(f"{swap}, or check=False (CLI: --no-checks) if {w:g}x{h:g} is right")
        _warn(swap)
        return
    _warn(
        f"{outside:.0%} of the keypoints lie outside the stated {w:g}x{h:g} frame: check image_size (width, height) "
        "of the video the keypoints were detected in (or the person is partly out of view)"
    )


def check_layout(xy: np.ndarray, layout: Layout, where: str = "") -> None:
    """Check that one sequence (T, K, 2) in ``layout`` (NaN for missing points) makes an upright
    skeleton with consistent left and right sides, in the order ``layout`` says; see the module
    docstring."""
    upright, crossed, sideways = _posture(to_h36m(xy, layout))
    if upright is None:
        return
    face = _face_spread(xy) if len(layout.joint_names) == 17 and layout.name in _FACE_FIRST else None
    if face is not None and (face < FACE_SPREAD) != _FACE_FIRST[layout.name]:
        other = next(n for n, f in _FACE_FIRST.items() if n != layout.name)
        looks = f"the first five joints {'cluster like a face' if face < FACE_SPREAD else 'spread like hips and legs'}"
        alternative = _posture(to_h36m(xy, LAYOUTS[other]))[0]
        if upright < UPRIGHT_BAD and alternative is not None and alternative >= UPRIGHT_ALTERNATIVE:
            raise LiftposeError(
                f"{where}the keypoints look like {other} order, not '{layout.name}': {looks} ({face:.2f} of the body's "
                f"size), and read as '{layout.name}' the skeleton is upside down in {1 - upright:.0%} of the frames "
                f"(upright in {alternative:.0%} as '{other}'). Pass layout='{other}' (CLI: --layout {other}), or "
                "check=False (CLI: --no-checks) if they really are in the declared order"
            )
        _warn(
            f"{where}the keypoints may be in {other} order rather than '{layout.name}': {looks} ({face:.2f} of the "
            f"body's size); check the layout your detector writes (pass layout=...)"
        )
    elif upright < UPRIGHT_OK:
        _warn(
            f"{where}head and shoulders are below the knees in {1 - upright:.0%} of the frames: a person upside down "
            f"or lying (the model was trained on upright people), keypoints not in layout '{layout.name}' order "
            "(pass layout=...), or an image whose y axis points up (liftpose expects y down)"
        )
    elif sideways is not None and sideways >= SIDEWAYS_WARN:
        _warn(
            f"{where}the body lies more than 60 degrees from upright in {sideways:.0%} of the frames (a person lying "
            "down, or a rotated video): the model was trained on upright people, expect larger errors"
        )
    if crossed is not None and crossed >= CROSSED_WARN:
        _warn(
            f"{where}the left and right hips point the opposite way from the left and right shoulders in "
            f"{crossed:.0%} of the frames: the keypoints do not look like layout '{layout.name}' order "
            "(left/right swapped for some joints?); pass the layout your detector writes"
        )


def _posture(h36m: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """(T, 17, 2) Human3.6M pixels (NaN missing) -> fractions of the frames that are upright, that
    have hips and shoulders crossed, and whose body axis is more than 60 degrees from vertical; None
    where no frame has the joints it needs."""
    upper, lower = h36m[:, list(_UPPER)].mean(-2), h36m[:, list(_LOWER)].mean(-2)  # (T, 2)
    seen = np.isfinite(upper).all(-1) & np.isfinite(lower).all(-1)
    if not seen.any():
        return None, None, None
    axis = upper[seen] - lower[seen]  # lower body -> upper body; v points down
    upright = float((axis[:, 1] < 0).mean())
    sideways = float((np.degrees(np.arctan2(np.abs(axis[:, 0]), -axis[:, 1])) > 60).mean())
    u = h36m[..., 0]
    torso = np.linalg.norm(h36m[:, _THORAX] - h36m[:, _PELVIS], axis=-1)
    hips, shoulders = u[:, _L_HIP] - u[:, _R_HIP], u[:, _L_SHOULDER] - u[:, _R_SHOULDER]
    wide = (np.abs(hips) > 0.15 * torso) & (np.abs(shoulders) > 0.15 * torso)  # NaN compares False
    both = np.isfinite(hips) & np.isfinite(shoulders) & np.isfinite(torso)
    crossed = float((wide & (hips * shoulders < 0)).sum() / both.sum()) if both.any() else None
    return upright, crossed, sideways


def _face_spread(xy: np.ndarray) -> float | None:
    """Median over frames of the largest distance among joints 0-4, relative to the body's extent
    (the diagonal of the box around all joints): a face's five points in COCO-17 order, pelvis,
    hips, knee and ankle in Human3.6M order."""
    first = xy[:, :5]
    spread = np.linalg.norm(first[:, :, None] - first[:, None], axis=-1).max(axis=(1, 2))
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames, one-point frames
        diag = np.linalg.norm(np.nanmax(xy, axis=1) - np.nanmin(xy, axis=1), axis=-1)
        ratio = spread / diag
    ratio = ratio[np.isfinite(ratio)]
    return float(np.median(ratio)) if ratio.size else None


def _inside(pts: np.ndarray, width: float, height: float) -> np.ndarray:
    mw, mh = FRAME_MARGIN * width, FRAME_MARGIN * height
    u, v = pts[..., 0], pts[..., 1]
    return (u >= -mw) & (u <= width + mw) & (v >= -mh) & (v <= height + mh)


def _far_outside(xy: np.ndarray, size: tuple[float, float]) -> np.ndarray:
    w, h = size
    u, v = xy[..., 0], xy[..., 1]
    with np.errstate(invalid="ignore"):
        return (
            (u < -FAR_OUTSIDE * w) | (u > (1 + FAR_OUTSIDE) * w) | (v < -FAR_OUTSIDE * h) | (v > (1 + FAR_OUTSIDE) * h)
        )


def _finite_max_abs(xy: np.ndarray) -> float:
    finite = np.abs(xy[np.isfinite(xy)])
    return float(finite.max()) if finite.size else float("nan")
