"""How much storing weights in float16 changes Human3.6M protocol 1 (the model-zoo rule: ship
float16 only if protocol-1 MPJPE moves by less than 0.05 mm).

    python benchmarks/float16_storage_cost.py FLOAT32_MODEL FLOAT16_MODEL --data ../shared/data/h36m

Lifts every 4th S9 sequence seen by camera 54138969 (ground-truth 2D, no flip) with both models and
prints both MPJPEs and the mean joint distance between the two predictions, which bounds the
change of MPJPE on any subset of frames.
"""

import argparse

import numpy as np
import torch

from liftpose import Lifter
from liftpose.datasets.h36m import load_h36m


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("float32_model")
    p.add_argument("float16_model")
    p.add_argument("--data", required=True, help="Human3.6M folder")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    lifters = [Lifter.from_pretrained(m, device="cpu") for m in (args.float32_model, args.float16_model)]
    seqs = [s for s in load_h36m(args.data, ("S9",), "gt") if s.camera == "54138969"][::4]
    dist, err, frames = 0.0, np.zeros(2), 0
    for s in seqs:
        preds = [lifter.predict(s.keypoints_2d, (s.width, s.height), flip=False) for lifter in lifters]
        dist += np.linalg.norm(preds[0] - preds[1], axis=-1).mean(-1).sum()
        err += [np.linalg.norm(pred - s.poses_3d, axis=-1).mean(-1).sum() for pred in preds]
        frames += len(s.poses_3d)
    mm = 1000 / frames
    print(f"{frames} frames ({len(seqs)} sequences of S9, camera 54138969, ground-truth 2D, no flip)")
    print(f"MPJPE float32 {err[0] * mm:.3f} mm, float16 {err[1] * mm:.3f} mm, change {(err[1] - err[0]) * mm:+.4f} mm")
    print(f"mean joint distance between the two predictions: {dist * mm:.4f} mm (bounds the change)")


if __name__ == "__main__":
    main()
