"""liftpose convert: official .pth -> model.safetensors + config.json, and its refusals."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from liftpose.cli import main
from liftpose.config import ModelConfig
from liftpose.convert import CheckpointError, convert_official, read_official
from liftpose.serialization import load_model


@pytest.fixture(scope="module")
def official_27(reference_dir):
    return read_official(reference_dir / "official_T27.pth")


def _save(state, path):
    torch.save(state, path)
    return path


def test_output_folder_holds_weights_and_a_config_that_the_file_repeats(reference_dir, tmp_path):
    out = convert_official(reference_dir / "official_T27.pth", tmp_path / "m")
    cfg = ModelConfig.load(out / "config.json")
    assert (cfg.frames, cfg.strides) == (27, (3, 3, 3))
    with safe_open(out / "model.safetensors", "pt") as f:
        meta, keys = f.metadata(), set(f.keys())
    assert ModelConfig.from_dict(json.loads(meta["config"])) == cfg
    assert meta["source"] == "official_T27.pth"
    assert not any("num_batches_tracked" in k or k.endswith("model.norm.a_2") for k in keys)


def test_module_prefix_is_stripped(official_27, reference_dir, tmp_path):
    ckpt = _save({f"module.{k}": v for k, v in official_27.items()}, tmp_path / "ddp.pth")
    prefixed = load_file(convert_official(ckpt, tmp_path / "a") / "model.safetensors")
    plain = load_file(convert_official(reference_dir / "official_T27.pth", tmp_path / "b") / "model.safetensors")
    assert prefixed.keys() == plain.keys()
    assert all(torch.equal(prefixed[k], plain[k]) for k in plain)


def test_missing_key_is_named(official_27, tmp_path):
    state = {k: v for k, v in official_27.items() if k != "fcn.1.bias"}
    with pytest.raises(CheckpointError, match=r"missing keys: fcn\.1\.bias"):
        convert_official(_save(state, tmp_path / "x.pth"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unexpected_key_is_named(official_27, tmp_path):
    state = {**official_27, "extra_head.weight": torch.zeros(3)}
    with pytest.raises(CheckpointError, match=r"unexpected keys: extra_head\.weight"):
        convert_official(_save(state, tmp_path / "x.pth"), tmp_path / "out")


def test_misshaped_tensor_is_named_with_its_official_key(official_27, tmp_path):
    state = {**official_27, "fcn.1.weight": torch.zeros(48, 256, 1)}
    with pytest.raises(
        CheckpointError, match=r"ste_head\.linear\.weight \(from fcn\.1\.weight\) \(48, 256\) instead of \(51, 256\)"
    ):
        convert_official(_save(state, tmp_path / "x.pth"), tmp_path / "out")


def test_strides_override_is_written_to_the_config(reference_dir, tmp_path):
    out = convert_official(reference_dir / "official_T27.pth", tmp_path, strides=(1, 3, 9))
    model = load_model(out)
    assert model.cfg.strides == (1, 3, 9)
    centre, window = model(torch.zeros(2, 27, 17, 2))
    assert centre.shape == (2, 17, 3) and window.shape == (2, 27, 17, 3)


def test_strides_with_another_layer_count_name_the_extra_layers(reference_dir, tmp_path):
    with pytest.raises(
        CheckpointError, match=r"strides=\(27,\).*unexpected keys: Transformer_reduce\.model\.layers\.1"
    ):
        convert_official(reference_dir / "official_T27.pth", tmp_path, strides=(27,))


def test_frames_mismatch_is_refused(reference_dir, tmp_path):
    with pytest.raises(CheckpointError, match=r"frames=81 was requested .* has 27 frames"):
        convert_official(reference_dir / "official_T27.pth", tmp_path, frames=81)


def test_non_checkpoint_file_is_refused(tmp_path):
    junk = tmp_path / "notes.pth"
    junk.write_text("hello, not a checkpoint")
    with pytest.raises(CheckpointError, match=r"cannot read .*notes\.pth as a PyTorch checkpoint"):
        convert_official(junk, tmp_path / "out")


def test_non_state_dict_pickle_is_refused(tmp_path):
    ckpt = _save({"epoch": 3, "model": {"w": torch.zeros(1)}}, tmp_path / "wrapped.pth")
    with pytest.raises(CheckpointError, match="not a state_dict of tensors"):
        convert_official(ckpt, tmp_path / "out")


def test_liftpose_weights_are_not_converted_twice(reference_dir, tmp_path):
    out = convert_official(reference_dir / "official_T27.pth", tmp_path / "m")
    ckpt = _save(load_file(out / "model.safetensors"), tmp_path / "ours.pth")
    with pytest.raises(CheckpointError, match="already in liftpose's layout"):
        convert_official(ckpt, tmp_path / "again")


def test_released_refine_checkpoint_is_recognised_as_the_refine_module(reference_dir, tmp_path):
    with pytest.raises(
        CheckpointError, match=r"optional refine module \(post_refine\.\* keys\), not the lifting network"
    ):
        convert_official(reference_dir / "official_refine_4365.pth", tmp_path)


def test_cli_converts(reference_dir, tmp_path, capsys):
    main(["convert", str(reference_dir / "official_T27.pth"), str(tmp_path), "--frames", "27", "--strides", "3,3,3"])
    assert "wrote" in capsys.readouterr().out
    assert load_model(tmp_path).cfg.frames == 27


def test_cli_error_is_one_line_with_exit_code_1(reference_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(reference_dir / "official_refine_4365.pth"), str(tmp_path)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("liftpose convert: error: ") and "refine module" in err
    assert err.count("\n") == 1


def test_cli_rejects_malformed_strides(reference_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(reference_dir / "official_T27.pth"), str(tmp_path), "--strides", "3,x"])
    assert exit_info.value.code == 2
    assert "comma-separated list of integers" in capsys.readouterr().err
