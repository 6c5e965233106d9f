"""The ``liftpose`` command line: ``liftpose convert``, ``liftpose train``, ..."""

from __future__ import annotations

import argparse
import sys


def _convert(args: argparse.Namespace) -> None:
    from .convert import convert_official

    strides = tuple(int(s) for s in args.strides.split(",")) if args.strides else None
    out = convert_official(args.checkpoint, args.out_dir, frames=args.frames, strides=strides)
    print(f"wrote {out / 'model.safetensors'} and {out / 'config.json'}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liftpose", description="Lift 2D keypoint sequences to 3D with the Strided Transformer.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert an official StridedTransformer-Pose3D .pth to safetensors")
    c.add_argument("checkpoint", help="official state_dict (.pth), with or without a 'module.' prefix")
    c.add_argument("out_dir", help="folder to write model.safetensors and config.json into")
    c.add_argument("--frames", type=int, help="receptive field T (default: read from the positional embedding)")
    c.add_argument("--strides", help="comma-separated stride factors, e.g. 3,9,9 (default: the paper's for T)")
    c.set_defaults(func=_convert)

    from .train import build_parser as train_parser

    t = sub.add_parser("train", help="train on Human3.6M")
    train_parser(t)
    t.set_defaults(func=lambda a: __import__("liftpose.train", fromlist=["train"]).train(a))
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"liftpose {args.command}: error: {e}", file=sys.stderr)
        sys.exit(1)
