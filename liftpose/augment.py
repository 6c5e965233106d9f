"""Training inputs that look like a 2D detector's output, made on the fly from batches of windows.

A model trained on projected ground truth alone sees clean, marker-defined joints; what users feed
it is a detector's 2D, usually through a layout adapter (``liftpose.formats``). This module turns a
batch of windows (B, T, 17, 2), in the normalised screen units of ``camera.normalize_screen``, into
inputs with the defects of real detections:

- **real detections**: a fraction of the windows take the Stacked Hourglass detections of the same
  frames instead of the ground truth (``DetectorAugment.detections``);
- **joint definitions**: a constant offset per window and joint (a detector's "hip" or "head" is
  not the motion-capture marker), then per-frame jitter of a per-window strength; a fraction of
  the ground-truth windows (``clean``) can be left exact, so that clean 2D stays in the training
  distribution;
- **dropped joints**: spans of frames in which a joint is missing, filled by linear interpolation
  over time as ``preprocess.fill_gaps`` does at inference;
- **adapter joints**: pelvis, spine and thorax rebuilt from the hips and shoulders exactly as the
  COCO-17 adapter builds them (``formats.LAYOUTS["coco17"]``), so the model sees the joint
  definitions it gets in use;
- **framing**: the person scaled about the window's mean pelvis and moved in the frame.

Every random draw comes from the generator passed in, so a training step stays reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .errors import LiftposeError
from .formats import LAYOUTS
from .skeleton import JOINT_NAMES

#: Normalised screen units per pixel of a 1000-pixel-wide image (``normalize_screen`` maps the
#: width to 2), the unit in which training noise is stated.
UNITS_PER_PX = 2 / 1000


def _adapter_rules(layout: str = "coco17") -> dict[int, tuple[int, ...]]:
    """H36M joint -> the H36M joints that play the adapter's sources, for joints the adapter
    synthesises from body joints (face-derived joints are left to the offset augmentation: the
    ground truth has no eyes or nose)."""
    index = {name: i for i, name in enumerate(JOINT_NAMES)}
    rules = {}
    for joint, sources in LAYOUTS[layout].derived.items():
        if all(s in index for s in sources):
            rules[index[joint]] = tuple(index[s] for s in sources)
    return rules


#: pelvis = mid(hips), spine = mean(shoulders, hips), thorax = mid(shoulders), in H36M indices.
ADAPTER_RULES: dict[int, tuple[int, ...]] = _adapter_rules()


@dataclass(frozen=True)
class DetectorAugment:
    """How often and how strongly each defect is applied (probabilities per window; pixels of a
    1000-pixel-wide image). The defaults make about half the windows real detections and give the
    other half detector-like defects; all zero leaves the input as it is."""

    detections: float = 0.5  # fraction of windows taken from the detections (where present)
    clean: float = 0.0  # fraction of the ground-truth windows left without imitated offsets and jitter
    offset_px: float = 6.0  # std of the constant per-joint offset of a window
    jitter_px: float = 4.0  # per-frame noise std, drawn per window uniformly in [0, jitter_px]
    drop: float = 0.2  # probability that a window has dropped joints
    max_dropped_joints: int = 3
    adapter: float = 0.5  # probability of rebuilding pelvis/spine/thorax as the COCO-17 adapter does
    framing: float = 0.5  # probability of rescaling and moving the person in the frame
    scale: float = 1.5  # scale drawn log-uniformly in [1 / scale, scale]
    shift: float = 0.25  # shift of the person, uniform in [-shift, shift] normalised units per axis

    def __post_init__(self) -> None:
        for name in ("detections", "clean", "drop", "adapter", "framing"):
            if not 0 <= getattr(self, name) <= 1:
                raise LiftposeError(f"{name} is a probability in [0, 1], got {getattr(self, name)}")
        if self.scale < 1:
            raise LiftposeError(f"scale is a factor >= 1 (drawn in [1/scale, scale]), got {self.scale}")

    def __call__(self, gt: torch.Tensor, detections: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
        """Detector-like windows (B, T, J, 2) from ground-truth windows ``gt`` and, where given, the
        detections of the same frames (``detections``, same shape, NaN-free)."""
        b, device = len(gt), gt.device

        def rand(*shape: int) -> torch.Tensor:  # drawn on the CPU generator whatever the device
            return torch.rand(shape, generator=generator).to(device)

        def randn(*shape: int) -> torch.Tensor:
            return torch.randn(shape, generator=generator).to(device)

        # Ground-truth windows get imitated detector errors; real detections have their own.
        noise = self.offset_px * randn(b, 1, gt.shape[2], 2) + self.jitter_px * rand(b, 1, 1, 1) * randn(*gt.shape)
        if self.clean > 0:  # drawn only when asked for, so that runs without it keep their batches
            noise = noise * (rand(b) >= self.clean)[:, None, None, None]
        x = gt + UNITS_PER_PX * noise
        if detections is not None and self.detections > 0:
            x = torch.where((rand(b) < self.detections)[:, None, None, None], detections, x)
        if self.drop > 0:
            x = fill_windows(x, ~drop_mask(x.shape[:3], self.drop, self.max_dropped_joints, generator).to(device))
        if self.adapter > 0:
            x = torch.where((rand(b) < self.adapter)[:, None, None, None], adapter_joints(x), x)
        if self.framing > 0:
            x = torch.where((rand(b) < self.framing)[:, None, None, None], self._reframe(x, rand), x)
        return x

    def _reframe(self, x: torch.Tensor, rand) -> torch.Tensor:
        b = len(x)
        scale = torch.exp((2 * rand(b, 1, 1, 1) - 1) * math.log(self.scale))
        centre = x[:, :, :1].mean(1, keepdim=True)  # the window's mean pelvis (B, 1, 1, 2)
        shift = (2 * rand(b, 1, 1, 2) - 1) * self.shift
        return centre + shift + scale * (x - centre)


def adapter_joints(x: torch.Tensor) -> torch.Tensor:
    """(..., 17, 2) H36M-order 2D with the joints the COCO-17 adapter synthesises from hips and
    shoulders (pelvis, spine, thorax) rebuilt its way; a new tensor."""
    out = x.clone()
    for joint, sources in ADAPTER_RULES.items():
        out[..., joint, :] = x[..., list(sources), :].mean(-2)
    return out


def drop_mask(shape: tuple[int, int, int], p: float, max_joints: int, generator: torch.Generator) -> torch.Tensor:
    """(B, T, J) bool, True where a joint is dropped: with probability ``p`` a window loses 1 to
    ``max_joints`` joints (pelvis excluded), each for one span of 1 to T // 2 frames, so no joint is
    missing in every frame of its window."""
    b, t, j = shape
    mask = torch.zeros(shape, dtype=torch.bool)
    hit = torch.rand(b, generator=generator) < p
    for i in torch.nonzero(hit).flatten().tolist():
        k = int(torch.randint(1, max_joints + 1, (1,), generator=generator))
        joints = 1 + torch.randperm(j - 1, generator=generator)[:k]
        for joint in joints.tolist():
            length = int(torch.randint(1, max(2, t // 2 + 1), (1,), generator=generator))
            start = int(torch.randint(0, t - length + 1, (1,), generator=generator))
            mask[i, start : start + length, joint] = True
    return mask


def fill_windows(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Linear interpolation over time of the joints where ``valid`` (B, T, J) is False, held at the
    nearest valid frame at the ends: ``preprocess.fill_gaps`` for batched torch windows (every
    joint must be valid in at least one frame of its window)."""
    t = torch.arange(x.shape[1], device=x.device)[None, :, None]
    n = x.shape[1]
    prev = torch.where(valid, t, -1).cummax(1).values
    after = torch.where(valid, t, n).flip(1).cummin(1).values.flip(1)
    prev, after = torch.where(prev < 0, after, prev), torch.where(after >= n, prev, after)
    weight = ((t - prev) / (after - prev).clamp(min=1)).to(x.dtype)[..., None]
    a = torch.gather(x, 1, prev[..., None].expand_as(x))
    c = torch.gather(x, 1, after[..., None].expand_as(x))
    return a + weight * (c - a)
