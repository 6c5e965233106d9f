"""Model weights, by module: :mod:`liftpose.registry` (the manifest of named models),
:mod:`liftpose.hub` (a name to a verified local file: bundled folder, Hugging Face cache/Hub,
checksums), :mod:`liftpose.serialization` (strict loading and saving of model files, the config
rule), the deprecated shim :mod:`liftpose.weights`, and packaging."""

import ast
import dataclasses
import hashlib
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
import torch
from huggingface_hub import constants as hf_constants
from safetensors.torch import load_file, save_file

import liftpose
from liftpose import hub, registry
from liftpose.cli import main
from liftpose.config import ModelConfig
from liftpose.convert import convert_official
from liftpose.errors import WeightsError
from liftpose.formats import load_keypoints
from liftpose.hub import resolve_weights
from liftpose.registry import default_model, list_models, load_manifest
from liftpose.serialization import load_model, save_pretrained

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
def hub_cache(converted, tmp_path, monkeypatch):
    """An offline Hugging Face cache holding the converted weights, and a manifest entry pointing at it."""
    payload = (converted / "model.safetensors").read_bytes()
    home = tmp_path / "hf"
    cache = home / "hub"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"models": [_entry_dict(hashlib.sha256(payload).hexdigest())]}))
    monkeypatch.setattr(registry, "MANIFEST_PATH", manifest)
    monkeypatch.setattr(hub, "BUNDLED_DIR", tmp_path / "bundled")
    # huggingface_hub reads these variables once, at import: set them for anything started later and
    # patch the constants that hf_hub_download reads at call time.
    for var, value in (("HF_HOME", home), ("HF_HUB_CACHE", cache), ("HF_HUB_OFFLINE", "1")):
        monkeypatch.setenv(var, str(value))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return cache, payload


# --- liftpose.registry: the manifest of named models ------------------------------------------


def test_manifest_lists_the_models():
    manifest = load_manifest()
    assert list(manifest) == ["h36m-27", "h36m-27-clean", "h36m-81", "h36m-243"]
    for name, entry in manifest.items():
        assert entry.config == ModelConfig.for_frames(int(name.split("-")[1]))
        assert entry.repo_id == "liftpose/strided-transformer-h36m" and not entry.published
        assert entry.filename == f"{name}/model.safetensors" and entry.revision == "main"
        assert entry.training_data.startswith("Human3.6M S1,S5,S6,S7,S8")
        assert entry.licence.startswith("research-only")
    assert [e.status for e in manifest.values()] == ["available", "available", "planned", "available"]
    assert manifest["h36m-81"].sha256 is None and manifest["h36m-81"].accuracy is None
    for entry in manifest.values():  # what is available says what it was measured at
        assert (entry.status == "available") == (entry.sha256 is not None and entry.accuracy is not None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest["h36m-27"].sha256 = "0" * 64


def test_bundled_folder_holds_exactly_the_available_models_with_their_manifest_config():
    manifest = load_manifest()
    bundled = sorted(str(p.relative_to(hub.BUNDLED_DIR)) for p in hub.BUNDLED_DIR.rglob("*.safetensors"))
    assert bundled == sorted(e.filename for e in manifest.values() if e.status == "available")
    for entry in manifest.values():
        if entry.status == "available":
            assert ModelConfig.load((hub.BUNDLED_DIR / entry.filename).parent / "config.json") == entry.config
    assert hub.BUNDLED_DIR == registry.PACKAGE_DIR / "bundled_models"
    assert not (registry.PACKAGE_DIR / "weights").exists()  # no folder named like the module liftpose.weights


def test_list_models_filters_by_pattern_and_status():
    assert list_models() == list(load_manifest())
    assert list_models("h36m-2*") == ["h36m-27", "h36m-27-clean", "h36m-243"]
    assert list_models(available=True) == ["h36m-27", "h36m-27-clean", "h36m-243"]
    assert list_models("h36m-8*", available=True) == []


def test_unknown_name_suggests_close_ones_and_lists_the_known_ones():
    with pytest.raises(
        WeightsError,
        match=r"unknown model 'h36m_27' \(did you mean 'h36m-27'.*known: h36m-27, h36m-27-clean, h36m-81, h36m-243;",
    ):
        load_model("h36m_27")
    with pytest.raises(
        WeightsError, match=r"unknown model 'resnet' \(known: h36m-27, .*\), and no such file or folder"
    ):
        registry.get_entry("resnet")


def test_malformed_manifest_entry_is_refused(tmp_path):
    path = tmp_path / "manifest.json"
    entry = {**_entry_dict("sha"), "status": "ready"}
    path.write_text(json.dumps({"models": [entry]}))
    with pytest.raises(WeightsError, match="manifest entry 'test-27' is malformed .*status must be"):
        load_manifest(path)


def test_default_model_must_be_listed(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"default": "test-81", "models": [_entry_dict("0" * 64)]}))
    with pytest.raises(WeightsError, match=r"names default model 'test-81', which it does not list"):
        default_model(path)
    path.write_text(json.dumps({"default": "test-27", "models": [_entry_dict("0" * 64)]}))
    assert default_model(path) == "test-27"


