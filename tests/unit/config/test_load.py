"""Reading files: YAML syntax, duplicate keys, unsafe files, odd documents; every error names path and line."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest

from reconciler.config.load import load_repository
from reconciler.config.located import LocatedDict, LocatedList
from reconciler.config.parse import parse_documents, parse_file
from reconciler.errors import InvalidRepository
from reconciler.source.tree import MAX_FILE_BYTES
from tests.unit.conftest import Repo

TEAM = "apiVersion: reconciler.dev/v1alpha1\nkind: Team\nmetadata: {name: ops}\nspec: {users: [dave]}\n"


def errors_of(text: str, path: str = "f.yaml") -> list[str]:
    _, errors = parse_documents(text, path)
    return [str(error) for error in errors]


def test_valid_base_repository_loads(repo: Repo) -> None:
    landscape = repo.landscape()
    assert sorted(landscape.environments) == ["dev"]
    assert landscape.files == 5


def test_yaml_syntax_error(repo: Repo) -> None:
    repo.write("bad.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Team
        metadata: name: ops
        spec: {users: [dave]}
        """)
    assert repo.only_error().startswith(
        "bad.yaml:3:15: YAML syntax error: mapping values are not allowed in this context")


def test_yaml_syntax_error_in_a_later_document_keeps_the_earlier_ones(repo: Repo) -> None:
    repo.write("bad.yaml", TEAM + "---\nkind: Team\n  metadata: x\n")
    loaded = load_repository(repo.root)
    assert [d.name for d in loaded.documents if d.location.path == "bad.yaml"] == ["ops"]
    assert [str(e) for e in loaded.errors] == [
        "bad.yaml:7:11: YAML syntax error: mapping values are not allowed in this context"]
    assert loaded.unread == ("bad.yaml",)


def test_tab_indentation_is_a_syntax_error_on_its_line() -> None:
    assert errors_of("spec:\n\tquota: {}\n") == ["f.yaml:2:1: YAML syntax error: found character that cannot start "
                                                  "any token"]


def test_duplicate_key_names_the_full_field_and_both_lines(repo: Repo) -> None:
    repo.write("environments/dev.yaml", """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: dev}
        spec:
          extends: [standard]
          targets:
            - {cluster: shared, namespace: ml-dev}
          quota:
            cpu: "4"
            memory: 8Gi
            cpu: "8"
        """)
    assert repo.only_error() == ("environments/dev.yaml:11: spec.quota.cpu: duplicate key (first defined on line 9); "
                                 "keep only one")


def test_duplicate_key_inside_a_list_item() -> None:
    text = "spec:\n  targets:\n    - cluster: a\n      namespace: b\n      cluster: c\n"
    assert errors_of(text) == ["f.yaml:5: spec.targets[0].cluster: duplicate key (first defined on line 3); "
                               "keep only one"]


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    started = time.perf_counter()
    errors = errors_of("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 2
    assert len(errors) == 1
    assert errors[0].startswith("f.yaml:")
    assert "alias bomb" in errors[0]


def test_alias_bomb_error_points_to_the_key_that_expands(repo: Repo) -> None:
    lines = ["apiVersion: reconciler.dev/v1alpha1", "kind: Team", "metadata: {name: ops}", "spec:",
             '  users: &u0 ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]']
    lines += [f"  x{i}: &u{i} [{', '.join([f'*u{i - 1}'] * 10)}]" for i in range(1, 7)]
    repo.write("bomb.yaml", "\n".join(lines) + "\n")
    error = repo.only_error()
    assert error.startswith("bomb.yaml:9: spec.x4: document expands to more than 100000 values")


def test_moderate_aliases_and_merge_keys_are_plain_yaml() -> None:
    text = "base: &base {cpu: '1', memory: 1Gi}\nquota:\n  <<: *base\n  cpu: '2'\n"
    documents, errors = parse_documents(text, "f.yaml")
    assert errors == []
    assert documents[0].body["quota"] == {"cpu": "2", "memory": "1Gi"}
    assert documents[0].where("quota", "cpu").line == 4


def test_file_over_one_mebibyte_is_refused(repo: Repo) -> None:
    (repo.root / "big.yaml").write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1), encoding="utf-8")
    error = repo.only_error()
    assert error.startswith("big.yaml:1: file is ")
    assert "over the 1048576 byte limit" in error


def test_file_of_exactly_one_mebibyte_is_read(repo: Repo) -> None:
    text = TEAM + "#" * (MAX_FILE_BYTES - len(TEAM) - 1) + "\n"
    (repo.root / "edge.yaml").write_text(text, encoding="utf-8")
    assert "ops" in repo.landscape().teams


