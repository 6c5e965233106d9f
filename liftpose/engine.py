"""The inference engine behind :class:`liftpose.Lifter` and :class:`liftpose.stream.PoseStream`.

The network runs in the folded inference form that :mod:`liftpose.model` defines next to each of its
modules (:class:`~liftpose.model.FoldedNet`, re-exported here). :class:`WindowEncoder` embeds each
frame once and encodes every window of T frames as soon as it is complete (the windows are strided
views of the embeddings, not copies). :func:`mirror_average` is flip test-time augmentation around
any such call.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .model import FoldedNet
from .skeleton import average_mirrored, flip_poses

__all__ = ["FoldedNet", "WindowEncoder", "mirror_average"]


def mirror_average(run: Callable[[torch.Tensor], torch.Tensor], frames: torch.Tensor, flip: bool) -> torch.Tensor:
    """``run`` on 2D ``frames`` (S, ...) -> 3D; with ``flip`` also on the mirrored frames (one call,
    2S streams) and the mirrored-back result averaged in."""
    if not flip:
        return run(frames).float()
    s = frames.shape[0]
    out = run(torch.cat([frames, flip_poses(frames)])).float()
    return average_mirrored(out[:s], out[s:])


class WindowEncoder:
    """Embeds frames as they arrive (each frame once) and encodes every window of T frames as soon
    as it is complete. Works on S parallel streams (sequences, mirrored copies) at once.

    With ``step`` > 1 only windows 0, step, 2 * step, ... of the stream are encoded (a subset of
    the centre frames, for quick evaluations); the others are skipped, not computed."""

    def __init__(self, net: FoldedNet, batch_size: int, step: int = 1) -> None:
        if step < 1:
            raise ValueError(f"step must be >= 1 (encode windows 0, step, 2 * step, ...), got {step}")
        self.net = net
        self.batch_size = batch_size
        self.step = step
        self.frames = net.frames
        #: Called after every forward pass as ``on_batch(fraction, windows)``: the fraction of this
        #: push's windows encoded so far and the number of windows (per stream) it encodes (all it
        #: completes; with ``step``, those of them it keeps).
        self.on_batch: Callable[[float, int], None] | None = None
        self._tail: torch.Tensor | None = None  # the last T-1 embeddings: the start of the next windows
        self._windows = 0  # windows completed since the start (or reset), encoded or skipped

    def push(self, frames: torch.Tensor) -> torch.Tensor:
        """Next frames (S, k, J, 2) -> centre predictions (S, m, J, 3) of the m windows they complete
        (with ``step``: of those among them whose index in the stream is a multiple of ``step``)."""
        emb = self.net.embed(frames)
        if self._tail is not None:
            emb = torch.cat([self._tail, emb], dim=1)
        self._tail = emb[:, max(0, emb.shape[1] - self.frames + 1) :]
        if emb.shape[1] < self.frames:
            return emb.new_empty(emb.shape[0], 0, self.net.joints, 3)
        windows = emb.unfold(1, self.frames, 1).transpose(2, 3)  # (S, m, T, d): a view, no copy
        first = -self._windows % self.step  # the first of these windows whose index is a multiple of step
        self._windows += windows.shape[1]
        return self._encode(windows[:, first :: self.step])

    def reset(self) -> None:
        """Forget the carried-over frames (the next push starts a new sequence)."""
        self._tail = None
        self._windows = 0

    def _encode(self, windows: torch.Tensor) -> torch.Tensor:
        """(S, m, T, d) -> (S, m, J, 3), about ``batch_size`` windows per forward pass."""
        s, m = windows.shape[:2]
        out = windows.new_empty(s, m, self.net.joints, 3)
        streams = min(s, self.batch_size)
        per_stream = max(1, self.batch_size // streams)
        for i in range(0, s, streams):
            for j in range(0, m, per_stream):
                out[i : i + streams, j : j + per_stream] = self.net.centre(windows[i : i + streams, j : j + per_stream])
                if self.on_batch is not None:
                    self.on_batch((i * m + min(j + per_stream, m) * min(streams, s - i)) / (s * m), m)
        return out
