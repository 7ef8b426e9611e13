"""Semantic checks: values the schemas accept that Kubernetes would refuse or that could never work, each at the
``path:line`` that set them (a profile's line when the value came from the profile)."""

from __future__ import annotations

import pytest

from tests.unit.conftest import Repo

STAGING = """
    apiVersion: reconciler.dev/v1alpha1
    kind: Environment
    metadata: {name: staging}
    spec:
      extends: [standard]
      targets:
        - {cluster: shared, namespace: ml-staging}
      %s
    """


def staging(repo: Repo, extra: str) -> None:
    """The staging environment with ``extra`` (indented spec lines) from line 8 on."""
    repo.write("environments/staging.yaml", STAGING % extra.replace("\n", "\n      "))


@pytest.mark.parametrize(("limits", "field", "message"), [
    ("{default: {cpu: '2'}, max: {cpu: '1'}}", "spec.limits.default.cpu",
     "2 is above limits.max.cpu (1, at environments/staging.yaml:8)"),
    ("{defaultRequest: {memory: 4Gi}, default: {memory: 2Gi}}", "spec.limits.defaultRequest.memory",
     "4Gi is above limits.default.memory (2Gi, at environments/staging.yaml:8)"),
    ("{min: {ephemeral-storage: 2Gi}, max: {ephemeral-storage: 1024Mi}, default: {ephemeral-storage: 1Gi}}",
     "spec.limits.min.ephemeral-storage", "2Gi is above limits.default.ephemeral-storage"),
    ("{default: {nvidia.com/gpu: 2}, max: {nvidia.com/gpu: 1}}", "spec.limits.default.nvidia.com/gpu",
     "2 is above limits.max.nvidia.com/gpu"),
    ("{min: {cpu: 300m}}", "spec.limits.min.cpu", "300m is above limits.defaultRequest.cpu (250m, at profiles.yaml:7)"),
])
def test_limit_range_order_per_resource(repo: Repo, limits: str, field: str, message: str) -> None:
    staging(repo, f"limits: {limits}")
    error = next(e for e in repo.errors() if field in e)
    assert error.startswith("environments/staging.yaml:8: " + field + ": " + message), error
    assert "min <= defaultRequest <= default <= max" in error


def test_a_profile_value_is_reported_at_the_profile(repo: Repo) -> None:
    staging(repo, "limits: {max: {cpu: 100m}, default: {cpu: 100m}}")
    assert repo.errors() == [
        "profiles.yaml:7: spec.limits.defaultRequest.cpu: 250m is above limits.default.cpu (100m, at "
        "environments/staging.yaml:8); Kubernetes needs min <= defaultRequest <= default <= max for each resource: "
        "lower this value or raise the other",
        "profiles.yaml:7: spec.limits.defaultRequest.cpu: 250m is above limits.max.cpu (100m, at "
        "environments/staging.yaml:8); Kubernetes needs min <= defaultRequest <= default <= max for each resource: "
        "lower this value or raise the other",
    ]


@pytest.mark.parametrize(("resources", "field", "message"), [
    ("{requests: {cpu: '2'}, limits: {cpu: 500m}}", "spec.agent.resources.requests.cpu",
     "2 is above the agent's limit (500m"),
    ("{requests: {memory: 1Gi}, limits: {memory: 1000Mi}}", "spec.agent.resources.requests.memory",
     "1Gi is above the agent's limit (1000Mi"),
    ("{limits: {nvidia.com/gpu: 2}}", "spec.agent.resources.limits.nvidia.com/gpu",
     "2 is above limits.max.nvidia.com/gpu (1"),
    ("{requests: {cpu: 10m}}", "spec.agent.resources.requests.cpu", "10m is below limits.min.cpu (100m"),
])
def test_agent_requests_within_limits_and_the_limit_range(repo: Repo, resources: str, field: str,
                                                          message: str) -> None:
    staging(repo, "limits:\n  default: {nvidia.com/gpu: 0}\n  max: {nvidia.com/gpu: 1}\n  min: {cpu: 100m}\n"
            f"agent:\n  resources: {resources}")
    errors = [e for e in repo.errors() if field in e]
    assert errors and errors[0].startswith("environments/staging.yaml:13: " + field + ": " + message), errors


@pytest.mark.parametrize(("quota", "field", "message"), [
    ("{cpu: 100m}", "spec.quota.cpu", "100m is below limits.defaultRequest.cpu (250m, at profiles.yaml:7)"),
    ("{memory: 256Mi}", "spec.quota.memory", "256Mi is below limits.defaultRequest.memory (512Mi"),
    ("{limitsCpu: 200m}", "spec.quota.limitsCpu", "200m is below limits.default.cpu (1"),
    ("{gpu: 0}", "spec.quota.gpu", "0 is below limits.min.nvidia.com/gpu (1"),
])
def test_a_quota_no_container_fits_in(repo: Repo, quota: str, field: str, message: str) -> None:
    staging(repo, f"quota: {quota}\nlimits: {{default: {{cpu: '1'}}, min: {{nvidia.com/gpu: 1}}, "
            "max: {nvidia.com/gpu: 1}}")
    errors = [e for e in repo.errors() if field in e]
    assert errors and errors[0].startswith("environments/staging.yaml:8: " + field + ": " + message), errors
    assert "no pod could start" in errors[0]


