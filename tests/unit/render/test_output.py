"""Serialised output: YAML and JSON that read back to the same objects, and ``render --out DIR``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main as cli
from reconciler.render.objects import Manifest
from reconciler.render.output import to_json, to_yaml
from reconciler.render.tree import write_tree
from tests.unit.conftest import SAMPLE_REPO


def test_yaml_reads_back_to_the_same_objects(sample_objects: list[Manifest]) -> None:
    assert list(yaml.safe_load_all(to_yaml(sample_objects))) == sample_objects


def test_multi_line_text_is_written_as_a_block() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"notes": "a\nb\n"}}
    assert "  notes: |\n    a\n    b\n" in to_yaml([config])


def test_json_reads_back_to_the_same_objects(sample_rendered: dict[str, list[Manifest]]) -> None:
    assert json.loads(to_json(sample_rendered)) == sample_rendered


def test_write_tree_writes_one_file_per_cluster_and_namespace(sample_rendered: dict[str, list[Manifest]],
                                                            tmp_path: Path) -> None:
    written, removed = write_tree(sample_rendered, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "gpu/ml-prod.yaml", "shared/ml-dev.yaml", "shared/ml-staging.yaml"]
    assert removed == []
    assert list(yaml.safe_load_all((tmp_path / "gpu/ml-prod.yaml").read_text())) == sample_rendered["gpu/ml-prod"]


def test_write_tree_removes_what_it_wrote_before_and_nothing_else(sample_rendered: dict[str, list[Manifest]],
                                                                  tmp_path: Path) -> None:
    write_tree(sample_rendered, tmp_path)
    (tmp_path / "shared" / "notes.yaml").write_text("kept: true\n")
    without_staging = {k: v for k, v in sample_rendered.items() if k != "shared/ml-staging"}
    _, removed = write_tree(without_staging, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in removed] == ["shared/ml-staging.yaml"]
    assert not (tmp_path / "shared" / "ml-staging.yaml").exists()
    assert (tmp_path / "shared" / "notes.yaml").exists()


def test_render_out_dir_writes_files_kubectl_can_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rendered"
    assert cli.main(["render", str(SAMPLE_REPO), "--out", str(out)]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert files == [".reconciler-render", "gpu", "gpu/ml-prod.yaml", "shared", "shared/ml-dev.yaml",
                     "shared/ml-staging.yaml"]
    for path in out.rglob("*.yaml"):
        namespace = path.stem
        for manifest in yaml.safe_load_all(path.read_text()):
            assert {"apiVersion", "kind", "metadata"} <= manifest.keys()
            assert manifest["metadata"].get("namespace", manifest["metadata"]["name"]) == namespace
    assert "wrote" in capsys.readouterr().out


def test_render_prints_a_kubernetes_list_in_yaml_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", str(SAMPLE_REPO), "--env", "dev"]) == 0
    (document,) = yaml.safe_load_all(capsys.readouterr().out)
    assert (document["apiVersion"], document["kind"]) == ("v1", "List")
    assert {d["metadata"]["labels"]["reconciler/environment"] for d in document["items"]} == {"dev"}
    assert cli.main(["render", str(SAMPLE_REPO), "--cluster", "gpu", "-o", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["kind"] == "List" and {o["metadata"].get("namespace") for o in listed["items"]} <= {"ml-prod", None}


def test_render_split_keeps_the_grouping_by_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", str(SAMPLE_REPO), "-o", "json", "--split"]) == 0
    targets = json.loads(capsys.readouterr().out)["targets"]
    assert sorted(targets) == ["gpu/ml-prod", "shared/ml-dev", "shared/ml-staging"]
    assert {value["kind"] for value in targets.values()} == {"List"}
    assert cli.main(["render", str(SAMPLE_REPO), "--split"]) == 0
    assert [d["kind"] for d in yaml.safe_load_all(capsys.readouterr().out)] == ["List"] * 3


def test_render_of_several_clusters_says_to_render_one_per_context(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", str(SAMPLE_REPO)]) == 0
    assert "belong to 2 clusters (gpu, shared)" in capsys.readouterr().err
    assert cli.main(["render", str(SAMPLE_REPO), "--cluster", "gpu"]) == 0
    assert capsys.readouterr().err == ""


def test_render_out_prints_the_context_of_each_clusters_folder(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rendered"
    assert cli.main(["render", str(SAMPLE_REPO), "--out", str(out), "--context", "gpu=admin@gpu"]) == 0
    printed = capsys.readouterr().out
    assert f"kubectl --context admin@gpu apply -R -f {out / 'gpu'}\n" in printed
    assert f"kubectl --context shared apply -R -f {out / 'shared'}\n" in printed


@pytest.mark.parametrize("value", ["rendered/", "out.yaml"])
def test_a_folder_given_to_o_points_at_out(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["render", str(SAMPLE_REPO), "--output", value])
    assert exited.value.code == cli.EXIT_USAGE
    assert f"use --out {value}" in capsys.readouterr().err
