"""Train a Strided Transformer on Human3.6M with the paper's full-to-single loss.

    python -m liftpose.train --data ../shared/data/h36m --frames 27 --out runs/h36m-27

Windows of T frames are centred on every training frame (edges replicated) and gathered with
one indexing operation per batch. Checkpoints (``OUT/last.pt``) resume exactly: the batch order,
flips, noise and dropout of step ``s`` are drawn from generators seeded by ``(seed, s)``, so a
run resumed from step ``s`` computes the same losses and weights as one never interrupted.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .augment import DetectorAugment
from .camera import normalize_screen
from .config import ModelConfig
from .datasets.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS, Sequence, available_subjects, load_h36m
from .model import StridedTransformer
from .skeleton import BONES, flip_poses
from .warm_start import init_from


@dataclass
class WindowPool:
    """All sequences concatenated, each padded by ``radius`` replicated frames on both sides.

    ``centres`` indexes the real frames; a window is ``centres[i] + arange(-radius, radius + 1)``.
    """

    inputs: torch.Tensor  # (F, J, 2) normalised 2D
    targets: torch.Tensor  # (F, J, 3) root-relative metres
    centres: torch.Tensor  # (N,) long
    radius: int
    detections: torch.Tensor | None = None  # (F, J, 2) normalised detector 2D of the same frames

    @classmethod
    def from_sequences(cls, seqs: list[Sequence], frames: int, detections: list[Sequence] | None = None) -> "WindowPool":
        """``detections``: the same (subject, action, camera) sequences with detector 2D; a
        sequence without detections uses its ``seqs`` input in their place."""
        r = frames // 2
        pad = functools.partial(np.pad, pad_width=((r, r), (0, 0), (0, 0)), mode="edge")
        by_key = {(d.subject, d.action, d.camera): d for d in detections or ()}
        xs, ds, ys, cs, offset = [], [], [], [], 0
        for s in seqs:
            xs.append(pad(normalize_screen(s.keypoints_2d, s.width, s.height)))
            if detections is not None:
                d = by_key.get((s.subject, s.action, s.camera), s)
                ds.append(pad(normalize_screen(d.keypoints_2d, d.width, d.height)))
            ys.append(pad(s.poses_3d))
            cs.append(np.arange(len(s.poses_3d)) + offset + r)
            offset += len(s.poses_3d) + 2 * r
        return cls(
            torch.from_numpy(np.concatenate(xs)),
            torch.from_numpy(np.concatenate(ys)),
            torch.from_numpy(np.concatenate(cs)),
            r,
            torch.from_numpy(np.concatenate(ds)) if detections is not None else None,
        )

    def __len__(self) -> int:
        return len(self.centres)

    def to(self, device: torch.device | str) -> "WindowPool":
        """The same pool with its tensors on ``device`` (windows are then gathered there)."""
        detections = self.detections.to(device) if self.detections is not None else None
        return WindowPool(self.inputs.to(device), self.targets.to(device), self.centres.to(device), self.radius, detections)

    def _window_frames(self, idx: torch.Tensor) -> torch.Tensor:
        w = self.centres[idx.to(self.centres.device), None]
        return w + torch.arange(-self.radius, self.radius + 1, device=w.device)

    def gather(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows around ``centres[idx]``: inputs (B, T, J, 2), targets (B, T, J, 3)."""
        w = self._window_frames(idx)
        return self.inputs[w], self.targets[w]

    def gather_detections(self, idx: torch.Tensor) -> torch.Tensor | None:
        """The detector 2D of the same windows (B, T, J, 2), or None when the pool has none."""
        return None if self.detections is None else self.detections[self._window_frames(idx)]


def mpjpe_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


_PARENTS, _CHILDREN = ([bone[i] for bone in BONES] for i in (0, 1))


