"""Lift a file of 2D keypoints to 3D and save a picture of one frame: 2D input | 3D from the camera | 3D from the side.

    python examples/lift_keypoints.py [KEYPOINTS] --out lifted.png [--frame N] [--model h36m-27]

KEYPOINTS is any file ``liftpose lift`` reads (.npz/.npy/.json, docs/formats.md); the default is the
synthetic walk examples/data/walk_coco17.json, which stores its layout, image size and fps. For a
file without them pass --layout, --image-size WxH and --fps. --model takes a model name or a
weights folder (e.g. one written by ``liftpose convert``). Needs ``liftpose-transformer[viz]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from liftpose import Lifter, to_h36m, viz
from liftpose.formats import load_keypoints

WALK = Path(__file__).resolve().parent / "data" / "walk_coco17.json"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("keypoints", nargs="?", default=str(WALK), help="keypoint file (default: the synthetic walk)")
    p.add_argument("--out", default="lifted.png", help="the picture to write (.png, .pdf, .svg)")
    p.add_argument("--frame", type=int, help="which frame to draw (default: the middle one)")
    p.add_argument("--model", default="h36m-27", help="model name or weights folder (default h36m-27)")
    p.add_argument("--layout", help="keypoint layout, e.g. coco17 (default: the file's)")
    p.add_argument("--image-size", help="WIDTHxHEIGHT in pixels (default: the file's)")
    p.add_argument("--fps", type=float, help="frame rate (default: the file's, else 50)")
    args = p.parse_args()

    data = load_keypoints(args.keypoints)
    layout = args.layout or data.layout
    if layout is None:
        p.error(f"{args.keypoints} does not store its layout: pass --layout (e.g. coco17 or h36m)")
    size = tuple(int(v) for v in args.image_size.split("x")) if args.image_size else data.image_size
    lifter = Lifter.from_pretrained(args.model, device="cpu")
    poses = lifter.predict(data.keypoints, size, layout=layout, fps=args.fps or data.fps)  # (T, 17, 3) metres

    t = len(poses) // 2 if args.frame is None else args.frame
    fig = viz.plot_lifted(
        to_h36m(data.keypoints[t, :, :2], layout), poses[t], image_size=size, title=f"2D input, frame {t}"
    )
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}: frame {t} of {len(poses)}, model {args.model}")


if __name__ == "__main__":
    main()
