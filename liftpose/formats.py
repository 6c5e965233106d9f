"""2D keypoint layouts of common detectors, and their conversion to the Human3.6M 17-joint order.

``to_h36m(keypoints, "coco17")`` maps (..., K, 2) pixel keypoints, or (..., K, 3) with a confidence
column, to (..., 17, 2 or 3) in the order of ``liftpose.skeleton.JOINT_NAMES`` (numpy or torch).

Joints that exist in both layouts are copied (left stays left: every layout names its joints from
the person's point of view, as Human3.6M does). The Human3.6M joints a detector lacks are
synthesised as the **mean of source joints**, following the field's published converters:

=========  ===================================  =====================  ==================  ====================
H36M       coco17 (MMPose [1])                  halpe26 (MotionBERT    body25              blazepose33
                                                [2])                   (as halpe26)        (as coco17)
=========  ===================================  =====================  ==================  ====================
pelvis     mid(left_hip, right_hip)             hip                    mid_hip             mid(hips)
spine      mid(pelvis, thorax) = mean of both   mid(neck, hip)         mid(neck, mid_hip)  mean of shoulders
           shoulders and both hips                                                         and hips
thorax     mid(left_shoulder, right_shoulder)   neck                   neck                mid(shoulders)
neck_nose  nose                                 nose                   nose                nose
head       mid(left_eye, right_eye)             head (head top)        mid(eyes)           mid(eyes)
=========  ===================================  =====================  ==================  ====================

[1] MMPose 0.x ``demo/body3d_two_stage_video_demo.py``, ``covert_keypoint_definition`` for
    ``TopDownCocoDataset`` -> ``Body3DH36MDataset`` (pelvis = mid-hips, thorax = mid-shoulders,
    spine = mid(pelvis, thorax), neck/nose = nose, head = mid-eyes).
[2] MotionBERT ``lib/data/dataset_wild.py``, ``halpe2h36m`` (pelvis = Hip, spine = mid(Neck, Hip),
    thorax = Neck, neck/nose = Nose, head = Head).

The official StridedTransformer/MHFormer demo (``demo/lib/preprocess.py``, ``coco_h36m``) uses a
heuristic variant (head extrapolated above the eyes, thorax pulled towards the nose, spine x
exaggerated); it is not used here because it makes the torso joints depend on the face keypoints,
which are the least reliable ones (and meaningless for a person seen from behind).

Confidence: a copied joint keeps its confidence; a synthesised joint gets the **minimum** of its
sources' confidences (it is only as reliable as its worst source; MMPose and MotionBERT average
instead). A NaN source gives a NaN joint, which ``liftpose.preprocess.fill_gaps`` then fills.
COCO-17 is the output of MMPose, RTMPose, ViTPose, YOLO-pose (Ultralytics) and Detectron2 keypoint
R-CNN; Halpe-26 of AlphaPose; BODY_25 of OpenPose; BlazePose-33 of MediaPipe Pose.

Files: ``load_keypoints`` reads a keypoint sequence (and its image size, fps, layout when stored)
from .npz/.npy/.json; ``save_poses`` writes lifted poses to .npz/.json (docs/formats.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._array import Array, as_float, namespace, to_numpy
from .errors import LiftposeError
from .skeleton import JOINT_NAMES

_COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
_HALPE26 = _COCO17 + (
    "head", "neck", "hip", "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
    "left_heel", "right_heel",
)  # fmt: skip
_BODY25 = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
    "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip
_BLAZEPOSE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)  # fmt: skip

_HIPS = ("left_hip", "right_hip")
_SHOULDERS = ("left_shoulder", "right_shoulder")
_FROM_BODY_PARTS = {  # MMPose's COCO -> H36M rules [1]
    "pelvis": _HIPS,
    "spine": _SHOULDERS + _HIPS,
    "thorax": _SHOULDERS,
    "neck_nose": ("nose",),
    "head": ("left_eye", "right_eye"),
}


@dataclass(frozen=True)
class Layout:
    """A detector's keypoint order and how each Human3.6M joint is made from it.

    ``derived`` maps an H36M joint name to the names of the source joints it is the mean of; every
    other H36M joint is copied from the source joint of the same name.
    """

    name: str
    joint_names: tuple[str, ...]
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def sources(self) -> tuple[tuple[int, ...], ...]:
        """For each of the 17 H36M joints, the indices of the source joints averaged into it."""
        index = {n: i for i, n in enumerate(self.joint_names)}
        return tuple(tuple(index[s] for s in self.derived.get(j, (j,))) for j in JOINT_NAMES)

    def __post_init__(self) -> None:
        missing = {s for j in JOINT_NAMES for s in self.derived.get(j, (j,))} - set(self.joint_names)
        if missing:
            raise LiftposeError(f"layout {self.name!r} lacks the joints {sorted(missing)}")


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("h36m", JOINT_NAMES),
        Layout("coco17", _COCO17, _FROM_BODY_PARTS),
        Layout(
            "halpe26",
            _HALPE26,
            {
                "pelvis": ("hip",),
                "spine": ("neck", "hip"),
                "thorax": ("neck",),
                "neck_nose": ("nose",),
                "head": ("head",),
            },
        ),
        Layout(
            "body25",
            _BODY25,
            {
                "pelvis": ("mid_hip",),
                "spine": ("neck", "mid_hip"),
                "thorax": ("neck",),
                "neck_nose": ("nose",),
                "head": ("left_eye", "right_eye"),
            },
        ),
        Layout("blazepose33", _BLAZEPOSE33, _FROM_BODY_PARTS),
    )
}


def get_layout(layout: str | Layout) -> Layout:
    """The ``Layout`` called ``layout`` (one of ``LAYOUTS``), or ``layout`` itself."""
    if isinstance(layout, Layout):
        return layout
    try:
        return LAYOUTS[layout]
    except KeyError:
        raise LiftposeError(f"unknown keypoint layout {layout!r}: expected one of {sorted(LAYOUTS)}") from None


def to_h36m(keypoints: Array, layout: str | Layout) -> Array:
    """Convert keypoints of a detector's layout to the Human3.6M 17-joint order.

    Args:
        keypoints: (..., K, 2) coordinates, or (..., K, 3) coordinates and confidence, numpy or torch.
        layout: a name from ``LAYOUTS`` ("h36m", "coco17", "halpe26", "body25", "blazepose33").
    Returns:
        (..., 17, 2 or 3), same kind as the input: copied joints unchanged, synthesised joints the mean
        of their sources, with the minimum of their confidences (see the module docstring).
    """
    spec = get_layout(layout)
    xp = namespace(keypoints)
    kp = as_float(keypoints)
    if kp.ndim < 2 or kp.shape[-1] not in (2, 3):
        raise LiftposeError(f"keypoints must be (..., K, 2) or (..., K, 3) with confidence; got {tuple(kp.shape)}")
    if kp.shape[-2] != len(spec.joint_names):
        fits = [n for n, lay in LAYOUTS.items() if len(lay.joint_names) == kp.shape[-2]]
        hint = f" (layouts with {kp.shape[-2]} joints: {fits})" if fits else ""
        raise LiftposeError(
            f"layout {spec.name!r} has {len(spec.joint_names)} joints, keypoints have {kp.shape[-2]}{hint}"
        )
    joints = []
    for src in spec.sources:
        part = kp[..., list(src), :]
        xy = xp.mean(part[..., :2], axis=-2)
        if kp.shape[-1] == 3:
            xy = xp.concatenate([xy, xp.amin(part[..., 2:], axis=-2)], axis=-1)
        joints.append(xy)
    return xp.stack(joints, axis=-2)


# --- keypoint files -------------------------------------------------------------------------------

#: npz entries read as metadata rather than as the keypoint array.
_META_KEYS = ("width", "height", "image_size", "fps", "layout")


@dataclass(frozen=True)
class KeypointFile:
    """What :func:`load_keypoints` read: ``keypoints`` (T, K, 2 or 3) float32 pixels (and
    confidence), and the metadata the file carried (``None`` where it had none)."""

    keypoints: np.ndarray
    image_size: tuple[float, float] | None = None
    fps: float | None = None
    layout: str | None = None


def load_keypoints(path: str | Path, key: str | None = None) -> KeypointFile:
    """Read a 2D keypoint sequence from ``.npz``, ``.npy`` or ``.json`` (see docs/formats.md).

    - ``.npz``: the array ``key``, else ``keypoints``, else the only array that is not metadata;
      optional scalars ``width``, ``height`` (or ``image_size`` = (width, height)), ``fps``, and a
      string ``layout``. Read without pickle.
    - ``.npy``: the (T, K, 2 or 3) array itself.
    - ``.json``: a list of frames (``[[x, y(, c)], ...]`` per frame); or an object with that list
      under ``"keypoints"`` and optional ``"width"``, ``"height"``, ``"fps"``, ``"layout"``; or COCO
      results (a list of ``{"image_id", "keypoints": [x1, y1, c1, ...], "score"}``: one frame per
      ``image_id`` in increasing order, its highest-scoring person).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".npy", ".json"):
        raise LiftposeError(f"cannot read keypoints from {str(path)!r}: expected a .npz, .npy or .json file")
    if path.is_dir():
        raise LiftposeError(f"{path} is a folder: pass a keypoint file (.npz, .npy or .json)")
    if not path.is_file():
        raise FileNotFoundError(f"no such keypoint file: {path}")
    if suffix == ".npy":
        return KeypointFile(_checked(_read_numpy(path, lambda data: data), path))
    if suffix == ".npz":
        fields = _read_numpy(path, lambda data: {k: data[k] for k in data.files})
        if not fields:
            raise LiftposeError(f"{path} holds no arrays; expected an array 'keypoints' (frames, joints, 2 or 3)")
        return _from_fields(fields, key, path)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LiftposeError(f"{path} is not valid JSON ({e}); see docs/formats.md for the JSON forms read") from None
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        doc = {"keypoints": _coco_results(doc, path)}
    return _from_fields(doc if isinstance(doc, dict) else {"keypoints": doc}, key, path)


