"""Train a Strided Transformer on Human3.6M with the paper's full-to-single loss.

    python -m liftpose.train --data ../shared/data/h36m --frames 27 --out runs/h36m-27

or, from Python, ``train(TrainConfig(data="../shared/data/h36m", out="runs/h36m-27", frames=27))``.

Windows of T frames are centred on every training frame (edges replicated) and gathered with
one indexing operation per batch. Checkpoints (``OUT/last.pt``) resume exactly: the batch order,
flips, noise and dropout of step ``s`` are drawn from generators seeded by ``(seed, s)``, so a
run resumed from step ``s`` computes the same losses and weights as one never interrupted.

Progress (the ``step N epoch ... loss ...`` and ``step N val MPJPE ...`` lines) goes to the
``liftpose.train`` logger at level INFO: ``liftpose train`` and ``python -m liftpose.train`` print
it on stdout; a program calling :func:`train` sees it once it configures logging, e.g.
``logging.basicConfig(level=logging.INFO, format="%(message)s")``. Every call writes its
:class:`TrainConfig` to ``OUT/train_config.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, asdict, dataclass, field, fields
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .augment import UNITS_PER_PX, DetectorAugment
from .bones import segment_lengths
from .camera import normalize_screen
from .config import DEFAULT_STRIDES, ModelConfig
from .datasets.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS, Sequence, available_subjects, load_h36m
from .errors import LiftposeError
from .metrics import joint_errors, mpjpe
from .model import StridedTransformer
from .skeleton import BONES, flip_poses
from .warm_start import init_from
from .world import root_relative

log = logging.getLogger(__name__)

# The two seed strides fix every run's random streams: changing either would make checkpoints of
# earlier runs resume with other batches, flips, noise and dropout (tests/test_train.py pins them).
#: ``seed * STEP_SEED_STRIDE + step`` seeds step ``step``: the generator of its flips, noise and
#: detector augmentation, and the global RNG of its dropout. A prime above any run's step count, so
#: the steps of different seeds get different seeds in runs of up to a million steps.
STEP_SEED_STRIDE = 1_000_003
#: ``seed + EPOCH_SEED_STRIDE * epoch`` seeds the permutation of an epoch's windows (a prime, so
#: that seeds less than EPOCH_SEED_STRIDE apart never share an epoch's order).
EPOCH_SEED_STRIDE = 7919
#: Probability that a training window is mirrored (x negated, left and right joints swapped).
FLIP_PROBABILITY = 0.5
#: Pixels of a 1000-pixel-wide image per normalised screen unit (500, ``1 / augment.UNITS_PER_PX``):
#: ``noise_px / PX_PER_UNIT`` is the noise std in the units of ``camera.normalize_screen``.
PX_PER_UNIT = 1 / UNITS_PER_PX
#: Test windows of the quick validation monitor, evenly spaced (all of them when there are fewer).
MONITOR_WINDOWS = 4096
#: Windows per forward pass of the quick validation monitor.
MONITOR_BATCH = 1024
#: Millimetres per metre: the model predicts metres, the monitor reports millimetres.
MM_PER_M = 1000
#: The 2D inputs a model can be trained on: projected ground truth or Stacked Hourglass detections.
INPUTS: tuple[str, ...] = ("gt", "sh")
#: Files of the output folder: the resumable checkpoint and the record of the run's configuration
#: (the weights are ``model.safetensors`` + ``config.json``, written by ``save_pretrained``).
CHECKPOINT_FILE = "last.pt"
TRAIN_CONFIG_FILE = "train_config.json"


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
    def from_sequences(cls, seqs: list[Sequence], frames: int, detections: list[Sequence] | None = None) -> WindowPool:
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

    def to(self, device: torch.device | str) -> WindowPool:
        """The same pool with its tensors on ``device`` (windows are then gathered there)."""
        detections = self.detections.to(device) if self.detections is not None else None
        return WindowPool(
            self.inputs.to(device), self.targets.to(device), self.centres.to(device), self.radius, detections
        )

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
    """MPJPE over all joints of all poses of a batch (..., J, 3), in the units of the input."""
    return joint_errors(pred, target).mean()


def bone_length_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error (metres) of the 16 bone lengths of poses (..., 17, 3)."""
    return (segment_lengths(pred, BONES) - segment_lengths(target, BONES)).abs().mean()


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
    y = root_relative(y)  # the official code zeroes the pelvis of the target
    window, centre, y_centre = window.float(), centre.float(), y[:, model.cfg.frames // 2]
    loss = mpjpe_loss(window, y) + mpjpe_loss(centre, y_centre)
    if bone_weight:
        loss = loss + bone_weight * (bone_length_loss(window, y) + bone_length_loss(centre, y_centre))
    return loss


def _step_seed(seed: int, step: int) -> int:
    return seed * STEP_SEED_STRIDE + step


def _step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(_step_seed(seed, step))


@functools.lru_cache(maxsize=1)
def _epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed + EPOCH_SEED_STRIDE * epoch))


