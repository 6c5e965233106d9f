"""Deprecated: ``liftpose.weights`` was split into modules with one job each; import from them.

- :mod:`liftpose.registry`: the manifest of named models (``ModelEntry``, ``load_manifest``,
  ``list_models``, ``default_model``, ``manifest_table``);
- :mod:`liftpose.hub`: a name to a verified local file (``resolve_weights``, ``file_sha256``);
- :mod:`liftpose.serialization`: model files (``load_model``, ``save_pretrained``,
  ``state_dict_problems``, ``describe_keys``);
- :mod:`liftpose.errors`: ``WeightsError``.

Importing one of the old names from here still works and emits a :class:`DeprecationWarning` that
names its new module. Nothing inside liftpose imports this module.
"""

from __future__ import annotations

import importlib
import warnings

#: Every public name the module had, and the module that owns it now.
_MOVED = {
    "PACKAGE_DIR": "registry",
    "MANIFEST_PATH": "registry",
    "ModelEntry": "registry",
    "load_manifest": "registry",
    "default_model": "registry",
    "manifest_table": "registry",
    "BUNDLED_DIR": "hub",
    "file_sha256": "hub",
    "resolve_weights": "hub",
    "WEIGHTS_FILE": "serialization",
    "CONFIG_FILE": "serialization",
    "load_model": "serialization",
    "save_pretrained": "serialization",
    "describe_keys": "serialization",
    "state_dict_problems": "serialization",
    "WeightsError": "errors",
}


def __getattr__(name: str):
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    new = f"liftpose.{_MOVED[name]}"
    warnings.warn(f"liftpose.weights is deprecated: import {name} from {new} instead", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(new), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_MOVED])