@pytest.mark.parametrize(("path", "message"), [
    ("/tmp", "meets the agent's own folder /tmp"),
    ("/tmp/", "meets the agent's own folder"),
    ("//tmp/polyaxon", "meets the agent's own folder"),
    ("/", "meets the agent's own folder"),
    ("//etc//data/./", "is the same folder as '/etc/data'"),
])
def test_mount_paths_are_unique_and_off_the_agents_own(repo: Repo, path: str, message: str) -> None:
    staging(repo, "agent:\n  connections:\n    - {name: one, kind: data-source, configMap: {name: a, mountPath: "
            f"/etc/data}}}}\n    - {{name: two, kind: data-source, configMap: {{name: b, mountPath: '{path}'}}}}")
    field = "spec.agent.connections[1].configMap.mountPath"
    assert repo.only_error().startswith(f"environments/staging.yaml:11: {field}: '{path}' {message}")


@pytest.mark.parametrize("image", ["Polyaxon/agent:1", "polyaxon/agent:", "polyaxon//agent", "polyaxon/agent:1 ",
                                   "polyaxon/agent@sha256:abc", "-polyaxon/agent", "registry:5000/:tag",
                                   "polyaxon/agent:" + "t" * 129, "a/" * 130 + "b"])
def test_image_references_follow_the_oci_grammar(repo: Repo, image: str) -> None:
    staging(repo, f"agent: {{image: '{image}'}}")
    assert repo.only_error().startswith("environments/staging.yaml:8: spec.agent.image: ")
    assert "is not an image reference" in repo.only_error()


@pytest.mark.parametrize("image", ["polyaxon/polyaxon-agent:2.15.1", "registry.example.com:5000/ml/agent:v1",
                                   "localhost/agent", "agent@sha256:" + "a" * 64, "ghcr.io/org/a_b__c-d.e:1.0-rc_1"])
def test_valid_image_references_pass(repo: Repo, image: str) -> None:
    staging(repo, f"agent: {{image: '{image}'}}")
    assert repo.landscape().environments["staging"].agent is not None


@pytest.mark.parametrize(("old", "new", "message"), [
    ("key: nvidia.com/gpu", "key: 'nvidia com/gpu'", "is not a valid label key"),
    ("key: nvidia.com/gpu", "key: " + "g" * 64, "is not a valid label key"),
    ("effect: NoSchedule}", "effect: NoSchedule, value: 'x y'}", "is not a valid label value"),
    ("gpu: a100}", "gpu: " + "a" * 64 + "}", "is not a valid label value"),
    ("pool: cpu}", "'pool/': cpu}", "is not a valid label key"),
])
def test_names_and_labels_the_repo_drives_follow_kubernetes(repo: Repo, old: str, new: str, message: str) -> None:
    path = repo.root / "clusters.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    error = repo.only_error()
    assert error.startswith("clusters.yaml:") and message in error, error


@pytest.mark.parametrize("namespace", ["a" * 64, "ml_dev", "ML-dev", "-ml", "ml.dev"])
def test_namespaces_are_dns_1123_labels(repo: Repo, namespace: str) -> None:
    staging(repo, "")
    path = repo.root / "environments/staging.yaml"
    path.write_text(path.read_text().replace("namespace: ml-staging", f"namespace: '{namespace}'"))
    assert repo.only_error().startswith("environments/staging.yaml:7: spec.targets[0].namespace: ")


@pytest.mark.parametrize(("resources", "name"), [("{requests: {gpu: 1}}", "gpu"),
                                                 ("{limits: {example.com/-odd: 1}}", "example.com/-odd"),
                                                 ("{limits: {nvidia/gpu: 1}}", "nvidia/gpu")])
def test_agent_resources_are_names_kubernetes_accepts(repo: Repo, resources: str, name: str) -> None:
    staging(repo, f"agent: {{resources: {resources}}}")
    error = repo.only_error()
    assert error.startswith("environments/staging.yaml:8: spec.agent.resources."), error
    assert f"'{name}' is not a resource" in error, error


@pytest.mark.parametrize("name", ["-odd", "odd-", "a" * 64, "..x"])
def test_quota_object_names_are_qualified_names(repo: Repo, name: str) -> None:
    staging(repo, f"quota: {{objects: {{'{name}': 1}}}}")
    error = repo.only_error()
    assert error.startswith(f"environments/staging.yaml:8: spec.quota.objects.{name}: 'count/{name}' is not"), error


def test_usual_resource_names_pass(repo: Repo) -> None:
    staging(repo, "quota: {objects: {services: 1, widgets.example.com: 2, persistentvolumeclaims: 3}}\n"
            "agent: {resources: {limits: {nvidia.com/gpu: 1, hugepages-2Mi: 1Gi, ephemeral-storage: 1Gi}}}")
    assert repo.landscape().environments["staging"].quota["count/widgets.example.com"] == "2"
