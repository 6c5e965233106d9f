"""The ``liftpose`` command line: ``lift``, ``evaluate``, ``models``, ``convert``, ``export-onnx`` and
``train`` (docs/cli.md). Every argparse parser of liftpose lives in this package (the options of
``evaluate`` and ``train`` in :mod:`liftpose.cli.evaluate` and :mod:`liftpose.cli.train`); below it
the library takes typed arguments."""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from .._version import __version__

#: What ``main`` turns into one line on stderr and exit code 1 (anything else is a bug: traceback).
USER_ERRORS = (ValueError, FileNotFoundError, OSError, ImportError)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose option errors are one line, ``PROG: error: ...``, and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_PROG = "liftpose"


def _convert(args: argparse.Namespace) -> None:
    """convert an official StridedTransformer-Pose3D .pth to safetensors

    Convert an official StridedTransformer-Pose3D checkpoint (.pth state_dict) into a liftpose weights
    folder (model.safetensors + config.json) that --model and Lifter.from_pretrained load
    (docs/converting.md).
    """
    from ..convert import convert_official

    out = convert_official(args.checkpoint, args.out_dir, frames=args.frames, strides=args.strides)
    print(f"wrote {out / 'model.safetensors'} and {out / 'config.json'}")


def _strides(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers such as 3,9,9") from None


def _models(args: argparse.Namespace) -> None:
    """list the named models of the manifest with their measured accuracy

    List the named models (--model NAME): receptive field, status (available / planned), Human3.6M
    accuracy and the licence of the weights.
    """
    from ..registry import manifest_table

    print(manifest_table())


def _export_onnx(args: argparse.Namespace) -> None:
    """export a model to ONNX (needs liftpose-transformer[onnx])

    Export a model to one self-contained .onnx file (keypoints_2d (batch, T, 17, 2) -> centre, window)
    and check it against PyTorch under onnxruntime (docs/onnx.md).
    """
    from ..export import export_onnx, verify_onnx
    from ..serialization import load_model

    model = load_model(args.model, revision=args.revision)
    path = export_onnx(model, args.out, opset=args.opset)
    print(f"wrote {path}: keypoints_2d (batch, {model.cfg.frames}, 17, 2) -> centre, window; opset {args.opset}")
    if not args.no_verify:
        diff = verify_onnx(model, path)
        print(f"onnxruntime vs PyTorch on 3 random windows: max abs difference {diff:.2e}")
        if diff > 1e-4:
            raise ValueError(f"the ONNX model differs from PyTorch by {diff:.2e} (> 1e-4); please report this")


def _fps(text: str) -> float:
    try:
        fps = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of frames per second, e.g. 30") from None
    if not (fps > 0 and fps < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r}: the frame rate must be a positive number, e.g. 30 or 29.97")
    return fps


def _image_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT in pixels, e.g. 1920x1080") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be positive")
    return width, height


def _lift(args: argparse.Namespace) -> None:
    """lift a file of 2D keypoints to 3D poses

    Lift a 2D keypoint sequence (.npz/.npy/.json, see docs/formats.md) to root-relative 3D poses in
    metres, one per input frame, and write them to .npz (array poses_3d plus metadata) or .json.
    """
    from ..errors import LiftposeError
    from ..formats import LAYOUTS, load_keypoints, save_poses
    from ..predictor import MODEL_FPS, Lifter

    data = load_keypoints(args.input, key=args.key)
    layout = args.layout or data.layout
    if layout is None:
        raise LiftposeError(
            f"{args.input} does not say its keypoint layout: pass --layout (one of {', '.join(LAYOUTS)})"
        )
    image_size = args.image_size or data.image_size
    if image_size is None:
        raise LiftposeError(f"{args.input} does not store the video size: pass --image-size WIDTHxHEIGHT")
    fps = args.fps or data.fps
    lifter = Lifter.from_pretrained(args.model, device=args.device)
    poses = lifter.predict(
        data.keypoints,
        image_size,
        layout=layout,
        fps=fps,
        threshold=args.threshold,
        flip=not args.no_flip,
        mode=args.mode,
        normalized=args.normalized,
        precision=args.precision,
        progress=sys.stderr.isatty() and importlib.util.find_spec("tqdm") is not None,
        check=not args.no_checks,
    )
    if fps is None:  # said once the input passed its checks, so that an error stays one line
        print(f"{_PROG} lift: assumed {MODEL_FPS:g} fps (the file stores no frame rate); pass --fps", file=sys.stderr)
    meta = {
        "model": str(args.model),
        "receptive_field": lifter.receptive_field,
        "layout": layout,
        "image_size": list(image_size),
        "flip": not args.no_flip,
        "mode": args.mode,
        "precision": args.precision,
        "units": "metres",
        "frame": "camera (x right, y down, z forward), pelvis at the origin",
        "liftpose_version": __version__,
    }
    if fps is not None:
        meta["fps"] = fps
    path = None
    if args.trajectory or args.bvh:
        path, extra = _trajectory(args, data, poses, image_size, layout, fps)
        meta.update(extra)
    save_poses(args.output, poses, **meta)
    print(f"wrote {args.output}: poses_3d {tuple(poses.shape)} (frames, joints, xyz) in metres")
    if path is not None:
        print(
            f"  trajectory ({len(path)}, 3): camera-frame pelvis path in metres, focal {meta['focal']:.1f} px; "
            f"camera pitch {meta['camera_pitch']:.1f}, roll {meta['camera_roll']:.1f} degrees ({meta['ground']})"
        )
    if args.bvh:
        from ..bvh import write_bvh

        bvh = write_bvh(args.bvh, poses, path, fps, ground=_ground_of(meta), scale=args.bvh_scale)
        print(f"wrote {args.bvh}: {bvh.frames} frames at {bvh.fps:g} fps, Y up, units x{args.bvh_scale:g} metres")
    if args.png or args.gif:
        _draw(args, data.keypoints, layout, image_size, poses, fps)


