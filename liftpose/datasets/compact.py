"""A compact copy of a flat Human3.6M folder in one compressed ``.npz``, for machines that have to
receive the training data with the code (a lent GPU that takes at most 64 MiB with it).

    python -m liftpose.datasets.compact pack ../shared/data/h36m runs/h36m_pack.npz
    python -m liftpose.datasets.compact unpack runs/h36m_pack.npz /tmp/h36m

The pack holds, for the chosen subjects:

- the world 3D of ``poses_3d_world.npz`` rounded to whole millimetres and delta-coded along time
  (first frame absolute, then frame-to-frame differences), so that it compresses;
- ``cameras.json`` unchanged, as its UTF-8 bytes;
- the Stacked Hourglass detections rounded to whole pixels, stored as offsets from the ground truth
  projected with the sequence's camera (:meth:`liftpose.camera.Camera.project` of the *rounded* 3D,
  so that unpacking recomputes the same reference); the detector's two joints that Human3.6M lacks
  (SH "spine" and head top) are offsets from the point that the reader's interpolation
  (:data:`~liftpose.datasets.h36m.SH_INTERPOLATED`) maps back onto the ground truth. Detection
  sequences without 3D (five recordings of the released data) are delta-coded along time instead.

Integers are stored channel-major (one row per joint coordinate, all frames of all sequences one
after another) as int8; the few values beyond +-127 are marked with -128 and kept exactly as
int16 beside them. Reconstruction errors are therefore at most 0.5 mm and 0.5 px (plus float32
rounding). :func:`unpack` writes the three files of the original layout (same keys, float32) so
that :func:`~liftpose.datasets.h36m.load_h36m`, ``liftpose train`` and ``liftpose evaluate`` read it
unchanged.

The pack is derived from Human3.6M and falls under its research-only licence: keep it out of git
and out of any distribution.
"""

from __future__ import annotations

import argparse
import logging
import zipfile
from pathlib import Path

import numpy as np

from ..camera import Camera
from .h36m import SH_INTERPOLATED, SH_TO_H36M, available_subjects, load_cameras

logger = logging.getLogger(__name__)

FORMAT = "liftpose-h36m-pack-1"
POSES_FILE = "poses_3d_world.npz"
CAMERAS_FILE = "cameras.json"
DETECTIONS_FILE = "detections_2d_stacked_hourglass.npz"
MM_PER_UNIT = 1.0  # quantisation step of the 3D, millimetres
PX_PER_UNIT = 1.0  # quantisation step of the detections, pixels
_ESCAPE = -128
_INT16 = np.iinfo(np.int16)


def _sh_reference_map() -> tuple[np.ndarray, dict[int, tuple[int, int, float]]]:
    """(16,) Human3.6M joint of each SH joint (-1 where SH has no such joint) and, for those,
    ``sh_joint -> (h36m_joint, sh_base, fraction)``: the interpolated joint with the largest
    fraction (the least amplified inversion of ``h36m = base + fraction * (tip - base)``)."""
    direct = np.full(16, -1)
    for h36m_joint, sh_joint in enumerate(SH_TO_H36M):
        if sh_joint >= 0:
            direct[sh_joint] = h36m_joint
    inverted: dict[int, tuple[int, int, float]] = {}
    for h36m_joint, (base, tip, fraction) in SH_INTERPOLATED.items():
        if direct[tip] < 0 and (tip not in inverted or fraction > inverted[tip][2]):
            inverted[tip] = (h36m_joint, base, fraction)
    return direct, inverted


def sh_reference(uv: np.ndarray) -> np.ndarray:
    """Projected ground truth (N, 17, 2) pixels, Human3.6M order -> where the Stacked Hourglass
    detector would put its 16 joints (N, 16, 2) pixels if it agreed with the ground truth; the
    reference that detections are coded against."""
    direct, inverted = _sh_reference_map()
    ref = np.zeros((*uv.shape[:-2], 16, 2), np.float64)
    ref[..., direct >= 0, :] = uv[..., direct[direct >= 0], :]
    for tip, (h36m_joint, base, fraction) in inverted.items():
        ref[..., tip, :] = ref[..., base, :] + (uv[..., h36m_joint, :] - ref[..., base, :]) / fraction
    return ref


