"""The Polyaxon agent's settings in the repository: instance, control plane host, artifacts store, runs' node pool."""

from __future__ import annotations

from tests.unit.conftest import Repo


def test_two_environments_may_not_share_an_agent_instance(sample_copy: Repo) -> None:
    dev = sample_copy.root / "environments" / "dev.yaml"
    prod_instance = "ml-platform.agents.c4d5e6f7a8b94c0d8e1f2a3b4c5d6e7f"
    text = dev.read_text()
    dev.write_text(text.replace("ml-platform.agents.3f9c1a2e5b7d4c8e9a0b1c2d3e4f5a6b", prod_instance))
    error = sample_copy.only_error()
    assert error.startswith("environments/prod.yaml:")
    assert f"spec.agent.instance: agent instance '{prod_instance}' is already the agent of environment 'dev' (at " \
           "environments/dev.yaml:" in error


def test_an_instance_set_in_a_profile_is_reported_once_where_it_is_written(sample_copy: Repo) -> None:
    """Another instance of the class: every environment that extends the profile would share it."""
    for name in ("dev", "staging", "prod"):
        path = sample_copy.root / "environments" / f"{name}.yaml"
        lines = [line for line in path.read_text().splitlines() if "instance:" not in line]
        path.write_text("\n".join(lines[:-1] if lines[-1] == "  agent:" else lines) + "\n")
    profile = sample_copy.root / "profiles" / "standard.yaml"
    profile.write_text(profile.read_text().replace(
        "    replicas: 1\n", "    replicas: 1\n    instance: ml-platform.agents.00000000000040008000000000000000\n"))
    error = sample_copy.only_error()  # once, at the profile's line, not once per environment
    assert error.startswith("profiles/standard.yaml:25: spec.agent.instance:")
    assert "already the agent of environment 'dev'" in error


def test_an_instance_must_look_like_the_control_planes(sample_copy: Repo) -> None:
    dev = sample_copy.root / "environments" / "dev.yaml"
    dev.write_text(dev.read_text().replace("ml-platform.agents.3f9c1a2e5b7d4c8e9a0b1c2d3e4f5a6b", "ml-platform-dev"))
    error = sample_copy.only_error()
    assert error.startswith("environments/dev.yaml:13: spec.agent.instance:")


def test_an_agent_has_one_default_artifacts_store(sample_copy: Repo) -> None:
    prod = sample_copy.root / "environments" / "prod.yaml"
    prod.write_text(prod.read_text() + """      - name: archive
        kind: artifacts-store
        provider: gcs
        schema: {bucket: "gs://ml-archive"}
        secret: {name: archive-credentials}
""")
    error = sample_copy.only_error()
    assert error.startswith("environments/prod.yaml:32: spec.agent.connections[1]: the agent has 2 artifacts-store "
                            "connections ('artifacts', 'archive')")


def test_an_artifacts_store_says_where_its_artifacts_go(sample_copy: Repo) -> None:
    profile = sample_copy.root / "profiles" / "standard.yaml"
    profile.write_text(profile.read_text().replace('        schema: {bucket: "s3://ml-platform-artifacts"}\n', ""))
    errors = sample_copy.errors()
    assert errors and all(e.startswith("profiles/standard.yaml:") for e in errors)
    assert any("schema" in e for e in errors)


def test_a_volume_claim_store_needs_its_claim_and_mount_path(sample_copy: Repo) -> None:
    profile = sample_copy.root / "profiles" / "standard.yaml"
    profile.write_text(profile.read_text().replace(
        'provider: s3\n        schema: {bucket: "s3://ml-platform-artifacts"}',
        "provider: volume_claim\n        schema: {volumeClaim: artifacts}"))
    errors = sample_copy.errors()
    assert errors and all("mountPath" in e for e in errors)


def test_the_control_plane_host_is_a_url(sample_copy: Repo) -> None:
    platform = sample_copy.root / "platform.yaml"
    platform.write_text(platform.read_text().replace("http://polyaxon-polyaxon-api.polyaxon.svc:80", "polyaxon-api"))
    assert sample_copy.only_error().startswith("platform.yaml:12: spec.controlPlane.host:")


def test_the_runs_node_pool_must_exist_on_every_target_cluster(sample_copy: Repo) -> None:
    dev = sample_copy.root / "environments" / "dev.yaml"
    dev.write_text(dev.read_text() + "    runsNodePool: a100\n")
    assert sample_copy.only_error() == (
        "environments/dev.yaml:14: spec.agent.runsNodePool: node pool 'a100' is not defined on cluster 'shared', a "
        "target of environment 'dev'; known: cpu")
