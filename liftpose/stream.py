"""Lift 2D keypoints frame by frame as they arrive (a live camera): :class:`PoseStream`.

Get one from :meth:`liftpose.Lifter.stream`::

    stream = lifter.stream(image_size=(1920, 1080), layout="coco17")
    for keypoints in detector:                    # (17, 3) per frame: x, y, confidence
        for pose in stream.push(keypoints):       # (17, 3) metres, pelvis at zero
            show(pose)
    for pose in stream.flush():                   # the last (T - 1) / 2 poses
        show(pose)

Pose ``i`` is the centre prediction of the window of frames ``i - (T-1)/2 ... i + (T-1)/2``, so it is
returned by the push of frame ``i + (T-1)/2`` (the latency, :attr:`PoseStream.latency` frames);
the first frame is replicated before the sequence and :meth:`PoseStream.flush` replicates the last
one, so the poses equal ``Lifter.predict`` on the whole sequence (window mode, 50 fps input).
"""

from __future__ import annotations

import numpy as np
import torch

from . import checks
from .camera import normalize_screen
from .engine import WindowEncoder, mirror_average
from .errors import LiftposeError
from .formats import Layout, to_h36m
from .preprocess import fill_gaps, valid_mask
from .skeleton import NUM_JOINTS, ROOT


class PoseStream:
    """Frame-by-frame lifting with a window encoder; see the module docstring.

    The input checks of :mod:`liftpose.checks` run on the first frame and again on the first
    :attr:`CHECK_FRAMES` frames; points far outside the image are treated as missing in every
    frame (counted in :attr:`far_points`, warned about once).

    Missing joints (confidence below the threshold, NaN) are filled as ``fill_gaps`` fills the
    whole sequence: a frame with a missing joint waits until that joint is seen again (to
    interpolate) or until :meth:`flush` (to hold its last value), which adds to its latency.
    """

    def __init__(
        self,
        encoder: WindowEncoder,
        layout: Layout,
        threshold: float,
        screen: tuple[float, float],
        flip: bool,
        *,
        normalized: bool = False,
        check: bool = True,
    ) -> None:
        self._encoder = encoder
        self._layout = layout
        self._screen = screen
        self._flip = flip
        self._gaps = _GapFiller(threshold)
        self._device = encoder.net.vte_pos.device
        self._last: torch.Tensor | None = None  # the last frame given to the network, (1, 17, 2)
        self._normalized = normalized
        self._check = check
        self._seen: list[np.ndarray] = []  # the first CHECK_FRAMES frames, in pixels, for the checks
        #: Points of this stream so far that lay far outside the image, treated as missing.
        self.far_points = 0

    #: Frames the sequence checks look at (the first frame alone, then this many).
    CHECK_FRAMES = 25

    @property
    def latency(self) -> int:
        """Frames between a frame's push and the push that returns its pose: (T - 1) / 2."""
        return self._encoder.frames // 2

    def push(self, frame: np.ndarray | torch.Tensor) -> list[np.ndarray]:
        """One frame of keypoints (K, 2) or (K, 3) with confidence, in the stream's layout and units
        -> the poses completed by it, in frame order: float32 (17, 3) metres, pelvis at zero."""
        return self._lift(self._gaps.push(self._h36m(frame)))

    def flush(self) -> list[np.ndarray]:
        """End of the sequence: the remaining poses (the last frame replicated to complete their
        windows). The stream is then empty and the next push starts a new sequence."""
        try:
            poses = self._lift(self._gaps.flush())
            if self._last is not None:
                poses += self._run(self._last.expand(self.latency, -1, -1))
            return poses
        finally:
            self._gaps = _GapFiller(self._gaps.threshold)
            self._encoder.reset()
            self._last = None
            self._seen = []

    def _h36m(self, frame: np.ndarray | torch.Tensor) -> np.ndarray:
        """A frame in the stream's layout -> (17, 2 or 3) float64 numpy in the Human3.6M order."""
        if not isinstance(frame, (np.ndarray, torch.Tensor)):
            raise TypeError(f"a frame must be a numpy array or a torch tensor, got {type(frame).__name__}")
        kp = frame.detach().cpu().numpy() if isinstance(frame, torch.Tensor) else np.asarray(frame)
        kp = kp.astype(np.float64)
        joints = len(self._layout.joint_names)
        if kp.shape != (joints, 2) and kp.shape != (joints, 3):
            raise LiftposeError(
                f"a frame has shape {kp.shape}; layout {self._layout.name!r} expects ({joints}, 2) "
                f"coordinates or ({joints}, 3) with a confidence column"
            )
        kp = checks.to_pixels(kp, self._screen, self._normalized, self._check)
        if self._check:
            kp = self._checked(kp)
        return kp if self._layout.name == "h36m" else to_h36m(kp, self._layout)

    def _checked(self, kp: np.ndarray) -> np.ndarray:
        """One frame (K, C) in pixels -> the same with far points NaN; runs the sequence checks on
        the first frame and on the first CHECK_FRAMES frames."""
        kp, far = checks.drop_far_points(kp, self._screen)
        if far and not self.far_points:
            checks.warn_far_points(far, len(kp), self._screen, len(kp), self._layout)
        self.far_points += far
        if len(self._seen) < self.CHECK_FRAMES:
            self._seen.append(kp)
            if len(self._seen) in (1, self.CHECK_FRAMES):
                checks.check_keypoints(np.stack(self._seen), self._screen, self._layout, self._gaps.threshold)
        return kp

    def _lift(self, frames: np.ndarray) -> list[np.ndarray]:
        """Filled frames (k, 17, 2) -> the poses they complete."""
        if not len(frames):
            return []
        x = normalize_screen(frames, *self._screen)
        x = torch.from_numpy(x).to(self._device, torch.float32)
        if self._last is None:  # the first frame, replicated before the sequence
            x = torch.cat([x[:1].expand(self.latency, -1, -1), x])
        self._last = x[-1:]
        return self._run(x)

    def _run(self, x: torch.Tensor) -> list[np.ndarray]:
        with torch.inference_mode():
            poses = mirror_average(self._encoder.push, x[None], self._flip)[0]
            poses[:, ROOT] = 0
        return list(poses.cpu().numpy())


