"""Training on a tiny synthetic Human3.6M folder: it runs, learns, and resumes exactly; its
configuration (TrainConfig) is checked, recorded as JSON and made from the command's options."""

import dataclasses
import json
import logging
import re

import pytest
import torch
from synthetic_h36m import write_synthetic_h36m

from liftpose.augment import DetectorAugment
from liftpose.cli.train import build_parser, config_from_args
from liftpose.datasets.h36m import load_h36m
from liftpose.errors import LiftposeError
from liftpose.serialization import load_model
from liftpose.train import (
    TRAIN_CONFIG_FILE,
    TrainConfig,
    _step_generator,
    average_checkpoints,
    batch_indices,
    bone_length_loss,
    main,
    train,
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_h36m(tmp_path_factory.mktemp("h36m"), subjects=("S1", "S9"), frames=(30, 40))


def _config(data, out, steps, **options):
    small = dict(
        frames=27,
        subjects=("S1",),
        batch=4,
        steps=steps,
        epoch_samples=16,
        noise_px=2.0,
        threads=1,
        log_every=5,
        save_every=5,
        eval_every=0,
    )
    return TrainConfig(data, out, **{**small, **options})


def test_resumed_run_has_the_losses_and_weights_of_an_uninterrupted_one(data, tmp_path, capsys):
    straight = train(_config(data, tmp_path / "a", 10))
    first = train(_config(data, tmp_path / "b", 5))
    resumed = train(_config(data, tmp_path / "b", 10, resume=True))
    assert (first.first_step, resumed.first_step, resumed.step) == (0, 5, 10)
    assert first.losses + resumed.losses == straight.losses  # bit-identical, not just close
    a, b = load_model(tmp_path / "a"), load_model(tmp_path / "b")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert capsys.readouterr().out == ""  # a library call logs, it does not print


def test_max_minutes_stops_with_a_checkpoint_that_resumes_exactly(data, tmp_path):
    straight = train(_config(data, tmp_path / "a", 10))
    stopped = train(_config(data, tmp_path / "b", 10, max_minutes=0))
    assert stopped.step == 1 and load_model(tmp_path / "b").cfg.frames == 27  # weights written too
    resumed = train(_config(data, tmp_path / "b", 10, resume=True))
    assert (resumed.first_step, resumed.step) == (1, 10)
    assert stopped.losses + resumed.losses == straight.losses


def test_a_stop_by_the_clock_ends_with_a_loss_line_and_a_validation(data, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="liftpose.train"):
        train(_config(data, tmp_path, 10, max_minutes=0, log_every=100, eval_every=100))
    lines = [r.getMessage() for r in caplog.records]
    assert any(re.match(r"step 1 epoch .* loss ", line) for line in lines), lines  # not due by log_every
    assert any(re.match(r"step 1 val MPJPE \(STE, gt 2D, \d+ windows of S9\)", line) for line in lines), lines


def test_average_checkpoints_is_the_mean_of_the_weights(data, tmp_path):
    train(_config(data, tmp_path / "a", 5))
    first = tmp_path / "step5.pt"
    (tmp_path / "a" / "last.pt").rename(first)
    train(_config(data, tmp_path / "a", 10, resume=False, seed=1))
    second = tmp_path / "a" / "last.pt"
    states = [torch.load(p, weights_only=True)["model"] for p in (first, second)]
    mean = average_checkpoints([first, second]).state_dict()
    assert any(not torch.equal(a, b) for a, b in zip(states[0].values(), states[1].values(), strict=True))
    for name, value in mean.items():
        a, b = states[0][name], states[1][name]
        expected = (a + b) / 2 if a.is_floating_point() else b  # step counters: the last checkpoint's
        torch.testing.assert_close(value, expected, rtol=0, atol=1e-7, msg=name)
    torch.testing.assert_close(average_checkpoints([second]).state_dict(), states[1], rtol=0, atol=0)
    with pytest.raises(LiftposeError, match="at least one checkpoint"):
        average_checkpoints([])
    train(_config(data, tmp_path / "b", 1, frames=81))
    with pytest.raises(LiftposeError, match="different networks"):
        average_checkpoints([second, tmp_path / "b" / "last.pt"])


def test_random_streams_of_a_step_are_those_of_earlier_versions():
    """Checkpoints of earlier runs resume exactly only while a step draws what it always drew."""
    assert batch_indices(100, 4, seed=3, step=7, steps_per_epoch=5).tolist() == [74, 89, 47, 70]
    flips = torch.rand(4, generator=_step_generator(3, 7))
    torch.testing.assert_close(flips, torch.tensor([0.6046493053, 0.4669021368, 0.1247026324, 0.4470217228]))


def test_bone_length_loss_ignores_rigid_motion_and_measures_length_error():
    y = torch.randn(2, 5, 17, 3, generator=torch.Generator().manual_seed(0))
    rotation = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1)))[0]
    assert bone_length_loss(y @ rotation.T + 0.3, y) < 1e-6
    parents = [0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]  # of joints 1..16, written out independently
    lengths = torch.linalg.vector_norm(y[..., 1:, :] - y[..., parents, :], dim=-1)
    assert torch.isclose(bone_length_loss(1.1 * y, y), 0.1 * lengths.mean(), rtol=1e-5)


