"""Every script in examples/ runs as a user would run it (a subprocess), on small inputs, with a
model converted from the parity fixture."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_picture

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytest.importorskip("matplotlib", reason='the examples need pip install "liftpose-transformer[viz]"')


@pytest.fixture(scope="module")
def model_dir(converted_27) -> Path:
    return converted_27


def run_example(name: str, *args) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_example_is_tested():
    tested = {"lift_keypoints.py", "coco_to_animation.py", "synthetic_walk.py", "wild_to_bvh.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_synthetic_walk_regenerates_the_committed_input(tmp_path):
    run_example("synthetic_walk.py", tmp_path / "walk.json")
    new, committed = (
        json.loads(p.read_text()) for p in (tmp_path / "walk.json", EXAMPLES / "data" / "walk_coco17.json")
    )
    assert {k: v for k, v in new.items() if k != "keypoints"} == {
        "layout": "coco17",
        "width": 640,
        "height": 480,
        "fps": 30.0,
    }
    kp = np.array(new["keypoints"])
    assert kp.shape == (90, 17, 3) and (kp[..., 2] < 0.3).any()  # some detections for fill_gaps to repair
    np.testing.assert_allclose(kp, np.array(committed["keypoints"]), atol=0.011)


def test_lift_keypoints_writes_a_png(model_dir, tmp_path):
    out = run_example("lift_keypoints.py", "--model", model_dir, "--out", tmp_path / "pose.png", "--frame", "10")
    assert "frame 10 of 90" in out
    assert_picture(tmp_path / "pose.png", (1040, 368))  # plot_lifted's 13 x 4.6 inches at dpi 80


def test_lift_keypoints_takes_a_file_without_metadata(model_dir, tmp_path):
    kp = np.array(json.loads((EXAMPLES / "data" / "walk_coco17.json").read_text())["keypoints"])[:30]
    np.save(tmp_path / "kp.npy", kp)
    args = ["--layout", "coco17", "--image-size", "640x480", "--fps", "30", "--out", tmp_path / "pose.png"]
    assert "frame 15 of 30" in run_example("lift_keypoints.py", tmp_path / "kp.npy", "--model", model_dir, *args)
    assert_picture(tmp_path / "pose.png", (1040, 368))


def test_coco_to_animation_writes_a_gif(model_dir, tmp_path):
    Image = pytest.importorskip("PIL.Image")
    out = run_example("coco_to_animation.py", "--model", model_dir, "--out", tmp_path / "walk.gif", "--step", "9")
    assert "10 frames of 90" in out
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 10


def test_wild_to_bvh_writes_a_bvh_and_a_png(tmp_path):
    """On the synthetic walk (filmed with f = 700 px from about 4.7 m) with the bundled h36m-27: the
    fixture model's untrained skeleton is 14 m tall and would put the walker 70 m away."""
    bvhio = pytest.importorskip("bvhio")
    args = ["--bvh", tmp_path / "walk.bvh", "--png", tmp_path / "path.png", "--focal", "700", "--mode", "fast"]
    out = run_example("wild_to_bvh.py", *args)
    assert "90 frames at 30 fps" in out
    distance = float(out.split("distance from the camera ")[1].split(" m")[0])
    assert 3.5 < distance < 6.5
    assert len(bvhio.readAsBvh(str(tmp_path / "walk.bvh")).Root.Keyframes) == 90
    assert_picture(tmp_path / "path.png", (990, 405))  # 11 x 4.5 inches at dpi 90
