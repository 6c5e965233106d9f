"""What running the network in bfloat16 / float16 costs on Human3.6M, against float32.

    python benchmarks/precision_cost.py h36m-27 --data ../shared/data/h36m --cameras 54138969

Window mode with flip (the ``predict`` defaults), ground-truth 2D of S9 and S11. A subset of frames:
from every sequence, ``--clips`` clips of 2T - 1 frames, centred in equal parts of it. The middle T
frames of a clip have their whole window inside it, so ``Lifter.predict`` on the clip gives them
exactly the poses it gives on the whole sequence; only those frames are scored (frames whose
window reaches past a sequence end are never sampled). All clips go through one batched
``predict`` call per precision. Prints protocol-1 MPJPE per precision, its change against float32,
the mean joint distance to the float32 poses (which bounds the change on any subset) and the time.
Reduced precision is emulated on CPUs without native bfloat16 / float16 arithmetic (slow, same
rounding).
"""

import argparse
import time

import numpy as np

from liftpose import Lifter
from liftpose.datasets.h36m import CAMERA_IDS, TEST_SUBJECTS, load_h36m
from liftpose.metrics import mpjpe


def clips(seqs: list, frames: int, per_sequence: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(N, 2T-1, 17, 2) pixel clips and the (N, T, 17, 3) ground truth of their middle T frames."""
    length, pad = 2 * frames - 1, frames // 2
    inputs, targets = [], []
    for s in seqs:
        for start in ((np.arange(per_sequence) + 0.5) / per_sequence * (len(s.poses_3d) - length)).astype(int):
            inputs.append(s.keypoints_2d[start : start + length])
            targets.append(s.poses_3d[start + pad : start + pad + frames])
    sizes = {(s.width, s.height) for s in seqs}
    if len(sizes) != 1:
        raise SystemExit(f"cameras of different image sizes {sorted(sizes)}: pass --cameras with one size")
    return np.stack(inputs), np.stack(targets), sizes.pop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model name or weights folder")
    p.add_argument("--data", required=True, help="Human3.6M folder")
    p.add_argument("--cameras", nargs="+", default=list(CAMERA_IDS))
    p.add_argument("--clips", type=int, default=1, help="clips per sequence (default 1)")
    p.add_argument("--precision", nargs="+", default=["bfloat16", "float16"], choices=("bfloat16", "float16"))
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    lifter = Lifter.from_pretrained(args.model, device=args.device)
    t, pad = lifter.receptive_field, lifter.receptive_field // 2
    seqs = [s for s in load_h36m(args.data, TEST_SUBJECTS, "gt", tuple(args.cameras)) if len(s.poses_3d) >= 2 * t - 1]
    x, target, size = clips(seqs, t, args.clips)
    cams = " ".join(args.cameras)
    print(
        f"{args.model} (T={t}): {len(x)} clips from {len(seqs)} sequences (S9, S11; cameras {cams}), "
        f"{target.shape[0] * target.shape[1]} scored frames, window mode, flip, device {args.device}"
    )

    def run(precision: str) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        pred = lifter.predict(x, size, precision=precision)[:, pad : pad + t]
        err = 1000 * mpjpe(pred, target).mean()
        print(f"{precision:<9} MPJPE {err:8.3f} mm  ({time.perf_counter() - start:6.1f} s)", end="", flush=True)
        return pred, err

    base, base_err = run("float32")
    print()
    for precision in args.precision:
        pred, err = run(precision)
        dist = 1000 * np.linalg.norm(pred - base, axis=-1).mean()
        print(f"  change {err - base_err:+.3f} mm, mean joint distance to float32 {dist:.3f} mm", flush=True)


if __name__ == "__main__":
    main()
