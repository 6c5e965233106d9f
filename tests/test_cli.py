"""The ``liftpose`` command line: ``lift`` end to end on a converted fixture model, file formats,
one-line errors, and the wiring of the other subcommands."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA

from liftpose import Lifter
from liftpose.cli import COMMANDS, build_parser, evaluate, main, train
from liftpose.formats import load_keypoints
from liftpose.registry import load_manifest

WALK = Path(__file__).resolve().parents[1] / "examples" / "data" / "walk_coco17.json"


@pytest.fixture(scope="module")
def model_dir(converted_27) -> Path:
    return converted_27


def lift(*args: str) -> None:
    main(["lift", *map(str, args)])


def test_lift_json_with_metadata_equals_the_python_api(model_dir, tmp_path, capsys):
    """The walk file carries layout, size and fps; the CLI output is what Lifter.predict gives."""
    lift(WALK, "-o", tmp_path / "out.npz", "--model", model_dir)
    assert "(90, 17, 3)" in capsys.readouterr().out
    out = np.load(tmp_path / "out.npz")
    data = load_keypoints(WALK)
    want = Lifter.from_pretrained(model_dir, device="cpu").predict(
        data.keypoints, (640, 480), layout="coco17", fps=30.0
    )
    assert out["poses_3d"].shape == (90, 17, 3) and out["poses_3d"].dtype == np.float32
    np.testing.assert_allclose(out["poses_3d"], want, atol=1e-6)
    assert np.all(out["poses_3d"][:, 0] == 0)
    assert str(out["layout"]) == "coco17" and float(out["fps"]) == 30.0
    assert out["image_size"].tolist() == [640, 480] and int(out["receptive_field"]) == 27
    assert out["joint_names"][0] == "pelvis"


def test_options_override_the_file_and_json_output(model_dir, tmp_path):
    """An .npy carries no metadata: --layout/--image-size/--fps give it; --no-flip changes the result."""
    kp = load_keypoints(WALK).keypoints
    np.save(tmp_path / "walk.npy", kp)
    common = ["--model", model_dir, "--layout", "coco17", "--image-size", "640x480", "--fps", "30"]
    lift(tmp_path / "walk.npy", "-o", tmp_path / "a.json", *common)
    lift(tmp_path / "walk.npy", "-o", tmp_path / "b.npz", *common, "--no-flip")
    lift(WALK, "-o", tmp_path / "c.npz", "--model", model_dir)
    doc = json.loads((tmp_path / "a.json").read_text())
    flipped, unflipped = np.array(doc["poses_3d"]), np.load(tmp_path / "b.npz")["poses_3d"]
    assert flipped.shape == (90, 17, 3) and doc["joint_names"][16] == "right_wrist" and doc["units"] == "metres"
    np.testing.assert_allclose(flipped, np.load(tmp_path / "c.npz")["poses_3d"], atol=1e-6)  # rounded to 1e-6
    assert np.abs(flipped - unflipped).max() > 1e-3


def test_npz_takes_keypoints_or_the_only_array_and_its_size(tmp_path):
    kp = np.zeros((4, 17, 2), np.float32)
    np.savez(tmp_path / "a.npz", keypoints=kp + 1, other=kp, width=960, height=544)
    np.savez(tmp_path / "b.npz", poses=kp, fps=25.0, layout="coco17")
    a, b = load_keypoints(tmp_path / "a.npz"), load_keypoints(tmp_path / "b.npz")
    assert a.keypoints[0, 0, 0] == 1 and a.image_size == (960, 544) and a.fps is None
    assert b.keypoints.shape == (4, 17, 2) and b.fps == 25.0 and b.layout == "coco17" and b.image_size is None
    assert load_keypoints(tmp_path / "a.npz", key="other").keypoints[0, 0, 0] == 0


def test_coco_results_json_takes_the_best_person_per_image(tmp_path):
    results = [
        {"image_id": 2, "keypoints": [2.0, 2.0, 0.9] * 17, "score": 0.9},
        {"image_id": 1, "keypoints": [1.0, 1.0, 0.9] * 17, "score": 0.8},
        {"image_id": 1, "keypoints": [5.0, 5.0, 0.9] * 17, "score": 0.3},
    ]
    (tmp_path / "r.json").write_text(json.dumps(results))
    kp = load_keypoints(tmp_path / "r.json").keypoints
    assert kp.shape == (2, 17, 3) and kp[:, 0, 0].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.npz"], "no such keypoint file"),
        (["walk.npy", "--image-size", "640x480"], "pass --layout"),
        (["walk.npy", "--layout", "coco17"], "pass --image-size"),
        (["walk.txt"], "expected a .npz, .npy or .json"),
        (
            ["walk.npy", "--layout", "h36m", "--image-size", "640x480"],
            "no valid keypoint",
        ),  # confidence 0: nothing to fill from
        (["walk.npy", "--layout", "coco17", "--image-size", "640x480", "--model", "no-such-model"], "no-such-model"),
    ],
)
def test_errors_are_one_line_and_exit_1(args, message, model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = args if "--model" in args else [*args, "--model", str(model_dir)]
    np.save("walk.npy", np.zeros((5, 17, 3), np.float32))
    Path("walk.txt").write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        main(["lift", *args, "-o", "out.npz"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and err.count("\n") == 1 and err.startswith("liftpose lift: error: ")
    assert re.search(message, err), err
    assert not Path("out.npz").exists()


def test_console_script_exit_code(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "liftpose.cli", "lift", str(tmp_path / "none.json"), "-o", "x.npz"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "no such keypoint file" in run.stderr and "Traceback" not in run.stderr


def test_progress_bar_only_on_a_terminal(model_dir, tmp_path, monkeypatch):
    seen = []
    predict = Lifter.predict
    monkeypatch.setattr(Lifter, "predict", lambda self, *a, **k: seen.append(k["progress"]) or predict(self, *a, **k))
    lift(WALK, "-o", tmp_path / "a.npz", "--model", model_dir)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    lift(WALK, "-o", tmp_path / "b.npz", "--model", model_dir)
    assert seen == [False, importlib.util.find_spec("tqdm") is not None]


def test_subcommands_are_wired(monkeypatch):
    """Each subcommand reaches its module's runner with its parsed options, and --help lists every one
    with the one-line summary taken from its runner's docstring."""
    called = {}
    monkeypatch.setattr(evaluate, "run", lambda args: called.setdefault("evaluate", args))
    monkeypatch.setattr(train, "run", lambda args: called.setdefault("train", args))
    main(["evaluate", "m", "--data", "d", "--input", "gt"])
    main(["train", "--data", "d", "--out", "o", "--frames", "81"])
    assert called["evaluate"].input == "gt" and called["evaluate"].model == "m"
    assert called["train"].frames == 81 and called["train"].out == "o"
    parser = build_parser()
    assert parser.parse_args(["lift", "in.npz", "-o", "o.npz"]).model == "h36m-27"
    text = " ".join(parser.format_help().split())
    for name, (run, _) in COMMANDS.items():
        assert f"{name} {run.__doc__.strip().splitlines()[0]}" in text