def test_the_default_model_is_a_manifest_model_and_loads_without_a_name():
    from liftpose import Lifter

    name = default_model()
    assert load_manifest()[name].status == "available"
    assert (
        Lifter.from_pretrained(device="cpu")
        .model.state_dict()["embed.weight"]
        .equal(Lifter.from_pretrained(name, device="cpu").model.state_dict()["embed.weight"])
    )


def test_models_command_prints_one_line_per_model(capsys):
    main(["models"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "frames", "status"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["h36m-27", "27", "available"],
        ["h36m-27-clean", "27", "available"],
        ["h36m-81", "81", "planned"],
        ["h36m-243", "243", "available"],
    ]
    assert all("research-only" in line for line in lines[1:])
    assert ["not measured" in line for line in lines[1:]] == [False, False, True, False]


def test_models_table_shows_measured_accuracy():
    entry = registry.ModelEntry.from_dict(
        {**_entry_dict("0" * 64), "accuracy": {"mpjpe_mm": 52.31, "p_mpjpe_mm": 40.0, "input": "GT 2D"}}
    )
    assert "52.3 mm / 40.0 mm (GT 2D)" in registry.manifest_table({"test-27": entry})


def test_models_table_shows_detection_accuracy_when_measured():
    acc = {"mpjpe_mm": 52.31, "p_mpjpe_mm": 40.0, "input": "GT 2D", "sh_mpjpe_mm": 70.04, "sh_p_mpjpe_mm": 51.26}
    entry = registry.ModelEntry.from_dict({**_entry_dict("0" * 64), "accuracy": acc})
    assert "52.3 mm / 40.0 mm (GT 2D); 70.0 mm / 51.3 mm (Stacked Hourglass 2D)" in registry.manifest_table(
        {"t": entry}
    )


# --- liftpose.hub: names to verified local files (bundled folder, Hugging Face cache) ---------


def test_bundled_h36m_27_loads_offline_and_matches_its_manifest_entry(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = load_manifest()["h36m-27"]
    path = resolve_weights("h36m-27")
    assert path == hub.BUNDLED_DIR / entry.filename
    assert path.stat().st_size == entry.size and hub.file_sha256(path) == entry.sha256
    lifter = liftpose.Lifter.from_pretrained("h36m-27", device="cpu")
    poses = lifter.predict(torch.rand(100, 17, 2).numpy() * 1000, image_size=(1000, 1000))
    assert poses.shape == (100, 17, 3) and poses.dtype.name == "float32" and np.isfinite(poses).all()


def test_untrained_model_says_so():
    with pytest.raises(WeightsError, match=r"'h36m-81' is not trained yet.*liftpose convert OFFICIAL.pth OUT_DIR"):
        load_model("h36m-81")


@pytest.mark.parametrize("name", ["h36m-27-clean", "h36m-243"])
def test_every_bundled_model_loads_offline_by_name(name, monkeypatch):
    """The design's headline call, Lifter.from_pretrained("h36m-243"), works offline on a fresh
    clone, from the file the manifest names (size and sha256 checked)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = load_manifest()[name]
    path = resolve_weights(name)
    assert path == hub.BUNDLED_DIR / entry.filename
    assert path.stat().st_size == entry.size and hub.file_sha256(path) == entry.sha256
    lifter = liftpose.Lifter.from_pretrained(name, device="cpu")
    assert lifter.receptive_field == entry.config.frames
    walk = load_keypoints(Path(__file__).resolve().parents[1] / "examples" / "data" / "walk_coco17.json")
    poses = lifter.predict(walk.keypoints, walk.image_size, layout=walk.layout, fps=walk.fps, flip=False)
    assert poses.shape == (len(walk.keypoints), 17, 3) and np.isfinite(poses).all()


def test_name_loads_through_hf_hub_download(hub_cache, converted, monkeypatch):
    cache, payload = hub_cache
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    calls = []
    real = huggingface_hub.hf_hub_download
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    path = resolve_weights("test-27")
    assert path == cache / f"models--{REPO_ID.replace('/', '--')}" / "snapshots" / MAIN_COMMIT / FILENAME
    assert calls == [
        (
            (REPO_ID, FILENAME),
            {
                "revision": "main",
                "library_name": "liftpose",
                "library_version": liftpose.__version__,
                "local_files_only": False,
            },
        )
    ]
    assert _same_weights(load_model("test-27"), load_model(converted))


def test_local_files_only_reads_the_cache_and_never_downloads(hub_cache, monkeypatch):
    cache, payload = hub_cache
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)  # only local_files_only keeps it off the network
    calls = []
    real = huggingface_hub.hf_hub_download
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: calls.append(k) or real(*a, **k))
    assert resolve_weights("test-27", local_files_only=True).parts[-3] == MAIN_COMMIT
    assert liftpose.Lifter.from_pretrained("test-27", device="cpu", local_files_only=True).receptive_field == 27
    assert [k["local_files_only"] for k in calls] == [True, True]
    with pytest.raises(
        WeightsError,
        match=r"at revision 'v9' from the local Hugging Face cache \(local_files_only=True\).*drop local_files_only",
    ):
        load_model("test-27", revision="v9", local_files_only=True)


def test_revision_selects_a_snapshot(hub_cache):
    cache, payload = hub_cache
    _hub_cache(cache, payload, {"main": MAIN_COMMIT, "v1.0": TAG_COMMIT})
    assert resolve_weights("test-27", revision="v1.0").parts[-3] == TAG_COMMIT
    assert resolve_weights("test-27", revision=MAIN_COMMIT).parts[-3] == MAIN_COMMIT
    assert load_model("test-27", revision="v1.0").cfg.frames == 27


def test_revision_that_holds_another_file_fails_the_checksum(hub_cache, converted):
    cache, payload = hub_cache
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    other = load_file(converted / "model.safetensors")
    other["vte_pos"] = other["vte_pos"] + 1
    _hub_cache(cache, _safetensors_bytes(other, cache.parent / "other.safetensors"), {"v2.0": TAG_COMMIT})
    with pytest.raises(WeightsError, match="checksum mismatch .*revision other than 'main' must hold the same file"):
        load_model("test-27", revision="v2.0")


def _safetensors_bytes(tensors, path: Path) -> bytes:
    save_file(tensors, path)
    return path.read_bytes()


def test_revision_missing_from_the_cache_is_a_clear_error(hub_cache):
    cache, payload = hub_cache
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    with pytest.raises(
        WeightsError, match=r"cannot get .*test-27/model.safetensors at revision 'v9' .*HF_HUB_OFFLINE=1"
    ) as info:
        load_model("test-27", revision="v9")
    assert isinstance(info.value.__cause__, huggingface_hub.utils.EntryNotFoundError)


def test_file_missing_from_the_cache_is_a_clear_error(hub_cache):
    with pytest.raises(
        WeightsError, match=rf"cannot get {REPO_ID}/{FILENAME} at revision 'main' from the Hugging Face Hub"
    ):
        load_model("test-27")


def test_tampered_cache_file_fails_the_checksum(hub_cache):
    cache, payload = hub_cache
    blob = _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    expected = hashlib.sha256(payload).hexdigest()
    tampered = bytearray(payload)
    tampered[-1] ^= 0xFF  # still a valid safetensors file, one weight changed
    blob.write_bytes(bytes(tampered))
    got = hashlib.sha256(tampered).hexdigest()
    with pytest.raises(
        WeightsError,
        match=rf"checksum mismatch for .*{MAIN_COMMIT}.*expected sha256 {expected}, got {got}; "
        rf"delete the cached file \({blob}\)",
    ):
        load_model("test-27")


def test_file_changed_after_a_verified_load_is_checked_again(hub_cache):
    cache, payload = hub_cache
    blob = _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    load_model("test-27")
    blob.write_bytes(payload[:-1] + bytes([payload[-1] ^ 0xFF]))
    st = blob.stat()
    os.utime(blob, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(WeightsError, match="checksum mismatch"):
        load_model("test-27")


def test_bundled_file_comes_before_the_hub(hub_cache, tmp_path):
    _, payload = hub_cache
    bundled = tmp_path / "bundled" / FILENAME  # the hub cache is empty
    bundled.parent.mkdir(parents=True)
    bundled.write_bytes(payload)
    assert resolve_weights("test-27") == bundled
    bundled.write_bytes(payload[:-1] + bytes([payload[-1] ^ 0xFF]))
    with pytest.raises(WeightsError, match="checksum mismatch .*reinstall liftpose"):
        load_model("test-27")


def test_unpublished_model_without_a_bundled_file_is_a_clear_error(hub_cache, monkeypatch, tmp_path):
    manifest = tmp_path / "unpublished.json"
    manifest.write_text(json.dumps({"models": [_entry_dict("0" * 64, published=False)]}))
    monkeypatch.setattr(registry, "MANIFEST_PATH", manifest)
    with pytest.raises(WeightsError, match=rf"not bundled in this installation .* {REPO_ID} is not published yet"):
        load_model("test-27")


def test_hf_home_and_offline_variables_work_in_a_fresh_process(hub_cache):
    """No patched constants: huggingface_hub reads HF_HOME and HF_HUB_OFFLINE from the environment."""
    cache, payload = hub_cache
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
    code = (
        "import sys, liftpose.registry as r; r.MANIFEST_PATH = r.Path(sys.argv[1]); "
        "from liftpose.hub import resolve_weights; from liftpose.serialization import load_model; "
        "print(resolve_weights('test-27')); print(load_model('test-27').cfg.frames)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(registry.MANIFEST_PATH)], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(cache / f"models--{REPO_ID.replace('/', '--')}" / "snapshots" / MAIN_COMMIT / FILENAME), "27"]


# --- liftpose.serialization: model files, the config rule, strict loading ---------------------


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


def test_config_json_that_disagrees_with_the_metadata_is_refused(converted, tmp_path):
    shutil.copy(converted / "model.safetensors", tmp_path / "model.safetensors")
    ModelConfig.for_frames(27, strides=(1, 3, 9)).save(tmp_path / "config.json")
    with pytest.raises(
        WeightsError,
        match=r"config mismatch for .*config.json \(authoritative\) and the config in the file's metadata differ "
        r"\(strides expected \(1, 3, 9\), received \(3, 3, 3\)\).*delete it to use the metadata's config",
    ):
        load_model(tmp_path)


def test_config_json_is_authoritative_over_a_file_without_config_metadata(converted, tmp_path):
    """Strides change no tensor's shape: which config wins decides what the model computes."""
    folder = _write_variant(converted, tmp_path / "m", dict, cfg=ModelConfig.for_frames(27, strides=(1, 3, 9)))
    assert load_model(folder).cfg.strides == (1, 3, 9)


def test_invalid_config_json_is_named(converted, tmp_path):
    shutil.copy(converted / "model.safetensors", tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**ModelConfig.for_frames(27).to_dict(), "layers": 4}))
    with pytest.raises(WeightsError, match=r"invalid model config for .*unknown config fields \['layers'\]"):
        load_model(tmp_path)