def _bone_lengths(poses: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(poses[..., _CHILDREN, :] - poses[..., _PARENTS, :], dim=-1)


def bone_length_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error (metres) of the 16 bone lengths of poses (..., 17, 3)."""
    return (_bone_lengths(pred) - _bone_lengths(target)).abs().mean()


def full_to_single_loss(
    model: StridedTransformer, x: torch.Tensor, y: torch.Tensor, bone_weight: float = 0.0
) -> torch.Tensor:
    """MPJPE of the VTE over all T frames + MPJPE of the STE on the centre frame (weights 1, 1),
    plus ``bone_weight`` times the bone-length error of both (0: the paper's loss).

    Where the 2D leaves a joint's depth ambiguous (a limb pointing towards or away from the
    camera), MPJPE is indifferent between the two depths and any point between them, and the
    points between them shorten the bone; the bone-length term makes the network commit to one.
    """
    centre, window = model(x)
    y = y - y[..., :1, :]  # the official code zeroes the pelvis of the target
    window, centre, y_centre = window.float(), centre.float(), y[:, model.cfg.frames // 2]
    loss = mpjpe_loss(window, y) + mpjpe_loss(centre, y_centre)
    if bone_weight:
        loss = loss + bone_weight * (bone_length_loss(window, y) + bone_length_loss(centre, y_centre))
    return loss


def _step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


@functools.lru_cache(maxsize=1)
def _epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed + 7919 * epoch))


def batch_indices(n: int, batch: int, seed: int, step: int, steps_per_epoch: int) -> torch.Tensor:
    """Indices of step ``step``: consecutive slices of a fresh permutation of all ``n`` windows per
    epoch, wrapping around when an epoch asks for more than ``n`` samples."""
    epoch, k = divmod(step, steps_per_epoch)
    return _epoch_permutation(n, seed, epoch)[(k * batch + torch.arange(batch)) % n]


@torch.no_grad()
def quick_eval(model: StridedTransformer, pool: WindowPool, n: int = 4096, batch: int = 1024) -> float:
    """Protocol-1 MPJPE (mm, pelvis subtracted) of the STE on ``n`` evenly spaced test windows
    (at most all of them): a training monitor."""
    model.eval()
    n = min(n, len(pool))
    idx = torch.linspace(0, len(pool) - 1, n).long()
    errs = []
    for i in range(0, n, batch):
        x, y = pool.gather(idx[i : i + batch])
        centre, _ = model(x)
        centre = centre - centre[:, :1]
        errs.append(torch.linalg.vector_norm(centre - y[:, pool.radius], dim=-1).mean(-1))
    model.train()
    return float(torch.cat(errs).mean()) * 1000


@dataclass
class TrainResult:
    """What :func:`train` did: the output folder, the step it ended at and the loss of every step
    it ran (``losses[i]`` belongs to step ``first_step + i + 1``)."""

    out: Path
    step: int
    first_step: int
    losses: list[float] = field(default_factory=list)


def _save_checkpoint(path: Path, state: dict) -> None:
    """Write to a temporary file and rename, so an interrupted save never leaves a broken checkpoint."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(args: argparse.Namespace) -> TrainResult:
    torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = ModelConfig.for_frames(args.frames)
    torch.manual_seed(args.seed)  # the initial weights
    model = StridedTransformer(cfg)
    if args.init_from and not (args.resume and (out / "last.pt").exists()):
        init_from(model, args.init_from)
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, amsgrad=True)

    augment = _detector_augment(args)
    seqs = load_h36m(args.data, tuple(args.subjects), args.input)
    dets = load_h36m(args.data, tuple(args.subjects), "sh") if augment and augment.detections > 0 else None
    pool = WindowPool.from_sequences(seqs, cfg.frames, dets).to(device)
    vals = {}
    if args.eval_every:
        val_subjects = tuple(s for s in args.val_subjects if s in available_subjects(args.data))
        for source in dict.fromkeys((args.input, "sh") if augment else (args.input,)):
            if val_subjects:
                vals[source] = WindowPool.from_sequences(load_h36m(args.data, val_subjects, source), cfg.frames).to(device)
        if not val_subjects:
            print(f"no {'/'.join(args.val_subjects)} in {args.data}: no validation", flush=True)
    samples = args.epoch_samples or len(pool)
    steps_per_epoch = max(1, samples // args.batch)
    noise = args.noise_px * 2 / 1000.0  # pixels -> normalised units of a 1000-px-wide image

    step = 0
    ckpt = out / "last.pt"
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["config"] != cfg.to_dict():
            raise ValueError(f"{ckpt} was trained with {state['config']}, not {cfg.to_dict()}: resume with the same --frames")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step = int(state["step"])
        print(f"resumed from {ckpt} at step {step}", flush=True)

    model.train()
    result = TrainResult(out, step, step)
    t0, losses = time.time(), []
    deadline = time.time() + 60 * args.max_minutes if args.max_minutes is not None else float("inf")
    while step < args.steps:
        lr = args.lr * args.lr_decay ** (step // steps_per_epoch)
        for g in opt.param_groups:
            g["lr"] = lr
        gen = _step_generator(args.seed, step)
        torch.manual_seed(args.seed * 1_000_003 + step)  # dropout
        idx = batch_indices(len(pool), args.batch, args.seed, step, steps_per_epoch)
        x, y = pool.gather(idx)
        # Drawn on the CPU generator whatever the device, so a step's flips and noise never change.
        flip = (torch.rand(len(x), generator=gen) < 0.5).to(device)
        if augment:
            x = augment(x, pool.gather_detections(idx), gen)
        x[flip], y[flip] = flip_poses(x[flip]), flip_poses(y[flip])
        if noise > 0:
            x = x + noise * torch.randn(x.shape, generator=gen).to(device)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=args.bf16):
            loss = full_to_single_loss(model, x, y, args.bone_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        result.losses.append(losses[-1])
        step += 1
        if step % args.log_every == 0 or step == args.steps:
            rate = len(losses) * args.batch / (time.time() - t0)
            print(f"step {step} epoch {step / steps_per_epoch:.2f} lr {lr:.2e} "
                  f"loss {np.mean(losses):.5f} ({rate:.0f} samples/s)", flush=True)  # fmt: skip
            t0, losses = time.time(), []
        stop = time.time() > deadline
        if step % args.save_every == 0 or step == args.steps or stop:
            _save_checkpoint(ckpt, {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                                    "config": cfg.to_dict()})  # fmt: skip
        for source, val in vals.items():
            if step % args.eval_every == 0 or step == args.steps:
                print(f"step {step} val MPJPE (STE, {source} 2D, {min(4096, len(val))} windows of {'+'.join(val_subjects)}): "
                      f"{quick_eval(model, val):.1f} mm", flush=True)  # fmt: skip
        if stop:
            print(f"stopped at step {step} after --max-minutes {args.max_minutes}: continue with --resume", flush=True)
            break
    from .serialization import save_pretrained

    save_pretrained(model, out)
    result.step = step
    return result


def _detector_augment(args: argparse.Namespace) -> DetectorAugment | None:
    if not args.detector_aug:
        return None
    return DetectorAugment(detections=args.aug_detections, offset_px=args.aug_offset_px, jitter_px=args.aug_jitter_px,
                           drop=args.aug_drop, adapter=args.aug_adapter, framing=args.aug_framing,
                           scale=args.aug_scale, shift=args.aug_shift)  # fmt: skip


def build_parser(p: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = p or argparse.ArgumentParser(prog="liftpose train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="Human3.6M folder (poses_3d_world.npz, cameras.json, ...)")
    p.add_argument("--out", required=True, help="output folder: last.pt, model.safetensors, config.json")
    p.add_argument("--frames", type=int, default=27)
    p.add_argument("--input", choices=("gt", "sh"), default="gt", help="2D input: projected ground truth or Stacked Hourglass")
    p.add_argument("--noise-px", type=float, default=0.0, help="Gaussian noise std on 2D inputs, pixels of a 1000-px image")
    p.add_argument("--subjects", nargs="+", default=list(TRAIN_SUBJECTS))
    p.add_argument("--val-subjects", nargs="+", default=list(TEST_SUBJECTS), help="subjects of the quick monitor")
    p.add_argument("--init-from", metavar="NAME_OR_PATH",
                   help="start from another model's weights (any T: positional embeddings resampled in time)")  # fmt: skip
    aug = DetectorAugment()
    p.add_argument("--detector-aug", action="store_true",
                   help="detector-like inputs: real SH detections for a fraction of windows, imitated detector errors "
                        "for the rest (liftpose.augment); the --aug-* options set its strengths")  # fmt: skip
    p.add_argument("--aug-detections", type=float, default=aug.detections, help="fraction of windows from SH detections")
    p.add_argument("--aug-offset-px", type=float, default=aug.offset_px, help="per-joint definition offset std (px)")
    p.add_argument("--aug-jitter-px", type=float, default=aug.jitter_px, help="largest per-frame jitter std (px)")
    p.add_argument("--aug-drop", type=float, default=aug.drop, help="probability of dropped, interpolated joints")
    p.add_argument("--aug-adapter", type=float, default=aug.adapter, help="probability of COCO-17 adapter torso joints")
    p.add_argument("--aug-framing", type=float, default=aug.framing, help="probability of rescaling/moving the person")
    p.add_argument("--aug-scale", type=float, default=aug.scale, help="scale range [1/s, s] of --aug-framing")
    p.add_argument("--aug-shift", type=float, default=aug.shift, help="shift range (normalised units) of --aug-framing")
    p.add_argument("--bone-weight", type=float, default=0.0,
                   help="weight of a bone-length error term added to the loss (0: the paper's loss)")  # fmt: skip
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-decay", type=float, default=0.95, help="multiplied into the lr once per epoch")
    p.add_argument("--epoch-samples", type=int, default=0, help="samples per 'epoch' for the lr decay (0: the whole set)")
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


def main(argv: list[str] | None = None) -> None:
    train(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
