"""Model files: writing and strictly reading ``model.safetensors`` + ``config.json``.

A saved model is a folder with ``model.safetensors`` (float tensors, without the BatchNorm step
counters) and ``config.json`` (:class:`~liftpose.config.ModelConfig`). :func:`save_pretrained`
also stores the config as JSON in the safetensors metadata, so that the file alone describes itself.

Which config a weights file has, one rule (:func:`file_config`):

1. the ``config.json`` next to the file is authoritative;
2. without one (a lone ``.safetensors``, or a file from the Hugging Face cache), the config in the
   file's metadata stands in; with neither, the file is refused;
3. the other sources only check it: the metadata's config when there is a ``config.json`` too, and
   the manifest entry's config when the file was loaded by name, must equal it, else
   :class:`~liftpose.errors.WeightsError` says which field was expected and which received.

The check matters because some fields (``strides``, the dropouts) do not change any tensor's shape:
weights loaded with another config's strides would load without error and predict nonsense.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .config import ModelConfig
from .errors import WeightsError
from .hub import resolve_entry
from .model import StridedTransformer
from .registry import get_entry

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
#: BatchNorm step counters: training state only, so files may leave them out.
_OPTIONAL_SUFFIX = "num_batches_tracked"


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, f.metadata() or {}  # noqa: SIM118 (safe_open is not a dict)
    except SafetensorError as e:
        raise WeightsError(f"not a safetensors file: {path} ({e}); re-download or re-convert it") from e


def _config_differences(expected: ModelConfig, received: ModelConfig) -> str:
    return ", ".join(
        f"{f.name} expected {getattr(expected, f.name)!r}, received {getattr(received, f.name)!r}"
        for f in fields(ModelConfig)
        if getattr(expected, f.name) != getattr(received, f.name)
    )


def file_config(path: Path, metadata: Mapping[str, str]) -> ModelConfig:
    """The config of weights file ``path`` whose safetensors metadata is ``metadata``: its
    neighbouring ``config.json``, else the metadata's (the module's rule); a metadata config that
    differs from the ``config.json`` raises :class:`WeightsError`."""
    config_json = path.parent / CONFIG_FILE
    try:
        on_disk = ModelConfig.load(config_json) if config_json.is_file() else None
        in_file = ModelConfig.from_dict(json.loads(metadata["config"])) if "config" in metadata else None
    except (ValueError, TypeError) as e:
        raise WeightsError(f"invalid model config for {path} ({e}); re-save the model with save_pretrained") from e
    if on_disk is None and in_file is None:
        raise WeightsError(
            f"no model config for {path}: put its {CONFIG_FILE} next to it or re-save it with save_pretrained"
        )
    if on_disk is not None and in_file is not None and in_file != on_disk:
        raise WeightsError(
            f"config mismatch for {path}: {config_json} (authoritative) and the config in the file's metadata differ "
            f"({_config_differences(on_disk, in_file)}), so they were saved with different weights; put the "
            f"{CONFIG_FILE} saved with these weights next to them, delete it to use the metadata's config, or "
            "re-save the model with save_pretrained"
        )
    return on_disk or in_file


def describe_keys(groups: Mapping[str, Iterable[str]], limit: int = 6) -> str:
    """``"missing keys: a, b; unexpected keys: c (+3 more)"`` for the non-empty groups of keys."""
    parts = []
    for label, keys in groups.items():
        keys = list(keys)
        if keys:
            more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
            parts.append(f"{label}: {', '.join(keys[:limit])}{more}")
    return "; ".join(parts)


def state_dict_problems(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], origin: Mapping[str, str] | None = None
) -> str:
    """What keeps ``state`` from loading strictly into ``model``: missing, unexpected and mis-shaped
    keys ('' when it fits). ``num_batches_tracked`` may be absent. ``origin`` names where a key came from."""
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    origin = origin or {}
    missing = [k for k in want if k not in state and not k.endswith(_OPTIONAL_SUFFIX)]
    unexpected = [k for k in state if k not in want]
    misshaped = [
        f"{k}{f' (from {origin[k]})' if k in origin else ''} {tuple(v.shape)} instead of {want[k]}"
        for k, v in state.items()
        if k in want and tuple(v.shape) != want[k]
    ]
    return describe_keys({"missing keys": missing, "unexpected keys": unexpected, "mis-shaped tensors": misshaped})


def _local_file(name_or_path: str | Path) -> Path | None:
    path = Path(name_or_path)
    if path.is_dir():
        if not (path / WEIGHTS_FILE).is_file():
            raise WeightsError(
                f"folder {path} has no {WEIGHTS_FILE}; pass a folder written by save_pretrained or liftpose convert"
            )
        return path / WEIGHTS_FILE
    if path.is_file():
        return path
    if path.suffix == ".safetensors" or len(path.parts) > 1:
        raise WeightsError(f"no such file or folder: {path}; check the path")
    return None


def load_model(
    name_or_path: str | Path,
    device: str | torch.device | None = None,
    revision: str | None = None,
    *,
    local_files_only: bool = False,
) -> StridedTransformer:
    """A :class:`StridedTransformer` in eval mode, float32, on ``device`` (default CPU).

    ``name_or_path``: a manifest name (see :func:`liftpose.registry.list_models`; resolved by
    :func:`liftpose.hub.resolve_weights`, where ``revision`` picks a Hub revision and
    ``local_files_only`` forbids downloading), a folder holding ``model.safetensors`` +
    ``config.json``, or a ``.safetensors`` file. The config follows the module's rule. Loading is
    strict: any missing (bar ``num_batches_tracked``), unexpected or mis-shaped tensor raises
    :class:`WeightsError`.
    """
    path = _local_file(name_or_path)
    entry = None
    if path is None:
        entry = get_entry(str(name_or_path))
        path = resolve_entry(entry, revision, local_files_only=local_files_only)
    elif revision is not None:
        raise WeightsError(
            f"revision={revision!r} applies to manifest names, not to the local path {name_or_path}; drop it"
        )
    tensors, metadata = _read_safetensors(path)
    cfg = file_config(path, metadata)
    if entry is not None and entry.config != cfg:
        raise WeightsError(
            f"config mismatch for model {entry.name!r}: its file {path} has another config than its manifest entry "
            f"({_config_differences(cfg, entry.config)}); the file's config is authoritative: make the entry's "
            "'config' in weights_manifest.json equal it"
        )
    model = StridedTransformer(cfg)
    problems = state_dict_problems(model, tensors)
    if problems:
        raise WeightsError(
            f"the config does not match the weights in {path} (frames={cfg.frames}, strides={cfg.strides}): "
            f"{problems}; use the config saved with these weights or re-convert them"
        )
    model.load_state_dict(tensors, strict=True)  # float16 files are cast to the float32 parameters here
    return model.to(device).eval()


def save_pretrained(
    model: StridedTransformer,
    out_dir: str | Path,
    metadata: Mapping[str, str] | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write ``model.safetensors`` (floats stored as ``dtype``, without ``num_batches_tracked``,
    config JSON in its metadata together with ``metadata``) and ``config.json`` into ``out_dir``;
    returns ``out_dir``. :func:`load_model` casts float16 files back to float32."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
        for k, v in model.state_dict().items()
        if not k.endswith(_OPTIONAL_SUFFIX)
    }
    meta = {**(metadata or {}), "format": "pt", "config": json.dumps(model.cfg.to_dict())}
    save_file(state, str(out / WEIGHTS_FILE), metadata=meta)
    _readable_by_all(out / WEIGHTS_FILE)
    model.cfg.save(out / CONFIG_FILE)
    return out


def _readable_by_all(path: Path) -> None:
    """Give ``path`` the mode of a newly created file (0666 less the umask, usually 0644):
    safetensors writes through a private temporary file, which leaves 0600."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)
