"""The environments repository: load, validate against the schemas, resolve into a typed landscape.

The names below are imported when first used: a command that only reads a submodule (``--help`` reads
``durations``, ``contexts``) does not pay for YAML, jsonschema and the resolver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.config.guardrails import Guardrails
    from reconciler.config.landscape import RepositoryNotFound, landscape_from, load_landscape
    from reconciler.config.model import Landscape

__all__ = ["Guardrails", "Landscape", "RepositoryNotFound", "landscape_from", "load_landscape"]

_HOMES = {"Guardrails": "guardrails", "Landscape": "model", "RepositoryNotFound": "landscape",
          "landscape_from": "landscape", "load_landscape": "landscape"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later uses find it at once
    return value