def test_manifest_entry_whose_config_differs_from_the_file_is_refused(hub_cache, monkeypatch, tmp_path):
    cache, payload = hub_cache
    _hub_cache(cache, payload, {"main": MAIN_COMMIT})
    entry = {
        **_entry_dict(hashlib.sha256(payload).hexdigest()),
        "config": ModelConfig.for_frames(27, dropout=0.2).to_dict(),
    }
    (tmp_path / "other.json").write_text(json.dumps({"models": [entry]}))
    monkeypatch.setattr(registry, "MANIFEST_PATH", tmp_path / "other.json")
    with pytest.raises(
        WeightsError,
        match=r"config mismatch for model 'test-27': .*\(dropout expected 0.1, received 0.2\); "
        r"the file's config is authoritative: make the entry's 'config' in weights_manifest.json equal it",
    ):
        load_model("test-27")


def _write_variant(converted, out_dir, change, cfg=None) -> Path:
    """A model.safetensors without config metadata holding ``change(tensors)``, plus a config.json."""
    out_dir.mkdir()
    save_file(change(load_file(converted / "model.safetensors")), out_dir / "model.safetensors")
    (cfg or ModelConfig.load(converted / "config.json")).save(out_dir / "config.json")
    return out_dir


def test_missing_tensor_is_named(converted, tmp_path):
    folder = _write_variant(
        converted, tmp_path / "m", lambda t: {k: v for k, v in t.items() if k != "ste_head.linear.bias"}
    )
    with pytest.raises(WeightsError, match=r"config does not match the weights .*missing keys: ste_head\.linear\.bias"):
        load_model(folder)


