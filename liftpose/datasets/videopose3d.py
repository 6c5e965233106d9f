"""Import the Human3.6M files of VideoPose3D (Pavllo et al. 2019) that many users already have.

VideoPose3D's ``data/prepare_data_h36m.py`` writes ``data_3d_h36m.npz`` with one key,
``positions_3d``: a pickled ``dict[subject][action] -> (N, 32, 3)`` float32 array of world
coordinates in metres. Its 2D files ``data_2d_h36m_<source>.npz`` (``gt``, ``cpn_ft_h36m_dbb``,
``detectron_ft_h36m``, ...) hold ``positions_2d``, a pickled ``dict[subject][action] -> list`` of
four (N, 17, 2) pixel arrays, one per camera in the order 54138969, 55011271, 58860488, 60457274,
and ``metadata`` (``num_joints``, ``keypoints_symmetry``, ``layout_name`` for detections). Its
cameras are not in any file: they are hard-coded in ``common/h36m_dataset.py``
(``h36m_cameras_intrinsic_params``, ``h36m_cameras_extrinsic_params``), which
:func:`cameras_from_videopose3d` converts.

Both files are pickles, and unpickling a file can run arbitrary code, so every reader here
refuses them unless called with ``allow_pickle=True``: pass it only for files you trust.

Typical use, from a VideoPose3D checkout (``sys.path`` containing it)::

    from common.h36m_dataset import h36m_cameras_extrinsic_params, h36m_cameras_intrinsic_params
    from liftpose.datasets.videopose3d import cameras_from_videopose3d, import_videopose3d
    cams = cameras_from_videopose3d(h36m_cameras_intrinsic_params, h36m_cameras_extrinsic_params)
    import_videopose3d("data/data_3d_h36m.npz", "h36m_flat", cams, allow_pickle=True)
    # h36m_flat/ now works with `liftpose train --data h36m_flat --input gt` and `liftpose evaluate`,
    # and `liftpose evaluate --keypoints-2d data/data_2d_h36m_cpn_ft_h36m_dbb.npz --allow-pickle`
    # evaluates on the CPN detections.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..errors import LiftposeError
from ..formats import KeypointFile
from ..skeleton import LEFT_JOINTS, RIGHT_JOINTS
from ..world import quaternion_to_matrix
from .h36m import CAMERA_IDS, Sequence, save_cameras

#: Indices of the Human3.6M-17 joints among the 32 mocap joints (VideoPose3D's ``remove_joints``
#: keeps exactly these).
JOINTS_32_TO_17: tuple[int, ...] = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


def _load_pickled(path: str | Path, key: str, allow_pickle: bool) -> tuple[object, np.lib.npyio.NpzFile]:
    path = Path(path)
    if not allow_pickle:
        raise LiftposeError(
            f"{path} stores a pickled Python dict (the VideoPose3D format), and unpickling a file can run "
            "arbitrary code: pass allow_pickle=True (CLI: --allow-pickle) only if you trust where the file came from"
        )
    archive = np.load(path, allow_pickle=True)
    if key not in archive.files:
        raise LiftposeError(f"{path} has no {key!r} (keys: {archive.files}): not a VideoPose3D Human3.6M file")
    return archive[key].item(), archive


def read_positions_3d(path: str | Path, *, allow_pickle: bool = False) -> dict[str, np.ndarray]:
    """``data_3d_h36m.npz`` -> ``{"S9/Walking 1": (N, 17, 3) float32 world metres}``.

    32-joint poses are reduced to the Human3.6M-17 joints; 17-joint poses are kept as they are.
    """
    data, _ = _load_pickled(path, "positions_3d", allow_pickle)
    out = {}
    for subject, actions in data.items():
        for action, pos in actions.items():
            pos = np.asarray(pos, np.float32)
            if pos.shape[1:] == (32, 3):
                pos = pos[:, JOINTS_32_TO_17]
            elif pos.shape[1:] != (17, 3):
                raise LiftposeError(
                    f"{path}: {subject}/{action} has shape {pos.shape}, expected (N, 32, 3) or (N, 17, 3)"
                )
            out[f"{subject}/{action}"] = pos
    return out


def read_positions_2d(path: str | Path, *, allow_pickle: bool = False) -> dict[str, np.ndarray]:
    """``data_2d_h36m_<source>.npz`` -> ``{"S9/Walking 1/54138969": (N, 17, 2) float32 pixels}``.

    Only the Human3.6M-17 layout is accepted (checked through ``metadata``); COCO-ordered files
    such as ``detectron_pt_coco`` are refused.
    """
    data, archive = _load_pickled(path, "positions_2d", allow_pickle)
    meta = archive["metadata"].item() if "metadata" in archive.files else {}
    symmetry = [list(s) for s in meta.get("keypoints_symmetry", [LEFT_JOINTS, RIGHT_JOINTS])]
    if meta.get("num_joints", 17) != 17 or symmetry != [list(LEFT_JOINTS), list(RIGHT_JOINTS)]:
        raise LiftposeError(
            f"{path} is in the {meta.get('layout_name', 'unknown')!r} layout ({meta.get('num_joints')} joints, "
            f"left/right {symmetry}), not the Human3.6M-17 order liftpose predicts; convert it first"
        )
    out = {}
    for subject, actions in data.items():
        for action, per_camera in actions.items():
            if len(per_camera) != len(CAMERA_IDS):
                raise LiftposeError(
                    f"{path}: {subject}/{action} has {len(per_camera)} cameras, expected {len(CAMERA_IDS)}"
                )
            for cid, kp in zip(CAMERA_IDS, per_camera, strict=True):
                out[f"{subject}/{action}/{cid}"] = np.asarray(kp, np.float32)[..., :2]
    return out


def read_custom_2d(path: str | Path, *, allow_pickle: bool = False) -> dict[str, KeypointFile]:
    """A ``data_2d_custom_<name>.npz`` of VideoPose3D's ``prepare_data_2d_custom.py`` (the keypoints
    of your own videos, from Detectron or another detector) -> ``{video name: KeypointFile}``:
    (T, 17, 2) float32 pixels with ``layout="coco17"`` and the video's ``image_size``, ready for
    ``Lifter.predict(f.keypoints, f.image_size, layout=f.layout)`` or for ``np.savez`` as a file
    ``liftpose lift`` reads. The file is a pickle: pass ``allow_pickle=True`` only if you trust it."""
    data, archive = _load_pickled(path, "positions_2d", allow_pickle)
    meta = archive["metadata"].item() if "metadata" in archive.files else {}
    if meta.get("layout_name", "coco") != "coco" or meta.get("num_joints", 17) != 17:
        raise LiftposeError(
            f"{path} is in the {meta.get('layout_name')!r} layout with {meta.get('num_joints')} joints; read_custom_2d "
            "reads the COCO-17 files of prepare_data_2d_custom.py"
        )
    sizes = meta.get("video_metadata", {})
    out = {}
    for video, entry in data.items():
        if not isinstance(entry, dict) or "custom" not in entry:
            raise LiftposeError(f"{path}: video {video!r} has no 'custom' keypoints; not a data_2d_custom file")
        size = sizes.get(video, {})
        out[video] = KeypointFile(
            np.asarray(entry["custom"][0], np.float32)[..., :2],
            (float(size["w"]), float(size["h"])) if "w" in size and "h" in size else None,
            None,
            "coco17",
        )
    return out


def cameras_from_videopose3d(intrinsic: list[dict], extrinsic: dict[str, list[dict]]) -> dict[str, dict[str, Camera]]:
    """VideoPose3D's ``h36m_cameras_intrinsic_params`` and ``h36m_cameras_extrinsic_params`` ->
    ``cams[subject][camera_id]``.

    VideoPose3D maps world to camera with the inverse of the (w, x, y, z) ``orientation``
    quaternion, which is the transposed rotation matrix that :class:`Camera` stores as ``R``; its
    ``tangential_distortion`` is (p2, p1) in the order of ``cameras.json``. Subjects without
    extrinsics (S2-S4) are left out.
    """
    out: dict[str, dict[str, Camera]] = {}
    for subject, extr in extrinsic.items():
        if not all(extr):
            continue
        out[subject] = {
            str(i["id"]): Camera(
                R=quaternion_to_matrix(e["orientation"]),
                T=np.asarray(e["translation"], np.float64) / 1000.0,
                f=np.asarray(i["focal_length"], np.float64),
                c=np.asarray(i["center"], np.float64),
                k=np.asarray(i["radial_distortion"], np.float64),
                p=np.asarray(i["tangential_distortion"], np.float64)[::-1].copy(),
                width=int(i["res_w"]),
                height=int(i["res_h"]),
            )
            for i, e in zip(intrinsic, extr, strict=True)
        }
    return out


def import_videopose3d(
    data_3d: str | Path, out_dir: str | Path, cameras: dict[str, dict[str, Camera]], *, allow_pickle: bool = False
) -> Path:
    """Write ``data_3d_h36m.npz`` and ``cameras`` as the flat ``poses_3d_world.npz`` + ``cameras.json``
    that :func:`liftpose.datasets.load_h36m` reads (no pickles in the output)."""
    poses = read_positions_3d(data_3d, allow_pickle=allow_pickle)
    subjects = {key.split("/", 1)[0] for key in poses}
    if subjects - set(cameras):
        raise LiftposeError(f"no cameras given for subjects {sorted(subjects - set(cameras))}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "poses_3d_world.npz", **poses)
    save_cameras({subject: cams for subject, cams in cameras.items() if subject in subjects}, out / "cameras.json")
    return out


def with_keypoints(seqs: list[Sequence], keypoints: dict[str, np.ndarray]) -> list[Sequence]:
    """Replace the 2D inputs of ``seqs`` by ``keypoints`` (from :func:`read_positions_2d`).

    Longer detection sequences are cut to the mocap length, as VideoPose3D's ``run.py`` does (some
    videos have extra frames); shorter ones are an error. Sequences without detections (CPN has
    none for S11 "Directions") are left out with a warning.
    """
    out, missing = [], []
    for s in seqs:
        key = f"{s.subject}/{s.action}/{s.camera}"
        if key not in keypoints:
            missing.append(key)
            continue
        kp = keypoints[key]
        if len(kp) < len(s.poses_3d):
            raise LiftposeError(f"{key}: {len(kp)} frames of 2D keypoints for {len(s.poses_3d)} frames of 3D poses")
        out.append(dataclasses.replace(s, keypoints_2d=kp[: len(s.poses_3d)]))
    if missing:
        warnings.warn(f"no 2D keypoints for {missing}: left out", stacklevel=2)
    return out
