"""Guardrails of several installations combine to what every one of them allows."""

from __future__ import annotations

from pathlib import Path

from reconciler.config import guardrails

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "guardrails.yaml"


def test_the_combination_is_the_intersection_and_names_every_source() -> None:
    wide = guardrails.from_data({"allowedClusterRoles": "view edit admin", "podSecurityLevels": "privileged baseline",
                                 "serviceAccountNamespaces": "polyaxon, ci"}, "cluster a")
    narrow = guardrails.from_data({"allowedClusterRoles": "view\nedit", "serviceAccountNamespaces": "polyaxon"},
                                  "cluster b")
    combined = guardrails.combine(wide, narrow)
    assert combined.cluster_roles == {"view", "edit"}
    assert combined.pod_security_levels == {"baseline"}
    assert combined.service_account_namespaces == {"polyaxon"}
    assert combined.source == "the intersection of cluster a; cluster b"
    assert guardrails.combine(narrow) == narrow


def test_the_installed_guardrails_file_allows_the_sample_landscape_and_no_more_than_the_defaults_roles() -> None:
    installed = guardrails.load_file(DEPLOY)
    assert installed.cluster_roles == guardrails.DEFAULT.cluster_roles
    assert installed.pod_security_levels == guardrails.DEFAULT.pod_security_levels
    assert installed.service_account_namespaces == {"polyaxon"}
    assert not guardrails.same_limits(installed, guardrails.DEFAULT)
