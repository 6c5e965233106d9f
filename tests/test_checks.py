"""The mistakes a new user is likely to make (issue 11), through the API and the CLI: each gives an
error or a warning that names the fix, or a correct result; and the checks stay silent on real data
(``-m data``: every wild clip, Human3.6M S9/S11 ground truth and Stacked Hourglass input)."""

import inspect
import itertools
import json
import linecache
import os
import re
import stat
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA, REPO, WILD_NORMALIZED, WILD_SIZE_SWAPPED, assert_picture

import liftpose
from liftpose import Lifter, LiftposeError, LiftposeWarning, WeightsError, checks, fill_gaps, to_h36m
from liftpose.cli import main
from liftpose.formats import load_keypoints

WALK = json.loads((REPO / "examples" / "data" / "walk_coco17.json").read_text())
COCO = np.array(WALK["keypoints"], np.float32)  # (90, 17, 3) COCO-17 pixels + confidence, 640x480
SIZE = (WALK["width"], WALK["height"])


@pytest.fixture(scope="module")
def lifter() -> Lifter:
    return Lifter.from_pretrained("h36m-27", device="cpu")


@contextmanager
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --- API ------------------------------------------------------------------------------------------


def test_users_catch_liftpose_problems_as_value_errors_or_by_kind(tmp_path):
    """``except ValueError`` (code written before LiftposeError existed) and ``except LiftposeError``
    catch every problem the library raises, ``except WeightsError`` a model that cannot be found or
    converted; the input checks' warnings are UserWarnings, which the usual filters silence."""
    from liftpose.convert import CheckpointError, convert_official

    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    problems = [
        (lambda: liftpose.formats.get_layout("openpose"), "openpose", (ValueError, LiftposeError)),
        (lambda: Lifter.from_pretrained("no-such-model"), "unknown model", (ValueError, LiftposeError, WeightsError)),
        (
            lambda: convert_official(tmp_path / "bad.pth", tmp_path / "out"),
            "as a PyTorch checkpoint",
            (ValueError, LiftposeError, WeightsError, CheckpointError),
        ),
    ]
    for call, match, kinds in problems:
        for kind in kinds:
            with pytest.raises(kind, match=match):
                call()
    upside_down = np.stack([COCO[..., 0], SIZE[1] - COCO[..., 1]], -1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", UserWarning)
        checks.check_keypoints(upside_down, SIZE, "coco17", 0.3)
    with pytest.warns(UserWarning, match="below the knees"):
        checks.check_keypoints(upside_down, SIZE, "coco17", 0.3)


def test_coco_keypoints_without_layout_are_an_error_naming_coco17(lifter):
    with pytest.raises(LiftposeError, match=r"coco17 order.*layout='coco17'.*--layout coco17"):
        lifter.predict(COCO, SIZE)  # the README's first call, with COCO data
    stream = lifter.stream(SIZE)
    with pytest.raises(LiftposeError, match="layout='coco17'"):
        stream.push(COCO[0])  # the first frame already, before any pose comes out


def test_h36m_keypoints_declared_as_coco17_are_an_error_naming_h36m():
    h36m = fill_gaps(to_h36m(COCO, "coco17"))
    with pytest.raises(LiftposeError, match=r"layout='h36m'"):
        checks.check_keypoints(h36m, SIZE, "coco17", 0.3)


@pytest.mark.parametrize(
    "name, change, match",
    [
        ("upside down", lambda h: np.stack([h[..., 0], SIZE[1] - h[..., 1]], -1), "below the knees in 100%"),
        ("lying", lambda h: np.stack([h[..., 1] + 100, h[..., 0] - 100], -1), "more than 60 degrees from upright"),
        ("legs swapped", lambda h: h[:, [0, 4, 5, 6, 1, 2, 3] + list(range(7, 17))], "hips point the opposite way"),
    ],
)
def test_implausible_skeletons_warn(name, change, match):
    h36m = change(fill_gaps(to_h36m(COCO, "coco17")))
    with pytest.warns(LiftposeWarning, match=match):
        checks.check_keypoints(h36m, SIZE, "h36m", 0.3)


def test_normalised_coordinates_with_a_pixel_size_are_an_error_and_normalized_true_is_exact(lifter):
    unit = COCO[:40].copy()
    unit[..., :2] /= SIZE  # x / width, y / height in [0, 1]
    with pytest.raises(LiftposeError, match=r"look normalised.*normalized=True with image_size=\(640, 480\)"):
        lifter.predict(unit, SIZE, layout="coco17")
    pixels = lifter.predict(COCO[:40], SIZE, layout="coco17", flip=False)
    np.testing.assert_allclose(
        lifter.predict(unit, SIZE, layout="coco17", normalized=True, flip=False), pixels, atol=1e-5, rtol=0
    )
    with pytest.raises(LiftposeError, match="look like pixels; drop normalized=True"):
        lifter.predict(COCO, SIZE, layout="coco17", normalized=True)


@pytest.mark.parametrize("value", [1e9, 1e5])
def test_a_far_outside_point_is_missing_and_counted(lifter, value):
    garbage = COCO[:40].copy()
    garbage[30, 9, :2] = value  # left wrist of frame 30
    with pytest.warns(
        LiftposeWarning,
        match=r"1 of \d+ keypoints lie .* outside the 640x480 image.*frame 30, joint "
        r"'left_wrist'.*treated as missing",
    ):
        out = lifter.predict(garbage, SIZE, layout="coco17", flip=False)
    missing = COCO[:40].copy()
    missing[30, 9, :2] = np.nan
    np.testing.assert_array_equal(out, lifter.predict(missing, SIZE, layout="coco17", flip=False))
    assert np.abs(out).max() < 2  # metres: no 142 km skeleton


def test_warnings_point_at_the_line_that_called_predict(lifter):
    """The warning names the user's file and line (its stacklevel), not liftpose's own code."""
    far = COCO[:40].copy()
    far[30, 9, :2] = 1e9
    upside_down = COCO[:40].copy()
    upside_down[..., 1] = SIZE[1] - upside_down[..., 1]
    for kp, match in ((far, "treated as missing"), (upside_down, "below the knees")):
        with pytest.warns(LiftposeWarning, match=match) as caught:
            lifter.predict(kp, SIZE, layout="coco17", flip=False)
        assert {(w.filename, linecache.getline(w.filename, w.lineno).split("(")[0].strip()) for w in caught} == {
            (__file__, "lifter.predict")
        }


def test_stream_treats_far_points_as_missing_and_warns_once(lifter):
    frames = COCO[:30].copy()
    frames[[5, 20], 9, :2] = 1e9
    stream = lifter.stream(SIZE, layout="coco17", flip=False)
    with pytest.warns(LiftposeWarning, match="outside the 640x480 image") as caught:
        out = [p for f in frames for p in stream.push(f)] + stream.flush()
    assert stream.far_points == 2 and len([w for w in caught if "outside" in str(w.message)]) == 1
    missing = frames.copy()
    missing[[5, 20], 9, :2] = np.nan
    np.testing.assert_allclose(np.stack(out), lifter.predict(missing, SIZE, layout="coco17", flip=False), atol=1e-5)


def _portrait() -> np.ndarray:
    """The walk placed in the lower part of a 480x960 portrait frame."""
    kp = COCO.copy()
    kp[..., 0] = kp[..., 0] * 0.6 + 40
    kp[..., 1] = kp[..., 1] + 450
    return kp


def test_swapped_width_and_height_are_an_error_naming_the_swap(lifter):
    kp = _portrait()
    with pytest.raises(LiftposeError, match=r"width and height look swapped.*image_size=\(480, 960\).*480x960"):
        lifter.predict(kp, (960, 480), layout="coco17")
    with _no_warnings():
        checks.check_keypoints(kp, (480, 960), "coco17", 0.3)


def test_many_points_outside_the_frame_warn(lifter):
    kp = COCO.copy()
    kp[..., 0] += 500  # half the person beyond the right edge; no swap explains it
    with pytest.warns(LiftposeWarning, match=r"lie outside the stated 640x480 frame: check image_size"):
        checks.check_keypoints(kp, SIZE, "coco17", 0.3)
    feet_below = COCO.copy()  # knees and feet up to 15 % below the bottom edge (extrapolated by a detector)
    v = feet_below[..., 1]
    feet_below[..., 1] = 380 + (v - v.min()) / (v.max() - v.min()) * (480 * 1.15 - 380)
    with pytest.warns(LiftposeWarning, match="outside|swapped"):  # a warning, not an error: not far enough for a swap
        checks.check_keypoints(feet_below, SIZE, "coco17", 0.3)


def test_no_warning_on_the_synthetic_walk_and_check_false_skips_the_checks(lifter):
    with _no_warnings():
        checks.check_keypoints(COCO, SIZE, "coco17", 0.3)
        checks.check_keypoints(fill_gaps(to_h36m(COCO, "coco17")), SIZE, "h36m", 0.3)
        lifter.predict(COCO[:5], SIZE, layout="h36m", check=False)


def test_missing_joint_is_named_in_the_input_layout(lifter):
    kp = COCO.copy()
    kp[:, 11, 2] = 0.0  # left_hip never seen
    with pytest.raises(LiftposeError, match=r"coco17 joints \['left_hip'\].*Human3.6M joints \['pelvis', 'left_hip'"):
        lifter.predict(kp, SIZE, layout="coco17")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize(
    "device, match",
    [
        ("cuda", "sees no CUDA GPU.*available devices: \\['cpu'\\]"),
        ("gpu", "unknown device 'gpu': expected one of \\['cpu'\\]"),
    ],
)
def test_unavailable_device_is_a_liftpose_error(device, match):
    with pytest.raises(LiftposeError, match=match):
        Lifter.from_pretrained("h36m-27", device=device)


def test_progress_moves_per_batch(lifter):
    small = Lifter(lifter.model, "cpu", batch_size=30)  # 30 windows per forward pass: 90 frames take three
    calls = []
    small.predict(COCO, SIZE, layout="coco17", flip=False, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) >= 3 and calls[-1] == (90, 90) and calls[0][0] < 90
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))
    tqdm = pytest.importorskip("tqdm.auto")
    updates = []

    class Bar(tqdm.tqdm):
        def update(self, n=1):
            updates.append(n)
            return super().update(n)

    orig, tqdm.tqdm = tqdm.tqdm, Bar
    try:
        small.predict(COCO, SIZE, layout="coco17", flip=False, progress=True)
    finally:
        tqdm.tqdm = orig
    assert len([n for n in updates if n > 0]) >= 3 and sum(updates) == 90


