"""Options of ``liftpose evaluate`` (the command line; the evaluation itself is :mod:`liftpose.evaluate`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .. import evaluate as evaluate_module
from ..datasets.h36m import TEST_SUBJECTS
from ..datasets.videopose3d import read_positions_2d
from ..evaluate import Evaluation, evaluate_h36m, format_table, to_json


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return value


def build_parser(p: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    from ..predictor import MODES, PRECISIONS

    p = p or argparse.ArgumentParser(
        prog="liftpose evaluate", description=(evaluate_module.__doc__ or "").split("\n\n")[0]
    )
    p.add_argument(
        "model", help="model name (e.g. h36m-27, see `liftpose models`) or folder with model.safetensors + config.json"
    )
    p.add_argument("--data", required=True, help="Human3.6M folder (poses_3d_world.npz, cameras.json, ...)")
    p.add_argument(
        "--input",
        choices=("gt", "sh", "both"),
        default="both",
        help="2D input: projected ground truth, Stacked Hourglass detections, or both (default)",
    )
    flip = p.add_mutually_exclusive_group()
    flip.add_argument("--flip", dest="flip", action="store_const", const=(True,), help="only with flip augmentation")
    flip.add_argument("--no-flip", dest="flip", action="store_const", const=(False,), help="only without flip")
    p.set_defaults(flip=(False, True))
    p.add_argument("--subjects", nargs="+", default=list(TEST_SUBJECTS))
    p.add_argument("--cameras", nargs="+", help="only these camera ids (default: all four, the standard protocol)")
    p.add_argument(
        "--keypoints-2d",
        action="append",
        default=[],
        metavar="NPZ",
        help="also evaluate on a VideoPose3D data_2d_h36m_*.npz (e.g. cpn_ft_h36m_dbb); needs --allow-pickle",
    )
    p.add_argument(
        "--allow-pickle", action="store_true", help="allow unpickling --keypoints-2d files (only for trusted files)"
    )
    p.add_argument("--json", help="also write the results as JSON to this file")
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--mode", choices=MODES, default="window", help="Lifter.predict mode (default: window)")
    p.add_argument("--batch-size", type=int, help="windows per forward pass (default: the Lifter's choice)")
    p.add_argument(
        "--every",
        type=_positive_int,
        default=1,
        metavar="N",
        help="score only frames 0, N, 2N, ... of each sequence, each with its whole window (a subset for "
        "quick checks of long models; default 1, the standard protocol)",
    )
    p.add_argument(
        "--precision",
        choices=tuple(PRECISIONS),
        default="float32",
        help="arithmetic (default float32; half precision is for GPUs)",
    )
    return p


def run(args: argparse.Namespace) -> list[Evaluation]:
    """The ``liftpose evaluate`` command: print the table (progress on stderr), optionally write JSON."""
    from ..predictor import Lifter

    lifter = Lifter.from_pretrained(args.model, device=args.device)
    extra = {
        f"vp3d-{Path(f).stem.removeprefix('data_2d_h36m_')}": read_positions_2d(f, allow_pickle=args.allow_pickle)
        for f in args.keypoints_2d
    }
    inputs = ("gt", "sh") if args.input == "both" else (args.input,)
    starts: dict[str, float] = {}

    def progress(name: str, done: int, total: int, frames: int) -> None:
        rate = frames / max(time.time() - starts.setdefault(name, time.time()), 1e-9)
        end = "\n" if done == total else ""
        print(f"\r{name}: {done}/{total} sequences, {frames} camera-frames, {rate:.0f}/s", end=end, file=sys.stderr)

    start = time.time()
    subjects = tuple(args.subjects)
    cameras = tuple(args.cameras) if args.cameras else None
    options = {"mode": args.mode, "precision": args.precision, "batch_size": args.batch_size, "every": args.every}
    evals, notes = evaluate_h36m(
        lifter,
        args.data,
        subjects=subjects,
        inputs=inputs,
        flips=args.flip,
        options=options,
        keypoints_2d=extra,
        progress=progress,
        cameras=cameras,
    )
    print(format_table(evals, subjects))
    for note in notes:
        print(f"note: {note}")
    if args.json:
        info = {
            "model": str(args.model),
            "data": str(args.data),
            "subjects": list(subjects),
            "cameras": list(cameras or ("all",)),
            "mode": args.mode,
            "every": args.every,
            "precision": args.precision,
            "receptive_field": lifter.receptive_field,
            "seconds": round(time.time() - start, 1),
        }
        Path(args.json).write_text(json.dumps(to_json(evals, notes, **info), indent=2) + "\n")
        print(f"wrote {args.json}")
    return evals
