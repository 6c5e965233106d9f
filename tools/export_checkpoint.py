"""Write the weights of a training checkpoint (``OUT/last.pt`` of ``liftpose train``) as a model
folder (``model.safetensors`` + ``config.json``), by default in float16 as the bundled models are.
Given several checkpoints (snapshots of one run), it writes the mean of their weights
(:func:`liftpose.train.average_checkpoints`).

    python tools/export_checkpoint.py runs/h36m-27-robust/last.pt liftpose/bundled_models/h36m-27
    python tools/export_checkpoint.py snapshots/step*.pt runs/h36m-243-avg   # checkpoint averaging
"""

import argparse

import torch

from liftpose.serialization import save_pretrained
from liftpose.train import average_checkpoints


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", help="last.pt files written by liftpose train (several: averaged)")
    p.add_argument("out", help="output folder")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    args = p.parse_args()
    steps = [torch.load(c, map_location="cpu", weights_only=True)["step"] for c in args.checkpoints]
    save_pretrained(average_checkpoints(args.checkpoints), args.out, dtype=getattr(torch, args.dtype))
    what = f"step {steps[0]}" if len(steps) == 1 else f"the mean of steps {', '.join(map(str, steps))}"
    print(f"{what} of {', '.join(args.checkpoints)} -> {args.out} ({args.dtype})")


if __name__ == "__main__":
    main()
