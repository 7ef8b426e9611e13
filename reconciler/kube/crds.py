"""Whether CustomResourceDefinitions exist on a cluster: one GET each, a denial reported rather than raised."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.kube import errors
from reconciler.kube.client import ClusterClient
from reconciler.kube.resources import CUSTOM_RESOURCE_DEFINITION


def present(client: ClusterClient, names: Iterable[str]) -> dict[str, bool | str]:
    """CRD name -> True, False (not found), or why it could not be checked (forbidden: the server's words)."""
    result: dict[str, bool | str] = {}
    for name in names:
        try:
            client.request("GET", CUSTOM_RESOURCE_DEFINITION.object_path(None, name),
                           f"get CustomResourceDefinition {name}")
            result[name] = True
        except errors.NotFound:
            result[name] = False
        except errors.Forbidden as denied:
            result[name] = f"{denied}; grant the reconciler `get` on customresourcedefinitions to check it"
    return result
