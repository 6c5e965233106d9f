"""Weights registry: manifest, local folders and files, the Hugging Face cache, checksums, strict loading."""

import dataclasses
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
import torch
from huggingface_hub import constants as hf_constants
from safetensors.torch import load_file, save_file

import liftpose
import liftpose.weights as weights
from liftpose.cli import main
from liftpose.config import ModelConfig
from liftpose.convert import convert_official
from liftpose.weights import WeightsError, load_manifest, load_model, resolve_weights, save_pretrained

ROOT = Path(__file__).resolve().parents[1]
REPO_ID = "liftpose-test/strided-transformer"
FILENAME = "test-27/model.safetensors"
MAIN_COMMIT = hashlib.sha1(b"main").hexdigest()
TAG_COMMIT = hashlib.sha1(b"v1.0").hexdigest()


@pytest.fixture(scope="module")
def converted(reference_dir, tmp_path_factory) -> Path:
    """official_T27.pth converted by liftpose: a folder with model.safetensors + config.json."""
    return convert_official(reference_dir / "official_T27.pth", tmp_path_factory.mktemp("converted"))


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _params(model):
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def _same_weights(a, b) -> bool:
    pa, pb = _params(a), _params(b)
    return pa.keys() == pb.keys() and all(torch.equal(pa[k], pb[k]) for k in pa)


# --- local folders and files -------------------------------------------------------------------


def test_folder_loads_in_eval_mode_as_float32(converted):
    model = load_model(converted, device="cpu")
    assert not model.training
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in model.parameters())
    assert model.cfg == ModelConfig.for_frames(27)


def test_safetensors_file_loads_with_or_without_a_neighbouring_config(converted, tmp_path):
    alone = tmp_path / "alone.safetensors"
    shutil.copy(converted / "model.safetensors", alone)  # config only in the file's metadata
    assert _same_weights(load_model(alone), load_model(converted / "model.safetensors"))


def test_file_without_any_config_is_refused(converted, tmp_path):
    bare = tmp_path / "bare.safetensors"
    save_file(load_file(converted / "model.safetensors"), bare)
    with pytest.raises(WeightsError, match="no model config for .*bare.safetensors: put its config.json next to it"):
        load_model(bare)


def test_disagreeing_configs_are_refused(converted, tmp_path):
    shutil.copy(converted / "model.safetensors", tmp_path / "model.safetensors")
    ModelConfig.for_frames(27, strides=(1, 3, 9)).save(tmp_path / "config.json")
    with pytest.raises(WeightsError, match=r"configs for .* disagree .*strides=\(1, 3, 9\).*strides=\(3, 3, 3\)"):
        load_model(tmp_path)


def _write_variant(converted, out_dir, change, cfg=None) -> Path:
    """A model.safetensors without config metadata holding ``change(tensors)``, plus a config.json."""
    out_dir.mkdir()
    save_file(change(load_file(converted / "model.safetensors")), out_dir / "model.safetensors")
    (cfg or ModelConfig.load(converted / "config.json")).save(out_dir / "config.json")
    return out_dir


def test_missing_tensor_is_named(converted, tmp_path):
    folder = _write_variant(converted, tmp_path / "m", lambda t: {k: v for k, v in t.items() if k != "ste_head.linear.bias"})
    with pytest.raises(WeightsError, match=r"config does not match the weights .*missing keys: ste_head\.linear\.bias"):
        load_model(folder)


def test_unexpected_tensor_is_named(converted, tmp_path):
    folder = _write_variant(converted, tmp_path / "m", lambda t: {**t, "refine.weight": torch.zeros(2)})
    with pytest.raises(WeightsError, match=r"unexpected keys: refine\.weight"):
        load_model(folder)


def test_weights_of_another_config_are_refused(converted, tmp_path):
    folder = _write_variant(converted, tmp_path / "m", dict, cfg=ModelConfig.for_frames(81))
    with pytest.raises(WeightsError, match=r"frames=81.*mis-shaped tensors: .*vte_pos \(1, 27, 256\) instead of \(1, 81, 256\)"):
        load_model(folder)


def test_batchnorm_counters_may_be_absent(converted):
    assert not any(k.endswith("num_batches_tracked") for k in load_file(converted / "model.safetensors"))
    assert load_model(converted).embed_norm.num_batches_tracked.item() == 0


