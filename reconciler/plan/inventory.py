"""What the reconciler applied to one target, kept in the cluster so a restarted or second reconciler knows
what it owns. Pure: encoding and decoding only; ``converge`` stores it as a ConfigMap."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from reconciler.config.model import ENVIRONMENT_LABEL, MANAGED_BY_VALUE, PLATFORM_LABEL

SYSTEM_NAMESPACE = "reconciler-system"
INVENTORY_LABEL = "reconciler/inventory"
PART_OF_LABEL = "app.kubernetes.io/part-of"
DATA_KEY = "inventory.json"


@dataclass(frozen=True, order=True)
class ObjectRef:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> ObjectRef:
        parts = text.split("/")
        if len(parts) == 2:
            return cls(parts[0], "", parts[1])
        if len(parts) == 3:
            return cls(parts[0], parts[1], parts[2])
        raise ValueError(f"not an object reference: {text!r}")

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectRef:
        metadata = obj["metadata"]
        return cls(obj["kind"], metadata.get("namespace", ""), metadata["name"])


@dataclass(frozen=True)
class Inventory:
    namespace: str
    environment: str
    revision: str
    applied_at: str
    protected: bool = False
    on_remove: str = "orphan"
    objects: tuple[ObjectRef, ...] = field(default_factory=tuple)
    platform: str = ""
    applied_by: str = ""  # "controller" or "cli"; empty in inventories written before it was recorded

    @cached_property
    def listed(self) -> frozenset[ObjectRef]:
        """``objects`` as a set, built once: ownership asks of every live object whether it is listed."""
        return frozenset(self.objects)


def selector(platform: str) -> str:
    """Inventories of one platform: several environments repositories may share a cluster."""
    return f"{INVENTORY_LABEL}=true,{PLATFORM_LABEL}={platform}"


def configmap_name(namespace: str) -> str:
    return f"inventory.{namespace}"


def to_configmap(inventory: Inventory) -> dict[str, Any]:
    payload = {
        "namespace": inventory.namespace,
        "environment": inventory.environment,
        "revision": inventory.revision,
        "appliedAt": inventory.applied_at,
        "protected": inventory.protected,
        "onRemove": inventory.on_remove,
        "objects": [str(ref) for ref in sorted(set(inventory.objects))],
        "platform": inventory.platform,
        "appliedBy": inventory.applied_by,
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(inventory.namespace),
            "namespace": SYSTEM_NAMESPACE,
            "labels": {INVENTORY_LABEL: "true", PART_OF_LABEL: MANAGED_BY_VALUE,
                       ENVIRONMENT_LABEL: inventory.environment, PLATFORM_LABEL: inventory.platform},
        },
        "data": {DATA_KEY: json.dumps(payload, indent=1, sort_keys=True)},
    }


def from_configmap(configmap: dict[str, Any]) -> Inventory | None:
    """The inventory stored in a ConfigMap, or None when it is not one (or unreadable)."""
    try:
        payload = json.loads(configmap.get("data", {})[DATA_KEY])
        return Inventory(
            namespace=payload["namespace"],
            environment=payload["environment"],
            revision=payload.get("revision", ""),
            applied_at=payload.get("appliedAt", ""),
            protected=bool(payload.get("protected", False)),
            on_remove=payload.get("onRemove", "orphan"),
            objects=tuple(ObjectRef.parse(text) for text in payload.get("objects", [])),
            # Inventories written before the payload named it carry the platform in their label only.
            platform=payload.get("platform") or configmap.get("metadata", {}).get("labels", {}).get(PLATFORM_LABEL, ""),
            applied_by=str(payload.get("appliedBy", "")),
        )
    except (KeyError, ValueError, TypeError):
        return None


def system_namespace() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": SYSTEM_NAMESPACE, "labels": {PART_OF_LABEL: MANAGED_BY_VALUE}},
    }
