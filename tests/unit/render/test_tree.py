"""``render --out DIR`` touches only what it wrote: inside DIR, never through a symlink, never from a forged
manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main as cli
from reconciler.render.objects import Manifest
from reconciler.render.tree import MANIFEST, OutputError, write_tree
from tests.unit.conftest import SAMPLE_REPO


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside DIR that a forged manifest or a symlink would reach."""
    path = tmp_path / "outside" / "precious.yaml"
    path.parent.mkdir()
    path.write_text("keep me\n")
    return path


@pytest.mark.parametrize("entry", ["{victim}", "../outside/precious.yaml", "gpu/../../outside/precious.yaml",
                                   "./../outside/precious.yaml", "outside/../../outside/precious.yaml"])
def test_a_forged_manifest_cannot_remove_a_file_outside_dir(sample_rendered: dict[str, list[Manifest]],
                                                            tmp_path: Path, victim: Path, entry: str) -> None:
    out = tmp_path / "rendered"
    out.mkdir()
    (out / MANIFEST).write_text(entry.format(victim=victim) + "\n")
    _, removed = write_tree(sample_rendered, out)
    assert removed == [] and victim.read_text() == "keep me\n"


def test_a_manifest_entry_through_a_symlinked_folder_is_not_removed(sample_rendered: dict[str, list[Manifest]],
                                                                    tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "rendered"
    out.mkdir()
    (out / "old").symlink_to(victim.parent)
    (out / MANIFEST).write_text("old/precious.yaml\n")
    _, removed = write_tree(sample_rendered, out)
    assert removed == [] and victim.read_text() == "keep me\n"


@pytest.mark.parametrize("link", ["gpu", "gpu/ml-prod.yaml", MANIFEST])
def test_render_never_writes_through_a_symlink(sample_rendered: dict[str, list[Manifest]], tmp_path: Path,
                                               victim: Path, link: str) -> None:
    out = tmp_path / "rendered"
    (out / "gpu").mkdir(parents=True)
    if link == "gpu":
        (out / "gpu").rmdir()
        (out / "gpu").symlink_to(victim.parent)
    else:
        (out / link).symlink_to(victim)
    with pytest.raises(OutputError, match="refusing to write through the symlink"):
        write_tree(sample_rendered, out)
    assert victim.read_text() == "keep me\n"
    assert sorted(p.name for p in victim.parent.iterdir()) == ["precious.yaml"]


def test_render_out_at_a_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    assert cli.main(["render", str(SAMPLE_REPO), "--out", str(target)]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"render --out: is not a folder: '{target}'" in err
    assert "Traceback" not in err and target.read_text() == "x"


@pytest.mark.parametrize("place", ["a-file/out", "/dev/null/out", "/proc/version/out"])
def test_render_out_at_an_unwritable_place_is_one_error_line(tmp_path: Path, place: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / place
    assert cli.main(["render", str(SAMPLE_REPO), "--out", str(out)]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "render --out: cannot create the folder" in err, err
    assert "Not a directory" in err and "Traceback" not in err