def test_bone_weight_adds_to_the_loss_of_the_same_batch(data, tmp_path):
    plain = train(_config(data, tmp_path / "a", 1))
    boned = train(_config(data, tmp_path / "b", 1, bone_weight=1.0))
    assert boned.losses[0] > plain.losses[0]  # same initial weights, batch, flips, noise and dropout


def test_resume_with_another_receptive_field_is_refused(data, tmp_path):
    train(_config(data, tmp_path, 5))
    with pytest.raises(LiftposeError, match="same --frames"):
        train(_config(data, tmp_path, 10, frames=81, resume=True))


def test_config_round_trips_through_json(tmp_path):
    augment = DetectorAugment(drop=0.3, max_dropped_joints=2)
    config = TrainConfig(
        "data/h36m",
        tmp_path / "run",
        frames=81,
        input="sh",
        subjects=["S1", "S5"],
        init_from="h36m-27",
        detector_augment=augment,
        noise_px=1.5,
        lr=5e-4,
        max_minutes=6.5,
        device="cuda:1",
        bf16=True,
        resume=True,
        seed=3,
    )
    path = config.save(tmp_path / "c.json")
    loaded = TrainConfig.load(path)
    assert loaded == config and loaded.subjects == ("S1", "S5") and loaded.detector_augment.drop == 0.3
    assert json.loads(path.read_text())["data"] == "data/h36m"
    assert TrainConfig.from_dict(json.loads(json.dumps(TrainConfig("d", "o").to_dict()))) == TrainConfig("d", "o")
    with pytest.raises(LiftposeError, match=r"unknown fields \['batch_size'\]"):
        TrainConfig.from_dict({**config.to_dict(), "batch_size": 3})


@pytest.mark.parametrize(
    "name, value",
    [
        ("frames", 28),
        ("input", "cpn"),
        ("batch", 0),
        ("steps", 2.5),
        ("lr", -1e-3),
        ("lr_decay", 0),
        ("noise_px", -1.0),
        ("subjects", "S1"),
        ("subjects", ()),
        ("eval_every", -1),
        ("device", "gpu"),
        ("threads", 0),
        ("max_minutes", -2.0),
        ("bf16", "yes"),
        ("detector_augment", {"drop": 0.5}),
    ],
)
def test_bad_values_name_the_option_and_the_value(name, value):
    with pytest.raises(LiftposeError) as caught:
        TrainConfig("d", "o", **{name: value})
    message = str(caught.value)
    assert f"TrainConfig.{name} (--" in message and message.endswith(f"got {value!r}")


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig("d", "o").steps = 3