def test_unexpected_tensor_is_named(converted, tmp_path):
    folder = _write_variant(converted, tmp_path / "m", lambda t: {**t, "refine.weight": torch.zeros(2)})
    with pytest.raises(WeightsError, match=r"unexpected keys: refine\.weight"):
        load_model(folder)


def test_weights_of_another_config_are_refused(converted, tmp_path):
    folder = _write_variant(converted, tmp_path / "m", dict, cfg=ModelConfig.for_frames(81))
    with pytest.raises(
        WeightsError, match=r"frames=81.*mis-shaped tensors: .*vte_pos \(1, 27, 256\) instead of \(1, 81, 256\)"
    ):
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


# --- liftpose.weights: the deprecated shim ----------------------------------------------------


SHIM_MOVED = {
    "registry": ["PACKAGE_DIR", "MANIFEST_PATH", "ModelEntry", "load_manifest", "default_model", "manifest_table"],
    "hub": ["BUNDLED_DIR", "file_sha256", "resolve_weights"],
    "serialization": [
        "WEIGHTS_FILE",
        "CONFIG_FILE",
        "load_model",
        "save_pretrained",
        "describe_keys",
        "state_dict_problems",
    ],
    "errors": ["WeightsError"],
}


@pytest.mark.parametrize("module, name", [(m, n) for m, names in SHIM_MOVED.items() for n in names])
def test_old_import_still_works_and_warns_naming_the_new_module(module, name):
    namespace = {}
    with pytest.warns(
        DeprecationWarning, match=rf"liftpose.weights is deprecated: import {name} from liftpose.{module} instead"
    ) as got:
        exec(f"from liftpose.weights import {name}", namespace)  # noqa: S102 (a literal import would trip the scan below)
    assert namespace[name] is getattr(importlib.import_module(f"liftpose.{module}"), name)
    assert got[0].filename == "<string>"  # the warning points at the importing line, not at the shim


