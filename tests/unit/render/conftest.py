"""Fixtures of the rendering tests: the sample repository, loaded and rendered once per session."""

from __future__ import annotations

import pytest

from reconciler.config import Landscape, load_landscape
from reconciler.render import render_landscape
from reconciler.render.objects import Manifest
from tests.unit.conftest import SAMPLE_REPO


@pytest.fixture(scope="session")
def sample_landscape() -> Landscape:
    return load_landscape(SAMPLE_REPO)


@pytest.fixture(scope="session")
def sample_rendered(sample_landscape: Landscape) -> dict[str, list[Manifest]]:
    return render_landscape(sample_landscape)


@pytest.fixture(scope="session")
def sample_objects(sample_rendered: dict[str, list[Manifest]]) -> list[Manifest]:
    return [manifest for objects in sample_rendered.values() for manifest in objects]