def _read_numpy(path: Path, read: Any) -> Any:
    """``read(np.load(path))`` without pickle; unreadable, truncated and pickled files are
    :class:`LiftposeError` s naming the file (a VideoPose3D ``data_2d_custom`` file, the fix too)."""
    import zipfile

    try:
        with open(path, "rb") as f:  # closed on every path (np.load leaks the file it opens when it fails)
            data = np.load(f, allow_pickle=False)
            if isinstance(data, np.lib.npyio.NpzFile) and "positions_2d" in data.files:
                raise LiftposeError(
                    f"{path} looks like a VideoPose3D data_2d_custom file (keypoints in a pickled dictionary, "
                    "positions_2d): read it with liftpose.datasets.videopose3d.read_custom_2d(path, "
                    "allow_pickle=True) if you trust where it came from, and save the keypoints of a video "
                    "(docs/formats.md)"
                )
            return read(data)
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise LiftposeError(
            f"cannot read {path}: not a valid {path.suffix} file ({e}); is it truncated or corrupt?"
        ) from None
    except ValueError as e:
        if isinstance(e, LiftposeError):
            raise
        if "pickle" in str(e):
            raise LiftposeError(
                f"{path} is not a plain numeric array (numpy would have to unpickle it, which can run code, and "
                "liftpose does not); save the keypoints as a plain numeric array (docs/formats.md)"
            ) from None
        raise LiftposeError(f"cannot read {path}: {e}") from None


