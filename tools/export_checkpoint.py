"""Write the weights of a training checkpoint (``OUT/last.pt`` of ``liftpose train``) as a model
folder (``model.safetensors`` + ``config.json``), by default in float16 as the bundled models are.

    python tools/export_checkpoint.py runs/h36m-27-robust/last.pt liftpose/bundled_models/h36m-27
"""

import argparse

import torch

from liftpose.config import ModelConfig
from liftpose.model import StridedTransformer
from liftpose.serialization import save_pretrained


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="a last.pt written by liftpose train")
    p.add_argument("out", help="output folder")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    args = p.parse_args()
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    model = StridedTransformer(ModelConfig.from_dict(state["config"]))
    model.load_state_dict(state["model"])
    save_pretrained(model, args.out, dtype=getattr(torch, args.dtype))
    print(f"step {state['step']} of {args.checkpoint} -> {args.out} ({args.dtype})")


if __name__ == "__main__":
    main()
