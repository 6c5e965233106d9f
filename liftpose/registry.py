"""The named models: the manifest ``weights_manifest.json`` shipped in the package.

Each entry (:class:`ModelEntry`) names a model, where its weights file lives (bundled in the
package and/or on the Hugging Face Hub, see :mod:`liftpose.hub`), the file's sha256 and size, and
what it was trained on and measured at. The entry's ``config`` names the architecture the file must
have; the file's own ``config.json`` is the truth, and loading refuses a file whose config differs
from its entry (:mod:`liftpose.serialization`).
"""

from __future__ import annotations

import difflib
import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .config import ModelConfig
from .errors import WeightsError

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST_PATH = PACKAGE_DIR / "weights_manifest.json"


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
            raise WeightsError(
                f"manifest entry {d.get('name', '?')!r} is malformed ({e}); fix weights_manifest.json"
            ) from e
        return entry


def _read(path: str | Path | None) -> tuple[Path, dict[str, Any]]:
    path = Path(path or MANIFEST_PATH)
    try:
        return path, json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise WeightsError(f"cannot read the model manifest {path} ({e}); reinstall liftpose") from e


def load_manifest(path: str | Path | None = None) -> dict[str, ModelEntry]:
    """The named models of the manifest (default: the one shipped in the package), by name."""
    _, data = _read(path)
    entries = [ModelEntry.from_dict(d) for d in data["models"]]
    return {e.name: e for e in entries}


def list_models(pattern: str | None = None, *, available: bool = False) -> list[str]:
    """Names of the manifest's models in manifest order, those matching the shell-style ``pattern``
    (e.g. ``"h36m-*"``) when given, only the trained ones when ``available``."""
    return [
        name
        for name, entry in load_manifest().items()
        if (pattern is None or fnmatch.fnmatchcase(name, pattern)) and (entry.status == "available" or not available)
    ]


def default_model(path: str | Path | None = None) -> str:
    """Name of the manifest's default model: what ``Lifter.from_pretrained()`` and ``liftpose lift``
    load when given no name (chosen on the Stacked Hourglass detections, docs/model-zoo.md)."""
    path, data = _read(path)
    name = data.get("default")
    if name not in load_manifest(path):
        raise WeightsError(
            f"the manifest {path} names default model {name!r}, which it does not list; fix its 'default'"
        )
    return name


def get_entry(name: str, manifest: Mapping[str, ModelEntry] | None = None) -> ModelEntry:
    """The manifest entry of model ``name``; an unknown name raises :class:`WeightsError` naming the
    closest known names."""
    manifest = load_manifest() if manifest is None else manifest
    if name not in manifest:
        close = difflib.get_close_matches(name, list(manifest), n=3, cutoff=0.6)
        guess = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise WeightsError(
            f"unknown model {name!r} ({guess}known: {', '.join(manifest)}; `liftpose models` lists them), and no such "
            "file or folder; pass a model name, a folder with model.safetensors + config.json, or a .safetensors file"
        )
    return manifest[name]


def _p1_p2(acc: Mapping[str, Any], prefix: str) -> str:
    return " / ".join(f"{acc[prefix + k]:.1f} mm" if prefix + k in acc else "-" for k in ("mpjpe_mm", "p_mpjpe_mm"))


def manifest_table(manifest: Mapping[str, ModelEntry] | None = None) -> str:
    """One line per named model: name, frames, status, Human3.6M accuracy, licence (``liftpose models``)."""
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
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]) for r in rows)