def _split_int8(q: np.ndarray, what: str) -> dict[str, np.ndarray]:
    """Integer array -> int8 array with -128 where the value does not fit, plus the flat indices
    and int16 values of those; raises if a value does not fit int16 either."""
    if q.size and (q.min() < _INT16.min or q.max() > _INT16.max):
        raise ValueError(
            f"{what}: quantised values span [{q.min()}, {q.max()}], beyond int16; "
            "the pack format expects world coordinates within +-32 m and pixels within +-32767"
        )
    wide = (q < -127) | (q > 127)
    index = np.flatnonzero(wide)
    return {
        "int8": np.where(wide, _ESCAPE, q).astype(np.int8),
        "escape_index": index.astype(np.int64),
        "escape_value": q.ravel()[index].astype(np.int16),
    }


def _join_int8(int8: np.ndarray, escape_index: np.ndarray, escape_value: np.ndarray) -> np.ndarray:
    q = int8.astype(np.int32)
    q.ravel()[escape_index] = escape_value
    return q


def _delta(q: np.ndarray) -> np.ndarray:
    """(N, ...) integers -> first frame, then frame-to-frame differences (the inverse of cumsum)."""
    return np.diff(q, axis=0, prepend=np.zeros_like(q[:1]))


def _channel_major(blocks: list[np.ndarray], channels: int) -> np.ndarray:
    """Sequences (N_i, ...) -> (channels, sum N_i): a row per joint coordinate, frames contiguous."""
    if not blocks:
        return np.zeros((channels, 0), np.int32)
    return np.ascontiguousarray(np.concatenate([b.reshape(len(b), channels) for b in blocks]).T)


def _split_rows(rows: np.ndarray, lengths: np.ndarray, shape: tuple[int, ...]) -> list[np.ndarray]:
    """The inverse of :func:`_channel_major`: (channels, sum N_i) -> sequences (N_i, *shape)."""
    if len(lengths) == 0:
        return []
    bounds = np.cumsum(lengths)[:-1]
    return [block.T.reshape(-1, *shape) for block in np.split(rows, bounds, axis=1)]


def _reference_pixels(world_mm: np.ndarray, cam: Camera) -> np.ndarray:
    """Rounded world 3D (N, 17, 3) in mm -> the detections' reference (N, 16, 2) pixels, computed
    from the float32 metres that unpacking writes, exactly as :func:`load_h36m` reads them."""
    world = (world_mm * (MM_PER_UNIT / 1000.0)).astype(np.float32).astype(np.float64)
    return sh_reference(cam.project(cam.world_to_camera(world)))


