"""Saving, finding and loading liftpose weights.

A saved model is a ``model.safetensors`` (float tensors, config JSON in its metadata) plus a
``config.json``. Named models are listed in ``weights_manifest.json`` (shipped in the package);
:func:`load_model` accepts such a name, a folder or a ``.safetensors`` file. A name resolves to a
file bundled in the package (``liftpose/weights/<filename>``) or else through
``huggingface_hub.hf_hub_download`` (standard cache, ``HF_HOME``, ``HF_HUB_OFFLINE``), and the
file's sha256 is checked against the manifest before it is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .config import ModelConfig
from .errors import LiftposeError
from .model import StridedTransformer

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST_PATH = PACKAGE_DIR / "weights_manifest.json"
#: Weights shipped inside the package: ``BUNDLED_DIR / entry.filename``.
BUNDLED_DIR = PACKAGE_DIR / "weights"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
#: BatchNorm step counters: training state only, so files may leave them out.
_OPTIONAL_SUFFIX = "num_batches_tracked"


class WeightsError(LiftposeError):
    """Weights that cannot be found, verified or loaded; the message says how to fix it."""


@dataclass(frozen=True)
class ModelEntry:
    """One named model of ``weights_manifest.json``.

    ``status`` is ``"available"`` (weights exist, ``sha256`` and ``size`` are set) or
    ``"planned"`` (not trained yet). ``published`` says whether ``repo_id`` exists on the
    Hugging Face Hub. ``accuracy`` holds measured Human3.6M errors in millimetres
    (``mpjpe_mm``: protocol 1, ``p_mpjpe_mm``: protocol 2, both with the 2D input named by
    ``input``; ``sh_mpjpe_mm`` / ``sh_p_mpjpe_mm``: the same with Stacked Hourglass detections;
    ``evaluation``: how they were measured), or is ``None`` when not measured.
    """

    name: str
    status: str
    config: ModelConfig
    repo_id: str
    filename: str
    revision: str
    published: bool
    sha256: str | None
    size: int | None
    training_data: str
    licence: str
    accuracy: Mapping[str, Any] | None
    notes: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelEntry:
        known = {f.name for f in fields(cls)}
        try:
            if set(d) - known:
                raise ValueError(f"unknown fields {sorted(set(d) - known)}")
            entry = cls(**{**d, "config": ModelConfig.from_dict(d["config"])})
            if entry.status not in ("available", "planned"):
                raise ValueError(f"status must be 'available' or 'planned', not {entry.status!r}")
            if entry.status == "available" and not entry.sha256:
                raise ValueError("an available model needs its sha256")
        except (TypeError, ValueError, KeyError) as e:
            raise WeightsError(f"manifest entry {d.get('name', '?')!r} is malformed ({e}); fix weights_manifest.json") from e
        return entry


def load_manifest(path: str | Path | None = None) -> dict[str, ModelEntry]:
    """The named models of the manifest (default: the one shipped in the package), by name."""
    path = Path(path or MANIFEST_PATH)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise WeightsError(f"cannot read the model manifest {path} ({e}); reinstall liftpose") from e
    entries = [ModelEntry.from_dict(d) for d in data["models"]]
    return {e.name: e for e in entries}


def default_model(path: str | Path | None = None) -> str:
    """Name of the manifest's default model: what ``Lifter.from_pretrained()`` and ``liftpose lift``
    load when given no name (chosen on the Stacked Hourglass detections, docs/model-zoo.md)."""
    path = Path(path or MANIFEST_PATH)
    name = json.loads(path.read_text()).get("default")
    manifest = load_manifest(path)
    if name not in manifest:
        raise WeightsError(f"the manifest {path} names default model {name!r}, which it does not list; fix its 'default'")
    return name


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


#: sha256 of already hashed files, keyed by (path, mtime_ns, size): a reload does not re-hash.
_HASHED: dict[tuple[str, int, int], str] = {}


def _verify(path: Path, expected: str, fix: str) -> None:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _HASHED:
        _HASHED[key] = file_sha256(path)
    got = _HASHED[key]
    if got != expected.lower():
        raise WeightsError(f"checksum mismatch for {path}: expected sha256 {expected}, got {got}; {fix}")


def _entry(name: str, manifest: Mapping[str, ModelEntry]) -> ModelEntry:
    if name not in manifest:
        raise WeightsError(
            f"{name!r} is neither an existing file or folder nor a model name of the manifest (known: "
            f"{', '.join(manifest)}); pass one of those names, a folder with {WEIGHTS_FILE} + {CONFIG_FILE}, "
            "or a .safetensors file"
        )
    return manifest[name]


def resolve_weights(name: str, revision: str | None = None) -> Path:
    """Local path of the verified weights file of manifest model ``name``.

    Order: a file bundled in the package (when ``revision`` is None or the manifest's), then
    ``hf_hub_download(repo_id, filename, revision)``. Raises :class:`WeightsError` for unknown or
    untrained models, a file that cannot be found, and a sha256 that does not match the manifest.
    """
    return _resolve(_entry(name, load_manifest()), revision)


def _resolve(entry: ModelEntry, revision: str | None) -> Path:
    name = entry.name
    if entry.status != "available":
        raise WeightsError(
            f"model {name!r} is not trained yet (manifest status {entry.status!r}); pass a local folder or "
            ".safetensors file instead, e.g. one written by `liftpose convert OFFICIAL.pth OUT_DIR`"
        )
    bundled = BUNDLED_DIR / entry.filename
    if revision in (None, entry.revision) and bundled.is_file():
        _verify(bundled, entry.sha256, "the installation is damaged: reinstall liftpose")
        return bundled
    if not entry.published:
        raise WeightsError(
            f"no weights file for {name!r}: it is not bundled in this installation ({bundled}) and the Hub repo "
            f"{entry.repo_id} is not published yet; reinstall liftpose or pass a local folder or .safetensors file"
        )
    path = _download(entry, revision or entry.revision)
    _verify(
        path,
        entry.sha256,
        f"delete the cached file ({path.resolve()}) and load again to re-download it; a revision other than "
        f"{entry.revision!r} must hold the same file as the manifest's",
    )
    return path


def _download(entry: ModelEntry, revision: str) -> Path:
    import huggingface_hub
    from huggingface_hub.utils import EntryNotFoundError

    from . import __version__

    try:
        return Path(
            huggingface_hub.hf_hub_download(
                entry.repo_id, entry.filename, revision=revision, library_name="liftpose", library_version=__version__
            )
        )
    except (EntryNotFoundError, OSError) as e:  # OSError covers HfHubHTTPError and offline mode
        raise WeightsError(
            f"cannot get {entry.repo_id}/{entry.filename} at revision {revision!r} from the Hugging Face Hub or its "
            f"cache ({type(e).__name__}); go online, or put the file in the HF cache (HF_HOME) before using "
            "HF_HUB_OFFLINE=1, or pass a local folder or .safetensors file"
        ) from e


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, f.metadata() or {}
    except SafetensorError as e:
        raise WeightsError(f"not a safetensors file: {path} ({e}); re-download or re-convert it") from e


def _agreed_config(path: Path, metadata: Mapping[str, str], manifest_config: ModelConfig | None) -> ModelConfig:
    """The one config that every available source (manifest, neighbouring config.json, file metadata) gives."""
    sources: dict[str, ModelConfig] = {}
    try:
        if manifest_config is not None:
            sources["the manifest"] = manifest_config
        if (path.parent / CONFIG_FILE).is_file():
            sources[str(path.parent / CONFIG_FILE)] = ModelConfig.load(path.parent / CONFIG_FILE)
        if "config" in metadata:
            sources[f"the metadata of {path.name}"] = ModelConfig.from_dict(json.loads(metadata["config"]))
    except (ValueError, TypeError) as e:
        raise WeightsError(f"invalid model config for {path} ({e}); re-save the model with save_pretrained") from e
    if not sources:
        raise WeightsError(f"no model config for {path}: put its {CONFIG_FILE} next to it or re-save it with save_pretrained")
    configs = list(sources.values())
    if any(c != configs[0] for c in configs[1:]):
        raise WeightsError(
            f"the model configs for {path} disagree ({'; '.join(f'{k}: {c}' for k, c in sources.items())}); "
            "delete the one that does not belong to these weights"
        )
    return configs[0]


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
            raise WeightsError(f"folder {path} has no {WEIGHTS_FILE}; pass a folder written by save_pretrained or liftpose convert")
        return path / WEIGHTS_FILE
    if path.is_file():
        return path
    if path.suffix == ".safetensors" or len(path.parts) > 1:
        raise WeightsError(f"no such file or folder: {path}; check the path")
    return None


def load_model(
    name_or_path: str | Path, device: str | torch.device | None = None, revision: str | None = None
) -> StridedTransformer:
    """A :class:`StridedTransformer` in eval mode, float32, on ``device`` (default CPU).

    ``name_or_path``: a manifest name (see :func:`load_manifest`; ``revision`` picks a Hub
    revision), a folder holding ``model.safetensors`` + ``config.json``, or a ``.safetensors``
    file (config from a neighbouring ``config.json`` and/or its metadata, which must agree).
    Loading is strict: any missing (bar ``num_batches_tracked``), unexpected or mis-shaped
    tensor raises :class:`WeightsError`.
    """
    path = _local_file(name_or_path)
    entry = None
    if path is None:
        entry = _entry(str(name_or_path), load_manifest())
        path = _resolve(entry, revision)
    elif revision is not None:
        raise WeightsError(f"revision={revision!r} applies to manifest names, not to the local path {name_or_path}; drop it")
    tensors, metadata = _read_safetensors(path)
    cfg = _agreed_config(path, metadata, entry.config if entry else None)
    model = StridedTransformer(cfg)
    problems = state_dict_problems(model, tensors)
    if problems:
        raise WeightsError(
            f"the config does not match the weights in {path} (frames={cfg.frames}, strides={cfg.strides}): "
            f"{problems}; use the config saved with these weights or re-convert them"
        )
    model.load_state_dict(tensors, strict=False)  # float16 files are cast to the float32 parameters here
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


def _p1_p2(acc: Mapping[str, Any], prefix: str) -> str:
    return " / ".join(f"{acc[prefix + k]:.1f} mm" if prefix + k in acc else "-" for k in ("mpjpe_mm", "p_mpjpe_mm"))


def manifest_table(manifest: Mapping[str, ModelEntry] | None = None) -> str:
    """One line per named model: name, frames, status, Human3.6M accuracy, licence."""
    rows = [("name", "frames", "status", "H36M accuracy (P1 / P2)", "licence")]
    for e in (manifest or load_manifest()).values():
        acc = e.accuracy or {}
        measured = _p1_p2(acc, "")
        if "input" in acc:
            measured += f" ({acc['input']})"
        if "sh_mpjpe_mm" in acc:
            measured += f"; {_p1_p2(acc, 'sh_')} (Stacked Hourglass 2D)"
        rows.append((e.name, str(e.config.frames), e.status, measured if acc else "not measured", e.licence))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r, widths)), r[-1]]) for r in rows)