class _GapFiller:
    """``fill_gaps`` for frames arriving one by one, with the same result as on the whole sequence.

    A frame is released once each of its missing joints has a valid frame after it (it is then
    interpolated between the last released frame, whose filled value lies on the same line, and
    that valid frame), or at :meth:`flush` (held at the last value)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._pending: list[np.ndarray] = []  # raw (17, C) frames not yet released
        self._anchor: np.ndarray | None = None  # the last released frame, filled, (17, 2)

    def push(self, frame: np.ndarray) -> np.ndarray:
        """A (17, C) frame -> the (k, 17, 2) frames now filled (k >= 0)."""
        self._pending.append(frame)
        raw = np.stack(self._pending)
        valid = valid_mask(raw, self.threshold)
        seen_later = np.flip(np.logical_or.accumulate(np.flip(valid, 0), axis=0), 0)  # valid at f or after
        return self._release(raw, valid, int(seen_later.all(axis=1).sum()))

    def flush(self) -> np.ndarray:
        """All remaining frames, filled (the end of the sequence: missing joints held)."""
        if not self._pending:
            return np.empty((0, NUM_JOINTS, 2))
        raw = np.stack(self._pending)
        return self._release(raw, valid_mask(raw, self.threshold), len(raw))

    def _release(self, raw: np.ndarray, valid: np.ndarray, count: int) -> np.ndarray:
        if count == 0:
            return np.empty((0, NUM_JOINTS, 2))
        xy, ok = raw[..., :2], valid
        if self._anchor is not None:
            xy = np.concatenate([self._anchor[None], xy])
            ok = np.concatenate([np.ones((1, NUM_JOINTS), bool), ok])
        filled = fill_gaps(xy, valid=ok)[len(xy) - len(raw) :][:count]
        self._anchor = filled[-1]
        del self._pending[:count]
        return filled
