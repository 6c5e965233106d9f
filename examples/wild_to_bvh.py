"""A detector's COCO-17 clip -> 3D poses, the person's path, the camera's tilt, a BVH file and a
side-view picture of the path.

    python examples/wild_to_bvh.py ../shared/data/wild/coco17_farhan_myvideos_0.npz --bvh clip.bvh --png clip_path.png

DETECTIONS: COCO-17 keypoints in any format ``liftpose lift`` reads, with the video size stored or
given by ``--image-size`` (default: the synthetic walk examples/data/walk_coco17.json). The camera:
``--focal`` (pixels) or ``--fov`` (degrees across the longer side); default 65 degrees, a typical
phone or webcam lens (the path's depth scales with that guess). The BVH opens in Blender
(File > Import > Motion Capture (.bvh)); the PNG shows the pelvis path from above and from the side
in the upright world frame (z up, y the camera's horizontal viewing direction) with a few poses.
Needs ``liftpose-transformer[viz]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from liftpose import Lifter
from liftpose.bvh import write_bvh
from liftpose.formats import load_keypoints
from liftpose.ground import estimate_ground
from liftpose.skeleton import BONES
from liftpose.trajectory import root_trajectory
from liftpose.world import to_world

WALK = Path(__file__).resolve().parent / "data" / "walk_coco17.json"


def plot_path(world: np.ndarray, fps: float, out: str, title: str) -> None:
    """Top and side views of world poses (T, 17, 3), z up: the pelvis path and every second-th pose."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, side) = plt.subplots(1, 2, figsize=(11, 4.5))
    pelvis = world[:, 0]
    shown = np.unique(np.linspace(0, len(world) - 1, 6).round().astype(int))
    for ax, (a, b), name in (
        (top, (0, 1), "from above: x right, y away from the camera"),
        (side, (1, 2), "from the side: y away from the camera, z up"),
    ):
        ax.plot(pelvis[:, a], pelvis[:, b], color="0.3", lw=1.5, label="pelvis path")
        for t in shown:
            for p, c in BONES:
                ax.plot(world[t, [p, c], a], world[t, [p, c], b], color="tab:blue", alpha=0.6, lw=1)
            ax.annotate(f"{t / fps:.1f} s", world[t, 10, [a, b]], fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    side.axhline(0, color="tab:brown", lw=1, label="floor")
    side.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "detections", nargs="?", default=str(WALK), help="COCO-17 keypoint file (default: the synthetic walk)"
    )
    p.add_argument("--bvh", default="clip.bvh", help="the BVH file to write")
    p.add_argument("--png", default="clip_path.png", help="the picture of the path to write")
    p.add_argument("--model", default="h36m-27", help="model name or weights folder (default h36m-27)")
    p.add_argument("--image-size", help="WIDTHxHEIGHT in pixels (default: the file's)")
    p.add_argument("--fps", type=float, help="frame rate of the detections (default: the file's, else 50)")
    lens = p.add_mutually_exclusive_group()
    lens.add_argument("--focal", type=float, help="focal length in pixels")
    lens.add_argument("--fov", type=float, help="field of view in degrees across the longer side (default 65)")
    p.add_argument(
        "--mode", choices=("window", "fast"), default="window", help="lifting mode (fast: T times less compute)"
    )
    args = p.parse_args()

    data = load_keypoints(args.detections)
    size = tuple(int(v) for v in args.image_size.split("x")) if args.image_size else data.image_size
    fps = args.fps or data.fps or 50.0
    poses = Lifter.from_pretrained(args.model, device="cpu").predict(
        data.keypoints, size, layout="coco17", fps=fps, mode=args.mode
    )
    path = root_trajectory(poses, data.keypoints, size, focal=args.focal, fov=args.fov, layout="coco17", fps=fps)
    ground = estimate_ground(poses + path[:, None], fps=fps)
    bvh = write_bvh(args.bvh, poses, path, fps, ground=ground)
    world = to_world(poses, ground.rotation, trajectory=path)
    walked = np.linalg.norm(np.diff(world[:, 0, :2], axis=0), axis=-1).sum()
    plot_path(
        world,
        fps,
        args.png,
        f"{Path(args.detections).name}: camera pitch {ground.pitch:.1f}, roll {ground.roll:.1f} "
        f"degrees ({ground.method}); {walked:.1f} m walked",
    )
    print(
        f"{len(poses)} frames at {fps:g} fps; distance from the camera {np.median(path[:, 2]):.1f} m (median), "
        f"{walked:.1f} m walked; camera pitch {ground.pitch:.1f}, roll {ground.roll:.1f} degrees ({ground.method})"
    )
    print(
        f"wrote {args.bvh} ({bvh.frames} frames, largest joint turn between frames "
        f"{bvh.rotation_jumps().max():.1f} degrees) and {args.png}"
    )


if __name__ == "__main__":
    main()
