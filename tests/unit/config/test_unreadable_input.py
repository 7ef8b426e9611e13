"""No traceback for any input: every YAML tag's constructor, control characters, odd file names, huge values and
kubeconfigs that are not YAML each end in one error line with the file, the line (and column) and what to do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.cli import main as cli
from reconciler.config.model import Cluster, ClusterConnection
from reconciler.errors import Location
from reconciler.kube.connect import connect
from reconciler.kube.errors import ConnectionConfigError
from tests.unit.conftest import Repo

ONE_ERROR = re.compile(r"^teams\.yaml:(\d+)(:\d+)?: \S")
TEAM = """\
apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {name: ops}
spec:
  users: [dave@example.com]
  groups: %s
"""


@pytest.mark.parametrize(("value", "expected"), [
    ("!!bool maybe", "'maybe' cannot be read as true or false"), ('!!bool ""', "'' cannot be read as true or false"),
    ('!!int ""', "'' cannot be read as a whole number"), ("!!int +", "'+' cannot be read as a whole number"),
    ("!!int 0x", "'0x' cannot be read as a whole number"), ("!!int 0b2", "'0b2' cannot be read as a whole number"),
    ("!!int " + "9" * 5000, "cannot be read as a whole number"), ('!!float ""', "'' cannot be read as a number"),
    ('!!float "-"', "'-' cannot be read as a number"), ("!!float 1:x", "'1:x' cannot be read as a number"),
    ("!!binary aGk=", "YAML tag 'tag:yaml.org,2002:binary' is not supported"),
    ("!!python/object:os.system x", "YAML tag 'tag:yaml.org,2002:python/object:os.system' is not supported"),
    ("!!set {a: null}", "YAML tag 'tag:yaml.org,2002:set' is not supported"),
    ("!!omap [{a: 1}]", "YAML tag 'tag:yaml.org,2002:omap' is not supported"), ("!custom x", "YAML tag '!custom'"),
])
def test_every_yaml_tag_is_an_error_on_its_line(repo: Repo, value: str, expected: str) -> None:
    repo.write("teams.yaml", TEAM % value)
    error = repo.only_error()
    assert error.startswith("teams.yaml:6: spec.groups: ") and expected in error, error
    assert len(error) < 400


@pytest.mark.parametrize(("text", "line", "column"), [
    ("apiVersion: reconciler.dev/v1alpha1\nkind: Team\nmetadata: {name: x\x01y}\n", 3, 19),
    ("apiVersion: reconciler.dev/v1alpha1\n\x07kind: Team\n", 2, 1),
    ("\x1b[31mapiVersion: x\n", 1, 1),
    ("kind: Team\nmetadata:\n  name: 'a\x00b'\n", 3, 11),
])
def test_a_control_character_is_one_error_at_its_line_and_column(repo: Repo, text: str, line: int,
                                                                 column: int) -> None:
    (repo.root / "teams.yaml").write_text(text, encoding="utf-8")
    error = next(e for e in repo.errors() if e.startswith("teams.yaml"))
    assert error.startswith(f"teams.yaml:{line}:{column}: control character U+") and "\n" not in error, error


def test_a_file_name_with_a_newline_is_quoted(repo: Repo) -> None:
    repo.write("odd\nname.yaml", TEAM.replace("ops", "vision") % "[]")
    error = repo.only_error()
    assert re.fullmatch(r"teams\.yaml:\d+: metadata\.name: duplicate Team 'vision' \(first defined at "
                        r'"odd\\nname\.yaml":3\); names of a kind must be unique', error), error
    assert str(Location("a:b.yaml", 3, 2)) == '"a:b.yaml":3:2' and str(Location("plain.yaml", 3)) == "plain.yaml:3"


@pytest.mark.parametrize("body", ["metadata: {name: %s}\nspec: {users: [a@b]}", "metadata: {name: ops, labels: %s}",
                                  "metadata: {name: ops}\nspec: {users: [a@b], groups: %s}"])
def test_a_300000_character_value_is_cut_in_its_error(repo: Repo, body: str) -> None:
    repo.write("teams.yaml", "apiVersion: reconciler.dev/v1alpha1\nkind: Team\n" + body % ("x" * 300_000) + "\n")
    errors = repo.errors()
    assert all(len(e) < 400 for e in errors), [e[:500] for e in errors]
    assert any(e.startswith("teams.yaml:") and "'xxxxxxxxxx" in e for e in errors), errors


@pytest.mark.parametrize(("text", "expected"), [
    ("{{{\n", r"kubeconfig \S+:2:1: not YAML"),
    ("a: [\n", r"kubeconfig \S+:2:1: not YAML"),
    ("- just\n- a list\n", "not a kubeconfig"),
    ("a plain string\n", "not a kubeconfig"),
    ("contexts: 5\n", "not a kubeconfig"),
    ("\x01\n", "not YAML"),
    ("", "is empty"),
])
def test_a_kubeconfig_that_is_not_yaml_is_one_error_line(tmp_path: Path, text: str, expected: str) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text)
    cluster = Cluster("shared", ClusterConnection(context="shared"), {}, Location("clusters.yaml", 1))
    with pytest.raises(ConnectionConfigError) as raised:
        connect(cluster, kubeconfig)
    message = str(raised.value)
    assert re.search(expected, message) and "\n" not in message, message
    assert message.startswith("cluster shared: cannot use context 'shared' from kubeconfig ")


def test_plan_with_a_kubeconfig_that_is_not_yaml_reports_it_per_cluster(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.unit.conftest import SAMPLE_REPO

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{{{\n")
    assert cli.main(["plan", str(SAMPLE_REPO), "--kubeconfig", str(kubeconfig)]) == cli.EXIT_ERROR
    out = capsys.readouterr().out
    assert out.count(f"kubeconfig {kubeconfig}:2:1: not YAML") == 2 and "Traceback" not in out
