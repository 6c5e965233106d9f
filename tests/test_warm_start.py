"""Warm start across receptive fields (liftpose.warm_start, liftpose train --init-from)."""

import pytest
import torch
from synthetic_h36m import write_synthetic_h36m

from liftpose.config import ModelConfig
from liftpose.model import StridedTransformer
from liftpose.serialization import load_model, save_pretrained
from liftpose.train import TrainConfig, train
from liftpose.warm_start import init_from, resample_in_time, transfer_weights


def _model(frames, seed=0, **kw):
    torch.manual_seed(seed)
    return StridedTransformer(ModelConfig.for_frames(frames, **kw)).eval()


def test_resampling_to_the_same_length_is_the_identity():
    pos = torch.randn(3, 27, 8)
    assert torch.equal(resample_in_time(pos, 27), pos)


def test_same_receptive_field_copies_the_network_exactly():
    source, target = _model(27, 0), _model(27, 1)
    assert transfer_weights(source, target) == []
    x = torch.randn(4, 27, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x), rtol=0, atol=0)


def test_t81_from_t27_keeps_the_per_frame_embedding_and_resamples_positions():
    source, target = _model(27, 0), _model(81, 1)
    assert transfer_weights(source, target) == []
    frame = torch.randn(10, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(target.embed_frames(frame), source.embed_frames(frame))
    # align_corners: first, centre and last rows of the embedding land on the same rows
    for s, t in ((0, 0), (13, 40), (26, 80)):
        torch.testing.assert_close(target.vte_pos[0, t], source.vte_pos[0, s])
    # STE layer 1 of T=81 sees 27 frames (strides 3, 3, 9), of T=27 it sees 9: its used rows are resampled
    torch.testing.assert_close(target.ste_pos[1, 0], source.ste_pos[1, 0])
    torch.testing.assert_close(target.ste_pos[1, 26], source.ste_pos[1, 8])
    assert target.ste_pos[1, 27:].abs().sum() == 0  # rows no layer uses
    for (name, a), b in zip(target.state_dict().items(), source.state_dict().values(), strict=True):
        if name not in ("vte_pos", "ste_pos"):
            assert torch.equal(a, b), name


def test_what_cannot_be_carried_is_listed_and_left_as_it_was():
    """Another width: every tensor of another shape is listed (in state_dict order) and untouched,
    every other one is copied."""
    source, target = _model(27, 0), _model(27, 1, d_model=128, d_ff=256)
    before = {name: value.clone() for name, value in target.state_dict().items()}
    src = source.state_dict()
    skipped = transfer_weights(source, target)
    assert skipped == [name for name, value in before.items() if src[name].shape != value.shape]
    assert "embed.weight" in skipped and "vte_pos" in skipped and len(skipped) < len(before)
    for name, value in target.state_dict().items():
        assert torch.equal(value, before[name] if name in skipped else src[name]), name


def test_train_init_from_starts_from_the_other_models_weights(tmp_path):
    data = write_synthetic_h36m(tmp_path / "h36m", subjects=("S1",), frames=(30, 30))
    save_pretrained(_model(27, 0), tmp_path / "t27")
    train(
        TrainConfig(
            data,
            tmp_path / "t81",
            frames=81,
            subjects=("S1",),
            steps=0,
            eval_every=0,
            threads=1,
            init_from=tmp_path / "t27",
        )
    )
    t81, t27 = load_model(tmp_path / "t81"), load_model(tmp_path / "t27")
    assert t81.cfg.frames == 81
    torch.testing.assert_close(t81.embed.weight, t27.embed.weight)
    torch.testing.assert_close(t81.vte_pos[0, 40], t27.vte_pos[0, 13])


def test_init_from_an_unknown_model_names_the_problem():
    with pytest.raises(ValueError, match="h36m-27"):
        init_from(_model(27), "h36m-2")