def pack(root: str | Path, out_file: str | Path, subjects: tuple[str, ...] | None = None) -> dict[str, float]:
    """Pack the flat Human3.6M folder ``root`` (``poses_3d_world.npz``, ``cameras.json``,
    ``detections_2d_stacked_hourglass.npz``) for ``subjects`` (default: every subject with 3D in
    ``root``, for the released data the training subjects S1, S5, S6, S7, S8 and the test subjects
    S9, S11) into the one file ``out_file``.

    Returns a summary: ``bytes`` of the pack, ``sequences`` and ``frames`` of 3D,
    ``detection_sequences``, and the largest reconstruction errors ``max_mm`` (3D) and ``max_px``
    (detections), both at most half a unit plus float32 rounding.
    """
    root, out_file = Path(root), Path(out_file)
    for name in (POSES_FILE, CAMERAS_FILE, DETECTIONS_FILE):
        if not (root / name).exists():
            raise FileNotFoundError(
                f"{root} has no {name}: point pack at a flat Human3.6M folder "
                f"({POSES_FILE}, {CAMERAS_FILE}, {DETECTIONS_FILE})"
            )
    cameras_text = (root / CAMERAS_FILE).read_bytes()
    cams = load_cameras(root / CAMERAS_FILE)
    subjects = tuple(subjects) if subjects else available_subjects(root)
    missing = [s for s in subjects if s not in cams]
    if missing:
        raise ValueError(f"{root / CAMERAS_FILE} has no cameras for subjects {missing}; it has {sorted(cams)}")
    summary = {"max_mm": 0.0, "max_px": 0.0}

    poses = np.load(root / POSES_FILE)
    pose_keys = sorted(k for k in poses.files if k.split("/", 1)[0] in subjects)
    if not pose_keys:
        raise ValueError(f"{root / POSES_FILE} has no sequence of subjects {list(subjects)}")
    world_mm, pose_blocks = {}, []
    for key in pose_keys:
        world = poses[key]
        if world.ndim != 3 or world.shape[1:] != (17, 3):
            raise ValueError(f"{root / POSES_FILE}[{key!r}] has shape {world.shape}, expected (n_frames, 17, 3) metres")
        q = np.round(world.astype(np.float64) * (1000.0 / MM_PER_UNIT)).astype(np.int32)
        world_mm[key] = q
        pose_blocks.append(_delta(q))
        recon = (q * (MM_PER_UNIT / 1000.0)).astype(np.float32)  # what unpack writes
        error_mm = 1000.0 * np.abs(recon.astype(np.float64) - world.astype(np.float64))
        summary["max_mm"] = max(summary["max_mm"], float(error_mm.max(initial=0)))

    dets = np.load(root / DETECTIONS_FILE)
    det_keys = sorted(k for k in dets.files if k.split("/", 1)[0] in subjects)
    coded, det_blocks = [], []
    for key in det_keys:
        subject, rest = key.split("/", 1)
        action, cid = rest.rsplit("/", 1)
        det = dets[key].astype(np.float64)
        if det.ndim != 3 or det.shape[1:] != (16, 2):
            raise ValueError(
                f"{root / DETECTIONS_FILE}[{key!r}] has shape {det.shape}, expected (n_frames, 16, 2) pixels"
            )
        pose_key = f"{subject}/{action}"
        if pose_key in world_mm and len(world_mm[pose_key]) == len(det):
            ref = _reference_pixels(world_mm[pose_key], cams[subject][cid])
            q = np.round((det - ref) / PX_PER_UNIT).astype(np.int32)
            recon = ref + q * PX_PER_UNIT
            det_blocks.append(q)
            coded.append(True)
        else:
            if pose_key in world_mm:
                logger.warning(
                    "%s: %d detections for %d frames of 3D: delta-coded instead of offsets",
                    key,
                    len(det),
                    len(world_mm[pose_key]),
                )
            q = np.round(det / PX_PER_UNIT).astype(np.int32)
            recon = q * PX_PER_UNIT
            det_blocks.append(_delta(q))
            coded.append(False)
        error_px = np.abs(recon.astype(np.float32).astype(np.float64) - det)
        summary["max_px"] = max(summary["max_px"], float(error_px.max(initial=0)))

    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "mm_per_unit": np.array(MM_PER_UNIT),
        "px_per_unit": np.array(PX_PER_UNIT),
        "cameras_json": np.frombuffer(cameras_text, np.uint8),
        "pose_keys": np.array(pose_keys, dtype=str),
        "pose_lengths": np.array([len(world_mm[k]) for k in pose_keys], np.int64),
        "det_keys": np.array(det_keys, dtype=str),
        "det_lengths": np.array([len(b) for b in det_blocks], np.int64),
        "det_from_gt": np.array(coded, bool),
    }
    arrays.update({f"pose_{k}": v for k, v in _split_int8(_channel_major(pose_blocks, 51), "3D (mm)").items()})
    arrays.update({f"det_{k}": v for k, v in _split_int8(_channel_major(det_blocks, 32), "detections (px)").items()})
    out_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_file, **arrays)
    summary.update(
        bytes=out_file.stat().st_size,
        sequences=len(pose_keys),
        frames=int(arrays["pose_lengths"].sum()),
        detection_sequences=len(det_keys),
    )
    logger.info(
        "packed %d 3D sequences (%d frames) and %d detection sequences of %s into %s (%.1f MiB)",
        len(pose_keys),
        summary["frames"],
        len(det_keys),
        ", ".join(subjects),
        out_file,
        summary["bytes"] / 2**20,
    )
    return summary