def _trajectory(args: argparse.Namespace, data, poses, image_size, layout: str, fps: float | None):
    """The pelvis path and the floor for ``lift --trajectory`` / ``--bvh``: (path (T, 3), metadata)."""
    from ..checks import to_pixels
    from ..ground import estimate_ground
    from ..trajectory import intrinsics, root_trajectory

    cam = intrinsics(image_size, focal=args.focal, fov=args.fov)
    keypoints = to_pixels(data.keypoints, image_size, args.normalized, check=False)
    path = root_trajectory(
        poses, keypoints, image_size, focal=tuple(cam.focal), layout=layout, fps=fps, threshold=args.threshold
    )
    ground = estimate_ground(poses + path[:, None], fps=fps)
    extra = {
        "trajectory": path.round(6).tolist(),
        "focal": float(cam.focal[0]),
        "principal_point": cam.centre.tolist(),
        "focal_assumed": args.focal is None and args.fov is None,
        "camera_pitch": round(ground.pitch, 3),
        "camera_roll": round(ground.roll, 3),
        "up": ground.up.round(6).tolist(),
        "ground": ground.method,
    }
    return path, extra


def _ground_of(meta: dict):
    import numpy as np

    from ..ground import Ground

    return Ground(np.asarray(meta["up"], dtype=np.float64), 0.0, meta["ground"])


#: Most frames of a ``lift --gif`` animation (longer clips are drawn every n-th frame).
_GIF_FRAMES = 150


def _draw(args: argparse.Namespace, keypoints, layout: str, image_size, poses, fps: float | None) -> None:
    """``lift --png / --gif``: 2D input, 3D from the camera and from the side (liftpose.viz)."""
    from .. import viz
    from ..checks import to_pixels
    from ..formats import to_h36m

    xy = to_h36m(to_pixels(keypoints, image_size, args.normalized, check=False)[..., :2], layout)
    if args.png:
        t = len(poses) // 2
        viz.plot_lifted(xy[t], poses[t], image_size=image_size, title=f"2D input, frame {t}").savefig(args.png, dpi=80)
        print(f"wrote {args.png}: frame {t}, 2D input and the 3D pose from the camera and from the side")
    if args.gif:
        step = -(-len(poses) // _GIF_FRAMES)
        viz.animate(xy[::step], poses[::step], args.gif, fps=(fps or 50.0) / step, image_size=image_size)
        print(f"wrote {args.gif}: {len(poses[::step])} frames (every {step}), from the camera and from the side")


def _lift_arguments(lift: argparse.ArgumentParser) -> None:
    from ..formats import LAYOUTS
    from ..predictor import MODES, PRECISIONS
    from ..preprocess import DEFAULT_THRESHOLD
    from ..registry import default_model

    lift.add_argument(
        "input", help=".npz (array 'keypoints' or its only array), .npy or .json keypoints (T, K, 2 or 3)"
    )
    lift.add_argument("-o", "--output", required=True, help="the .npz or .json file to write")
    lift.add_argument("--layout", choices=sorted(LAYOUTS), help="keypoint layout (default: the file's 'layout' entry)")
    lift.add_argument(
        "--image-size",
        type=_image_size,
        metavar="WxH",
        help="video size in pixels, e.g. 1920x1080 (default: the file's width/height)",
    )
    lift.add_argument("--fps", type=_fps, help="frame rate of the input (default: the file's fps, else 50)")
    lift.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"joints with confidence below it are interpolated over time (default {DEFAULT_THRESHOLD})",
    )
    lift.add_argument(
        "--model",
        default=default_model(),
        help=f"model name (see `liftpose models`) or weights folder "
        f"(default {default_model()}, the manifest's default)",
    )
    lift.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    lift.add_argument("--no-flip", action="store_true", help="skip flip test-time augmentation (half the compute)")
    lift.add_argument(
        "--mode",
        choices=MODES,
        default="window",
        help="window: a centred window per frame (default); fast: about T times less compute (docs/cli.md)",
    )
    lift.add_argument(
        "--precision",
        choices=tuple(PRECISIONS),
        default="float32",
        help="arithmetic (default float32; half precision is for GPUs)",
    )
    lift.add_argument("--key", help="name of the keypoint array in an .npz / JSON object (default: 'keypoints')")
    world = lift.add_argument_group("path, floor and BVH (docs/world.md)")
    world.add_argument(
        "--trajectory",
        action="store_true",
        help="also fit the camera-frame pelvis path (array 'trajectory', metres) and the camera's tilt",
    )
    lens = world.add_mutually_exclusive_group()
    lens.add_argument("--focal", type=float, help="focal length in pixels (default: from --fov)")
    lens.add_argument("--fov", type=float, help="field of view in degrees across the longer image side (default 65)")
    world.add_argument("--bvh", metavar="OUT.bvh", help="also write a BVH animation (implies --trajectory)")
    world.add_argument("--bvh-scale", type=float, default=1.0, help="BVH units per metre (default 1; 100 for cm)")
    lift.add_argument(
        "--normalized",
        action="store_true",
        help="keypoints are x/width, y/height in [0, 1] instead of pixels (--image-size still needed)",
    )
    lift.add_argument(
        "--png",
        metavar="PATH",
        help="also draw the middle frame: 2D input, 3D from the camera and "
        "from the side (needs liftpose-transformer[viz])",
    )
    lift.add_argument(
        "--gif",
        metavar="PATH",
        help=f"also animate it (.gif, or .mp4 with ffmpeg; at most {_GIF_FRAMES} "
        "frames, longer clips every n-th frame)",
    )
    lift.add_argument(
        "--no-checks",
        action="store_true",
        help="skip the input checks (layout, normalised coordinates, image size; docs/formats.md)",
    )


