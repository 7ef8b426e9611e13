"""A container's environment as the kubelet builds it: ``envFrom`` sources in order, then ``env`` entries, which win.

A reference to a ConfigMap, Secret or key that does not exist fails as the kubelet fails the container
(CreateContainerConfigError), unless the reference is optional.
"""

from __future__ import annotations

import base64
from typing import Any

Object = dict[str, Any]


class ContainerConfigError(LookupError):
    """The kubelet would not start the container: a referenced object or key is missing."""


def container_environment(pod: Object, container: Object, objects: list[Object]) -> dict[str, str]:
    namespace = pod["metadata"]["namespace"]
    result: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            kind, ref = "ConfigMap", source["configMapRef"]
        else:
            kind, ref = "Secret", source["secretRef"]
        data = _data(objects, kind, namespace, ref["name"], ref.get("optional", False))
        result.update({source.get("prefix", "") + key: value for key, value in data.items()})
    for entry in container.get("env", []):
        if "value" in entry:
            result[entry["name"]] = entry["value"]
            continue
        value_from = entry["valueFrom"]
        if "fieldRef" in value_from:
            result[entry["name"]] = _field(pod, value_from["fieldRef"]["fieldPath"])
            continue
        kind, ref = (("ConfigMap", value_from["configMapKeyRef"]) if "configMapKeyRef" in value_from
                     else ("Secret", value_from["secretKeyRef"]))
        data = _data(objects, kind, namespace, ref["name"], ref.get("optional", False))
        if ref["key"] in data:
            result[entry["name"]] = data[ref["key"]]
        elif not ref.get("optional", False):
            raise ContainerConfigError(f"couldn't find key {ref['key']} in {kind} {namespace}/{ref['name']}")
    return result


def _data(objects: list[Object], kind: str, namespace: str, name: str, optional: bool) -> dict[str, str]:
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] == kind and meta["name"] == name and meta.get("namespace") == namespace:
            if kind == "Secret":
                return {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
            return dict(obj.get("data", {}))
    if optional:
        return {}
    raise ContainerConfigError(f"{kind.lower()} {namespace}/{name} not found")


def _field(pod: Object, path: str) -> str:
    value: Any = pod
    for step in path.split("."):
        value = value[step]
    return str(value)
