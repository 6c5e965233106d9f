"""Plots and animations of liftpose.viz (matplotlib, Agg backend, files in tmp_path)."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import assert_picture

from liftpose import viz
from liftpose.skeleton import BONES, LEFT_JOINTS, RIGHT_JOINTS

SKIP = 'needs the optional extra: pip install "liftpose-transformer[viz]"'

#: A person standing in the camera frame (x right, y down, z forward), metres, pelvis at 0.
STANDING = np.array([
    [0.00, 0.00, 0.00], [-0.13, 0.00, 0.00], [-0.14, 0.45, 0.02], [-0.15, 0.88, 0.05],
    [0.13, 0.00, 0.00], [0.14, 0.45, 0.02], [0.15, 0.88, 0.05], [0.00, -0.23, 0.00],
    [0.00, -0.48, 0.00], [0.00, -0.58, -0.03], [0.00, -0.70, 0.00], [0.17, -0.45, 0.00],
    [0.20, -0.18, 0.00], [0.22, 0.06, -0.03], [-0.17, -0.45, 0.00], [-0.20, -0.18, 0.00],
    [-0.22, 0.06, -0.03],
])  # fmt: skip


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib", reason=SKIP)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def walking(frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, 17, 3) camera-frame poses swinging the arms, and their (T, 17, 2) pixel projections."""
    poses = np.repeat(STANDING[None], frames, axis=0)
    swing = 0.15 * np.sin(np.linspace(0, 2 * np.pi, frames))
    poses[:, [12, 13], 2] += swing[:, None]
    poses[:, [15, 16], 2] -= swing[:, None]
    at = poses + [0.0, 0.0, 4.0]
    uv = 1000 * at[..., :2] / at[..., 2:] + [500, 500]
    return poses, uv


def test_import_liftpose_does_not_import_matplotlib_or_onnx():
    code = (
        "import sys, liftpose, liftpose.viz, liftpose.export; "
        "print(sorted({'matplotlib', 'onnx', 'onnxruntime'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "liftpose-transformer\[viz\]"'):
        viz.plot_pose_3d(STANDING)


def test_plot_pose_3d_is_upright_and_coloured_by_side(plt, tmp_path):
    ax = viz.plot_pose_3d(STANDING, title="standing")
    assert len(ax.lines) == len(BONES)
    heights = {b: line.get_data_3d()[2][1] for (_, b), line in zip(BONES, ax.lines, strict=True)}
    assert heights[10] > heights[8] > 0 > heights[3]  # head above thorax above pelvis above ankle
    for (_, b), line in zip(BONES, ax.lines, strict=True):
        expected = viz.LEFT_COLOR if b in LEFT_JOINTS else viz.RIGHT_COLOR if b in RIGHT_JOINTS else viz.CENTRE_COLOR
        assert line.get_color() == expected
    # the person's left (camera +x) is drawn on the right of the plot, as in the video
    assert ax.lines[BONES.index((0, 4))].get_data_3d()[0][1] > 0
    ax.figure.savefig(tmp_path / "pose.png")
    assert_picture(tmp_path / "pose.png", (500, 500))  # 5 x 5 inches at the default dpi 100


def test_plot_pose_3d_overlay_keeps_everything_in_view(plt):
    ax = viz.plot_pose_3d(STANDING)
    viz.plot_pose_3d(STANDING + [1.0, 0.0, 0.0], ax, linestyle="--")
    assert len(ax.lines) == 2 * len(BONES)
    assert ax.get_xlim()[1] >= STANDING[:, 0].max() + 1.0


def test_plot_pose_3d_rejects_a_sequence(plt):
    with pytest.raises(ValueError, match="index a frame"):
        viz.plot_pose_3d(np.repeat(STANDING[None], 2, axis=0))


def test_plot_pose_2d_uses_image_axes(plt, tmp_path):
    _, uv = walking(1)
    ax = viz.plot_pose_2d(uv[0], image_size=(1000, 800))
    assert ax.get_xlim() == (0, 1000) and ax.get_ylim() == (800, 0)  # v grows downwards
    ax.figure.savefig(tmp_path / "pose2d.png")
    assert_picture(tmp_path / "pose2d.png", (500, 500))


def test_animate_writes_a_gif_with_one_frame_per_pose(plt, tmp_path):
    from PIL import Image

    poses, uv = walking(6)
    path = viz.animate(uv, poses, tmp_path / "clip.gif", fps=10, image_size=(1000, 1000), dpi=40)
    with Image.open(path) as gif:
        assert gif.n_frames == 6
        first = np.asarray(gif.convert("RGB"))
        gif.seek(3)
        middle = np.asarray(gif.convert("RGB"))
    assert first.std() > 0 and np.abs(first.astype(int) - middle).sum() > 0  # drawn, and moving


def test_animate_mp4_without_ffmpeg_says_so(plt, tmp_path, monkeypatch):
    import matplotlib.animation

    monkeypatch.setattr(matplotlib.animation.writers, "is_available", lambda name: False)
    poses, uv = walking(2)
    with pytest.raises(RuntimeError, match="ffmpeg"):
        viz.animate(uv, poses, tmp_path / "clip.mp4")
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        viz.animate(uv, poses, tmp_path / "clip.avi")


def test_joint_errors_plot_shows_each_joints_mean_error(plt, tmp_path):
    rng = np.random.default_rng(0)
    target = STANDING + rng.normal(0, 0.01, (5, 17, 3))
    offsets = np.linspace(0.0, 0.08, 17)  # joint j is off by offsets[j] metres along x
    pred = target + np.stack([offsets, 0 * offsets, 0 * offsets], axis=-1)
    np.testing.assert_allclose(viz.joint_errors(pred, target), offsets, atol=1e-12)
    ax = viz.plot_joint_errors(pred, target)
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], offsets * 1000)
    ax.figure.savefig(tmp_path / "errors.png")
    assert_picture(tmp_path / "errors.png", (800, 400))


def test_joint_errors_with_procrustes_ignore_a_similarity_transform():
    c, s = np.cos(0.4), np.sin(0.4)
    rotated = 1.2 * STANDING @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) + 0.1
    assert viz.joint_errors(rotated, STANDING).mean() > 0.05
    assert viz.joint_errors(rotated, STANDING, procrustes=True).max() < 1e-6


def test_plot_lifted_and_animate_show_the_side_view(plt, tmp_path):
    """Depth is what lifting adds; the camera's view hides it, so pictures also look from the side."""
    poses, uv = walking(4)
    fig = viz.plot_lifted(uv[0], poses[0], image_size=(1000, 1000))
    _, front, side = fig.axes
    assert (front.azim, side.azim) == (viz.VIEW["azim"], viz.SIDE_VIEW["azim"]) and side.azim - front.azim == 90
    assert len(side.lines) == len(front.lines) == len(BONES) and side.get_title() == "3D, side view"
    fig.savefig(tmp_path / "lifted.png")
    path = viz.animate(uv, poses, tmp_path / "clip.gif", fps=10, dpi=40)
    from PIL import Image

    with Image.open(path) as gif:
        assert gif.size == (15 * 40, 5 * 40)  # three panels: 2D, camera view, side view
    with Image.open(viz.animate(uv, poses, tmp_path / "two.gif", fps=10, dpi=40, side_view=False)) as gif:
        assert gif.size == (10 * 40, 5 * 40)
