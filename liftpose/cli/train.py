"""Options of ``liftpose train`` (the command line; training itself is :func:`liftpose.train.train`
with a :class:`~liftpose.train.TrainConfig`)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import TextIO

import torch

from .. import train as train_module
from ..augment import DetectorAugment
from ..datasets.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS
from ..train import INPUTS, TrainConfig, TrainResult, log, train


def build_parser(p: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = p or argparse.ArgumentParser(prog="liftpose train", description=(train_module.__doc__ or "").split("\n\n")[0])
    p.add_argument("--data", required=True, help="Human3.6M folder (poses_3d_world.npz, cameras.json, ...)")
    p.add_argument("--out", required=True, help="output folder: last.pt, model.safetensors, config.json")
    p.add_argument("--frames", type=int, default=27)
    p.add_argument(
        "--input", choices=INPUTS, default="gt", help="2D input: projected ground truth or Stacked Hourglass"
    )
    p.add_argument(
        "--noise-px", type=float, default=0.0, help="Gaussian noise std on 2D inputs, pixels of a 1000-px image"
    )
    p.add_argument("--subjects", nargs="+", default=list(TRAIN_SUBJECTS))
    p.add_argument("--val-subjects", nargs="+", default=list(TEST_SUBJECTS), help="subjects of the quick monitor")
    p.add_argument(
        "--init-from",
        metavar="NAME_OR_PATH",
        help="start from another model's weights (any T: positional embeddings resampled in time)",
    )
    aug = DetectorAugment()
    p.add_argument(
        "--detector-aug",
        action="store_true",
        help="detector-like inputs: real SH detections for a fraction of windows, imitated detector errors "
        "for the rest (liftpose.augment); the --aug-* options set its strengths",
    )
    p.add_argument(
        "--aug-detections", type=float, default=aug.detections, help="fraction of windows from SH detections"
    )
    p.add_argument(
        "--aug-clean", type=float, default=aug.clean, help="fraction of ground-truth windows without offsets/jitter"
    )
    p.add_argument("--aug-offset-px", type=float, default=aug.offset_px, help="per-joint definition offset std (px)")
    p.add_argument("--aug-jitter-px", type=float, default=aug.jitter_px, help="largest per-frame jitter std (px)")
    p.add_argument("--aug-drop", type=float, default=aug.drop, help="probability of dropped, interpolated joints")
    p.add_argument("--aug-adapter", type=float, default=aug.adapter, help="probability of COCO-17 adapter torso joints")
    p.add_argument("--aug-framing", type=float, default=aug.framing, help="probability of rescaling/moving the person")
    p.add_argument("--aug-scale", type=float, default=aug.scale, help="scale range [1/s, s] of --aug-framing")
    p.add_argument("--aug-shift", type=float, default=aug.shift, help="shift range (normalised units) of --aug-framing")
    p.add_argument(
        "--bone-weight",
        type=float,
        default=0.0,
        help="weight of a bone-length error term added to the loss (0: the paper's loss)",
    )
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-decay", type=float, default=0.95, help="multiplied into the lr once per epoch")
    p.add_argument(
        "--epoch-samples", type=int, default=0, help="samples per 'epoch' for the lr decay (0: the whole set)"
    )
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (fast on CPUs with AVX512-BF16 and on GPUs)")
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--max-minutes", type=float, help="stop after this many minutes (checkpoint and weights written)")
    p.add_argument("--threads", type=int, default=max(1, torch.get_num_threads()))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--eval-every", type=int, default=500, help="quick S9+S11 check at these steps (0: never)")
    return p


#: DetectorAugment fields with an ``--aug-*`` option (``--aug-offset-px`` sets ``offset_px``).
_AUG_OPTIONS: tuple[str, ...] = (
    "detections",
    "clean",
    "offset_px",
    "jitter_px",
    "drop",
    "adapter",
    "framing",
    "scale",
    "shift",
)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of parsed ``liftpose train`` options (``build_parser().parse_args(argv)``)."""
    augment = None
    if args.detector_aug:
        augment = DetectorAugment(**{name: getattr(args, f"aug_{name}") for name in _AUG_OPTIONS})
    options = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name != "detector_augment"}
    return TrainConfig(**options, detector_augment=augment)


@contextmanager
def progress_to(stream: TextIO) -> Iterator[None]:
    """Show the training progress (this module's INFO log lines, as they are) on ``stream`` while
    the block runs: what the commands do with stdout."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def run(args: argparse.Namespace) -> TrainResult:
    """The ``liftpose train`` command: train with the parsed options, progress on stdout."""
    with progress_to(sys.stdout):
        return train(config_from_args(args))