def test_config_from_args_reads_every_option():
    args = build_parser().parse_args(
        [
            "--data",
            "d",
            "--out",
            "o",
            "--frames",
            "81",
            "--input",
            "sh",
            "--noise-px",
            "1.5",
            "--subjects",
            "S1",
            "S6",
            "--val-subjects",
            "S9",
            "--init-from",
            "h36m-27",
            "--detector-aug",
            "--aug-detections",
            "0.25",
            "--aug-offset-px",
            "5",
            "--aug-jitter-px",
            "3",
            "--aug-drop",
            "0.1",
            "--aug-adapter",
            "0.2",
            "--aug-framing",
            "0.3",
            "--aug-scale",
            "1.2",
            "--aug-shift",
            "0.1",
            "--bone-weight",
            "0.5",
            "--batch",
            "64",
            "--steps",
            "100",
            "--lr",
            "2e-4",
            "--lr-decay",
            "0.9",
            "--epoch-samples",
            "640",
            "--bf16",
            "--device",
            "cpu",
            "--max-minutes",
            "3",
            "--threads",
            "2",
            "--seed",
            "7",
            "--resume",
            "--log-every",
            "10",
            "--save-every",
            "20",
            "--eval-every",
            "30",
        ]
    )
    augment = DetectorAugment(
        detections=0.25, offset_px=5, jitter_px=3, drop=0.1, adapter=0.2, framing=0.3, scale=1.2, shift=0.1
    )
    assert config_from_args(args) == TrainConfig(
        "d",
        "o",
        frames=81,
        input="sh",
        noise_px=1.5,
        subjects=("S1", "S6"),
        val_subjects=("S9",),
        init_from="h36m-27",
        detector_augment=augment,
        bone_weight=0.5,
        batch=64,
        steps=100,
        lr=2e-4,
        lr_decay=0.9,
        epoch_samples=640,
        bf16=True,
        device="cpu",
        max_minutes=3.0,
        threads=2,
        seed=7,
        resume=True,
        log_every=10,
        save_every=20,
        eval_every=30,
    )


def test_command_defaults_are_the_config_defaults():
    args = build_parser().parse_args(["--data", "d", "--out", "o"])
    assert config_from_args(args) == TrainConfig("d", "o", threads=args.threads)  # threads: the machine's count
    augmented = build_parser().parse_args(["--data", "d", "--out", "o", "--detector-aug"])
    assert config_from_args(augmented).detector_augment == DetectorAugment()


def test_namespace_still_trains_with_a_deprecation_warning(data, tmp_path):
    args = build_parser().parse_args(
        [
            "--data",
            str(data),
            "--out",
            str(tmp_path),
            "--subjects",
            "S1",
            "--steps",
            "0",
            "--eval-every",
            "0",
            "--threads",
            "1",
            "--seed",
            "4",
        ]
    )
    with pytest.warns(DeprecationWarning, match=r"train\(liftpose.cli.train.config_from_args\(args\)\)"):
        result = train(args)
    assert result.step == 0 and (tmp_path / "model.safetensors").exists()
    assert TrainConfig.load(tmp_path / TRAIN_CONFIG_FILE) == config_from_args(args)  # the run's record


def test_command_prints_the_progress_lines_on_stdout(data, tmp_path, capsys, caplog):
    main(
        [
            "--data",
            str(data),
            "--out",
            str(tmp_path),
            "--frames",
            "27",
            "--subjects",
            "S1",
            "--val-subjects",
            "S9",
            "--batch",
            "4",
            "--steps",
            "2",
            "--epoch-samples",
            "16",
            "--threads",
            "1",
            "--log-every",
            "1",
            "--eval-every",
            "2",
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    windows = sum(len(s.poses_3d) for s in load_h36m(data, ("S1",), "gt"))  # a window per frame
    assert lines[0] == f"{windows} training windows of S1 (gt 2D); an epoch of the lr decay is 4 steps of 4", lines
    assert re.fullmatch(r"step 1 epoch 0\.25 lr 1\.00e-03 loss \d+\.\d{5} \(\d+ samples/s\)", lines[1]), lines
    assert re.fullmatch(r"step 2 val MPJPE \(STE, gt 2D, \d+ windows of S9\): \d+\.\d mm", lines[-1]), lines
    assert len(lines) == 4  # the data line, the two loss lines and the validation, nothing else
    assert logging.getLogger("liftpose.train").handlers == []  # the command's handler is gone afterwards


@pytest.mark.slow
def test_200_steps_reduce_the_loss_and_write_loadable_weights(data, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="liftpose.train"):
        result = train(_config(data, tmp_path, 200, eval_every=100))
    assert result.step == 200 and len(result.losses) == 200
    assert sum(result.losses[-20:]) < 0.7 * sum(result.losses[:20])
    assert "val MPJPE" in caplog.text  # S9 of the synthetic folder is the validation set
    assert load_model(tmp_path).cfg.frames == 27
