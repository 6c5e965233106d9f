"""Human3.6M evaluation in the layout of the paper's tables.

    liftpose evaluate MODEL --data ../shared/data/h36m [--input gt|sh|both] [--flip|--no-flip] [--json OUT]

Protocol 1 (MPJPE, pelvis subtracted) and protocol 2 (P-MPJPE, per-frame similarity Procrustes)
on the test subjects S9 and S11, all frames of all four cameras. Each (subject, action, camera)
sequence is lifted whole by :meth:`liftpose.Lifter.predict` with its image size. An action's error
is the mean over all frames of all its sequences ("Walking 1" counts as "Walking"; "WalkDog" and
"WalkTogether" are actions of their own); "Avg" is the mean of the action means.

Without and with flip augmentation come from one pass: the sequence and its mirror image are
lifted (``flip=False``) and the flip result is their average after mirroring back, which is what
``Lifter.predict(flip=True)`` computes. What ``Lifter.predict`` warns about a sequence (a person
lying down, far-off points, ...) is warned again with the sequence's name in front
(``S7/SittingDown/54138969: ...``, ``... (mirrored): ...`` for its mirror image).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .datasets.h36m import TEST_SUBJECTS, Sequence, action_name, load_h36m
from .datasets.videopose3d import with_keypoints
from .metrics import mpjpe, p_mpjpe
from .skeleton import average_mirrored, flip_poses
from .world import root_relative

if TYPE_CHECKING:
    from .predictor import Lifter

#: The 15 actions in the column order of the paper's tables, with their column headers.
ACTIONS: dict[str, str] = {
    "Directions": "Dir.", "Discussion": "Disc.", "Eating": "Eat", "Greeting": "Greet", "Phoning": "Phone",
    "Photo": "Photo", "Posing": "Pose", "Purchases": "Purch.", "Sitting": "Sit", "SittingDown": "SitD.",
    "Smoking": "Smoke", "Waiting": "Wait", "WalkDog": "WalkD.", "Walking": "Walk", "WalkTogether": "WalkT.",
}  # fmt: skip
INPUT_NAMES = {"gt": "ground-truth 2D (projected)", "sh": "Stacked Hourglass detections"}


@dataclass
class Evaluation:
    """Errors in millimetres per action (plus ``"Avg"``) for one 2D input and flip setting."""

    input: str
    flip: bool
    mpjpe: dict[str, float]
    p_mpjpe: dict[str, float]
    frames: dict[str, int]  # camera-frames per action


def action_means(actions: Iterable[str], errors: Iterable[np.ndarray]) -> tuple[dict[str, float], dict[str, int]]:
    """Sequence names (``"Walking 1"``) and their per-frame errors -> (means, frame counts).

    ``means[action]`` is the mean over all frames of all sequences of that action and
    ``means["Avg"]`` the mean of the action means; actions are in the paper's column order, other
    names after them, sorted.
    """
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for name, err in zip(actions, errors, strict=True):
        key = action_name(name)
        sums[key] = sums.get(key, 0.0) + float(np.sum(err, dtype=np.float64))
        counts[key] = counts.get(key, 0) + int(np.size(err))
    order = [a for a in ACTIONS if a in counts] + sorted(set(counts) - set(ACTIONS))
    means = {a: sums[a] / counts[a] for a in order if counts[a]}
    if means:
        means["Avg"] = float(np.mean(list(means.values())))
    return means, {a: counts[a] for a in order}


def mirror_pixels(keypoints_2d: np.ndarray, width: float) -> np.ndarray:
    """(..., 17, 2) pixels -> the mirror image: ``u -> width - u`` and left/right swapped."""
    out = flip_poses(keypoints_2d)  # u -> -u, left/right swapped (a copy)
    out[..., 0] += width
    return out


def lift(lifter: Lifter, seq: Sequence, flips: tuple[bool, ...], **options: Any) -> dict[bool, np.ndarray]:
    """Predict one sequence for each flip setting: ``{flip: (N, 17, 3) metres}``, pelvis at zero.
    ``options`` go to :meth:`Lifter.predict` (``mode``, ``batch_size``, ...); its warnings are
    warned again with the sequence's name in front."""
    name = f"{seq.subject}/{seq.action}/{seq.camera}"
    plain = _predict_named(lifter, seq.keypoints_2d, seq, name, options)
    if not any(flips):
        return {False: plain}
    mirrored = _predict_named(lifter, mirror_pixels(seq.keypoints_2d, seq.width), seq, f"{name} (mirrored)", options)
    flipped = average_mirrored(plain, mirrored)
    return {flip: flipped if flip else plain for flip in flips}


