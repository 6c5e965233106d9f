"""Training on a tiny synthetic Human3.6M folder: it runs, learns, and resumes exactly."""

import pytest
import torch
from synthetic_h36m import write_synthetic_h36m

from liftpose.serialization import load_model
from liftpose.train import bone_length_loss, build_parser, train


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_h36m(tmp_path_factory.mktemp("h36m"), subjects=("S1", "S9"), frames=(30, 40))


def _args(data, out, steps, *extra):
    argv = ["--data", str(data), "--out", str(out), "--frames", "27", "--subjects", "S1", "--batch", "4",
            "--steps", str(steps), "--epoch-samples", "16", "--noise-px", "2", "--threads", "1",
            "--log-every", "5", "--save-every", "5", *extra]  # fmt: skip
    return build_parser().parse_args(argv)


def test_resumed_run_has_the_losses_and_weights_of_an_uninterrupted_one(data, tmp_path):
    straight = train(_args(data, tmp_path / "a", 10, "--eval-every", "0"))
    first = train(_args(data, tmp_path / "b", 5, "--eval-every", "0"))
    resumed = train(_args(data, tmp_path / "b", 10, "--eval-every", "0", "--resume"))
    assert (first.first_step, resumed.first_step, resumed.step) == (0, 5, 10)
    assert first.losses + resumed.losses == straight.losses  # bit-identical, not just close
    a, b = load_model(tmp_path / "a"), load_model(tmp_path / "b")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name


def test_max_minutes_stops_with_a_checkpoint_that_resumes_exactly(data, tmp_path):
    straight = train(_args(data, tmp_path / "a", 10, "--eval-every", "0"))
    stopped = train(_args(data, tmp_path / "b", 10, "--eval-every", "0", "--max-minutes", "0"))
    assert stopped.step == 1 and load_model(tmp_path / "b").cfg.frames == 27  # weights written too
    resumed = train(_args(data, tmp_path / "b", 10, "--eval-every", "0", "--resume"))
    assert (resumed.first_step, resumed.step) == (1, 10)
    assert stopped.losses + resumed.losses == straight.losses


def test_bone_length_loss_ignores_rigid_motion_and_measures_length_error():
    y = torch.randn(2, 5, 17, 3, generator=torch.Generator().manual_seed(0))
    rotation = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1)))[0]
    assert bone_length_loss(y @ rotation.T + 0.3, y) < 1e-6
    parents = [0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]  # of joints 1..16, written out independently
    lengths = torch.linalg.vector_norm(y[..., 1:, :] - y[..., parents, :], dim=-1)
    assert torch.isclose(bone_length_loss(1.1 * y, y), 0.1 * lengths.mean(), rtol=1e-5)


def test_bone_weight_adds_to_the_loss_of_the_same_batch(data, tmp_path):
    plain = train(_args(data, tmp_path / "a", 1, "--eval-every", "0"))
    boned = train(_args(data, tmp_path / "b", 1, "--eval-every", "0", "--bone-weight", "1"))
    assert boned.losses[0] > plain.losses[0]  # same initial weights, batch, flips, noise and dropout


def test_resume_with_another_receptive_field_is_refused(data, tmp_path):
    train(_args(data, tmp_path, 5, "--eval-every", "0"))
    args = _args(data, tmp_path, 10, "--eval-every", "0", "--resume")
    args.frames = 81
    with pytest.raises(ValueError, match="same --frames"):
        train(args)


@pytest.mark.slow
def test_200_steps_reduce_the_loss_and_write_loadable_weights(data, tmp_path, capsys):
    result = train(_args(data, tmp_path, 200, "--eval-every", "100"))
    assert result.step == 200 and len(result.losses) == 200
    assert sum(result.losses[-20:]) < 0.7 * sum(result.losses[:20])
    assert "val MPJPE" in capsys.readouterr().out  # S9 of the synthetic folder is the validation set
    assert load_model(tmp_path).cfg.frames == 27