def batch_indices(n: int, batch: int, seed: int, step: int, steps_per_epoch: int) -> torch.Tensor:
    """Indices of step ``step``: consecutive slices of a fresh permutation of all ``n`` windows per
    epoch, wrapping around when an epoch asks for more than ``n`` samples."""
    epoch, k = divmod(step, steps_per_epoch)
    return _epoch_permutation(n, seed, epoch)[(k * batch + torch.arange(batch)) % n]


@torch.no_grad()
def quick_eval(
    model: StridedTransformer, pool: WindowPool, n: int = MONITOR_WINDOWS, batch: int = MONITOR_BATCH
) -> float:
    """Protocol-1 MPJPE (mm, pelvis subtracted) of the STE on ``n`` evenly spaced test windows
    (at most all of them): a training monitor."""
    model.eval()
    n = min(n, len(pool))
    idx = torch.linspace(0, len(pool) - 1, n).long()
    errs = []
    for i in range(0, n, batch):
        x, y = pool.gather(idx[i : i + batch])
        centre, _ = model(x)
        errs.append(mpjpe(root_relative(centre), y[:, pool.radius]))
    model.train()
    return float(torch.cat(errs).mean()) * MM_PER_M


def _require(ok: bool, name: str, expected: str, value: Any) -> None:
    if not ok:
        option = "--detector-aug/--aug-*" if name == "detector_augment" else "--" + name.replace("_", "-")
        raise LiftposeError(f"TrainConfig.{name} ({option}) must be {expected}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained: one field per ``liftpose train`` option (``--noise-px`` is
    ``noise_px``; ``--detector-aug`` with the ``--aug-*`` options is ``detector_augment``).

    ``data`` and ``out`` are required (and may be given by position); the rest are keyword-only
    and default to the command's defaults. Invalid values raise
    :class:`~liftpose.errors.LiftposeError` naming the field, the option, what it accepts and the
    value received. ``to_dict``/``from_dict`` and ``save``/``load`` convert to and from JSON.
    """

    # -- data and model
    data: Path  # the flat Human3.6M folder (poses_3d_world.npz, cameras.json, ...)
    out: Path  # output folder: last.pt, model.safetensors + config.json, train_config.json
    _: KW_ONLY
    frames: int = 27  # receptive field T: one of the frame counts with default strides (27, 81, 243, 351)
    input: str = "gt"  # 2D input: "gt" (projected ground truth) or "sh" (Stacked Hourglass detections)
    subjects: tuple[str, ...] = TRAIN_SUBJECTS  # training subjects
    val_subjects: tuple[str, ...] = TEST_SUBJECTS  # subjects of the quick monitor (absent ones skipped)
    init_from: str | None = None  # model name or weights folder to start from (any T); None: random weights
    # -- augmentation and loss
    noise_px: float = 0.0  # std of Gaussian noise on the 2D input, pixels of a 1000-px-wide image
    detector_augment: DetectorAugment | None = None  # detector-like inputs (liftpose.augment); None: off
    bone_weight: float = 0.0  # weight of the bone-length error (metres) in the loss; 0: the paper's loss
    # -- optimisation
    batch: int = 256  # windows per step
    steps: int = 10_000  # steps of the whole run (a resumed run counts on from its checkpoint)
    lr: float = 1e-3  # learning rate (Adam with AMSGrad) of the first epoch
    lr_decay: float = 0.95  # factor applied to the learning rate once per epoch
    epoch_samples: int = 0  # windows per "epoch" of the lr decay and the batch order; 0: all training windows
    bf16: bool = False  # bfloat16 autocast (fast on CPUs with AVX512-BF16 and on GPUs)
    seed: int = 0  # seeds the initial weights and, with the step, every random draw of a step
    # -- machine and bookkeeping
    device: str | None = None  # "cpu", "cuda", "cuda:1", ...; None: cuda when available
    threads: int | None = None  # torch CPU threads; None: leave torch's setting
    max_minutes: float | None = None  # wall-clock minutes after which to stop (checkpoint and weights written)
    resume: bool = False  # continue from OUT/last.pt when it exists
    log_every: int = 50  # steps between loss lines
    save_every: int = 500  # steps between checkpoints (also written at the last step and on stopping)
    eval_every: int = 500  # steps between quick validations on val_subjects; 0: never

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        for name in ("data", "out"):
            _require(isinstance(getattr(self, name), (str, os.PathLike)), name, "a path", getattr(self, name))
            set_(name, Path(getattr(self, name)))
        for name in ("subjects", "val_subjects"):
            value = getattr(self, name)
            names = isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value)
            _require(names, name, "a list of subject names such as ['S1', 'S5']", value)
            set_(name, tuple(value))
        if isinstance(self.init_from, os.PathLike):
            set_("init_from", os.fspath(self.init_from))
        for name, ok, expected in self._rules():
            _require(ok, name, expected, getattr(self, name))

    def _rules(self) -> Iterator[tuple[str, bool, str]]:
        """(field, whether its value is valid, what it must be) for the fields after the paths."""
        yield "subjects", len(self.subjects) > 0, "at least one subject name"
        frames = sorted(DEFAULT_STRIDES)
        yield "frames", _is_int(self.frames) and self.frames in frames, f"one of {frames} (with default strides)"
        yield "input", self.input in INPUTS, f"one of {INPUTS}"
        yield "init_from", self.init_from is None or isinstance(self.init_from, str), "None, a model name or a folder"
        augment = self.detector_augment is None or isinstance(self.detector_augment, DetectorAugment)
        yield "detector_augment", augment, "None or a liftpose.augment.DetectorAugment"
        for name in ("noise_px", "bone_weight"):
            yield name, _is_real(getattr(self, name)) and getattr(self, name) >= 0, "a number >= 0"
        for name in ("lr", "lr_decay"):
            yield name, _is_real(getattr(self, name)) and getattr(self, name) > 0, "a number > 0"
        for name, least in (
            ("batch", 1),
            ("steps", 0),
            ("epoch_samples", 0),
            ("log_every", 1),
            ("save_every", 1),
            ("eval_every", 0),
        ):
            yield name, _is_int(getattr(self, name)) and getattr(self, name) >= least, f"an integer >= {least}"
        yield "seed", _is_int(self.seed), "an integer"
        for name in ("bf16", "resume"):
            yield name, isinstance(getattr(self, name), bool), "True or False"
        yield "device", self.device is None or _is_device(self.device), "None or a torch device such as 'cuda:1'"
        threads = self.threads is None or (_is_int(self.threads) and self.threads >= 1)
        yield "threads", threads, "None or an integer >= 1"
        minutes = self.max_minutes is None or (_is_real(self.max_minutes) and self.max_minutes >= 0)
        yield "max_minutes", minutes, "None or a number >= 0"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: paths as strings, subjects as lists, ``detector_augment`` as a dict or None."""
        d = asdict(self)
        d.update(data=str(self.data), out=str(self.out))
        d.update(subjects=list(self.subjects), val_subjects=list(self.val_subjects))
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """The inverse of :meth:`to_dict` (absent fields take their defaults; unknown ones are an error)."""
        known = {f.name for f in fields(cls)}
        unknown, missing = set(d) - known, {"data", "out"} - set(d)
        if unknown or missing:
            raise LiftposeError(
                f"a TrainConfig needs data and out and takes the fields {sorted(known)}: "
                f"got unknown fields {sorted(unknown)}, missing {sorted(missing)}"
            )
        d = dict(d)
        if isinstance(d.get("detector_augment"), Mapping):
            try:
                d["detector_augment"] = DetectorAugment(**d["detector_augment"])
            except TypeError as e:
                raise LiftposeError(f"detector_augment {d['detector_augment']} is no DetectorAugment: {e}") from None
        return cls(**d)

    def save(self, path: str | Path) -> Path:
        """Write the config as JSON to ``path``; returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """A config written by :meth:`save` (e.g. a run's ``train_config.json``)."""
        return cls.from_dict(json.loads(Path(path).read_text()))


def _is_device(name: Any) -> bool:
    try:
        torch.device(name)
    except (RuntimeError, TypeError):
        return False
    return True


@dataclass
class TrainResult:
    """What :func:`train` did: the output folder, the step it ended at and the loss of every step
    it ran (``losses[i]`` belongs to step ``first_step + i + 1``)."""

    out: Path
    step: int
    first_step: int
    losses: list[float] = field(default_factory=list)


@dataclass
class _Pools:
    """The training windows and the quick monitor's, on the training device."""

    train: WindowPool
    val: dict[str, WindowPool]  # by 2D source ("gt", "sh"); empty: no validation
    val_subjects: tuple[str, ...]


def _load_pools(config: TrainConfig, frames: int, device: torch.device) -> _Pools:
    """Windows of ``config.subjects`` (with the Stacked Hourglass detections of the same frames when the
    detector augmentation uses them) and, when ``eval_every``, of the ``val_subjects`` the data has, for
    the training input and, with the detector augmentation, for the detections too."""
    augment = config.detector_augment
    seqs = load_h36m(config.data, config.subjects, config.input)
    dets = load_h36m(config.data, config.subjects, "sh") if augment and augment.detections > 0 else None
    train = WindowPool.from_sequences(seqs, frames, dets).to(device)
    val: dict[str, WindowPool] = {}
    val_subjects: tuple[str, ...] = ()
    if config.eval_every:
        val_subjects = tuple(s for s in config.val_subjects if s in available_subjects(config.data))
        if not val_subjects:
            log.warning("no %s in %s: no validation", "/".join(config.val_subjects), config.data)
        for source in dict.fromkeys((config.input, "sh") if augment else (config.input,)) if val_subjects else ():
            val[source] = WindowPool.from_sequences(load_h36m(config.data, val_subjects, source), frames).to(device)
    return _Pools(train, val, val_subjects)


@dataclass
class _StepBatches:
    """The inputs and targets of any step, from the step's own generator: batch order, flips, detector
    augmentation and noise depend on ``(seed, step)`` alone, so a resumed run draws what an
    uninterrupted one would."""

    pool: WindowPool
    batch: int
    seed: int
    steps_per_epoch: int
    augment: DetectorAugment | None
    noise: float  # noise std, normalised screen units

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        gen = _step_generator(self.seed, step)
        idx = batch_indices(len(self.pool), self.batch, self.seed, step, self.steps_per_epoch)
        x, y = self.pool.gather(idx)
        device = x.device
        # Drawn on the CPU generator whatever the device, so a step's flips and noise never change.
        flip = (torch.rand(len(x), generator=gen) < FLIP_PROBABILITY).to(device)
        if self.augment:
            x = self.augment(x, self.pool.gather_detections(idx), gen)
        x[flip], y[flip] = flip_poses(x[flip]), flip_poses(y[flip])
        if self.noise > 0:
            x = x + self.noise * torch.randn(x.shape, generator=gen).to(device)
        return x, y


def _train_step(
    model: StridedTransformer,
    opt: torch.optim.Optimizer,
    batches: _StepBatches,
    config: TrainConfig,
    step: int,
    lr: float,
) -> float:
    """One optimiser step at learning rate ``lr``; returns its loss."""
    for g in opt.param_groups:
        g["lr"] = lr
    torch.manual_seed(_step_seed(config.seed, step))  # the step's dropout
    x, y = batches(step)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.bf16):
        loss = full_to_single_loss(model, x, y, config.bone_weight)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def _write_checkpoint(
    path: Path, model: StridedTransformer, opt: torch.optim.Optimizer, step: int, cfg: ModelConfig
) -> None:
    """Write ``last.pt`` (model, optimizer, step, config) to a temporary file and rename it, so an
    interrupted save never leaves a broken checkpoint."""
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "config": cfg.to_dict()}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _read_checkpoint(path: Path, model: StridedTransformer, opt: torch.optim.Optimizer, cfg: ModelConfig) -> int:
    """Load the model and optimiser state of ``path`` (trained with ``cfg``); returns its step."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["config"] != cfg.to_dict():
        raise LiftposeError(
            f"{path} was trained with {state['config']}, not {cfg.to_dict()}: resume with the same --frames"
        )
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    step = int(state["step"])
    log.info("resumed from %s at step %d", path, step)
    return step


def average_checkpoints(paths: Iterable[str | os.PathLike]) -> StridedTransformer:
    """The model whose weights are the mean of the weights of the ``last.pt`` checkpoints ``paths``
    (snapshots of one run, e.g. every 80 steps of its last 1,000): checkpoint averaging, which
    smooths out the step-to-step noise of small-batch training (Izmailov et al. 2018, "Averaging
    weights leads to wider optima"). Floating-point tensors, BatchNorm running statistics
    included, are averaged; integer buffers (BatchNorm's step counters) are the last checkpoint's.
    Raises :class:`~liftpose.errors.LiftposeError` if the checkpoints are of different networks."""
    paths = list(paths)
    if not paths:
        raise LiftposeError("average_checkpoints needs at least one checkpoint, got none")
    states = [torch.load(p, map_location="cpu", weights_only=True) for p in paths]
    configs = {json.dumps(s["config"], sort_keys=True) for s in states}
    if len(configs) > 1:
        raise LiftposeError(f"checkpoints of different networks cannot be averaged: configs {sorted(configs)}")
    mean = {}
    for name, last in states[-1]["model"].items():
        tensors = [s["model"][name] for s in states]
        mean[name] = torch.stack(tensors).mean(0) if last.is_floating_point() else last
    model = StridedTransformer(ModelConfig.from_dict(states[0]["config"]))
    model.load_state_dict(mean)
    return model


class _Monitor:
    """The progress lines: the mean loss and throughput every ``log_every`` steps, the quick
    validation every ``eval_every`` steps (and both at the last step, and at a ``max_minutes``
    stop, so that a run stopped by the clock ends with a reading of the weights it wrote)."""

    def __init__(self, config: TrainConfig, steps_per_epoch: int, pools: _Pools) -> None:
        self.config, self.steps_per_epoch, self.pools = config, steps_per_epoch, pools
        self.t0, self.losses = time.time(), []

    def _due(self, step: int, every: int, last: bool) -> bool:
        return last or step % every == 0 or step == self.config.steps

    def loss(self, step: int, lr: float, loss: float, last: bool = False) -> None:
        self.losses.append(loss)
        if self._due(step, self.config.log_every, last):
            rate = len(self.losses) * self.config.batch / (time.time() - self.t0)
            log.info(
                "step %d epoch %.2f lr %.2e loss %.5f (%.0f samples/s)",
                step,
                step / self.steps_per_epoch,
                lr,
                np.mean(self.losses),
                rate,
            )
            self.t0, self.losses = time.time(), []

    def validate(self, model: StridedTransformer, step: int, last: bool = False) -> None:
        if not self.pools.val or not self._due(step, self.config.eval_every, last):
            return
        subjects = "+".join(self.pools.val_subjects)
        for source, pool in self.pools.val.items():
            windows, error = min(MONITOR_WINDOWS, len(pool)), quick_eval(model, pool)
            log.info(
                "step %d val MPJPE (STE, %s 2D, %d windows of %s): %.1f mm", step, source, windows, subjects, error
            )


def _initial_model(config: TrainConfig, cfg: ModelConfig, warm_start: bool) -> StridedTransformer:
    """Weights from ``config.seed``, or ``config.init_from``'s when ``warm_start``."""
    torch.manual_seed(config.seed)  # the initial weights
    model = StridedTransformer(cfg)
    if config.init_from and warm_start:
        init_from(model, config.init_from)
    return model


def train(config: TrainConfig) -> TrainResult:
    """Train a model as ``config`` says (with ``resume``, continue ``OUT/last.pt``) and write its
    weights to ``config.out``.

    Writes ``train_config.json`` first, ``last.pt`` every ``save_every`` steps, at the last step
    and on stopping after ``max_minutes``, and ``model.safetensors`` + ``config.json`` at the end.
    An ``argparse.Namespace`` of the ``liftpose train`` options is still accepted, with a
    DeprecationWarning.
    """
    if isinstance(config, argparse.Namespace):
        from .cli.train import config_from_args

        warnings.warn(
            "train(argparse.Namespace) is deprecated: pass a TrainConfig, e.g. "
            "train(liftpose.cli.train.config_from_args(args))",
            DeprecationWarning,
            stacklevel=2,
        )
        config = config_from_args(config)
    if not isinstance(config, TrainConfig):
        raise LiftposeError(f"train takes a TrainConfig, got {type(config).__name__}")
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    config.out.mkdir(parents=True, exist_ok=True)
    config.save(config.out / TRAIN_CONFIG_FILE)
    cfg = ModelConfig.for_frames(config.frames)
    checkpoint = config.out / CHECKPOINT_FILE
    resuming = config.resume and checkpoint.exists()
    model = _initial_model(config, cfg, warm_start=not resuming).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, amsgrad=True)
    pools = _load_pools(config, cfg.frames, device)
    steps_per_epoch = max(1, (config.epoch_samples or len(pools.train)) // config.batch)
    batches = _StepBatches(
        pools.train, config.batch, config.seed, steps_per_epoch, config.detector_augment, config.noise_px / PX_PER_UNIT
    )
    step = _read_checkpoint(checkpoint, model, opt, cfg) if resuming else 0
    detections = " and their SH detections" if pools.train.detections is not None else ""
    log.info(
        "%d training windows of %s (%s 2D%s); an epoch of the lr decay is %d steps of %d",
        len(pools.train),
        "+".join(config.subjects),
        config.input,
        detections,
        steps_per_epoch,
        config.batch,
    )

    model.train()
    result = TrainResult(config.out, step, step)
    monitor = _Monitor(config, steps_per_epoch, pools)
    deadline = time.time() + 60 * config.max_minutes if config.max_minutes is not None else float("inf")  # seconds
    while step < config.steps:
        lr = config.lr * config.lr_decay ** (step // steps_per_epoch)
        result.losses.append(_train_step(model, opt, batches, config, step, lr))
        step += 1
        stop = time.time() > deadline
        monitor.loss(step, lr, result.losses[-1], last=stop)
        if step % config.save_every == 0 or step == config.steps or stop:
            _write_checkpoint(checkpoint, model, opt, step, cfg)
        monitor.validate(model, step, last=stop)
        if stop:
            log.info("stopped at step %d after --max-minutes %s: continue with --resume", step, config.max_minutes)
            break
    from .serialization import save_pretrained

    save_pretrained(model, config.out)
    result.step = step
    return result


def main(argv: list[str] | None = None) -> None:
    """``python -m liftpose.train ARGS`` is ``liftpose train ARGS`` (the options live in :mod:`liftpose.cli.train`)."""
    from .cli import main as cli_main

    cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
