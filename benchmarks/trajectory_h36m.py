"""How well the pelvis path and the camera tilt are recovered on Human3.6M (docs/world.md).

    python benchmarks/trajectory_h36m.py --data ../shared/data/h36m

For every S9 and S11 sequence and camera (``--subjects``, ``--every N`` for every N-th sequence):

1. **Path.** The 2D (``--source gt``: projected ground truth, with the lens distortion; ``sh``:
   Stacked Hourglass detections) is lifted with ``h36m-27`` in fast mode with flip
   (``Lifter.predict(..., mode="fast")``; the window mode takes tens of minutes on a CPU for all
   frames), and ``root_trajectory`` fits the pelvis path with the camera's true focal length and
   principal point (distortion ignored in the fit). Compared with the true camera-frame pelvis
   (``Camera.world_to_camera`` of ``poses_3d_world.npz``): the error's image-plane part
   (perpendicular to the line of sight) and depth part (along it), in mm and as a fraction of the
   distance, averaged over all frames.
2. **Tilt.** ``estimate_ground`` on (a) the true camera-frame joints (the method's own error) and
   (b) the lifted joints plus the fitted path (what a user gets), against the up vector of the
   camera's rotation in ``cameras.json`` (world z up): angle between the two up vectors, and the
   pitch / roll differences, in degrees, averaged over sequences.
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from liftpose import Lifter
from liftpose.datasets.h36m import CAMERA_IDS, TEST_SUBJECTS, load_cameras, load_h36m
from liftpose.ground import Ground, angle_between, estimate_ground, tilt_of_rotation
from liftpose.trajectory import root_trajectory, split_error


def tilt_errors(g: Ground, up: np.ndarray, pitch: float, roll: float) -> tuple[float, float, float]:
    return float(angle_between(g.up, up)), abs(g.pitch - pitch), abs(g.roll - roll)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data/h36m", help="the Human3.6M folder")
    p.add_argument("--model", default="h36m-27")
    p.add_argument("--subjects", nargs="+", default=list(TEST_SUBJECTS))
    p.add_argument("--source", nargs="+", default=["gt", "sh"], choices=["gt", "sh"])
    p.add_argument("--every", type=int, default=1, help="use every N-th sequence (default: all)")
    args = p.parse_args()

    lifter = Lifter.from_pretrained(args.model, device="cpu")
    cams = load_cameras(f"{args.data}/cameras.json")
    print(f"model {args.model}, fast mode, flip; subjects {' '.join(args.subjects)}; true f and c per camera")
    for source in args.source:
        seqs = load_h36m(args.data, tuple(args.subjects), source=source, cameras=CAMERA_IDS)[:: args.every]
        start = time.time()
        plane, depth, rel_depth, frames = [], [], [], 0
        jitter, jitter_true = [], []
        tilt_true, tilt_lifted, methods = [], [], collections.Counter()
        for s in seqs:
            cam = cams[s.subject][s.camera]
            poses = lifter.predict(s.keypoints_2d, (s.width, s.height), mode="fast")
            path = root_trajectory(
                poses, s.keypoints_2d, (s.width, s.height), focal=tuple(cam.f), principal_point=tuple(cam.c)
            )
            true = s.root.astype(np.float64)
            e_plane, e_depth = split_error(path, true)
            dist = np.linalg.norm(true, axis=-1)
            plane.append(e_plane.sum())
            depth.append(np.abs(e_depth).sum())
            rel_depth.append((np.abs(e_depth) / dist).sum())
            frames += len(true)
            jitter.append(np.linalg.norm(np.diff(path, 2, axis=0), axis=-1).mean())
            jitter_true.append(np.linalg.norm(np.diff(true, 2, axis=0), axis=-1).mean())
            up, pitch, roll = tilt_of_rotation(cam.R)
            if source == args.source[0]:
                tilt_true.append(tilt_errors(estimate_ground(s.poses_3d + true[:, None]), up, pitch, roll))
            g = estimate_ground(poses + path[:, None])
            methods[g.method] += 1
            tilt_lifted.append(tilt_errors(g, up, pitch, roll))
        print(f"\n2D {source}: {len(seqs)} sequences, {frames} frames, {time.time() - start:.0f} s")
        print(
            f"  pelvis path: image-plane {1000 * sum(plane) / frames:.1f} mm, "
            f"depth {1000 * sum(depth) / frames:.1f} mm "
            f"= {100 * sum(rel_depth) / frames:.2f} % of the distance (mean over frames)"
        )
        print(
            f"  steadiness: mean |second difference| {1000 * np.mean(jitter):.2f} mm/frame^2 "
            f"(true path {1000 * np.mean(jitter_true):.2f})"
        )
        for name, errs in (("true joints", tilt_true), ("lifted + fitted path", tilt_lifted)):
            if errs:
                e = np.array(errs)
                print(
                    f"  tilt from {name}: up-vector error mean {e[:, 0].mean():.2f} deg "
                    f"(median {np.median(e[:, 0]):.2f}, "
                    f"max {e[:, 0].max():.1f}); pitch {e[:, 1].mean():.2f}, roll {e[:, 2].mean():.2f} deg"
                )
        print(f"  floor evidence (lifted): {dict(methods)}")


if __name__ == "__main__":
    main()