def test_float16_file_loads_as_float32(converted, tmp_path):
    full = load_file(converted / "model.safetensors")
    save_pretrained(load_model(converted), tmp_path, dtype=torch.float16)
    assert {v.dtype for v in load_file(tmp_path / "model.safetensors").values()} == {torch.float16}
    model = load_model(tmp_path)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(torch.equal(v, full[k].half().float()) for k, v in _params(model).items())


def test_truncated_file_is_refused(converted, tmp_path):
    data = (converted / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    shutil.copy(converted / "config.json", tmp_path)
    with pytest.raises(WeightsError, match="not a safetensors file: .*re-download or re-convert"):
        load_model(tmp_path)


def test_pickle_named_safetensors_is_refused(reference_dir, tmp_path):
    fake = tmp_path / "model.safetensors"
    shutil.copy(reference_dir / "official_T27.pth", fake)
    with pytest.raises(WeightsError, match="not a safetensors file"):
        load_model(fake)


def test_missing_paths_and_folders_without_weights_are_named(tmp_path):
    with pytest.raises(WeightsError, match="no such file or folder: .*nothing.safetensors"):
        load_model(tmp_path / "nothing.safetensors")
    with pytest.raises(WeightsError, match="has no model.safetensors"):
        load_model(tmp_path)


def test_revision_is_refused_for_local_paths(converted):
    with pytest.raises(WeightsError, match="applies to manifest names"):
        load_model(converted, revision="main")


def test_save_pretrained_writes_a_self_describing_file(converted, tmp_path):
    model = load_model(converted)
    save_pretrained(model, tmp_path, metadata={"source": "test"})
    (tmp_path / "config.json").unlink()
    assert _same_weights(load_model(tmp_path / "model.safetensors"), model)


# --- the shipped manifest ----------------------------------------------------------------------


def test_manifest_lists_the_models():
    manifest = load_manifest()
    assert list(manifest) == ["h36m-27", "h36m-81", "h36m-243"]
    for name, entry in manifest.items():
        assert entry.config == ModelConfig.for_frames(int(name.split("-")[1]))
        assert entry.repo_id == "liftpose/strided-transformer-h36m" and not entry.published
        assert entry.filename == f"{name}/model.safetensors" and entry.revision == "main"
        assert entry.training_data.startswith("Human3.6M S1,S5,S6,S7,S8")
        assert entry.licence.startswith("research-only")
    assert [e.status for e in manifest.values()] == ["available", "planned", "planned"]
    assert manifest["h36m-81"].sha256 is None and manifest["h36m-243"].sha256 is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest["h36m-27"].sha256 = "0" * 64


def test_bundled_h36m_27_loads_offline_and_matches_its_manifest_entry(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = load_manifest()["h36m-27"]
    path = resolve_weights("h36m-27")
    assert path == weights.BUNDLED_DIR / entry.filename
    assert path.stat().st_size == entry.size and weights.file_sha256(path) == entry.sha256
    lifter = liftpose.Lifter.from_pretrained("h36m-27", device="cpu")
    poses = lifter.predict(torch.rand(100, 17, 2).numpy() * 1000, image_size=(1000, 1000))
    assert poses.shape == (100, 17, 3) and poses.dtype.name == "float32" and np.isfinite(poses).all()


def test_top_level_manifest_is_the_packaged_one():
    assert (ROOT / "weights_manifest.json").resolve() == weights.MANIFEST_PATH.resolve()


def test_untrained_model_says_so():
    with pytest.raises(WeightsError, match=r"'h36m-243' is not trained yet.*liftpose convert OFFICIAL.pth OUT_DIR"):
        load_model("h36m-243")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(WeightsError, match=r"'h36m-99' is neither .* \(known: h36m-27, h36m-81, h36m-243\)"):
        load_model("h36m-99")


def test_malformed_manifest_entry_is_refused(tmp_path):
    path = tmp_path / "manifest.json"
    entry = {**_entry_dict("sha"), "status": "ready"}
    path.write_text(json.dumps({"models": [entry]}))
    with pytest.raises(WeightsError, match="manifest entry 'test-27' is malformed .*status must be"):
        load_manifest(path)


def test_models_command_prints_one_line_per_model(capsys):
    main(["models"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "frames", "status"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["h36m-27", "27", "available"],
        ["h36m-81", "81", "planned"],
        ["h36m-243", "243", "planned"],
    ]
    assert all("research-only" in line for line in lines[1:])
    assert all("not measured" in line for line in lines[2:])


def test_models_table_shows_measured_accuracy(tmp_path):
    entry = weights.ModelEntry.from_dict({**_entry_dict("0" * 64), "accuracy": {"mpjpe_mm": 52.31, "p_mpjpe_mm": 40.0, "input": "GT 2D"}})
    assert "52.3 mm / 40.0 mm (GT 2D)" in weights.manifest_table({"test-27": entry})


def test_models_table_shows_detection_accuracy_when_measured():
    acc = {"mpjpe_mm": 52.31, "p_mpjpe_mm": 40.0, "input": "GT 2D", "sh_mpjpe_mm": 70.04, "sh_p_mpjpe_mm": 51.26}
    entry = weights.ModelEntry.from_dict({**_entry_dict("0" * 64), "accuracy": acc})
    assert "52.3 mm / 40.0 mm (GT 2D); 70.0 mm / 51.3 mm (Stacked Hourglass 2D)" in weights.manifest_table({"t": entry})


# --- names through the bundled folder and the Hugging Face cache --------------------------------


def _entry_dict(sha256: str, published: bool = True) -> dict:
    return {
        "name": "test-27",
        "status": "available",
        "config": ModelConfig.for_frames(27).to_dict(),
        "repo_id": REPO_ID,
        "filename": FILENAME,
        "revision": "main",
        "published": published,
        "sha256": sha256,
        "size": None,
        "training_data": "random weights (official_T27.pth)",
        "licence": "MIT",
        "accuracy": None,
    }


def _hub_cache(cache: Path, payload: bytes, refs: dict[str, str]) -> Path:
    """A Hugging Face hub cache in the real layout holding ``payload`` as FILENAME at each ref; returns the blob."""
    repo = cache / f"models--{REPO_ID.replace('/', '--')}"
    blob = repo / "blobs" / hashlib.sha256(payload).hexdigest()  # LFS files are stored under their sha256 etag
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(payload)
    for ref, commit in refs.items():
        if ref != commit:
            (repo / "refs").mkdir(exist_ok=True)
            (repo / "refs" / ref).write_text(commit)
        pointer = repo / "snapshots" / commit / FILENAME
        pointer.parent.mkdir(parents=True, exist_ok=True)
        pointer.symlink_to(os.path.relpath(blob, pointer.parent))
    return blob


@pytest.fixture
def hub(converted, tmp_path, monkeypatch):
    """An offline Hugging Face cache holding the converted weights, and a manifest entry pointing at it."""
    payload = (converted / "model.safetensors").read_bytes()
    home = tmp_path / "hf"
    cache = home / "hub"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"models": [_entry_dict(hashlib.sha256(payload).hexdigest())]}))
    monkeypatch.setattr(weights, "MANIFEST_PATH", manifest)
    monkeypatch.setattr(weights, "BUNDLED_DIR", tmp_path / "bundled")
    # huggingface_hub reads these variables once, at import: set them for anything started later and
    # patch the constants that hf_hub_download reads at call time.
    for var, value in (("HF_HOME", home), ("HF_HUB_CACHE", cache), ("HF_HUB_OFFLINE", "1")):
        monkeypatch.setenv(var, str(value))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return cache, payload


