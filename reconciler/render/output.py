"""Serialise rendered objects: YAML that people read (block strings), JSON, or one file per target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from reconciler.render.objects import Manifest


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _text)


def to_yaml(objects: list[Manifest]) -> str:
    return yaml.dump_all(objects, Dumper=_Dumper, sort_keys=True, default_flow_style=False, explicit_start=True)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def write_tree(rendered: dict[str, list[Manifest]], directory: Path) -> list[Path]:
    """Write ``DIR/<cluster>/<namespace>.yaml`` for each target (``kubectl apply -R -f DIR`` accepts them)."""
    written = []
    for key, objects in sorted(rendered.items()):
        cluster, namespace = key.split("/", 1)
        path = directory / cluster / f"{namespace}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(objects), encoding="utf-8")
        written.append(path)
    return written