def test_converted_weights_are_readable_by_all(converted_27):
    umask = os.umask(0)
    os.umask(umask)
    for name in ("model.safetensors", "config.json"):
        assert stat.S_IMODE((converted_27 / name).stat().st_mode) == 0o666 & ~umask


def test_videopose3d_custom_file_is_recognised_and_read(tmp_path):
    from liftpose.datasets.videopose3d import read_custom_2d

    path = tmp_path / "data_2d_custom_myvideos.npz"
    meta = {"layout_name": "coco", "num_joints": 17, "video_metadata": {"a.mp4": {"w": 640, "h": 480}}}
    np.savez(path, positions_2d={"a.mp4": {"custom": [COCO[..., :2]]}}, metadata=meta)
    with pytest.raises(LiftposeError, match=r"VideoPose3D data_2d_custom file.*read_custom_2d.*docs/formats.md"):
        load_keypoints(path)
    files = read_custom_2d(path, allow_pickle=True)
    assert files["a.mp4"].image_size == SIZE and files["a.mp4"].layout == "coco17"
    np.testing.assert_array_equal(files["a.mp4"].keypoints, COCO[..., :2])


# --- CLI ------------------------------------------------------------------------------------------


def _run(capsys, *argv) -> tuple[int, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the CLI shows every warning; pytest's filters would hide repeats
        try:
            main(list(argv))
            code = 0
        except SystemExit as e:
            code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(code, err, exit_code=1):
    assert code == exit_code and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("liftpose") and ": error: " in err, err


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Small input files of each kind of mistake."""
    d = tmp_path_factory.mktemp("cli")
    np.savez(d / "no_layout.npz", keypoints=COCO, width=640, height=480, fps=30)
    unit = COCO[:40].copy()
    unit[..., :2] /= SIZE
    np.savez(d / "unit.npz", keypoints=unit, width=640, height=480, fps=30, layout="coco17")
    far = COCO[:40].copy()
    far[30, 9, :2] = 1e9
    np.savez(d / "far.npz", keypoints=far, width=640, height=480, fps=30, layout="coco17")
    np.savez(d / "portrait.npz", keypoints=_portrait(), width=960, height=480, fps=30, layout="coco17")
    np.savez(d / "no_fps.npz", keypoints=COCO[:30], width=640, height=480, layout="coco17")
    np.savez(d / "empty.npz")
    (d / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip file")
    (d / "broken.json").write_text('{"keypoints": [[1, 2], ')
    np.savez(d / "vp3d.npz", positions_2d={"a.mp4": {"custom": [COCO[..., :2]]}})
    return d


@pytest.mark.parametrize(
    "argv, match",
    [
        (["no_layout.npz", "--layout", "h36m"], "layout='coco17' \\(CLI: --layout coco17\\)"),
        (["no_layout.npz"], "does not say its keypoint layout: pass --layout"),
        (["unit.npz"], "look normalised.*CLI: --normalized"),
        (["portrait.npz"], "width and height look swapped.*--image-size 480x960"),
        (["empty.npz", "--layout", "coco17"], "empty.npz holds no arrays"),
        (["corrupt.npz"], "cannot read .*corrupt.npz: not a valid .npz file"),
        (["broken.json"], "broken.json is not valid JSON"),
        (["vp3d.npz"], "VideoPose3D data_2d_custom file.*read_custom_2d"),
        (["missing.npz"], "no such keypoint file"),
        (["."], "cannot read keypoints from '.'"),
        (["far.npz", "--device", "gpu"], "unknown device 'gpu'"),
    ],
)
def test_cli_input_errors_are_one_line(files, capsys, monkeypatch, argv, match):
    monkeypatch.chdir(files)
    code, _, err = _run(capsys, "lift", *argv, "-o", "out.npz")
    _one_line_error(code, err)
    assert re.search(match, err), err


@pytest.mark.parametrize(
    "argv, match",
    [
        (
            ["lift", "far.npz", "-o", "out.npz", "--fps", "0"],
            "argument --fps: '0': the frame rate must be a positive number",
        ),
        (
            ["lift", "far.npz", "-o", "out.npz", "--image-size", "640"],
            "argument --image-size: '640' is not WIDTHxHEIGHT",
        ),
        (["lift", "far.npz"], "required: -o/--output"),
        (["lift", "far.npz", "-o", "out.npz", "--layout", "coco"], "argument --layout: invalid choice: 'coco'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_cli_option_errors_are_one_line_with_exit_2(files, capsys, monkeypatch, argv, match):
    monkeypatch.chdir(files)
    code, _, err = _run(capsys, *argv)
    _one_line_error(code, err, exit_code=2)
    assert match in err and "--help" in err, err


def test_cli_warnings_normalized_and_assumed_fps(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    code, out, err = _run(capsys, "lift", "far.npz", "-o", "far.npz.out.npz", "--no-flip")
    assert code == 0 and "wrote" in out
    assert err.startswith("liftpose lift: warning: 1 of ") and err.count("\n") == 1, err
    code, out, err = _run(
        capsys, "lift", "unit.npz", "--normalized", "-o", "unit.out.npz", "--no-flip", "--png", "u.png"
    )
    assert code == 0 and err == "" and "from the side" in out, err
    assert_picture(Path("u.png"), (1040, 368))
    pixels = Lifter.from_pretrained("h36m-27", device="cpu").predict(
        COCO[:40], SIZE, layout="coco17", fps=30, flip=False
    )
    np.testing.assert_allclose(np.load("unit.out.npz")["poses_3d"], pixels, atol=1e-5, rtol=0)
    code, _, err = _run(capsys, "lift", "no_fps.npz", "-o", "no_fps.out.npz", "--no-flip")
    assert code == 0 and "assumed 50 fps (the file stores no frame rate); pass --fps" in err


def test_cli_version_and_descriptions(capsys):
    code, out, _ = _run(capsys, "--version")
    assert code == 0 and out.strip() == f"liftpose {liftpose.__version__}"
    from liftpose.cli import COMMANDS

    assert set(COMMANDS) >= {"lift", "evaluate", "models", "convert", "export-onnx", "train"}
    for name, (run, _) in COMMANDS.items():  # NAME --help shows the runner's docstring after its summary line
        description = "".join(inspect.cleandoc(run.__doc__).partition("\n\n")[2].split())  # argparse rewraps it
        code, out, _ = _run(capsys, name, "--help")
        assert code == 0 and len(description) > 40 and description in "".join(out.split()), (name, out)
    code, out, _ = _run(capsys, "evaluate", "--help")
    assert code == 0 and "h36m-27" in out and "h36m-243" not in out  # names a model that loads


# --- real data: no false alarms ----------------------------------------------------------------------

WILD = DATA / "wild"


@pytest.mark.data
def test_no_false_alarm_on_the_wild_clips():
    names = sorted(p.name for p in WILD.glob("coco17_*.npz"))
    assert len(names) == 10
    for name in names:
        data = load_keypoints(WILD / name)
        kp, size = data.keypoints, data.image_size
        if name in WILD_NORMALIZED:  # stored as x / width, y / height: caught, and fine as such
            with pytest.raises(LiftposeError, match="look normalised"):
                checks.check_keypoints(kp, size, "coco17", 0.3)
            kp = checks.to_pixels(kp, size, normalized=True)
        if name in WILD_SIZE_SWAPPED:  # stored size 1920x1080, keypoints of a 1080x1920 video: a true alarm
            with pytest.raises(LiftposeError, match=r"look swapped.*image_size=\(1080, 1920\)"):
                checks.check_keypoints(kp, size, "coco17", 0.3)
            size = size[::-1]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            checks.check_keypoints(kp, size, "coco17", 0.3)
        with pytest.raises(LiftposeError, match="layout='coco17'"):  # and the mistake is caught on every clip
            checks.check_keypoints(kp, size, "h36m", 0.3)


@pytest.mark.data
@pytest.mark.parametrize("source", ["gt", "sh"])
def test_no_false_alarm_on_human36m_test_subjects(source):
    from liftpose.datasets.h36m import load_h36m

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # load_h36m's note about the one camera without detections
        seqs = load_h36m(DATA / "h36m", ("S9", "S11"), source)
    assert len(seqs) >= 230
    flagged = 0
    for s in seqs:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            checks.check_keypoints(s.keypoints_2d, (s.width, s.height), "h36m", 0.3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                checks.check_keypoints(s.keypoints_2d, (s.width, s.height), "coco17", 0.3)
            except LiftposeError:
                flagged += 1
                continue
        flagged += bool(caught)
    assert flagged == len(seqs)  # declared as COCO-17, every sequence is caught
