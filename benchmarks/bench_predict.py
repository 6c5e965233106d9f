"""Speed of Lifter.predict against the official one-window-per-frame loop.

    python benchmarks/bench_predict.py                       # T=27 and T=243, 3000 frames, CPU
    python benchmarks/bench_predict.py --frames 243 --device cuda
    python benchmarks/bench_predict.py --frames 27 --long    # + 180,000 frames in a fresh process: peak RSS

Rows, all timed in this one process on the same synthetic 2D track (1000 x 1000 px image):

- reference: the official evaluation style, one edge-padded window per frame, batch 1, plain
  ``model(x)`` on (1, T, 17, 2), twice with flip. It is timed on the first ``--subset`` frames only
  and its frames/s extrapolated to the whole sequence (it is the slow one).
- predict: ``Lifter.predict`` with its defaults (window mode).
- stream: ``Lifter.stream()``, one ``push`` per frame and a ``flush``, on the ``--subset`` frames.
- fast: ``Lifter.predict(mode="fast")``.
- the same two in bfloat16 (and float16 on CUDA) via ``precision=``. On a CPU without native
  bfloat16 these are slow; there window mode is timed on ``--low-frames`` frames only.

``max |diff|`` is the largest coordinate difference (metres) from the reference on the frames it
was run on; fast mode is a different estimator, so its difference is not an error. For reduced
precision it is the difference from float32 in the same mode (its rounding error). ``peak RSS``
is ``ru_maxrss`` of this process after the row (it only grows: rows run from the smallest).
The models are converted from ``../shared/reference/official_T{T}.pth`` (random-ish weights, the
right network): speed does not depend on the weights.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from liftpose import Lifter
from liftpose.camera import normalize_screen
from liftpose.convert import convert_official

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_oracle import reference_predict  # noqa: E402 (the test oracle lives under tests/)

SIZE = (1000, 1000)
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def synthetic_track(frames: int, seed: int = 0) -> np.ndarray:
    """A smooth random 2D track of 17 joints, float32 pixels (frames, 17, 2)."""
    rng = np.random.default_rng(seed)
    pose = rng.uniform(300, 700, size=(1, 17, 2))
    drift = np.cumsum(rng.normal(0, 2, size=(frames, 17, 2)), axis=0)
    return (pose + drift).astype(np.float32)


@torch.no_grad()
def reference_loop(model: torch.nn.Module, pixels: np.ndarray, frames: int, flip: bool) -> np.ndarray:
    """The official evaluation: the first ``frames`` poses of ``pixels``, one edge-padded window each."""
    x = torch.from_numpy(normalize_screen(pixels, *SIZE)).to(next(model.parameters()).device)
    return reference_predict(model, x, flip, frames).cpu().numpy()


@dataclass
class Row:
    name: str
    precision: str
    flip: bool
    frames: int  # frames timed
    seconds: float
    cpu_seconds: float
    diff: float
    rss_mb: float
    note: str = ""


def timed(fn: Callable[[], np.ndarray], device: torch.device) -> tuple[np.ndarray, float, float]:
    """Run ``fn`` once: (result, wall seconds, CPU seconds of this process)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench(
    lifter: Lifter, pixels: np.ndarray, flip: bool, subset: int, precisions: list[str], low_frames: int
) -> Iterator[Row]:
    """Yield the rows: the reference loop first, then predict and fast mode per precision."""
    t = lifter.receptive_field
    device = lifter.device
    length = len(pixels)
    subset = min(subset, length)
    # warm-up (one-off allocations, kernels): not timed
    lifter.predict(pixels[: 2 * t], SIZE, flip=flip)
    lifter.predict(pixels[: 2 * t], SIZE, flip=flip, mode="fast")
    reference_loop(lifter.model, pixels[:t], 2, flip)

    ref, sec, cpu = timed(lambda: reference_loop(lifter.model, pixels, subset, flip), device)
    note = f"timed on {subset} frames, extrapolated" if subset < length else ""
    yield Row("reference loop", "float32", flip, subset, sec, cpu, 0.0, peak_rss_mb(), note)
    exact = {}
    for precision in precisions:
        for mode in ("window", "fast"):
            name = "predict" if mode == "window" else "predict fast"
            frames = length
            if precision != "float32" and mode == "window" and device.type == "cpu":
                frames = min(length, low_frames)  # emulated bfloat16 / float16 is very slow on most CPUs

            def run(frames: int = frames, mode: str = mode, precision: str = precision) -> np.ndarray:
                return lifter.predict(pixels[:frames], SIZE, flip=flip, mode=mode, precision=precision)

            out, sec, cpu = timed(run, device)
            if precision == "float32":
                exact[mode] = out
                diff, note = float(np.abs(out[:subset] - ref).max()), ""
            else:
                base = exact[mode][:frames] if frames == length else run(frames, precision="float32")
                diff, note = float(np.abs(out - base).max()), "diff vs float32 of the same mode"
            if frames < length:
                note = f"timed on {frames} frames; {note}"
            yield Row(name, precision, flip, frames, sec, cpu, diff, peak_rss_mb(), note)
            if precision == "float32" and mode == "window":
                yield stream_row(lifter, pixels[:subset], flip, ref)