def unpack(pack_file: str | Path, out_dir: str | Path, compress: bool = True) -> Path:
    """Write ``poses_3d_world.npz`` ((N, 17, 3) float32 metres per ``"S9/Walking 1"``),
    ``cameras.json`` and ``detections_2d_stacked_hourglass.npz`` ((N, 16, 2) float32 pixels per
    ``"S9/Walking 1/54138969"``) from a :func:`pack` file into ``out_dir``; returns ``out_dir``.

    ``compress=False`` writes plain ``.npz`` files (about 360 MB instead of 160 MB for the whole of
    Human3.6M, but without the minutes of zlib that compressing takes on one core)."""
    save = np.savez_compressed if compress else np.savez
    pack_file, out = Path(pack_file), Path(out_dir)
    if not zipfile.is_zipfile(pack_file):
        raise ValueError(f"{pack_file} is not an .npz pack: make one with `python -m liftpose.datasets.compact pack`")
    with np.load(pack_file) as z:
        if "format" not in z.files or str(z["format"]) != FORMAT:
            found = str(z["format"]) if "format" in z.files else "no 'format' entry"
            raise ValueError(
                f"{pack_file}: expected a {FORMAT} pack, found {found}; repack it with this liftpose version"
            )
        data = {k: z[k] for k in z.files}
    mm, px = float(data["mm_per_unit"]), float(data["px_per_unit"])
    out.mkdir(parents=True, exist_ok=True)
    cameras_text = data["cameras_json"].tobytes()
    (out / CAMERAS_FILE).write_bytes(cameras_text)
    cams = load_cameras(out / CAMERAS_FILE)

    pose_rows = _join_int8(data["pose_int8"], data["pose_escape_index"], data["pose_escape_value"])
    world_mm = {}
    for key, delta in zip(
        data["pose_keys"].tolist(), _split_rows(pose_rows, data["pose_lengths"], (17, 3)), strict=True
    ):
        world_mm[key] = np.cumsum(delta, axis=0)
    save(out / POSES_FILE, **{k: (v * (mm / 1000.0)).astype(np.float32) for k, v in world_mm.items()})

    det_rows = _join_int8(data["det_int8"], data["det_escape_index"], data["det_escape_value"])
    dets = {}
    blocks = _split_rows(det_rows, data["det_lengths"], (16, 2))
    for key, from_gt, q in zip(data["det_keys"].tolist(), data["det_from_gt"], blocks, strict=True):
        subject, rest = key.split("/", 1)
        action, cid = rest.rsplit("/", 1)
        if from_gt:
            det = _reference_pixels(world_mm[f"{subject}/{action}"], cams[subject][cid]) + q * px
        else:
            det = np.cumsum(q, axis=0) * px
        dets[key] = det.astype(np.float32)
    save(out / DETECTIONS_FILE, **dets)
    logger.info("unpacked %d 3D and %d detection sequences from %s into %s", len(world_mm), len(dets), pack_file, out)
    return out


def compare(original: str | Path, copy: str | Path) -> dict[str, float]:
    """Reconstruction errors of the folder ``copy`` (an unpacked pack) against ``original``, over
    every frame, joint and coordinate of the keys that ``copy`` has: ``max_mm``/``mean_mm`` of the
    world 3D (absolute error per coordinate, millimetres) and ``max_px``/``mean_px`` of the
    detections (pixels); raises if a key of ``copy`` is missing in ``original`` or has another shape."""
    out = {}
    for name, unit, scale in ((POSES_FILE, "mm", 1000.0), (DETECTIONS_FILE, "px", 1.0)):
        with np.load(Path(original) / name) as a, np.load(Path(copy) / name) as b:
            total, count, worst = 0.0, 0, 0.0
            for key in b.files:
                xb = b[key]  # each access of an NpzFile item reads and decompresses it again
                xa = a[key] if key in a.files else None
                if xa is None or xa.shape != xb.shape:
                    found = xa.shape if xa is not None else "no such key"
                    raise ValueError(f"{name}[{key!r}]: {xb.shape} in {copy}, {found} in {original}")
                err = scale * np.abs(xa.astype(np.float64) - xb.astype(np.float64))
                total, count, worst = total + err.sum(), count + err.size, max(worst, float(err.max(initial=0)))
            out[f"max_{unit}"], out[f"mean_{unit}"] = worst, total / max(count, 1)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m liftpose.datasets.compact", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    pk = sub.add_parser("pack", help="flat Human3.6M folder -> one compressed .npz")
    pk.add_argument("root", help="folder with poses_3d_world.npz, cameras.json, detections_2d_stacked_hourglass.npz")
    pk.add_argument("out_file", help="the .npz to write (keep it out of git: research-only licence)")
    pk.add_argument("--subjects", nargs="+", help="default: every subject with 3D in ROOT (all seven of Human3.6M)")
    up = sub.add_parser("unpack", help="pack -> the three files of a flat Human3.6M folder")
    up.add_argument("pack_file")
    up.add_argument("out_dir")
    up.add_argument("--uncompressed", action="store_true", help="write plain .npz files (faster, 2x the disk)")
    cmp = sub.add_parser("compare", help="reconstruction errors of an unpacked folder against the original")
    cmp.add_argument("original")
    cmp.add_argument("copy")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "pack":
        s = pack(args.root, args.out_file, args.subjects)
        print(
            f"{args.out_file}: {s['bytes'] / 2**20:.2f} MiB, {s['sequences']} 3D sequences ({s['frames']} frames), "
            f"{s['detection_sequences']} detection sequences; largest errors {s['max_mm']:.3f} mm, {s['max_px']:.3f} px"
        )
    elif args.command == "unpack":
        print(unpack(args.pack_file, args.out_dir, compress=not args.uncompressed))
    else:
        e = compare(args.original, args.copy)
        print(
            f"3D: max {e['max_mm']:.4f} mm, mean {e['mean_mm']:.4f} mm; "
            f"detections: max {e['max_px']:.4f} px, mean {e['mean_px']:.4f} px"
        )


if __name__ == "__main__":
    main()
