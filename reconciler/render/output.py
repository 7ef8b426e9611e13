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


MANIFEST = ".reconciler-render"  # the files the last `render --out` wrote into a folder, one per line


def write_tree(rendered: dict[str, list[Manifest]], directory: Path) -> tuple[list[Path], list[Path]]:
    """Write ``DIR/<cluster>/<namespace>.yaml`` for each target (``kubectl apply -R -f DIR`` accepts them).

    Files that an earlier render wrote there and that no target needs any more are removed, so a removed
    environment does not come back through ``kubectl apply``; no other file in the folder is touched.
    Returns the files written and the files removed.
    """
    listing = directory / MANIFEST
    before = set(listing.read_text(encoding="utf-8").split()) if listing.is_file() else set()
    written = []
    for key, objects in sorted(rendered.items()):
        cluster, namespace = key.split("/", 1)
        path = directory / cluster / f"{namespace}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(objects), encoding="utf-8")
        written.append(path)
    now = {path.relative_to(directory).as_posix() for path in written}
    removed = []
    for stale in sorted(before - now):
        path = directory / stale
        if ".." not in Path(stale).parts and path.is_file():
            path.unlink()
            removed.append(path)
    listing.write_text("".join(f"{name}\n" for name in sorted(now)), encoding="utf-8")
    return written, removed
