import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from synthetic_motion import clip

from liftpose.bvh import ORDERS, to_bvh, write_bvh
from liftpose.ground import angle_between
from liftpose.skeleton import BONES, JOINT_NAMES

bvhio = pytest.importorskip("bvhio", reason='the BVH reader test needs pip install "liftpose-transformer[test]"')
BLENDER_SCRIPT = Path(__file__).with_name("blender_bvh_positions.py")


@pytest.fixture(scope="module")
def walk():
    return clip(120)


def read_with_bvhio(path: Path) -> np.ndarray:
    """Every frame's joint positions (T, 17, 3) as bvhio computes them."""
    root = bvhio.readAsHierarchy(str(path))
    frames = len(bvhio.readAsBvh(str(path)).Root.Keyframes)
    out = []
    for f in range(frames):
        root.loadPose(f)
        pos = {j.Name: np.array(j.PositionWorld) for j, _, _ in root.layout()}
        out.append([pos[n] for n in JOINT_NAMES])
    return np.array(out)


def bone_directions(p: np.ndarray) -> np.ndarray:
    d = np.stack([p[:, c] - p[:, a] for a, c in BONES], 1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def test_bvhio_reads_back_the_exported_skeleton(walk, tmp_path):
    rel = walk.camera - walk.camera[:, :1]
    bvh = write_bvh(tmp_path / "walk.bvh", rel, walk.camera[:, 0], walk.fps)
    got = read_with_bvhio(tmp_path / "walk.bvh")
    assert got.shape == (120, 17, 3)
    assert np.abs(got - bvh.positions()).max() < 1e-4  # metres: the file's 6 decimals
    text = (tmp_path / "walk.bvh").read_text()
    assert "Frames: 120" in text and "Frame Time: 0.02000000" in text
    assert "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" in text


def test_exported_skeleton_follows_the_lifted_bones(walk):
    rel = walk.camera - walk.camera[:, :1]
    bvh = to_bvh(rel, walk.camera[:, 0], walk.fps)
    fk = bvh.positions()
    # same bone directions as the input (the walker's bones are rigid, so lengths match too)
    assert angle_between(bone_directions(fk), bone_directions(bvh.source)).max() < 1.0
    assert bvh.fit_error().max() < 0.01
    # upright, Y up: the head is above the pelvis, the feet near Y = 0
    assert (fk[:, 10, 1] > fk[:, 0, 1] + 0.5).all() and abs(np.percentile(fk[:, [3, 6], 1].min(-1), 5)) < 1e-6
    # the walker circles 1.2 m around a point: the root channel carries that path
    span = np.ptp(bvh.root_positions[:, [0, 2]], axis=0)
    assert span.max() > 1.5


def test_no_rotation_jump_the_positions_do_not_show(walk):
    bvh = to_bvh(walk.camera - walk.camera[:, :1], walk.camera[:, 0], walk.fps)
    jumps = bvh.rotation_jumps()
    assert jumps.max() < 15.0  # degrees per frame at 50 fps: smooth motion, smooth rotations
    assert np.abs(np.diff(bvh.angles, axis=0)).max() < 30.0  # and continuous Euler channels


def test_a_full_turn_keeps_the_euler_channels_continuous():
    from scipy.spatial.transform import Rotation

    base = clip(1).camera[0] - clip(1).camera[0, :1]
    turn = Rotation.from_euler(
        "y", np.linspace(0, 720, 200)[:, None], degrees=True
    ).as_matrix()  # about camera y (vertical)
    poses = np.einsum("tij,kj->tki", turn, base)
    bvh = to_bvh(poses, None, 50.0, ground=np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]))
    assert np.abs(np.diff(bvh.angles, axis=0)).max() < 10.0
    assert np.ptp(bvh.angles[:, 0, 2]) > 700  # the yaw channel keeps counting past 360


def test_wrong_shapes_are_explained(walk):
    with pytest.raises(ValueError, match=r"\(T, 17, 3\)"):
        to_bvh(walk.camera[0], None)
    with pytest.raises(ValueError, match="trajectory must be"):
        to_bvh(walk.camera, walk.camera[:10, 0])
    assert ORDERS[0] == "ZXY" and ORDERS[1] == "ZYX" and ORDERS[12] == "ZXY"


