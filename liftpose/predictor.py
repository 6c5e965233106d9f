"""Lift whole 2D keypoint sequences to 3D: :class:`Lifter`.

Two ways to turn a sequence into one pose per frame (``mode``):

- ``"window"`` (default, the official evaluation): every frame ``t`` gets its own centred window
  ``t - (T-1)/2 ... t + (T-1)/2`` (first and last frame replicated at the edges) and its pose is the
  strided encoder's centre prediction.
- ``"fast"`` (sequence to sequence): the sequence is cut into non-overlapping windows of T frames
  (the last one aligned to the sequence end) and every frame takes the vanilla encoder's
  full-window prediction. About T times less compute, somewhat less accurate (docs/performance.md).

Both average with the prediction for the mirrored input (flip test-time augmentation) and set the
pelvis to zero.

How the windows are run: each frame is embedded once (``StridedTransformer.embed_frames``), the
windows are strided views of those embeddings (``Tensor.unfold``, no copy of the sequence T times)
and batches of windows go through :class:`liftpose.engine.FoldedNet`, an inference-only arrangement of
``StridedTransformer.encode`` (same numbers to about 1e-6, fewer operations). The sequence is
processed in chunks of frames (the last ``T - 1`` embeddings carried over), so memory is bounded
for a video of any length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from . import checks
from .camera import normalize_screen
from .engine import FoldedNet, WindowEncoder, mirror_average
from .errors import LiftposeError
from .formats import Layout, get_layout, to_h36m
from .model import StridedTransformer
from .preprocess import DEFAULT_THRESHOLD, fill_gaps, resample, valid_mask
from .skeleton import JOINT_NAMES, NUM_JOINTS, ROOT

if TYPE_CHECKING:
    from .stream import PoseStream

#: Frame rate of Human3.6M, the rate the models were trained at.
MODEL_FPS = 50.0
#: Windows per forward pass are chosen so that a batch holds about this many frames (tokens).
_TOKENS_PER_BATCH = {"cpu": 4096, "cuda": 131072}
_DEFAULT_CHUNK = 4096
#: ``predict(mode=...)``: a centred window per frame, or the seq2seq fast mode.
MODES = ("window", "fast")
#: ``precision=`` names and their dtypes.
PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

#: ``progress``: a callable ``(frames_done, frames_total)``, or True for a tqdm bar.
Progress = Callable[[int, int], None] | bool | None


class Lifter:
    """Runs a :class:`~liftpose.model.StridedTransformer` on 2D keypoint sequences.

    ``device`` is ``"cpu"``, ``"cuda"`` (or any ``torch.device``); default CUDA when available.
    The model is moved to the device and put in eval mode (in place). ``batch_size`` is the number
    of windows per forward pass (default: chosen for the device and the receptive field);
    ``chunk_size`` the number of frames per sequence embedded and encoded per step (bounds memory);
    ``precision`` the default arithmetic of :meth:`predict` ("float32", "bfloat16" or "float16").
    """

    def __init__(
        self,
        model: StridedTransformer,
        device: str | torch.device | None = None,
        *,
        batch_size: int | None = None,
        chunk_size: int = _DEFAULT_CHUNK,
        precision: str = "float32",
    ) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.batch_size = _positive("batch_size", batch_size) if batch_size is not None else self._default_batch_size()
        self.chunk_size = _positive("chunk_size", chunk_size)
        _dtype(precision)
        self.precision = precision

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path | None = None,
        device: str | torch.device | None = None,
        *,
        revision: str | None = None,
        local_files_only: bool = False,
        **kwargs,
    ) -> Lifter:
        """Load weights with :func:`liftpose.serialization.load_model` (a model-zoo name or a folder with
        ``model.safetensors`` + ``config.json``; default :func:`liftpose.registry.default_model`, the
        model chosen for detector input). ``revision`` picks a Hub revision of a named model and
        ``local_files_only`` forbids downloading it (bundled models and the Hugging Face cache only);
        ``kwargs`` go to :class:`Lifter`."""
        from .registry import default_model
        from .serialization import load_model

        name_or_path = default_model() if name_or_path is None else name_or_path
        device = resolve_device(device)
        model = load_model(name_or_path, device=device, revision=revision, local_files_only=local_files_only)
        return cls(model, device=device, **kwargs)

    @property
    def receptive_field(self) -> int:
        """Frames T seen by the network for one output pose (27, 81, 243 or 351)."""
        return self.model.cfg.frames

    def __repr__(self) -> str:
        cfg = self.model.cfg
        params = sum(p.numel() for p in self.model.parameters()) / 1e6
        return (
            f"Lifter(receptive_field={cfg.frames}, strides={cfg.strides}, params={params:.2f}M, "
            f"device='{self.device}', batch_size={self.batch_size}, chunk_size={self.chunk_size}, "
            f"precision='{self.precision}')"
        )

    def predict(
        self,
        keypoints_2d: np.ndarray | torch.Tensor,
        image_size: tuple[float, float] | None = None,
        *,
        layout: str | Layout = "h36m",
        fps: float | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        flip: bool = True,
        mode: str = "window",
        normalized: bool = False,
        batch_size: int | None = None,
        chunk_size: int | None = None,
        progress: Progress = None,
        precision: str | None = None,
        check: bool = True,
        every: int = 1,
    ) -> np.ndarray | torch.Tensor:
        """2D keypoints -> root-relative 3D joints in metres, one pose per input frame (with
        ``every``: per every n-th frame).

        ``keypoints_2d``: pixel coordinates (u right, v down), (T, K, 2), or (T, K, 3) with a
        detector's confidence, or a batch of equally long sequences (N, T, K, 2 or 3).
        ``layout``: the joint order K, a name from ``liftpose.formats.LAYOUTS`` ("h36m": the 17
        Human3.6M joints; "coco17", "halpe26", "body25", "blazepose33" are converted with
        ``to_h36m``). Joints with confidence below ``threshold`` and NaN / infinite joints are
        missing and filled by ``liftpose.preprocess.fill_gaps`` (linear interpolation over time,
        the first / last valid value held at the ends); a joint missing in every frame is an error.
        ``image_size``: ``(width, height)`` of the video in pixels (the network's input is
        normalised by the width), always required. ``normalized=True``: the keypoints are
        ``x / width, y / height`` in [0, 1] instead of pixels (``image_size`` gives the aspect ratio).
        ``fps``: the frame rate of the input; other than 50 (the training rate) the sequence is
        resampled to 50 fps, lifted and resampled back, still one pose per input frame.
        ``flip``: average with the prediction for the mirrored input (twice the compute).
        ``mode``: "window" (a centred window per frame, the official evaluation) or "fast" (the
        vanilla encoder's full-window output on non-overlapping windows; about T times faster).
        ``progress``: called as ``progress(frames_done, frames_total)`` after every batch of windows,
        or True for a tqdm bar (``pip install tqdm``). ``batch_size`` / ``chunk_size`` / ``precision``
        override the Lifter's settings for this call ("bfloat16" / "float16": faster on GPUs, with
        rounding errors of order 1e-2 m; very slow on CPUs without native support; see
        docs/performance.md). ``check``: the input checks of :mod:`liftpose.checks` (keypoints
        that look normalised, in another layout's order, upside down, outside the image or with
        width and height swapped raise :class:`~liftpose.LiftposeError` or warn; points far
        outside the image are treated as missing); ``check=False`` skips them. ``every``: lift only
        frames 0, every, 2 * every, ... (window mode at 50 fps only; each still sees its whole
        window), ``ceil(T / every)`` poses: the same poses as ``predict(...)[::every]`` for a
        fraction of the compute, for quick evaluations on a subset of frames.

        Returns float32 (T, 17, 3) or (N, T, 17, 3) camera-frame joints in metres with the pelvis
        at zero (T frames of input; ``ceil(T / every)`` with ``every``): a numpy array for numpy
        input, a tensor on the input's device for tensor input.
        """
        if mode not in MODES:
            raise LiftposeError(f"mode must be one of {MODES}, got {mode!r}")
        every = _positive("every", every)
        x, batched = _as_sequences(keypoints_2d)
        spec = _checked_layout(x, layout)
        size = checks.image_size(image_size, normalized)
        if normalized or check:
            kp = checks.to_pixels(x.cpu().numpy(), size, normalized, check)
            kp, n_far = checks.check_keypoints(kp, size, spec, threshold) if check else (kp, 0)
            if normalized or n_far:
                x = torch.from_numpy(kp).to(x.device, x.dtype)
        x = _h36m_coordinates(x, spec, threshold)
        x = normalize_screen(x, *size).to(self.device, torch.float32)
        n, length = x.shape[:2]
        resampled = fps is not None and fps != MODEL_FPS
        if resampled:
            x = resample(x, fps, MODEL_FPS)
        if every > 1 and (mode != "window" or resampled):
            raise LiftposeError(
                f"every={every} needs mode='window' and input at {MODEL_FPS:g} fps (got mode={mode!r}, fps={fps}); "
                "pass every=1, or lift the whole sequence and take every n-th pose"
            )
        batch_size = _positive("batch_size", batch_size) if batch_size is not None else self.batch_size
        chunk_size = _positive("chunk_size", chunk_size) if chunk_size is not None else self.chunk_size
        net = FoldedNet(self.model, _dtype(precision or self.precision))
        with torch.inference_mode(), _reporter(progress, n * length, n * x.shape[1]) as report:
            if mode == "fast":
                poses = self._lift_fast(net, x, flip, batch_size, report)
            else:
                poses = self._lift_windows(net, x, flip, batch_size, chunk_size, report, every)
        if resampled:
            poses = resample(poses.cpu(), MODEL_FPS, fps, frames=length)
        poses = poses if batched else poses[0]
        if isinstance(keypoints_2d, torch.Tensor):
            return poses.to(keypoints_2d.device).clone()  # a normal tensor, not an inference-mode one
        return poses.cpu().numpy()

    def stream(
        self,
        image_size: tuple[float, float] | None = None,
        *,
        layout: str | Layout = "h36m",
        threshold: float = DEFAULT_THRESHOLD,
        flip: bool = True,
        normalized: bool = False,
        precision: str | None = None,
        check: bool = True,
    ) -> PoseStream:
        """A :class:`~liftpose.stream.PoseStream` for frames that arrive one at a time (a live
        camera): ``push(frame)`` returns the poses completed so far, ``flush()`` the rest at the end.
        Arguments as in :meth:`predict`; the poses equal ``predict(whole sequence)`` (window mode,
        input at 50 fps), each available ``(T - 1) / 2`` frames after its own frame. The input
        checks look at the first frame and at the first ``PoseStream.CHECK_FRAMES`` frames."""
        from .stream import PoseStream

        net = FoldedNet(self.model, _dtype(precision or self.precision))
        size = checks.image_size(image_size, normalized)
        encoder = WindowEncoder(net, self.batch_size)
        return PoseStream(encoder, get_layout(layout), threshold, size, flip, normalized=normalized, check=check)

    def _lift_windows(
        self,
        net: FoldedNet,
        x: torch.Tensor,
        flip: bool,
        batch_size: int,
        chunk_size: int,
        report: _Report,
        every: int = 1,
    ) -> torch.Tensor:
        """Normalised (N, L, J, 2) on the device -> centre-window poses (N, ceil(L / every), J, 3) of
        frames 0, every, 2 * every, ..., pelvis zeroed."""
        n, length = x.shape[:2]
        pad = self.receptive_field // 2
        encoder = WindowEncoder(net, batch_size, step=every)
        poses = x.new_empty(n, -(-length // every), self.model.cfg.joints, 3)
        done = 0
        # progress after every forward pass: the frames done before this chunk, plus its share
        encoder.on_batch = lambda fraction, windows: report(
            min(n * length, int(n * every * (done + fraction * windows)))
        )
        for start in range(-pad, length + pad, chunk_size):
            # Frames start ... start+chunk_size-1 of the edge-padded sequence, gathered by clamped index.
            idx = torch.arange(start, min(start + chunk_size, length + pad), device=x.device).clamp_(0, length - 1)
            centres = mirror_average(encoder.push, x[:, idx], flip)
            poses[:, done : done + centres.shape[1]] = centres
            done += centres.shape[1]
            report(min(n * length, n * every * done))
        poses[..., ROOT, :] = 0
        return poses

    def _lift_fast(self, net: FoldedNet, x: torch.Tensor, flip: bool, batch_size: int, report: _Report) -> torch.Tensor:
        """Normalised (N, L, J, 2) on the device -> full-window poses (N, L, J, 3), pelvis zeroed.

        Windows start at 0, T, 2T, ... and the last one ends at the last frame (it overlaps the one
        before it, whose frames it overwrites); a sequence shorter than T sits in the middle of one
        window padded by edge replication."""
        n, length = x.shape[:2]
        t = self.receptive_field
        if length < t:
            starts = [-((t - length) // 2)]
        else:
            starts = list(range(0, length - t + 1, t)) + ([length - t] if length % t else [])
        per_pass = max(1, batch_size // (n * (2 if flip else 1)))
        poses = x.new_empty(n, length, self.model.cfg.joints, 3)
        offsets = torch.arange(t, device=x.device)
        for i in range(0, len(starts), per_pass):
            batch = starts[i : i + per_pass]
            idx = (torch.tensor(batch, device=x.device)[:, None] + offsets).clamp_(0, length - 1)
            windows = mirror_average(lambda f: net.window(net.embed(f)), x[:, idx], flip)  # (N, w, T, J, 3)
            for k, s in enumerate(batch):
                lo, hi = max(s, 0), min(s + t, length)
                poses[:, lo:hi] = windows[:, k, lo - s : hi - s]
            report(n * min(batch[-1] + t, length))
        poses[..., ROOT, :] = 0
        return poses

    def _default_batch_size(self) -> int:
        tokens = _TOKENS_PER_BATCH.get(self.device.type, _TOKENS_PER_BATCH["cpu"])
        return max(1, tokens // self.receptive_field)


_Report = Callable[[int], None]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device`` (None: CUDA when available, else the CPU), checked to exist
    here: an unknown name or an absent CUDA device is a :class:`LiftposeError` naming the ones there are."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    available = (
        ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else ["cpu"]
    )
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise LiftposeError(
            f"unknown device {device!r}: expected one of {available} (or 'cuda' for the first GPU)"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise LiftposeError(
                f"device {str(device)!r}: this PyTorch sees no CUDA GPU (torch {torch.__version__}, CUDA build "
                f"{torch.version.cuda or 'none'}); available devices: {available}; use device='cpu' (CLI: --device cpu)"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise LiftposeError(f"device {str(device)!r} does not exist; available devices: {available}")
    return dev


@contextmanager
def _reporter(progress: Progress, total: int, model_total: int) -> Iterator[_Report]:
    """A function taking frames done at the model's frame rate (of ``model_total``) that reports
    input frames (of ``total``) to ``progress``: a callable, True (a tqdm bar), or None / False."""
    if progress is None or progress is False:
        yield lambda done: None
        return
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError(
                "progress=True shows a tqdm progress bar, but tqdm is not installed: pip install tqdm"
            ) from None
        bar = tqdm(total=total, unit="frame")
        try:
            yield lambda done: bar.update(done * total // model_total - bar.n)
        finally:
            bar.close()
        return
    if not callable(progress):
        raise TypeError(f"progress must be a callable (frames_done, frames_total), True or None; got {progress!r}")
    yield lambda done: progress(done * total // model_total, total)


def _as_sequences(keypoints: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Validate the input and return it as a floating tensor (N, L, K, C) and whether it was batched."""
    if not isinstance(keypoints, (np.ndarray, torch.Tensor)):
        raise TypeError(f"keypoints_2d must be a numpy array or a torch tensor, got {type(keypoints).__name__}")
    x = torch.as_tensor(np.ascontiguousarray(keypoints) if isinstance(keypoints, np.ndarray) else keypoints).detach()
    shape = tuple(x.shape)
    if x.dim() not in (3, 4) or shape[-1] not in (2, 3):
        raise LiftposeError(
            f"keypoints_2d has shape {shape}; expected (T, 17, 2) pixel coordinates, (T, 17, 3) with a "
            "confidence column, or a batch of sequences (N, T, 17, 2)"
        )
    batched = x.dim() == 4
    x = x if batched else x[None]
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise LiftposeError(f"keypoints_2d has shape {shape}: an empty sequence; pass at least one frame")
    return (x if x.dtype in (torch.float32, torch.float64) else x.float()), batched


