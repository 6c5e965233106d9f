"""Test oracle: the official evaluation loop, the specification that :class:`~liftpose.Lifter` is
tested (tests/test_predictor.py) and benchmarked (benchmarks/bench_predict.py) against: one
edge-padded window per frame, run alone (batch 1) through the training-time ``forward``, flip
averaged. Deliberately naive: it shares no code with the engine it checks."""

from __future__ import annotations

import torch

from liftpose.model import StridedTransformer
from liftpose.skeleton import ROOT, flip_poses


@torch.no_grad()
def reference_predict(
    model: StridedTransformer, x: torch.Tensor, flip: bool, frames: int | None = None
) -> torch.Tensor:
    """Normalised 2D (L, 17, 2) -> poses (n, 17, 3) of the first ``frames`` (default all L) frames, pelvis zeroed."""
    t = model.cfg.frames
    padded = torch.cat([x[:1].expand(t // 2, -1, -1), x, x[-1:].expand(t // 2, -1, -1)])
    out = []
    for i in range(len(x) if frames is None else frames):
        window = padded[i : i + t][None]
        centre = model(window)[0]
        if flip:
            centre = (centre + flip_poses(model(flip_poses(window))[0])) / 2
        centre[..., ROOT, :] = 0
        out.append(centre[0])
    return torch.stack(out)
