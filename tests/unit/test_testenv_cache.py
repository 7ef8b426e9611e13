"""The binary cache: adding kube-scheduler and kwok keeps a cache made before them valid for what it holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testenv import build, kwok


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    directory = build.cache_dir()
    directory.mkdir(parents=True)
    for name in build.REQUIRED:
        (directory / name).write_text("binary")
    (directory / build.STAMP).write_text(json.dumps({"kubernetes": "v1.36.3"}))
    return directory


def test_a_cache_made_before_the_scheduler_still_serves_the_control_plane(cache: Path) -> None:
    found = build.find()
    assert found is not None and found.kube_apiserver == cache / "kube-apiserver"
    assert found.kube_scheduler is None and found.kwok is None


def test_the_scheduler_counts_only_with_its_own_stamp(cache: Path) -> None:
    (cache / build.SCHEDULER).write_text("binary")
    found = build.find()
    assert found is not None and found.kube_scheduler is None  # a file without its stamp may be half written
    (cache / build.SCHEDULER_STAMP).write_text("{}")
    found = build.find()
    assert found is not None and found.kube_scheduler == cache / build.SCHEDULER
    assert (cache / build.STAMP).read_text() == json.dumps({"kubernetes": "v1.36.3"})  # the first stamp untouched


def test_kwok_lives_in_a_cache_of_its_own_with_its_stages(cache: Path) -> None:
    directory = kwok.cache_dir()
    assert directory.parent == cache.parent and directory.name == f"kwok-{kwok.VERSION}"
    directory.mkdir()
    (directory / "kwok").write_text("binary")
    assert kwok.find() is None  # no Stages, no stamp: kwok would simulate nothing
    (directory / "stages.yaml").write_text("kind: Stage\n")
    (directory / kwok.STAMP).write_text("{}")
    found = build.find()
    assert found is not None and found.kwok == kwok.Kwok(directory / "kwok", directory / "stages.yaml")