def _predict_named(
    lifter: Lifter, keypoints_2d: np.ndarray, seq: Sequence, name: str, options: Mapping[str, Any]
) -> np.ndarray:
    """``lifter.predict`` of one sequence without flip, its warnings re-warned as ``"NAME: message"``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pred = lifter.predict(keypoints_2d, (seq.width, seq.height), flip=False, **options)
    for w in caught:
        warnings.warn(f"{name}: {w.message}", w.category, stacklevel=3)
    return pred


def evaluate_sequences(
    lifter: Lifter,
    seqs: list[Sequence],
    input_name: str,
    *,
    flips: tuple[bool, ...] = (False, True),
    options: Mapping[str, Any] | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> list[Evaluation]:
    """Lift every sequence and aggregate protocol 1 and 2 per action, one :class:`Evaluation` per flip.

    ``progress(done_sequences, total, done_frames)`` is called before the first and after each sequence.
    With ``options["every"] = n`` only frames 0, n, 2n, ... of each sequence are lifted and scored
    (a subset; the standard protocol scores every frame).
    """
    options = options or {}
    every = options.get("every", 1)  # Lifter.predict checks it
    errors: dict[bool, dict[str, list[np.ndarray]]] = {f: {"mpjpe": [], "p_mpjpe": []} for f in flips}
    frames = 0
    if progress:
        progress(0, len(seqs), 0)
    for i, seq in enumerate(seqs):
        preds = lift(lifter, seq, flips, **options)
        target = seq.poses_3d[::every]
        for flip, pred in preds.items():
            pred = root_relative(pred)  # protocol 1 subtracts the pelvis (the Lifter already zeroes it)
            errors[flip]["mpjpe"].append(1000 * mpjpe(pred, target))
            errors[flip]["p_mpjpe"].append(1000 * p_mpjpe(pred, target))
        frames += len(target)
        if progress:
            progress(i + 1, len(seqs), frames)
    names = [s.action for s in seqs]
    out = []
    for flip in flips:
        p1, counts = action_means(names, errors[flip]["mpjpe"])
        p2, _ = action_means(names, errors[flip]["p_mpjpe"])
        out.append(Evaluation(input_name, flip, p1, p2, counts))
    return out


def coverage_notes(seqs: list[Sequence], input_name: str) -> list[str]:
    """Gaps against the standard test set (two recordings per subject and action, four cameras)."""
    notes = []
    recordings: dict[tuple[str, str], set[str]] = {}
    cameras: dict[tuple[str, str], set[str]] = {}
    for s in seqs:
        recordings.setdefault((s.subject, action_name(s.action)), set()).add(s.action)
        cameras.setdefault((s.subject, s.action), set()).add(s.camera)
    for (subject, action), names in sorted(recordings.items()):
        if len(names) < 2:
            notes.append(
                f"{input_name}: {subject} {action} has only the recording {sorted(names)} "
                "(the standard test set has two per subject and action; the other is missing from the data)"
            )
    for (subject, action), cams in sorted(cameras.items()):
        if len(cams) < 4:
            notes.append(f"{input_name}: {subject} '{action}' has {len(cams)} of 4 cameras ({sorted(cams)})")
    subjects = {s.subject for s in seqs}
    for subject in sorted(subjects):
        missing = [a for a in ACTIONS if (subject, a) not in recordings]
        if missing:
            notes.append(f"{input_name}: {subject} has no sequence of {missing}")
    return notes


def evaluate_h36m(
    lifter: Lifter,
    root: str | Path,
    *,
    subjects: tuple[str, ...] = TEST_SUBJECTS,
    inputs: tuple[str, ...] = ("gt", "sh"),
    flips: tuple[bool, ...] = (False, True),
    options: Mapping[str, Any] | None = None,
    keypoints_2d: dict[str, dict[str, np.ndarray]] | None = None,
    progress: Callable[[str, int, int, int], None] | None = None,
    cameras: tuple[str, ...] | None = None,
) -> tuple[list[Evaluation], list[str]]:
    """Evaluate on the flat Human3.6M folder ``root``: ``(evaluations, notes)``. The options are
    keyword-only.

    ``subjects`` are the test subjects; ``flips`` the flip settings to report (``False``: without,
    ``True``: with flip augmentation; both come from one pass); ``inputs`` are ``"gt"`` and/or
    ``"sh"``; ``options`` go to :meth:`Lifter.predict`; ``progress(input, done, total, frames)`` is
    called per sequence; ``keypoints_2d`` adds inputs by name, each a dict from
    :func:`liftpose.datasets.videopose3d.read_positions_2d` (e.g. VideoPose3D's CPN detections).
    ``notes`` lists what the data lacks against the standard test set and the warnings of loading.
    ``cameras`` restricts the evaluation to those camera ids (a subset for quick checks; the
    standard protocol uses all four).
    """
    evals: list[Evaluation] = []
    notes: list[str] = []
    sources = [(name, name) for name in inputs] + [(name, "gt") for name in keypoints_2d or {}]
    for name, source in sources:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seqs = load_h36m(root, subjects, source)
            if keypoints_2d and name in keypoints_2d:
                seqs = with_keypoints(seqs, keypoints_2d[name])
            if cameras:
                seqs = [s for s in seqs if s.camera in cameras]
        notes += [f"{name}: {w.message}" for w in caught]
        notes += coverage_notes(seqs, name) if not cameras else [f"{name}: cameras {', '.join(cameras)} only"]
        every = (options or {}).get("every", 1)
        if every != 1:
            notes.append(
                f"{name}: frames 0, {every}, {2 * every}, ... of each sequence only "
                "(a subset; the standard protocol scores every frame)"
            )
        name_progress = partial(progress, name) if progress else None
        evals += evaluate_sequences(lifter, seqs, name, flips=flips, options=options, progress=name_progress)
    return evals, list(dict.fromkeys(notes))


def format_table(evals: list[Evaluation], subjects: tuple[str, ...] = TEST_SUBJECTS) -> str:
    """The paper's layout: one block per (input, flip), rows = protocols, columns = actions + Avg (mm)."""
    lines = []
    for ev in evals:
        columns = list(ev.mpjpe)
        heads = [ACTIONS.get(a, a) for a in columns]
        width = max(6, *(len(h) for h in heads))
        lines.append(
            f"Human3.6M {'+'.join(subjects)}, {INPUT_NAMES.get(ev.input, ev.input)}, "
            f"flip augmentation: {'yes' if ev.flip else 'no'} (errors in mm, "
            f"{sum(ev.frames.values())} camera-frames)"
        )
        lines.append(f"{'Protocol':<14}" + "".join(f"{h:>{width + 1}}" for h in heads))
        for label, row in (("#1 MPJPE", ev.mpjpe), ("#2 P-MPJPE", ev.p_mpjpe)):
            lines.append(f"{label:<14}" + "".join(f"{row[a]:>{width + 1}.1f}" for a in columns))
        lines.append("")
    return "\n".join(lines)


def to_json(evals: list[Evaluation], notes: list[str], **info) -> dict:
    """A JSON-ready dict: ``info`` (model, data, ...), ``results`` (one per input and flip), ``notes``."""
    return {**info, "unit": "mm", "actions": list(ACTIONS), "results": [asdict(e) for e in evals], "notes": notes}


def main(argv: list[str] | None = None) -> None:
    """``python -m liftpose.evaluate ARGS`` is ``liftpose evaluate ARGS`` (options: :mod:`liftpose.cli.evaluate`)."""
    from .cli import main as cli_main

    cli_main(["evaluate", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