def _convert_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("checkpoint", help="official state_dict (.pth), with or without a 'module.' prefix")
    c.add_argument("out_dir", help="folder to write model.safetensors and config.json into")
    c.add_argument("--frames", type=int, help="receptive field T (default: read from the positional embedding)")
    c.add_argument(
        "--strides", type=_strides, help="comma-separated stride factors, e.g. 3,9,9 (default: the paper's for T)"
    )


def _export_arguments(e: argparse.ArgumentParser) -> None:
    from ..export import OPSET

    e.add_argument("model", help="a model name (see `liftpose models`), a weights folder or a .safetensors file")
    e.add_argument("out", help="the .onnx file to write")
    e.add_argument("--revision", help="Hub revision of a named model")
    e.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default: {OPSET})")
    e.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-vs-PyTorch check")


def _evaluate(args: argparse.Namespace) -> None:
    """Human3.6M evaluation (MPJPE, P-MPJPE per action)

    Lift the Human3.6M test subjects (S9, S11; all cameras) and print protocol 1 and 2 errors per
    action in millimetres, as in the paper's tables (needs the Human3.6M data, --data).
    """
    from .evaluate import run

    run(args)


def _evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from .evaluate import build_parser

    build_parser(parser)


def _train(args: argparse.Namespace) -> None:
    """train on Human3.6M

    Train a Strided Transformer on Human3.6M (needs the data; see docs/model-zoo.md for the commands
    that made the named models).
    """
    from .train import run

    run(args)


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    from .train import build_parser

    build_parser(parser)


#: The subcommands, in the order ``--help`` lists them: name -> (what runs them, what adds their
#: options). The first docstring line of the runner is the one-line help, the rest the description.
COMMANDS = {
    "convert": (_convert, _convert_arguments),
    "models": (_models, None),
    "lift": (_lift, _lift_arguments),
    "evaluate": (_evaluate, _evaluate_arguments),
    "export-onnx": (_export_onnx, _export_arguments),
    "train": (_train, _train_arguments),
}


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=_PROG, description="Lift 2D keypoint sequences to 3D with the Strided Transformer.")
    p.add_argument("--version", action="version", version=f"liftpose {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (run, arguments) in COMMANDS.items():
        summary, _, description = inspect.cleandoc(run.__doc__ or "").partition("\n\n")
        parser = sub.add_parser(name, help=summary, description=" ".join(description.split()))
        if arguments is not None:
            arguments(parser)
        parser.set_defaults(func=run)
    return p


@contextmanager
def _one_line_warnings(prog: str) -> Iterator[None]:
    """Show warnings (the input checks' LiftposeWarning, ...) as ``PROG: warning: ...`` lines."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{prog}: warning: {message}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    prog = f"{_PROG} {args.command}"
    try:
        with _one_line_warnings(prog):
            args.func(args)
    except USER_ERRORS as e:
        print(f"{prog}: error: {_one_line(e)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)


def _one_line(error: BaseException) -> str:
    """The error's message on one line (an OSError without one: its type and file)."""
    text = str(error) or type(error).__name__
    if isinstance(error, OSError) and error.filename and str(error.filename) not in text:
        text = f"{text}: {error.filename}"
    return " ".join(text.split())


if __name__ == "__main__":
    main()
