"""Start a model of one receptive field from the weights of another (``liftpose train --init-from``).

Every weight of the Strided Transformer is per frame or per layer, and so independent of the
number of frames T, except the learned positional embeddings: ``vte_pos`` (1, T, C) and ``ste_pos``
(L, T, C), of which STE layer ``l`` uses the first ``T / prod(strides[:l])`` rows (its input is
that much shorter). Those used rows are resampled linearly in time from the source's used rows to
the target's, so an embedding keeps its shape over the window whatever its length; the same T
gives the identity. Weights whose shapes differ otherwise (another width, joint count, layer
count) cannot be carried and are listed.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from .model import StridedTransformer
from .serialization import load_model

log = logging.getLogger(__name__)


def resample_in_time(pos: torch.Tensor, frames: int) -> torch.Tensor:
    """(..., T, C) -> (..., frames, C) by linear interpolation with the first and last rows kept
    (``align_corners``): the window's centre maps to the centre."""
    lead, (t, c) = pos.shape[:-2], pos.shape[-2:]
    if t == frames:
        return pos.clone()
    x = pos.reshape(-1, t, c).transpose(1, 2)
    x = F.interpolate(x, size=frames, mode="linear", align_corners=True) if t > 1 else x.expand(-1, -1, frames)
    return x.transpose(1, 2).reshape(*lead, frames, c)


def _ste_lengths(model: StridedTransformer) -> list[int]:
    """Rows of ``ste_pos`` each STE layer uses: T, T / s0, T / (s0 s1), ..."""
    return [model.cfg.frames // math.prod(model.cfg.strides[:i]) for i in range(len(model.cfg.strides))]


def transfer_weights(source: StridedTransformer, target: StridedTransformer) -> list[str]:
    """Copy ``source``'s weights into ``target`` (in place), resampling the positional embeddings
    in time; returns the names of the target tensors that could not be carried (left as they were)."""
    src, dst = source.state_dict(), target.state_dict()
    skipped = []
    with torch.no_grad():
        for name, value in dst.items():
            if name not in src:
                skipped.append(name)
            elif name == "vte_pos" and src[name].shape[-1] == value.shape[-1]:
                value.copy_(resample_in_time(src[name], target.cfg.frames))
            elif name == "ste_pos" and src[name].shape[0] == value.shape[0] and src[name].shape[-1] == value.shape[-1]:
                value.zero_()
                for layer, (n_src, n_dst) in enumerate(zip(_ste_lengths(source), _ste_lengths(target), strict=True)):
                    value[layer, :n_dst] = resample_in_time(src[name][layer, :n_src], n_dst)
            elif src[name].shape == value.shape:
                value.copy_(src[name])
            else:
                skipped.append(name)
    return skipped


def init_from(target: StridedTransformer, name_or_path: str | Path) -> list[str]:
    """Warm-start ``target`` from a named model, a folder or a ``.safetensors`` file (anything
    ``liftpose.serialization.load_model`` takes); logs and returns what could not be carried."""
    source = load_model(name_or_path)
    skipped = transfer_weights(source, target)
    log.info(
        "initialised T=%d from %s (T=%d)%s",
        target.cfg.frames,
        name_or_path,
        source.cfg.frames,
        f"; not carried: {skipped}" if skipped else "; every weight carried",
    )
    return skipped