def test_old_weights_error_is_still_a_liftpose_error():
    with pytest.warns(DeprecationWarning):
        old = importlib.import_module("liftpose.weights").WeightsError
    assert old is WeightsError and liftpose.WeightsError is WeightsError


def test_shim_raises_attribute_error_for_names_it_never_had():
    shim = importlib.import_module("liftpose.weights")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="has no attribute '_resolve'"):
            shim._resolve  # noqa: B018


def test_no_module_of_the_package_imports_the_shim():
    """At import time (every submodule, in a fresh process where the warning is an error) and in the
    source (imports inside functions only run later)."""
    code = (
        "import importlib, pkgutil, liftpose\n"
        "for m in pkgutil.walk_packages(liftpose.__path__, 'liftpose.'): importlib.import_module(m.name)\n"
        "from liftpose.cli import build_parser; build_parser()"
    )
    flags = ["-W", "error:liftpose.weights is deprecated:DeprecationWarning"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, *flags, "-c", code], check=False, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    sources = [*(ROOT / "liftpose").rglob("*.py"), *(ROOT / "tools").rglob("*.py"), *(ROOT / "examples").rglob("*.py")]
    sources += [*(ROOT / "benchmarks").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    offenders = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                base = "." * node.level + (node.module or "")
                names = [base, *(f"{base}.{a.name}" if node.module else base + a.name for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(n == "liftpose.weights" or (n.startswith(".") and n.lstrip(".") == "weights") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
    texts = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "tools").glob("*.sh")]
    assert [str(p.relative_to(ROOT)) for p in texts if "from liftpose.weights import" in p.read_text()] == []


# --- packaging --------------------------------------------------------------------------------


def test_wheel_ships_the_manifest_and_the_bundled_models(tmp_path):
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
    names = zipfile.ZipFile(wheel).namelist()
    assert "liftpose/weights_manifest.json" in names
    for entry in load_manifest().values():
        if entry.status == "available":
            assert {
                f"liftpose/bundled_models/{entry.filename}",
                f"liftpose/bundled_models/{Path(entry.filename).parent}/config.json",
            } <= set(names)
    assert not [n for n in names if n.startswith("liftpose/weights/")]
