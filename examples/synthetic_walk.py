"""Write a synthetic COCO-17 keypoint sequence of a person walking, as a detector would give it.

    python examples/synthetic_walk.py examples/data/walk_coco17.json [--frames 90] [--fps 30]

No dataset is involved: a procedural 3D walker (legs and arms swinging, pelvis bobbing) is filmed
by a pinhole camera from the front-left, and its COCO-17 joints are projected to a 640x480 image
with 1.5 px of noise and a detector-like confidence (lower for the far side, and a few dropped
wrist detections). The file is the JSON object format of docs/formats.md (layout, width, height,
fps, keypoints (T, 17, 3)); examples/data/walk_coco17.json was made by the command above.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

WIDTH, HEIGHT, FOCAL = 640, 480, 700.0
COCO17 = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
          "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
          "left_knee", "right_knee", "left_ankle", "right_ankle")  # fmt: skip


def _limb(root: np.ndarray, angles: tuple[np.ndarray, np.ndarray], lengths: tuple[float, float]) -> list[np.ndarray]:
    """Two segments hanging from ``root`` (T, 3), swung forward (+x) by the given angles (T,)."""
    out, joint = [], root
    for angle, length in zip(angles, lengths, strict=True):
        joint = joint + length * np.stack([np.sin(angle), np.zeros_like(angle), -np.cos(angle)], -1)
        out.append(joint)
    return out


def walker_3d(frames: int, fps: float) -> np.ndarray:
    """COCO-17 joints (T, 17, 3) in world metres (x walking direction, y the walker's left, z up)."""
    t = np.arange(frames) / fps
    phase = 2 * np.pi * 0.9 * t  # 0.9 strides per second
    pelvis = np.stack([1.1 * t, np.zeros_like(t), 0.95 + 0.02 * np.cos(2 * phase)], -1)
    up = np.array([0.0, 0.0, 1.0])
    side = np.array([0.0, 1.0, 0.0])
    joints: dict[str, np.ndarray] = {}
    for name, sign, p in (("left", 1.0, phase + np.pi), ("right", -1.0, phase)):
        hip = pelvis + sign * 0.13 * side
        swing, bend = 0.45 * np.sin(p), 0.35 * (1 + np.cos(p))
        joints[f"{name}_hip"] = hip
        joints[f"{name}_knee"], joints[f"{name}_ankle"] = _limb(hip, (swing, swing - bend), (0.44, 0.44))
        shoulder = pelvis + 0.47 * up + sign * 0.18 * side
        arm = -0.35 * np.sin(p)
        joints[f"{name}_shoulder"] = shoulder
        joints[f"{name}_elbow"], joints[f"{name}_wrist"] = _limb(shoulder, (arm, arm + 0.4), (0.28, 0.26))
        joints[f"{name}_eye"] = pelvis + [0.09, sign * 0.03, 0.68]
        joints[f"{name}_ear"] = pelvis + [0.0, sign * 0.07, 0.65]
    joints["nose"] = pelvis + [0.11, 0.0, 0.64]
    return np.stack([joints[n] for n in COCO17], axis=1)


def project(points: np.ndarray, centre: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World points (..., 3) -> pixels (..., 2) of a level pinhole camera at ``centre`` looking at ``target``."""
    forward = (target - centre) / np.linalg.norm(target - centre)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    cam = (points - centre) @ np.stack([right, down, forward], 1)
    return FOCAL * cam[..., :2] / cam[..., 2:] + [WIDTH / 2, HEIGHT / 2]


def walk_coco17(frames: int = 90, fps: float = 30.0, seed: int = 0) -> np.ndarray:
    """Detector-like COCO-17 keypoints (T, 17, 3): pixels (u right, v down) and confidence."""
    rng = np.random.default_rng(seed)
    world = walker_3d(frames, fps)
    mid = world[:, :, :2].reshape(-1, 2).mean(0)
    uv = project(world, np.array([mid[0] + 2.5, mid[1] + 4.0, 1.2]), np.array([mid[0], mid[1], 0.9]))
    uv += rng.normal(0.0, 1.5, uv.shape)
    far_side = np.array([n.startswith("right") for n in COCO17])  # the camera stands on the walker's left
    conf = np.clip(rng.normal(np.where(far_side, 0.7, 0.9), 0.05, (frames, 17)), 0.0, 1.0)
    for joint in ("left_wrist", "right_wrist"):  # a few missed detections, as in real detector output
        conf[rng.choice(frames, size=max(1, frames // 15), replace=False), COCO17.index(joint)] = 0.05
    return np.concatenate([uv, conf[..., None]], -1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="the .json file to write")
    p.add_argument("--frames", type=int, default=90)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    kp = walk_coco17(args.frames, args.fps, args.seed)
    doc = {"layout": "coco17", "width": WIDTH, "height": HEIGHT, "fps": args.fps, "keypoints": np.round(kp, 2).tolist()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {args.out}: {kp.shape} COCO-17 keypoints, {WIDTH}x{HEIGHT} px, {args.fps:g} fps")


if __name__ == "__main__":
    main()
