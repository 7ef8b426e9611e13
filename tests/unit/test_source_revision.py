"""The source stage hands a revision's files to config as paths and bytes; config parses them, once per content."""

from __future__ import annotations

from pathlib import Path

from reconciler.config.files import ParseCache, load_revision, parse_files
from reconciler.config.load import load_repository
from reconciler.source.revision import read_files, resolve_revision
from tests.unit.gitrepo import GitRepo


def test_a_revision_is_handed_over_as_the_bytes_of_its_yaml_files_in_the_order_a_folder_is_read(
        tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "envs")
    repo.write("notes.txt", "not configuration\n")
    repo.write(".hidden/secret.yaml", "kind: Team\n")
    repo.commit("files that are not the repository's YAML")
    files = read_files(repo.root, resolve_revision(repo.root, "HEAD"))
    on_disk = [document.location.path for document in load_repository(repo.root).documents]
    assert [file.path for file in files.files] == list(dict.fromkeys(on_disk))
    assert all(file.data == (repo.root / file.path).read_bytes() for file in files.files)
    assert files.errors == ()


def test_a_file_unchanged_since_another_revision_is_neither_read_nor_parsed_again(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "envs")
    repo.replace("environments/dev.yaml", "role: edit", "role: view")
    repo.commit("dev: research only views")
    cache: ParseCache = {}
    head = load_revision(repo.root, resolve_revision(repo.root, "HEAD"), cache)
    base_revision = resolve_revision(repo.root, "HEAD~1")
    base_files = read_files(repo.root, base_revision, cache)
    assert [file.path for file in base_files.files if file.data is not None] == ["environments/dev.yaml"]
    base = parse_files(base_files, cache)
    assert base == load_revision(repo.root, base_revision)
    shared = [document.location.path for head_document, document in zip(head.documents, base.documents, strict=True)
              if document is head_document]
    assert "environments/dev.yaml" not in shared and len(shared) == len(base.documents) - 1


def test_a_file_that_is_not_utf8_is_named_with_its_line_and_the_rest_is_still_read(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "envs")
    (repo.root / "environments" / "latin1.yaml").write_bytes(b"kind: Team\n# caf\xe9\n")
    repo.commit("a file saved in Latin-1")
    loaded = load_revision(repo.root, resolve_revision(repo.root, "HEAD"))
    assert [str(error) for error in loaded.errors] == [
        "environments/latin1.yaml:2: not UTF-8 text (byte 0xe9); save the file as UTF-8"]
    assert loaded.unread == ("environments/latin1.yaml",) and loaded.documents