def test_symlink_to_a_file_outside_the_repository_is_refused(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(TEAM, encoding="utf-8")
    (repo.root / "teams-link.yaml").symlink_to(outside)
    error = repo.only_error()
    assert error.startswith("teams-link.yaml:1: symlink points outside the repository")


def test_symlink_to_a_folder_outside_the_repository_is_refused(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "team.yaml").write_text(TEAM, encoding="utf-8")
    (repo.root / "more").symlink_to(outside)
    assert repo.only_error().startswith("more:1: symlink points outside the repository")


def test_symlinks_inside_the_repository_are_not_read_twice(repo: Repo) -> None:
    (repo.root / "env-link").symlink_to(repo.root / "environments")
    assert sorted(repo.landscape().environments) == ["dev"]


def test_symlink_loop_is_an_error_not_a_crash(repo: Repo) -> None:
    (repo.root / "loop.yaml").symlink_to(repo.root / "loop.yaml")
    assert repo.only_error().startswith("loop.yaml:1: cannot read file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_not_read(repo: Repo) -> None:
    os.mkfifo(repo.root / "pipe.yaml")
    assert repo.only_error() == "pipe.yaml:1: not a regular file; remove it or give it another name"


def test_hidden_folders_hidden_files_and_other_suffixes_are_skipped(repo: Repo) -> None:
    repo.write(".git/config.yaml", "not: [valid")
    repo.write(".hidden.yaml", "not: [valid")
    repo.write("notes.txt", "not: [valid")
    repo.write("extra/ops.yml", TEAM)
    landscape = repo.landscape()
    assert "ops" in landscape.teams
    assert landscape.files == 6


def test_empty_and_comment_only_files_and_empty_documents_are_fine(repo: Repo) -> None:
    repo.write("empty.yaml", "")
    repo.write("comments.yaml", "# nothing here yet\n")
    repo.write("separators.yaml", "---\n---\n" + TEAM + "---\n")
    assert "ops" in repo.landscape().teams


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("- a\n- b\n", 1),
        ("42\n", 1),
        (TEAM + "---\njust text\n", 6),
    ],
)
def test_a_document_that_is_not_a_mapping(text: str, line: int) -> None:
    assert errors_of(text) == [f"f.yaml:{line}: a document must be a mapping with apiVersion, kind, metadata "
                               "and spec"]


def test_non_utf8_bytes_name_the_line(repo: Repo) -> None:
    (repo.root / "latin1.yaml").write_bytes(b"apiVersion: reconciler.dev/v1alpha1\nkind: Team\n"
                                            b"metadata: {name: caf\xe9}\n")
    assert repo.only_error() == "latin1.yaml:3: not UTF-8 text (byte 0xe9); save the file as UTF-8"


def test_a_byte_order_mark_is_accepted(repo: Repo) -> None:
    (repo.root / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + TEAM.encode())
    assert "ops" in repo.landscape().teams


@pytest.mark.parametrize("tag", ["!!python/object:os.system {}", "!!python/name:os.system", "!custom x",
                                 "!!binary aGk="])
def test_yaml_tags_that_construct_more_than_plain_data_are_refused(tag: str) -> None:
    errors = errors_of(f"spec:\n  value: {tag}\n")
    assert len(errors) == 1
    assert errors[0].startswith("f.yaml:2: spec.value: YAML tag ")
    assert "is not supported" in errors[0]


def test_a_mapping_or_list_as_key_is_refused() -> None:
    assert errors_of("spec:\n  ? [a, b]\n  : c\n") == ["f.yaml:2: spec: a key must be plain text, not a mapping or "
                                                       "a list"]


def test_keys_keep_the_text_written() -> None:
    documents, errors = parse_documents("on: yes\n1: x\nnull: y\n", "f.yaml")
    assert errors == []
    assert documents[0].body == {"on": True, "1": "x", "null": "y"}


def test_dates_stay_text() -> None:
    documents, _ = parse_documents("from: 2025-12-24\n", "f.yaml")
    assert documents[0].body == {"from": "2025-12-24"}


def test_a_number_too_long_to_read_is_an_error() -> None:
    errors = errors_of("spec:\n  pods: " + "9" * 5000 + "\n")
    assert len(errors) == 1
    assert errors[0].startswith("f.yaml:2: spec.pods: '9999")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    errors = errors_of("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert len(errors) == 1
    assert errors[0].startswith("f.yaml:1:")


def test_values_remember_their_lines() -> None:
    text = "spec:\n  quota:\n    cpu: '1'\n  targets:\n    - cluster: a\n    - cluster: b\n"
    documents, _ = parse_documents(text, "f.yaml")
    body = documents[0].body
    assert isinstance(body, LocatedDict)
    assert isinstance(body["spec"]["targets"], LocatedList)
    assert documents[0].where("spec", "quota", "cpu").line == 3
    assert documents[0].where("spec", "targets", 1).line == 6
    assert documents[0].where("spec", "targets", 1, "cluster").line == 6
    assert documents[0].where("spec", "missing", "deeper").line == 1


def test_loading_leaves_the_garbage_collector_as_it_found_it(repo: Repo) -> None:
    assert gc.isenabled()
    repo.landscape()
    assert gc.isenabled()
    repo.write("bad.yaml", "kind: [\n")
    with pytest.raises(InvalidRepository):
        repo.landscape()
    assert gc.isenabled()
    gc.disable()
    try:
        repo.remove("bad.yaml")
        repo.landscape()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_parse_file_tells_whether_every_document_was_read() -> None:
    assert parse_file(TEAM + "---\n" + TEAM.replace("ops", "dev"), "f.yaml").complete
    assert parse_file(TEAM + "---\nkind: Team\nkind: Team\n", "f.yaml").complete  # a duplicate key loses nothing
    assert not parse_file(TEAM + "---\nvalue: !!python/name:os.system\n", "f.yaml").complete
    assert not parse_file(TEAM + "---\nkind: [\n", "f.yaml").complete
