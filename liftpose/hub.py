"""From a model name to a verified local weights file.

A name of the manifest (:mod:`liftpose.registry`) resolves to, in this order:

1. the file bundled in the package, ``BUNDLED_DIR / entry.filename`` (with its ``config.json``
   next to it), when no revision or the manifest's revision is asked for;
2. else ``huggingface_hub.hf_hub_download(repo_id, filename, revision)``: the standard cache,
   ``HF_HOME``, ``HF_HUB_OFFLINE``; ``local_files_only=True`` keeps it to the cache.

Either way the file's sha256 must equal the manifest's before its path is returned.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import huggingface_hub  # cheap: its submodules load on first use

from ._version import __version__
from .errors import WeightsError
from .registry import PACKAGE_DIR, ModelEntry, get_entry

#: Weights shipped inside the package: ``BUNDLED_DIR / entry.filename``.
BUNDLED_DIR = PACKAGE_DIR / "bundled_models"


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


def resolve_weights(name: str, revision: str | None = None, *, local_files_only: bool = False) -> Path:
    """Local path of the verified weights file of manifest model ``name`` (see the module's docstring
    for the order). Raises :class:`WeightsError` for unknown or untrained models, a file that cannot
    be found, and a sha256 that does not match the manifest."""
    return resolve_entry(get_entry(name), revision, local_files_only=local_files_only)


def resolve_entry(entry: ModelEntry, revision: str | None = None, *, local_files_only: bool = False) -> Path:
    """:func:`resolve_weights` for a manifest entry already looked up."""
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
    path = _download(entry, revision or entry.revision, local_files_only)
    _verify(
        path,
        entry.sha256,
        f"delete the cached file ({path.resolve()}) and load again to re-download it; a revision other than "
        f"{entry.revision!r} must hold the same file as the manifest's",
    )
    return path


def _download(entry: ModelEntry, revision: str, local_files_only: bool) -> Path:
    from huggingface_hub.errors import EntryNotFoundError  # imports httpx: only when a download is needed

    try:
        return Path(
            huggingface_hub.hf_hub_download(
                entry.repo_id,
                entry.filename,
                revision=revision,
                library_name="liftpose",
                library_version=__version__,
                local_files_only=local_files_only,
            )
        )
    except (EntryNotFoundError, OSError) as e:  # OSError covers HfHubHTTPError and offline mode
        where = (
            "the local Hugging Face cache (local_files_only=True)"
            if local_files_only
            else "the Hugging Face Hub or its cache"
        )
        fix = (
            "drop local_files_only to download it"
            if local_files_only
            else "go online, or put the file in the HF cache (HF_HOME) before using HF_HUB_OFFLINE=1"
        )
        raise WeightsError(
            f"cannot get {entry.repo_id}/{entry.filename} at revision {revision!r} from {where} "
            f"({type(e).__name__}); {fix}, or pass a local folder or .safetensors file"
        ) from e
