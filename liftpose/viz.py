"""Looking at results: 3D skeleton plots, 2D-input / 3D-output animations and per-joint errors.

Needs the optional extra ``pip install "liftpose-transformer[viz]"`` (matplotlib); importing this
module does not import matplotlib, calling a function does.

View convention: poses are in the camera frame (x right, y down, z forward, as the model predicts
them). The 3D plots draw matplotlib's (X, Y, Z) = (x, z, -y), a proper rotation, so the person stands
upright, nothing is mirrored, and the default view (``elev=15, azim=-90``) looks from just above the
video camera, so image-right is plot-right, as in the video. From there depth, the one thing the
lifting adds to the 2D input, is hardly visible: :func:`plot_lifted` and :func:`animate` also draw
the side view (``SIDE_VIEW``, ``azim=0``: from the camera's right, the camera on the plot's left,
depth running left to right). Bones are coloured by the person's own side: left blue, right red,
spine and head grey.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import metrics
from .skeleton import BONES, JOINT_NAMES, LEFT_JOINTS, NUM_JOINTS, RIGHT_JOINTS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LEFT_COLOR = "tab:blue"
RIGHT_COLOR = "tab:red"
CENTRE_COLOR = "0.35"
#: Default camera of the 3D plots: slightly above, looking from the video camera's side.
VIEW = {"elev": 15.0, "azim": -90.0}
#: The side view: from the camera's right, turned 90 degrees about the vertical, so depth (z) runs
#: left to right, away from the camera.
SIDE_VIEW = {"elev": 15.0, "azim": 0.0}


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError('liftpose.viz needs matplotlib: pip install "liftpose-transformer[viz]"') from e
    return matplotlib


def _pyplot() -> Any:
    _matplotlib()
    import matplotlib.pyplot as plt

    return plt


def _joints(x: Any, dims: int, name: str) -> np.ndarray:
    """numpy or torch (..., 17, dims) -> float numpy, with a clear error for other shapes."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2 or x.shape[-2:] != (NUM_JOINTS, dims):
        raise ValueError(f"{name} must have shape (..., {NUM_JOINTS}, {dims}), got {x.shape}")
    return x


def _side_color(joint: int) -> str:
    return LEFT_COLOR if joint in LEFT_JOINTS else RIGHT_COLOR if joint in RIGHT_JOINTS else CENTRE_COLOR


def _upright(pose: np.ndarray) -> np.ndarray:
    """Camera frame (x right, y down, z forward) -> plot frame (x, z, -y) with z up."""
    return np.stack([pose[..., 0], pose[..., 2], -pose[..., 1]], axis=-1)


def _set_cube(ax: Axes, points: np.ndarray, margin: float = 0.1) -> None:
    """Equal-scale cube around all ``points`` (..., 3) in plot coordinates."""
    lo, hi = points.reshape(-1, 3).min(0), points.reshape(-1, 3).max(0)
    centre, radius = (lo + hi) / 2, (hi - lo).max() / 2 + margin
    ax.set_xlim(centre[0] - radius, centre[0] + radius)
    ax.set_ylim(centre[1] - radius, centre[1] + radius)
    ax.set_zlim(centre[2] - radius, centre[2] + radius)
    ax.set_box_aspect((1, 1, 1))
    ax.locator_params(nbins=4)
    ax.tick_params(labelsize=7)


def _new_axes_3d() -> Axes:
    return _pyplot().figure(figsize=(5, 5)).add_subplot(projection="3d")


def plot_pose_3d(
    pose: Any,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    linestyle: str = "-",
    alpha: float = 1.0,
    elev: float = VIEW["elev"],
    azim: float = VIEW["azim"],
) -> Axes:
    """Draw one camera-frame pose (17, 3) (metres) as an upright skeleton on a 3D axes.

    ``ax`` defaults to a new figure; call twice on the same axes to overlay, e.g. the ground truth
    with ``linestyle="--"``. The limits become an equal-scale cube around everything drawn so far.
    Returns the axes.
    """
    p = _upright(_joints(pose, 3, "pose"))
    if p.ndim != 2:
        raise ValueError(f"plot_pose_3d draws one pose (17, 3), got {p.shape}; index a frame first")
    ax = _new_axes_3d() if ax is None else ax
    for a, b in BONES:
        ax.plot(*p[[a, b]].T, color=_side_color(b), linestyle=linestyle, alpha=alpha, linewidth=2)
    drawn = np.concatenate([np.stack(line.get_data_3d(), -1) for line in ax.lines])
    _set_cube(ax, drawn)
    ax.view_init(elev=elev, azim=azim)
    ax.set_xlabel("x (right)")
    ax.set_ylabel("z (forward)")
    ax.set_zlabel("-y (up)")
    if title:
        ax.set_title(title)
    return ax