def blender_positions(path: Path, tmp_path: Path) -> tuple[np.ndarray, float]:
    """Blender's own importer: bone heads (T, 17, 3) per BVH frame, back in the BVH's Y-up axes."""
    out = tmp_path / "blender.json"
    cmd = ["blender", "-b", "--factory-startup", "--python", str(BLENDER_SCRIPT), "--", str(path), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    doc = json.loads(out.read_text())
    z_up = np.array([[fr[n] for n in JOINT_NAMES] for fr in doc["frames"]])
    # axis_forward=-Z, axis_up=Y: Blender (x, y, z) = BVH (X, -Z, Y); frame_start holds BVH frame 0
    return np.stack([z_up[..., 0], z_up[..., 2], -z_up[..., 1]], -1), doc["fps"]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("blender") is None, reason="Blender is not installed (Debian: apt-get install blender)"
)
def test_blender_imports_the_synthetic_walk(walk, tmp_path):
    bvh = write_bvh(tmp_path / "walk.bvh", walk.camera - walk.camera[:, :1], walk.camera[:, 0], walk.fps)
    got, fps = blender_positions(tmp_path / "walk.bvh", tmp_path)
    assert fps == pytest.approx(50.0)
    assert np.linalg.norm(got[: bvh.frames] - bvh.positions(), axis=-1).max() < 0.01


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.skipif(
    shutil.which("blender") is None, reason="Blender is not installed (Debian: apt-get install blender)"
)
def test_blender_and_bvhio_on_a_wild_clip(tmp_path):
    """A real detector clip -> lifted -> path -> BVH: Blender and bvhio give the exported skeleton back
    within 10 mm in every frame, and no joint turns more than 90 degrees between frames."""
    from liftpose import Lifter
    from liftpose.formats import load_keypoints
    from liftpose.trajectory import root_trajectory

    data = load_keypoints(DATA / "wild" / "coco17_farhan_myvideos_0.npz")
    poses = Lifter.from_pretrained("h36m-27", device="cpu").predict(data.keypoints, data.image_size, layout="coco17")
    path = root_trajectory(poses, data.keypoints, data.image_size, layout="coco17")
    bvh = write_bvh(tmp_path / "wild.bvh", poses, path, 50.0)
    fk = bvh.positions()
    blender, _ = blender_positions(tmp_path / "wild.bvh", tmp_path)
    reader = read_with_bvhio(tmp_path / "wild.bvh")
    err_blender = np.linalg.norm(blender[: bvh.frames] - fk, axis=-1).max()
    err_reader = np.linalg.norm(reader - fk, axis=-1).max()
    print(
        f"\n{bvh.frames} frames: Blender max {err_blender * 1000:.4f} mm, bvhio max {err_reader * 1000:.4f} mm, "
        f"max rotation jump {bvh.rotation_jumps().max():.1f} deg, fit to lifted joints: mean "
        f"{bvh.fit_error().mean() * 1000:.1f} mm, max {bvh.fit_error().max() * 1000:.1f} mm"
    )
    assert err_blender < 0.01 and err_reader < 0.01
    assert bvh.rotation_jumps().max() < 90.0


def test_tipping_over_through_gimbal_lock_keeps_the_rotations_continuous():
    """Tipping the body 170 degrees about X takes the root (order ZXY) within 2 degrees of gimbal
    lock (X = 90): Z and Y then spin fast in opposite senses, which is the Euler angles' nature, but
    the rotation itself must not jump and the channels must not flip by 180 or 360 degrees."""
    from scipy.spatial.transform import Rotation

    base = clip(1).camera[0] - clip(1).camera[0, :1]
    tip = Rotation.from_euler("x", np.linspace(0, 170, 100)[:, None], degrees=True).as_matrix()
    poses = np.einsum("tij,kj->tki", tip, base)
    bvh = to_bvh(poses, None, 50.0, ground=np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]))
    assert bvh.angles[:, 0, 1].max() > 85.0  # it does pass near the lock
    assert bvh.rotation_jumps().max() < 3.0
    assert np.abs(np.diff(bvh.angles, axis=0)).max() < 90.0
    assert angle_between(bone_directions(bvh.positions()), bone_directions(bvh.source)).max() < 1.0
