"""COCO-17 detections -> a GIF with the 2D input and the lifted 3D skeleton side by side.

    python examples/coco_to_animation.py [DETECTIONS] --out walk.gif [--step 2] [--max-frames 150]

DETECTIONS: COCO-17 keypoints (T, 17, 2 or 3) in any format ``liftpose lift`` reads: .npz with
``keypoints`` (and ``width``/``height``), .npy, a JSON list of frames, or COCO results JSON
(``[{"image_id", "keypoints": [x1, y1, c1, ...], "score"}]``, best person per image). The default is
the synthetic walk examples/data/walk_coco17.json. The whole sequence is lifted (so every frame has
its full temporal context); the GIF shows every ``--step``-th frame, at most ``--max-frames``.
Needs ``liftpose-transformer[viz]`` (GIFs are written with Pillow, which comes with matplotlib).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from liftpose import Lifter, to_h36m, viz
from liftpose.formats import load_keypoints

WALK = Path(__file__).resolve().parent / "data" / "walk_coco17.json"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "detections", nargs="?", default=str(WALK), help="COCO-17 keypoint file (default: the synthetic walk)"
    )
    p.add_argument("--out", default="animation.gif", help="the .gif (or .mp4, needs ffmpeg) to write")
    p.add_argument("--model", default="h36m-27", help="model name or weights folder (default h36m-27)")
    p.add_argument("--image-size", help="WIDTHxHEIGHT in pixels (default: the file's)")
    p.add_argument("--fps", type=float, help="frame rate of the detections (default: the file's, else 50)")
    p.add_argument("--step", type=int, default=1, help="draw every step-th frame")
    p.add_argument("--max-frames", type=int, default=150, help="at most this many frames in the animation")
    args = p.parse_args()

    data = load_keypoints(args.detections)
    size = tuple(int(v) for v in args.image_size.split("x")) if args.image_size else data.image_size
    fps = args.fps or data.fps or 50.0
    poses = Lifter.from_pretrained(args.model, device="cpu").predict(data.keypoints, size, layout="coco17", fps=fps)
    shown = slice(0, args.step * args.max_frames, args.step)
    keypoints_2d = to_h36m(data.keypoints[shown, :, :2], "coco17")
    viz.animate(keypoints_2d, poses[shown], args.out, fps=fps / args.step, image_size=size)
    print(f"wrote {args.out}: {len(keypoints_2d)} frames of {len(poses)}, model {args.model}")


if __name__ == "__main__":
    main()
