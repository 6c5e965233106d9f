"""Hyper-parameters of the Strided Transformer, saved as ``config.json`` next to the weights."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import LiftposeError

#: Stride factors of the strided encoder for the input lengths of the paper.
#: Their product is the number of frames, so the STE shrinks the window to one frame.
DEFAULT_STRIDES: dict[int, tuple[int, ...]] = {
    27: (3, 3, 3),
    81: (3, 3, 9),
    243: (3, 9, 9),
    351: (3, 9, 13),
}


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a Strided Transformer. Defaults are the paper's (d_model 256, FFN 512, 8 heads).

    ``frames`` is the receptive field T; ``strides`` has one entry per strided layer and
    multiplies to ``frames``.
    """

    frames: int = 243
    strides: tuple[int, ...] = (3, 9, 9)
    joints: int = 17
    d_model: int = 256
    d_ff: int = 512
    heads: int = 8
    vte_layers: int = 3
    ste_kernel: int = 3
    dropout: float = 0.1
    embed_dropout: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "strides", tuple(int(s) for s in self.strides))
        if self.frames < 1 or self.frames % 2 == 0:
            raise LiftposeError(f"frames must be a positive odd number (the window is centred), got {self.frames}")
        if math.prod(self.strides) != self.frames:
            raise LiftposeError(
                f"strides {self.strides} multiply to {math.prod(self.strides)}, not frames={self.frames}; "
                f"use e.g. {DEFAULT_STRIDES.get(self.frames, 'factors whose product is the frame count')}"
            )
        if self.d_model % self.heads:
            raise LiftposeError(f"d_model={self.d_model} is not divisible by heads={self.heads}")

    @classmethod
    def for_frames(cls, frames: int, strides: tuple[int, ...] | None = None, **kwargs) -> ModelConfig:
        """The paper's configuration for ``frames`` input frames (strides from :data:`DEFAULT_STRIDES`)."""
        if strides is None:
            if frames not in DEFAULT_STRIDES:
                raise LiftposeError(
                    f"no default strides for {frames} frames (known: {sorted(DEFAULT_STRIDES)}); "
                    "pass strides explicitly"
                )
            strides = DEFAULT_STRIDES[frames]
        return cls(frames=frames, strides=tuple(strides), **kwargs)

    @property
    def ste_layers(self) -> int:
        return len(self.strides)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["strides"] = list(self.strides)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise LiftposeError(f"unknown config fields {sorted(unknown)}; known fields: {sorted(known)}")
        return cls(**d)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ModelConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))