def stream_row(lifter: Lifter, pixels: np.ndarray, flip: bool, ref: np.ndarray) -> Row:
    """``Lifter.stream()``: one push per frame, then flush; compared with the reference on the frames
    whose windows end inside ``pixels``."""

    def run() -> np.ndarray:
        stream = lifter.stream(SIZE, flip=flip)
        poses = [pose for frame in pixels for pose in stream.push(frame)]
        return np.stack(poses + stream.flush())

    out, sec, cpu = timed(run, lifter.device)
    inside = len(pixels) - lifter.receptive_field // 2
    diff = float(np.abs(out[:inside] - ref[:inside]).max()) if inside > 0 else float("nan")
    note = f"one push per frame, {len(pixels)} frames + flush"
    return Row("stream", "float32", flip, len(pixels), sec, cpu, diff, peak_rss_mb(), note)


def print_table(rows: Iterable[Row]) -> None:
    """Print the rows as they come (the first is the reference the speed-ups are relative to)."""
    head = (
        f"{'method':<15} {'precision':<9} {'flip':<5} {'frames/s':>10} {'speed-up':>9} {'(CPU time)':>10} "
        f"{'max |diff| m':>12} {'peak RSS MB':>11}  note"
    )
    print(head)
    print("-" * len(head), flush=True)
    ref = None
    for r in rows:
        ref = ref or r
        fps, cpu_fps = r.frames / r.seconds, r.frames / max(r.cpu_seconds, 1e-9)
        ref_fps, ref_cpu_fps = ref.frames / ref.seconds, ref.frames / max(ref.cpu_seconds, 1e-9)
        print(
            f"{r.name:<15} {r.precision:<9} {str(r.flip):<5} {fps:>10.1f} {fps / ref_fps:>8.1f}x "
            f"{cpu_fps / ref_cpu_fps:>9.1f}x {r.diff:>12.2e} {r.rss_mb:>11.0f}  {r.note}",
            flush=True,
        )


def long_child(model_dir: str, length: int, device: str, mode: str) -> None:
    """In a fresh process: predict (flip on) on ``length`` frames; print time and peak RSS as JSON."""
    lifter = Lifter.from_pretrained(model_dir, device)
    pixels = synthetic_track(length)
    start = time.perf_counter()
    out = lifter.predict(pixels, SIZE, mode=mode)
    seconds = time.perf_counter() - start
    assert out.shape == (length, 17, 3) and np.isfinite(out).all()
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


def run_long(model_dir: Path, frames: int, length: int, device: str) -> None:
    for mode in ("window", "fast"):
        cmd = [
            sys.executable,
            __file__,
            "--long-child",
            str(model_dir),
            "--length",
            str(length),
            "--device",
            device,
            "--mode",
            mode,
        ]
        result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        print(
            f"long: T={frames} {mode:<6} {length} frames, flip on: {result['seconds']:.1f} s "
            f"({length / result['seconds']:.0f} frames/s), peak RSS {result['peak_rss_mb']:.0f} MB (fresh process)"
        )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} thread(s)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, nargs="+", choices=(27, 243, 351), default=[27, 243], help="receptive field T")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--length", type=int, default=3000, help="frames in the sequence (default 3000)")
    p.add_argument("--flip", choices=("on", "off", "both"), default="both", help="flip test-time augmentation")
    p.add_argument("--subset", type=int, default=300, help="frames the reference loop is timed on (default 300)")
    p.add_argument(
        "--precision",
        nargs="+",
        choices=("float32", "bfloat16", "float16"),
        help="default: float32 bfloat16 (CPU); float32 bfloat16 float16 (CUDA)",
    )
    p.add_argument(
        "--low-frames",
        type=int,
        default=30,
        help="frames that reduced-precision window mode is timed on, on CPU (default 30)",
    )
    p.add_argument("--long", action="store_true", help="also lift --long-length frames in a fresh process: peak RSS")
    p.add_argument("--long-length", type=int, default=180_000)
    p.add_argument("--reference-dir", type=Path, default=REFERENCE)
    p.add_argument("--long-child", help=argparse.SUPPRESS)
    p.add_argument("--mode", default="window", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.long_child:
        return long_child(args.long_child, args.length, args.device, args.mode)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device available")
    precisions = args.precision or ["float32", "bfloat16"] + (["float16"] if args.device == "cuda" else [])
    flips = {"on": [True], "off": [False], "both": [True, False]}[args.flip]
    print(f"machine: {machine()}; device {args.device}; load average {os.getloadavg()[0]:.2f}")
    pixels = synthetic_track(args.length)
    with tempfile.TemporaryDirectory() as tmp:
        for frames in args.frames:
            model_dir = convert_official(args.reference_dir / f"official_T{frames}.pth", Path(tmp) / f"T{frames}")
            lifter = Lifter.from_pretrained(model_dir, args.device)
            print(f"\nT={frames}, {args.length} frames: {lifter!r}", flush=True)
            for flip in flips:
                print_table(bench(lifter, pixels, flip, args.subset, precisions, args.low_frames))
                print()
            if args.long:
                run_long(model_dir, frames, args.long_length, args.device)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