def test_name_loads_through_hf_hub_download(hub, converted, monkeypatch):
    cache, payload = hub
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    calls = []
    real = huggingface_hub.hf_hub_download
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    path = resolve_weights("test-27")
    assert path == cache / f"models--{REPO_ID.replace('/', '--')}" / "snapshots" / MAIN_COMMIT / FILENAME
    assert calls == [((REPO_ID, FILENAME), {"revision": "main", "library_name": "liftpose", "library_version": liftpose.__version__})]
    assert _same_weights(load_model("test-27"), load_model(converted))


def test_revision_selects_a_snapshot(hub):
    cache, payload = hub
    _hub_cache(cache, payload, {"main": MAIN_COMMIT, "v1.0": TAG_COMMIT})
    assert resolve_weights("test-27", revision="v1.0").parts[-3] == TAG_COMMIT
    assert resolve_weights("test-27", revision=MAIN_COMMIT).parts[-3] == MAIN_COMMIT
    assert load_model("test-27", revision="v1.0").cfg.frames == 27


def test_revision_that_holds_another_file_fails_the_checksum(hub, converted):
    cache, payload = hub
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    other = load_file(converted / "model.safetensors")
    other["vte_pos"] = other["vte_pos"] + 1
    _hub_cache(cache, _safetensors_bytes(other, cache.parent / "other.safetensors"), {"v2.0": TAG_COMMIT})
    with pytest.raises(WeightsError, match="checksum mismatch .*revision other than 'main' must hold the same file"):
        load_model("test-27", revision="v2.0")