def test_models_lists_the_manifest(capsys):
    main(["models"])
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["name", "frames", "status"]
    assert [r.split()[:2] for r in rows] == [[e.name, str(e.config.frames)] for e in load_manifest().values()]


@pytest.mark.data
def test_acceptance_real_coco17_video(model_dir, tmp_path):
    path = DATA / "wild" / "coco17_filipkro_lol_0.npz"
    if not path.exists():
        pytest.skip(f"wild data missing: {path}")
    out = tmp_path / "out.npz"
    main(
        ["lift", str(path), "--layout", "coco17", "--image-size", "960x544", "-o", str(out), "--model", str(model_dir)]
    )
    poses = np.load(out)["poses_3d"]
    assert poses.shape == (1336, 17, 3) and np.isfinite(poses).all()


def test_lift_trajectory_and_bvh(tmp_path, capsys):
    """--trajectory adds the pelvis path and the camera tilt; --bvh writes a file a reader opens. With
    the bundled h36m-27: the fixture model's untrained skeleton is 14 m tall, so its path is 15 times
    too far."""
    bvhio = pytest.importorskip("bvhio")
    lift(WALK, "-o", tmp_path / "out.json", "--focal", "700", "--bvh", tmp_path / "walk.bvh", "--mode", "fast")
    printed = capsys.readouterr().out
    assert "trajectory (90, 3)" in printed and "walk.bvh: 90 frames at 30 fps" in printed
    doc = json.loads((tmp_path / "out.json").read_text())
    path = np.array(doc["trajectory"])
    # examples/synthetic_walk.py films the walker from 4.7 m with f = 700 px
    assert path.shape == (90, 3) and 3.5 < np.median(path[:, 2]) < 6.5
    assert doc["focal"] == 700.0 and doc["focal_assumed"] is False and doc["ground"] in ("floor", "floor+body", "body")
    assert 0.0 < doc["camera_pitch"] < 20.0  # the synthetic camera at 1.2 m looks down at the hips (about 4 degrees)
    assert len(bvhio.readAsBvh(str(tmp_path / "walk.bvh")).Root.Keyframes) == 90
    lift(WALK, "-o", tmp_path / "out.npz", "--trajectory", "--mode", "fast")
    out = np.load(tmp_path / "out.npz")
    assert out["trajectory"].shape == (90, 3) and bool(out["focal_assumed"])
    with pytest.raises(SystemExit) as e:
        lift(WALK, "-o", tmp_path / "x.npz", "--focal", "700", "--fov", "60")
    assert e.value.code == 2