def _checked_layout(x: torch.Tensor, layout: str | Layout) -> Layout:
    """The ``Layout`` of ``layout``, checked against the number of joints of ``x`` (..., K, C)."""
    spec = get_layout(layout)
    if spec.name != "h36m":
        to_h36m(x[..., :1, :, :], spec)  # raises for a joint count that does not fit, naming the layouts that do
    elif x.shape[-2] != NUM_JOINTS:
        raise LiftposeError(
            f"keypoints have {x.shape[-2]} joints (shape {tuple(x.shape)}); layout 'h36m' is the {NUM_JOINTS} "
            "Human3.6M joints in the order of liftpose.skeleton.JOINT_NAMES. For a detector's layout pass "
            "layout=... (one of liftpose.formats.LAYOUTS; converted with liftpose.formats.to_h36m); note that "
            "COCO-17, the layout of most 2D detectors, also has 17 joints but in another order: layout='coco17'"
        )
    return spec


def _h36m_coordinates(x: torch.Tensor, layout: Layout, threshold: float) -> torch.Tensor:
    """(..., K, 2 or 3) keypoints in ``layout`` -> (..., 17, 2) Human3.6M coordinates, missing joints
    (confidence below ``threshold``, NaN, infinite) filled by ``fill_gaps``."""
    if layout.name != "h36m":
        _never_seen(x, layout, threshold)
        x = to_h36m(x, layout)
    if x.shape[-1] == 3 or not torch.isfinite(x).all():
        x = fill_gaps(x, threshold)
    return x


def _never_seen(x: torch.Tensor, layout: Layout, threshold: float) -> None:
    """Error naming the joints of ``layout`` (not the Human3.6M joints made from them) that are
    missing in every frame of a sequence, so that they cannot be filled over time."""
    never = ~valid_mask(x, threshold).any(axis=-2)  # (N, K)
    used = {i for src in layout.sources for i in src}
    for seq, joints in enumerate(never):
        names = [layout.joint_names[k] for k in np.flatnonzero(joints) if k in used]
        if names:
            made = [JOINT_NAMES[j] for j, src in enumerate(layout.sources) if set(src) & set(np.flatnonzero(joints))]
            where = f"sequence {seq}" if len(never) > 1 else "the sequence"
            raise LiftposeError(
                f"the {layout.name} joints {names} are missing (NaN or confidence below {threshold}) in all "
                f"{x.shape[-3]} frames of {where}, so the Human3.6M joints {made} cannot be made or interpolated: "
                "lower `threshold` (CLI: --threshold) or use a detector that sees them"
            )


def _dtype(precision: str) -> torch.dtype:
    try:
        return PRECISIONS[precision]
    except (KeyError, TypeError):
        raise LiftposeError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}") from None


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise LiftposeError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