def _from_fields(fields: dict[str, Any], key: str | None, path: Path) -> KeypointFile:
    arrays = [k for k in fields if k not in _META_KEYS]
    if key is None:
        key = "keypoints" if "keypoints" in fields else arrays[0] if len(arrays) == 1 else None
    if key is None:
        raise LiftposeError(
            f"{path.name} has the arrays {sorted(arrays)} and none is called 'keypoints'; "
            "pick one (key=..., CLI: --key)"
        )
    if key not in fields:
        raise LiftposeError(f"{path.name} has no array {key!r}; its entries are {sorted(fields)}; pick one (--key)")
    size = fields.get("image_size")
    if size is None and "width" in fields and "height" in fields:
        size = (fields["width"], fields["height"])
    fps = fields.get("fps")
    layout = fields.get("layout")
    return KeypointFile(
        _checked(fields[key], path),
        None if size is None else tuple(float(v) for v in np.asarray(size, dtype=np.float64).reshape(2)),
        None if fps is None else float(fps),
        None if layout is None else str(np.asarray(layout)),
    )


def _coco_results(results: list[dict[str, Any]], path: Path) -> np.ndarray:
    best: dict[Any, dict[str, Any]] = {}
    for r in results:
        if "image_id" not in r or "keypoints" not in r:
            raise LiftposeError(f"{path.name}: a COCO result needs 'image_id' and 'keypoints', got keys {sorted(r)}")
        if r["image_id"] not in best or r.get("score", 0.0) > best[r["image_id"]].get("score", 0.0):
            best[r["image_id"]] = r
    flat = np.array([best[i]["keypoints"] for i in sorted(best)], dtype=np.float64)
    if flat.ndim != 2 or flat.shape[1] % 3:
        raise LiftposeError(f"{path.name}: COCO 'keypoints' must be flat lists [x1, y1, c1, x2, ...] of equal length")
    return flat.reshape(len(flat), -1, 3)


def _checked(keypoints: Any, path: Path) -> np.ndarray:
    try:
        kp = np.asarray(keypoints, dtype=np.float32)
    except (TypeError, ValueError):
        raise LiftposeError(f"{path.name}: keypoints are not a numeric array (ragged lists or text?)") from None
    if kp.ndim != 3 or kp.shape[-1] not in (2, 3) or len(kp) == 0:
        raise LiftposeError(
            f"{path.name}: keypoints have shape {kp.shape}; expected (frames, joints, 2) or (frames, joints, 3)"
        )
    return kp


def save_poses(path: str | Path, poses_3d: Array, **metadata: Any) -> Path:
    """Write poses (T, 17, 3) in metres to ``.npz`` (array ``poses_3d`` float32, ``joint_names``, and
    each ``metadata`` item as an array) or ``.json`` (an object with the same keys, coordinates
    rounded to 1e-6 m). Metadata values must be numbers, strings or lists of them. Returns ``path``."""
    path = Path(path)
    poses = to_numpy(poses_3d, np.float32)
    fields = {"poses_3d": poses, "joint_names": list(JOINT_NAMES), **metadata}
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".json"):
        raise LiftposeError(f"cannot write poses to {path.name}: expected a .npz or .json file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npz":
        np.savez_compressed(path, **{k: np.asarray(v) for k, v in fields.items()})
    else:
        fields["poses_3d"] = np.round(poses.astype(np.float64), 6).tolist()
        path.write_text(json.dumps(fields) + "\n", encoding="utf-8")
    return path