def _safetensors_bytes(tensors, path: Path) -> bytes:
    save_file(tensors, path)
    return path.read_bytes()


def test_revision_missing_from_the_cache_is_a_clear_error(hub):
    cache, payload = hub
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    with pytest.raises(WeightsError, match=r"cannot get .*test-27/model.safetensors at revision 'v9' .*HF_HUB_OFFLINE=1") as info:
        load_model("test-27", revision="v9")
    assert isinstance(info.value.__cause__, huggingface_hub.utils.EntryNotFoundError)


def test_file_missing_from_the_cache_is_a_clear_error(hub):
    with pytest.raises(WeightsError, match=rf"cannot get {REPO_ID}/{FILENAME} at revision 'main' from the Hugging Face Hub"):
        load_model("test-27")


def test_tampered_cache_file_fails_the_checksum(hub):
    cache, payload = hub
    blob = _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    expected = hashlib.sha256(payload).hexdigest()
    tampered = bytearray(payload)
    tampered[-1] ^= 0xFF  # still a valid safetensors file, one weight changed
    blob.write_bytes(bytes(tampered))
    got = hashlib.sha256(tampered).hexdigest()
    with pytest.raises(WeightsError, match=rf"checksum mismatch for .*{MAIN_COMMIT}.*expected sha256 {expected}, got {got}; delete the cached file \({blob}\)"):
        load_model("test-27")


def test_file_changed_after_a_verified_load_is_checked_again(hub):
    cache, payload = hub
    blob = _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    load_model("test-27")
    blob.write_bytes(payload[:-1] + bytes([payload[-1] ^ 0xFF]))
    st = blob.stat()
    os.utime(blob, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(WeightsError, match="checksum mismatch"):
        load_model("test-27")


def test_bundled_file_comes_before_the_hub(hub, tmp_path):
    _, payload = hub
    bundled = tmp_path / "bundled" / FILENAME  # the hub cache is empty
    bundled.parent.mkdir(parents=True)
    bundled.write_bytes(payload)
    assert resolve_weights("test-27") == bundled
    bundled.write_bytes(payload[:-1] + bytes([payload[-1] ^ 0xFF]))
    with pytest.raises(WeightsError, match="checksum mismatch .*reinstall liftpose"):
        load_model("test-27")


def test_unpublished_model_without_a_bundled_file_is_a_clear_error(hub, monkeypatch, tmp_path):
    manifest = tmp_path / "unpublished.json"
    manifest.write_text(json.dumps({"models": [_entry_dict("0" * 64, published=False)]}))
    monkeypatch.setattr(weights, "MANIFEST_PATH", manifest)
    with pytest.raises(WeightsError, match=rf"not bundled in this installation .* {REPO_ID} is not published yet"):
        load_model("test-27")


def test_hf_home_and_offline_variables_work_in_a_fresh_process(hub):
    """No patched constants: huggingface_hub reads HF_HOME and HF_HUB_OFFLINE from the environment."""
    cache, payload = hub
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
    code = (
        "import sys, liftpose.weights as w; w.MANIFEST_PATH = w.Path(sys.argv[1]); "
        "print(w.resolve_weights('test-27')); print(w.load_model('test-27').cfg.frames)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(weights.MANIFEST_PATH)], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(cache / f"models--{REPO_ID.replace('/', '--')}" / "snapshots" / MAIN_COMMIT / FILENAME), "27"]


# --- packaging ---------------------------------------------------------------------------------


def test_wheel_ships_the_manifest(tmp_path):
    pytest.importorskip("setuptools", reason="building the wheel without build isolation needs setuptools")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "liftpose", src / "liftpose", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist", src],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert "liftpose/weights_manifest.json" in zipfile.ZipFile(wheel).namelist()


def test_the_default_model_is_a_manifest_model_and_loads_without_a_name():
    from liftpose import Lifter
    from liftpose.weights import default_model

    name = default_model()
    assert load_manifest()[name].status == "available"
    assert Lifter.from_pretrained(device="cpu").model.state_dict()["embed.weight"].equal(
        Lifter.from_pretrained(name, device="cpu").model.state_dict()["embed.weight"]
    )