def plot_pose_2d(
    keypoints: Any,
    ax: Axes | None = None,
    *,
    image_size: tuple[int, int] | None = None,
    title: str | None = None,
) -> Axes:
    """Draw one frame of 2D keypoints (17, 2) in pixels (u right, v down) as a skeleton.

    With ``image_size=(width, height)`` the axes show the whole image, otherwise the keypoints.
    Returns the axes.
    """
    k = _joints(keypoints, 2, "keypoints")
    if k.ndim != 2:
        raise ValueError(f"plot_pose_2d draws one frame (17, 2), got {k.shape}; index a frame first")
    ax = _pyplot().figure(figsize=(5, 5)).add_subplot() if ax is None else ax
    for a, b in BONES:
        ax.plot(*k[[a, b]].T, color=_side_color(b), linewidth=2)
    _frame_2d(ax, k, image_size)
    if title:
        ax.set_title(title)
    return ax


def plot_lifted(
    keypoints_2d: Any,
    pose_3d: Any,
    *,
    image_size: tuple[int, int] | None = None,
    title: str | None = None,
    figure: Any = None,
) -> Any:
    """One frame three ways: the 2D input (17, 2) pixels, Human3.6M order; and the 3D output (17, 3)
    camera frame, metres, from the camera (``VIEW``) and from the side (``SIDE_VIEW``), where its
    depth shows. Draws on ``figure`` (default: a new matplotlib ``Figure``, no pyplot) and returns it."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4.6)) if figure is None else figure
    plot_pose_2d(keypoints_2d, fig.add_subplot(1, 3, 1), image_size=image_size, title=title or "2D input")
    plot_pose_3d(pose_3d, fig.add_subplot(1, 3, 2, projection="3d"), title="3D, camera view", **VIEW)
    side = plot_pose_3d(pose_3d, fig.add_subplot(1, 3, 3, projection="3d"), title="3D, side view", **SIDE_VIEW)
    side.set_ylabel("z (depth, away from camera)")
    fig.tight_layout()
    return fig


def _frame_2d(ax: Axes, keypoints: np.ndarray, image_size: tuple[int, int] | None) -> None:
    """Image axes: v grows downwards, equal scale, the image or the keypoints' extent in view."""
    if image_size is not None:
        w, h = image_size
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
    else:
        flat = keypoints.reshape(-1, 2)
        lo, hi = flat.min(0), flat.max(0)
        pad = 0.1 * (hi - lo).max() + 1
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(hi[1] + pad, lo[1] - pad)
    ax.set_aspect("equal")


