"""Golden files: the sample repository's rendered objects, one file per target.

A change in rendering shows up here as a diff to review. After an intended change, regenerate the files with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/render/test_golden.py

and commit them together with the change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.render.objects import Manifest
from reconciler.render.output import to_yaml

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def golden_name(key: str) -> str:
    """``shared/ml-dev`` -> ``shared__ml-dev.yaml``."""
    cluster, namespace = key.split("/")
    return f"{cluster}__{namespace}.yaml"


def test_there_is_one_golden_file_per_target(sample_rendered: dict[str, list[Manifest]]) -> None:
    expected = sorted(golden_name(key) for key in sample_rendered)
    if UPDATE:
        for stale in {p.name for p in GOLDEN.glob("*.yaml")} - set(expected):
            (GOLDEN / stale).unlink()
        for key, objects in sample_rendered.items():
            (GOLDEN / golden_name(key)).write_text(to_yaml(objects), encoding="utf-8")
    assert sorted(p.name for p in GOLDEN.glob("*.yaml")) == expected


@pytest.mark.parametrize("key", ["shared/ml-dev", "shared/ml-staging", "gpu/ml-prod"])
def test_rendered_objects_match_the_golden_file(sample_rendered: dict[str, list[Manifest]], key: str) -> None:
    path = GOLDEN / golden_name(key)
    text = to_yaml(sample_rendered[key])
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing; run UPDATE_GOLDEN=1 pytest {__file__}"
    assert text == path.read_text(encoding="utf-8"), (
        f"rendering changed; review the difference and run UPDATE_GOLDEN=1 pytest {__file__}")
