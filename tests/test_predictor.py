"""Lifter.predict / Lifter.stream: the batched, chunked runners equal plain one-window-at-a-time loops;
input conditioning (layout, gaps, frame rate), progress, precision, and bounded memory."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from reference_oracle import reference_predict
from safetensors.torch import load_file

from liftpose import Lifter, LiftposeError
from liftpose.camera import normalize_screen
from liftpose.config import ModelConfig
from liftpose.convert import convert_official
from liftpose.formats import LAYOUTS, to_h36m
from liftpose.model import FoldedNet, StridedTransformer
from liftpose.preprocess import fill_gaps, resample
from liftpose.serialization import save_pretrained
from liftpose.skeleton import flip_poses

W, H = 1000, 1002


def _converted_model(reference_dir, tmp_path_factory, frames: int) -> StridedTransformer:
    out = convert_official(reference_dir / f"official_T{frames}.pth", tmp_path_factory.mktemp(f"T{frames}"))
    model = StridedTransformer(ModelConfig.load(out / "config.json")).eval()
    model.load_state_dict(load_file(out / "model.safetensors"), strict=True)
    return model


@pytest.fixture(scope="module")
def model27(reference_dir, tmp_path_factory):
    return _converted_model(reference_dir, tmp_path_factory, 27)


@pytest.fixture(scope="module")
def model243(reference_dir, tmp_path_factory):
    return _converted_model(reference_dir, tmp_path_factory, 243)


#: An upright person in Human3.6M joint order, pixels in the W x H image (the input checks of
#: liftpose.checks expect a body, not random points).
UPRIGHT = np.array(
    [
        [500, 500],
        [470, 500],
        [465, 600],
        [460, 700],
        [530, 500],
        [535, 600],
        [540, 700],
        [500, 440],
        [500, 380],
        [500, 350],
        [500, 320],
        [545, 385],
        [570, 440],
        [580, 495],
        [455, 385],
        [430, 440],
        [420, 495],
    ],
    np.float64,
)


def _pixels(frames: int, seed: int = 0, lead: tuple[int, ...] = ()) -> np.ndarray:
    """A smooth random 2D track of an upright skeleton (17 joints) in a W x H image, float32 pixels."""
    rng = np.random.default_rng(seed)
    pose = UPRIGHT + rng.uniform(-30, 30, size=(*lead, 1, 17, 2))
    drift = np.cumsum(rng.normal(0, 4, size=(*lead, frames, 17, 2)), axis=-3)
    return (pose + drift).astype(np.float32)


def _reference(model: StridedTransformer, pixels: np.ndarray, flip: bool) -> np.ndarray:
    """The official evaluation, literally: pad by edge replication, run each window alone."""
    return reference_predict(model, torch.from_numpy(normalize_screen(pixels, W, H)), flip).numpy()


@pytest.mark.parametrize(
    "flip, batch_size, chunk_size", [(True, None, None), (False, None, None), (True, 7, 16), (False, 1, 1)]
)
def test_matches_reference_loop_frame_by_frame(model27, flip, batch_size, chunk_size):
    pixels = _pixels(45)
    ref = _reference(model27, pixels, flip)
    out = Lifter(model27, "cpu").predict(pixels, (W, H), flip=flip, batch_size=batch_size, chunk_size=chunk_size)
    assert out.shape == (45, 17, 3) and out.dtype == np.float32
    assert np.abs(out - ref).max() <= 1e-5
    assert np.abs(out[:, 1:]).min() > 0  # not trivially zero


@pytest.mark.parametrize(
    "frames, every, chunk_size", [(45, 3, None), (45, 4, 10), (45, 7, 1), (5, 2, None), (28, 27, 16), (13, 30, 4)]
)
def test_every_nth_frame_is_the_same_pose_for_less_compute(model27, frames, every, chunk_size, monkeypatch):
    """predict(every=n) == predict()[::n], across chunk boundaries, for sequences shorter than the
    window and steps longer than the sequence; it encodes only those windows."""
    pixels = _pixels(frames, seed=every, lead=(2,))
    lifter = Lifter(model27, "cpu")
    full = lifter.predict(pixels, (W, H), chunk_size=chunk_size)
    calls, encoded = [], []
    centre = FoldedNet.centre
    monkeypatch.setattr(FoldedNet, "centre", lambda net, w: encoded.append(w.shape[:-2].numel()) or centre(net, w))
    out = lifter.predict(pixels, (W, H), chunk_size=chunk_size, every=every, progress=lambda d, t: calls.append(d))
    assert out.shape == (2, -(-frames // every), 17, 3)
    np.testing.assert_allclose(out, full[:, ::every], atol=1e-6)
    assert sum(encoded) == 2 * 2 * -(-frames // every)  # two sequences, mirrored too: no window more
    assert calls[-1] == 2 * frames  # progress still ends at all frames


def test_every_needs_window_mode_at_the_model_rate(model27):
    lifter = Lifter(model27, "cpu")
    with pytest.raises(LiftposeError, match="every=2 needs mode='window'"):
        lifter.predict(_pixels(30), (W, H), every=2, mode="fast")
    with pytest.raises(LiftposeError, match="every=2 needs mode='window'"):
        lifter.predict(_pixels(30), (W, H), every=2, fps=30)
    with pytest.raises(LiftposeError, match="every must be a positive integer"):
        lifter.predict(_pixels(30), (W, H), every=0)


@pytest.mark.parametrize("frames", [1, 5])
def test_short_sequences_are_edge_padded(model27, frames):
    pixels = _pixels(frames, seed=1)
    out = Lifter(model27, "cpu").predict(pixels, (W, H))
    assert out.shape == (frames, 17, 3)
    assert np.abs(out - _reference(model27, pixels, flip=True)).max() <= 1e-5


def test_long_receptive_field_matches_reference(model243):
    pixels = _pixels(4, seed=2)
    out = Lifter(model243, "cpu").predict(pixels, (W, H), batch_size=3, chunk_size=100)
    assert np.abs(out - _reference(model243, pixels, flip=True)).max() <= 1e-5


def test_batch_of_sequences_equals_one_by_one(model27):
    pixels = _pixels(30, seed=3, lead=(3,))
    lifter = Lifter(model27, "cpu", batch_size=5, chunk_size=9)
    out = lifter.predict(pixels, (W, H))
    assert out.shape == (3, 30, 17, 3)
    for seq, poses in zip(pixels, out, strict=True):
        np.testing.assert_allclose(poses, lifter.predict(seq, (W, H)), atol=1e-5, rtol=0)


def test_tensor_in_tensor_out(model27):
    pixels = _pixels(30, seed=4)
    lifter = Lifter(model27, "cpu")
    out = lifter.predict(torch.from_numpy(pixels).double(), (W, H))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (30, 17, 3)
    assert not out.is_inference()
    out += 1  # an ordinary tensor: in-place edits work outside inference mode
    np.testing.assert_allclose(out.numpy() - 1, lifter.predict(pixels, (W, H)), atol=1e-5, rtol=0)


def test_pelvis_is_zero_and_other_joints_are_not_recentred(model27):
    pixels = _pixels(30, seed=5)
    out = Lifter(model27, "cpu").predict(pixels, (W, H), flip=False)
    assert np.all(out[:, 0] == 0)
    with torch.no_grad():  # the raw network output at frame 0: joints 1.. are kept as predicted
        x = torch.from_numpy(normalize_screen(pixels, W, H))
        window = torch.cat([x[:1].expand(13, -1, -1), x[:14]])[None]
        raw = model27(window)[0][0].numpy()
    assert abs(raw[0]).max() > 1e-3
    np.testing.assert_allclose(out[0, 1:], raw[1:], atol=1e-5, rtol=0)


def test_normalized_input_and_confidence_column(model27):
    pixels = _pixels(20, seed=6)
    lifter = Lifter(model27, "cpu")
    expected = lifter.predict(pixels, (W, H))
    normalised = pixels / np.array([W, H], np.float32)  # x / width, y / height in [0, 1]
    np.testing.assert_allclose(lifter.predict(normalised, (W, H), normalized=True), expected, atol=1e-5, rtol=0)
    with_confidence = np.concatenate([pixels, np.full((20, 17, 1), 0.3, np.float32)], axis=-1)  # = threshold: kept
    np.testing.assert_array_equal(lifter.predict(with_confidence, (W, H)), expected)


def test_from_pretrained_loads_a_saved_folder(model27, tmp_path):
    pixels = _pixels(8, seed=7)
    lifter = Lifter.from_pretrained(save_pretrained(model27, tmp_path / "m"), "cpu", batch_size=3)
    assert lifter.batch_size == 3 and lifter.device == torch.device("cpu")
    expected = Lifter(model27, "cpu", batch_size=3).predict(pixels, (W, H))
    np.testing.assert_array_equal(lifter.predict(pixels, (W, H)), expected)


def test_receptive_field_and_repr(model27):
    lifter = Lifter(model27, "cpu", batch_size=11)
    assert lifter.receptive_field == 27
    assert repr(lifter).startswith("Lifter(receptive_field=27, strides=(3, 3, 3), params=4.01M, device='cpu'")
    assert "batch_size=11" in repr(lifter)


@pytest.mark.parametrize(
    "shape, match",
    [((17, 2), r"expected \(T, 17, 2\)"), ((2, 3, 4, 17, 2), r"\(N, T, 17, 2\)"), ((10, 17, 4), r"\(T, 17, 3\)")],
)
def test_rejects_wrong_rank_or_channels(model27, shape, match):
    with pytest.raises(ValueError, match=match):
        Lifter(model27, "cpu").predict(np.zeros(shape, np.float32), (W, H))


def test_rejects_wrong_joint_count_with_a_layout_hint(model27):
    with pytest.raises(ValueError, match=r"16 joints.*JOINT_NAMES.*to_h36m.*coco17"):
        Lifter(model27, "cpu").predict(np.zeros((10, 16, 2), np.float32), (W, H))


@pytest.mark.parametrize("shape", [(0, 17, 2), (0, 5, 17, 2), (2, 0, 17, 2)])
def test_rejects_empty_sequences(model27, shape):
    with pytest.raises(ValueError, match="empty sequence"):
        Lifter(model27, "cpu").predict(np.zeros(shape, np.float32), (W, H))


def test_requires_image_size_for_pixels(model27):
    with pytest.raises(ValueError, match=r"image_size=\(width, height\) in pixels is required for normalising pixel"):
        Lifter(model27, "cpu").predict(_pixels(5))
    with pytest.raises(ValueError, match=r"required for the aspect ratio of normalised \[0, 1\] coordinates"):
        Lifter(model27, "cpu").predict(_pixels(5) / 1000, normalized=True)
    with pytest.raises(ValueError, match="normalized=True takes coordinates in .0, 1.*look like pixels"):
        Lifter(model27, "cpu").predict(_pixels(5), (W, H), normalized=True)


@pytest.mark.parametrize("size", [(0, 1000), (1000, -5), (1000,), "1000x1000", (float("nan"), 10), (1, 2, 3)])
def test_rejects_bad_image_size(model27, size):
    with pytest.raises(ValueError, match="image_size must be"):
        Lifter(model27, "cpu").predict(_pixels(5), size)


def test_rejects_bad_input_type_and_sizes(model27):
    with pytest.raises(TypeError, match="numpy array or a torch tensor"):
        Lifter(model27, "cpu").predict(_pixels(5).tolist(), (W, H))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        Lifter(model27, "cpu").predict(_pixels(5), (W, H), batch_size=0)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        Lifter(model27, "cpu", chunk_size=2.5)


# --- input conditioning: gaps, layouts, frame rate ---------------------------------------------------------------


def test_nan_and_low_confidence_joints_are_filled_over_time(model27):
    pixels = _pixels(30, seed=8)
    lifter = Lifter(model27, "cpu")
    holed = pixels.copy()
    holed[3, 5] = np.nan
    holed[7, 0, 1] = np.inf
    filled = fill_gaps(holed)
    assert np.abs(filled - pixels).max() > 0.1  # interpolation is not the original track: a real change
    np.testing.assert_array_equal(lifter.predict(holed, (W, H)), lifter.predict(filled, (W, H)))

    confidence = np.ones((30, 17, 1), np.float32)
    confidence[10:14, 4] = 0.1  # a low-confidence joint with garbage coordinates: ignored, interpolated
    garbage = pixels.copy()
    garbage[10:14, 4] = 1e4
    detections = np.concatenate([garbage, confidence], axis=-1)
    out = lifter.predict(detections, (W, H), threshold=0.3)
    np.testing.assert_array_equal(out, lifter.predict(fill_gaps(detections, 0.3), (W, H)))
    # without the input checks (which treat points far outside the image as missing) the garbage matters
    unchecked = lifter.predict(garbage, (W, H), check=False)
    assert np.abs(out - unchecked).max() > 1e-2
    np.testing.assert_array_equal(lifter.predict(detections, (W, H), threshold=0.05, check=False), unchecked)


def test_a_joint_missing_in_every_frame_is_an_error(model27):
    pixels = _pixels(10)
    pixels[:, 3] = np.nan
    with pytest.raises(ValueError, match=r"joints \['3 \(.*\)'\].*all 10 frames"):
        Lifter(model27, "cpu").predict(pixels, (W, H))


@pytest.mark.parametrize("layout", ["coco17", "halpe26", "body25", "blazepose33"])
def test_layout_is_converted_to_h36m(model27, layout):
    k = len(LAYOUTS[layout].joint_names)
    rng = np.random.default_rng(9)
    kp = np.concatenate([rng.uniform(200, 800, (12, k, 2)), rng.uniform(0.5, 1, (12, k, 1))], axis=-1)
    kp = kp.astype(np.float32)
    lifter = Lifter(model27, "cpu")
    out = lifter.predict(kp, (W, H), layout=layout)
    np.testing.assert_array_equal(out, lifter.predict(to_h36m(kp, layout), (W, H)))
    with pytest.raises(ValueError, match=rf"layout '{layout}' has {k} joints, keypoints have 16"):
        lifter.predict(_pixels(5)[:, :16], (W, H), layout=layout)
    with pytest.raises(ValueError, match="unknown keypoint layout 'openpose'"):
        lifter.predict(kp, (W, H), layout="openpose")


def test_a_25_fps_sequence_gets_one_pose_per_input_frame(model27):
    pixels = _pixels(500, seed=10)
    lifter = Lifter(model27, "cpu")
    out = lifter.predict(pixels, (W, H), fps=25, flip=False)
    assert out.shape == (500, 17, 3)
    at_50 = lifter.predict(resample(pixels, 25, 50), (W, H), flip=False)
    assert at_50.shape == (999, 17, 3)
    np.testing.assert_allclose(out, at_50[::2], atol=1e-5, rtol=0)  # 25 fps frames are every other 50 fps frame
    assert np.all(out[:, 0] == 0)
    assert np.abs(out - lifter.predict(pixels, (W, H), flip=False)).max() > 1e-3  # the rate matters
    np.testing.assert_array_equal(lifter.predict(pixels[:40], (W, H), fps=50), lifter.predict(pixels[:40], (W, H)))


def test_30_fps_round_trip_interpolates_back(model27):
    pixels = _pixels(37, seed=11, lead=(2,))
    lifter = Lifter(model27, "cpu")
    out = lifter.predict(pixels, (W, H), fps=30)
    assert out.shape == (2, 37, 17, 3)
    expected = resample(lifter.predict(resample(pixels, 30, 50), (W, H)), 50, 30, frames=37)
    np.testing.assert_allclose(out, expected, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="fps_in must be a positive frame rate"):
        lifter.predict(pixels, (W, H), fps=0)


# --- progress ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["window", "fast"])
def test_progress_callback_reports_input_frames_per_chunk(model27, mode):
    calls = []
    Lifter(model27, "cpu", batch_size=4).predict(
        _pixels(100, seed=12, lead=(2,)), (W, H), fps=25, mode=mode, chunk_size=64, progress=lambda *a: calls.append(a)
    )
    assert len(calls) >= 3
    assert all(total == 200 for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == 200 and done[0] < 200


def test_progress_true_needs_tqdm(model27, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="pip install tqdm"):
        Lifter(model27, "cpu").predict(_pixels(5), (W, H), progress=True)


def test_progress_true_shows_a_tqdm_bar(model27, capsys):
    pytest.importorskip("tqdm")
    out = Lifter(model27, "cpu").predict(_pixels(20), (W, H), progress=True, chunk_size=8)
    assert out.shape == (20, 17, 3)
    assert "20/20" in capsys.readouterr().err


def test_rejects_bad_progress_and_mode(model27):
    with pytest.raises(TypeError, match="progress must be a callable"):
        Lifter(model27, "cpu").predict(_pixels(5), (W, H), progress="yes")
    with pytest.raises(ValueError, match=r"mode must be one of \('window', 'fast'\)"):
        Lifter(model27, "cpu").predict(_pixels(5), (W, H), mode="quick")


# --- fast mode ---------------------------------------------------------------------------------------------------


@torch.no_grad()
def _fast_reference(model: StridedTransformer, pixels: np.ndarray, flip: bool) -> np.ndarray:
    """The VTE's full-window output, literally: windows at 0, T, 2T, ... and one ending at the last
    frame (overwriting the overlap); a short sequence centred in one edge-padded window."""
    t, length = model.cfg.frames, len(pixels)
    x = torch.from_numpy(normalize_screen(pixels, W, H))

    def window(start: int) -> torch.Tensor:
        w = x[torch.arange(start, start + t).clamp(0, length - 1)][None]
        out = model(w)[1][0]
        return (out + flip_poses(model(flip_poses(w))[1][0])) / 2 if flip else out

    if length < t:
        lead = (t - length) // 2
        out = window(-lead)[lead : lead + length]
    else:
        out = torch.empty(length, 17, 3)
        for start in [*range(0, length - t + 1, t), length - t]:
            out[start : start + t] = window(start)
    out[:, 0] = 0
    return out.numpy()


@pytest.mark.parametrize("frames, flip", [(27, True), (60, True), (60, False), (81, False), (10, True), (1, False)])
def test_fast_mode_is_the_vte_output_on_non_overlapping_windows(model27, frames, flip):
    pixels = _pixels(frames, seed=13)
    out = Lifter(model27, "cpu", batch_size=2).predict(pixels, (W, H), mode="fast", flip=flip)
    assert out.shape == (frames, 17, 3)
    np.testing.assert_allclose(out, _fast_reference(model27, pixels, flip), atol=1e-5, rtol=0)


def test_fast_mode_long_receptive_field_and_batches(model243):
    pixels = _pixels(250, seed=14, lead=(2,))
    out = Lifter(model243, "cpu").predict(pixels, (W, H), mode="fast")
    for seq, poses in zip(pixels, out, strict=True):
        np.testing.assert_allclose(poses, _fast_reference(model243, seq, flip=True), atol=1e-5, rtol=0)


# --- precision ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_reduced_precision_is_close_to_float32(model27, precision):
    pixels = _pixels(12, seed=15)
    lifter = Lifter(model27, "cpu")
    exact = lifter.predict(pixels, (W, H), flip=False)
    low = lifter.predict(pixels, (W, H), flip=False, precision=precision)
    assert low.dtype == np.float32
    err = np.abs(low - exact).max()
    assert 0 < err < 0.05 * np.abs(exact).max()
    np.testing.assert_array_equal(Lifter(model27, "cpu", precision=precision).predict(pixels, (W, H), flip=False), low)


def test_rejects_unknown_precision(model27):
    with pytest.raises(ValueError, match=r"precision must be one of \['bfloat16', 'float16', 'float32'\]"):
        Lifter(model27, "cpu", precision="int8")
    with pytest.raises(ValueError, match="precision must be one of"):
        Lifter(model27, "cpu").predict(_pixels(5), (W, H), precision="half")


# --- streaming ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("frames, flip", [(60, True), (60, False), (5, True), (1, True)])
def test_stream_equals_predict_with_latency_half_a_window(model27, frames, flip):
    pixels = _pixels(frames, seed=16)
    lifter = Lifter(model27, "cpu")
    stream = lifter.stream((W, H), flip=flip)
    assert stream.latency == 13
    counts, poses = [], []
    for frame in pixels:
        new = stream.push(frame)
        counts.append(len(new))
        poses += new
    assert counts == [0] * min(13, frames) + [1] * max(0, frames - 13)  # pose i arrives with frame i + 13
    rest = stream.flush()
    assert len(rest) == min(13, frames)
    out = np.stack(poses + rest)
    assert out.shape == (frames, 17, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, lifter.predict(pixels, (W, H), flip=flip), atol=1e-5, rtol=0)


def test_stream_is_reusable_after_flush_and_takes_tensors(model27):
    lifter = Lifter(model27, "cpu")
    stream = lifter.stream((W, H), normalized=True)
    for seed in (17, 18):
        x = _pixels(20, seed=seed) / np.array([W, H], np.float32)
        out = [p for frame in torch.from_numpy(x) for p in stream.push(frame)] + stream.flush()
        np.testing.assert_allclose(np.stack(out), lifter.predict(x, (W, H), normalized=True), atol=1e-5, rtol=0)
    assert stream.flush() == []


def test_stream_fills_gaps_like_predict(model27):
    rng = np.random.default_rng(19)
    coco = np.concatenate([rng.uniform(300, 700, (40, 17, 2)), rng.uniform(0.5, 1, (40, 17, 1))], axis=-1)
    coco[:3, 0, 2] = 0.1  # nose (-> neck_nose) missing at the start: held backwards
    coco[20:26, 9, 2] = 0.0  # left wrist missing in the middle: interpolated (waits for frame 26)
    coco[30, 13, :2] = np.nan  # left knee NaN once
    coco[35:, 15, 2] = 0.2  # left ankle missing at the end: held at flush
    lifter = Lifter(model27, "cpu")
    stream = lifter.stream((W, H), layout="coco17", threshold=0.3)
    counts, poses = [], []
    for frame in coco:
        new = stream.push(frame)
        counts.append(len(new))
        poses += new
    assert counts[20:27] == [0] * 6 + [7]  # frames 20..26 go to the network once the wrist is seen again
    assert counts[30:32] == [0, 2] and counts[35:] == [0] * 5
    rest = stream.flush()
    assert len(rest) == 13 + 5
    out = np.stack(poses + rest)
    np.testing.assert_allclose(out, lifter.predict(coco, (W, H), layout="coco17", threshold=0.3), atol=1e-5, rtol=0)


def test_stream_errors(model27):
    lifter = Lifter(model27, "cpu")
    with pytest.raises(ValueError, match="image_size=.*required"):
        lifter.stream()
    stream = lifter.stream((W, H), layout="coco17")
    with pytest.raises(ValueError, match=r"layout 'coco17' expects \(17, 2\) coordinates or \(17, 3\)"):
        stream.push(np.zeros((26, 2)))
    with pytest.raises(TypeError, match="numpy array or a torch tensor"):
        stream.push([[0, 0]] * 17)
    frame = np.full((17, 3), 500.0)
    frame[11, 2] = 0  # left hip never seen: pelvis / spine cannot be filled
    assert stream.push(frame) == [] and stream.push(frame) == []
    with pytest.raises(ValueError, match="cannot be interpolated"):
        stream.flush()


# --- memory ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_long_video_memory_is_bounded(model27, tmp_path):
    """180,000 frames (an hour at 50 fps), T=27, flip on: peak RSS of a fresh process < 2 GB."""
    folder = save_pretrained(model27, tmp_path / "m")
    code = textwrap.dedent(
        f"""
        import json, resource
        import numpy as np
        import torch
        from liftpose import Lifter
        torch.set_num_threads(1)
        pixels = np.random.default_rng(0).uniform(300, 700, (180_000, 17, 2)).astype(np.float32)
        out = Lifter.from_pretrained({str(folder)!r}, "cpu").predict(pixels, ({W}, {H}))
        print(json.dumps({{"shape": out.shape, "finite": bool(np.isfinite(out).all()),
                          "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["shape"] == [180_000, 17, 3] and report["finite"]
    assert report["rss_mb"] < 2048, report