def animate(
    keypoints_2d: Any,
    poses_3d: Any,
    path: str | Path,
    *,
    fps: float = 25.0,
    image_size: tuple[int, int] | None = None,
    elev: float = VIEW["elev"],
    azim: float = VIEW["azim"],
    dpi: int = 80,
    side_view: bool = True,
) -> Path:
    """Save a side-by-side animation: 2D input (T, 17, 2) pixels left, 3D output (T, 17, 3) right,
    seen from ``elev`` / ``azim`` (default: the camera) and, with ``side_view``, from the side
    (``SIDE_VIEW``), where the depth shows.

    ``path`` ending in ``.gif`` is written with Pillow (comes with matplotlib), ``.mp4`` with ffmpeg,
    which must be installed on the system. Axes limits are fixed over the whole clip. Returns ``path``.
    """
    path = Path(path)
    k2 = _joints(keypoints_2d, 2, "keypoints_2d")
    p3 = _upright(_joints(poses_3d, 3, "poses_3d"))
    if k2.ndim != 3 or p3.ndim != 3 or len(k2) != len(p3):
        raise ValueError(f"need (T, 17, 2) and (T, 17, 3) with the same T, got {k2.shape} and {p3.shape}")
    writer = _writer(path, fps)

    from matplotlib.figure import Figure

    panels = 3 if side_view else 2
    fig = Figure(figsize=(5 * panels, 5), dpi=dpi)
    ax2 = fig.add_subplot(1, panels, 1)
    _frame_2d(ax2, k2, image_size)
    ax2.set_title("2D input")
    views = [((elev, azim), "3D output" if not side_view else "3D, camera view")]
    if side_view:
        views.append(((SIDE_VIEW["elev"], SIDE_VIEW["azim"]), "3D, side view"))
    lines2 = [ax2.plot([], [], color=_side_color(b), linewidth=2)[0] for _, b in BONES]
    lines3 = []
    for i, ((e, a), name) in enumerate(views):
        ax3 = fig.add_subplot(1, panels, 2 + i, projection="3d")
        _set_cube(ax3, p3)
        ax3.view_init(elev=e, azim=a)
        ax3.set_title(name)
        lines3.append([ax3.plot([], [], [], color=_side_color(b), linewidth=2)[0] for _, b in BONES])
    path.parent.mkdir(parents=True, exist_ok=True)
    with writer.saving(fig, str(path), dpi):
        for t in range(len(k2)):
            for k, (a, b) in enumerate(BONES):
                lines2[k].set_data(k2[t, [a, b], 0], k2[t, [a, b], 1])
                for view in lines3:
                    view[k].set_data_3d(*p3[t, [a, b]].T)
            writer.grab_frame()
    return path


def _writer(path: Path, fps: float) -> Any:
    _matplotlib()
    import matplotlib.animation as animation

    suffix = path.suffix.lower()
    if suffix == ".gif":
        return animation.PillowWriter(fps=fps)
    if suffix == ".mp4":
        if not animation.writers.is_available("ffmpeg"):
            raise RuntimeError(
                f"saving {path.name} needs ffmpeg on the PATH (e.g. apt install ffmpeg or conda install ffmpeg); "
                "or save a .gif, which needs nothing extra"
            )
        return animation.FFMpegWriter(fps=fps)
    raise ValueError(f"unsupported animation format {path.suffix!r} for {path}: use .gif or .mp4")


def joint_errors(pred: Any, target: Any, *, procrustes: bool = False) -> np.ndarray:
    """Mean Euclidean error of each joint over all poses (:func:`liftpose.metrics.joint_errors` averaged
    over the leading dimensions): (..., 17, 3) pairs -> (17,), input units.

    Poses are compared as given (root-relative outputs need no alignment); ``procrustes=True``
    first aligns each predicted pose to its target with a similarity transform (protocol 2).
    """
    p, t = _joints(pred, 3, "pred"), _joints(target, 3, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target shapes differ: {p.shape} vs {t.shape}")
    if procrustes:
        p = metrics.procrustes_align(p, t)[0]
    return metrics.joint_errors(p, t).reshape(-1, NUM_JOINTS).mean(0)


def plot_joint_errors(
    pred: Any,
    target: Any,
    ax: Axes | None = None,
    *,
    procrustes: bool = False,
    scale: float = 1000.0,
    unit: str = "mm",
    title: str | None = None,
) -> Axes:
    """Bar chart of :func:`joint_errors` per joint (times ``scale``, default metres -> mm), bars
    coloured by side, with the mean over joints (MPJPE, or P-MPJPE with ``procrustes``) as a line.
    Returns the axes.
    """
    err = joint_errors(pred, target, procrustes=procrustes) * scale
    ax = _pyplot().figure(figsize=(8, 4)).add_subplot() if ax is None else ax
    x = np.arange(NUM_JOINTS)
    ax.bar(x, err, color=[_side_color(j) for j in range(NUM_JOINTS)])
    metric = "P-MPJPE" if procrustes else "MPJPE"
    ax.axhline(err.mean(), color="k", linestyle="--", linewidth=1, label=f"{metric} {err.mean():.1f} {unit}")
    ax.set_xticks(x, JOINT_NAMES, rotation=60, ha="right")
    ax.set_ylabel(f"mean error per joint ({unit})")
    ax.legend()
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax
