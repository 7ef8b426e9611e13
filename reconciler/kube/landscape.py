"""Read what the reconciler left in a cluster, for `reconciler status --kubeconfig`: its inventories, the
ResourceQuotas and agent Deployments it manages. One LIST per kind, as converge reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from reconciler.config.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from reconciler.kube import kubeconfig as kubeconfig_reader
from reconciler.kube.api_sources import kubeconfig_files
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.errors import ConnectionConfigError
from reconciler.plan import inventory

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"


@dataclass
class ClusterRecord:
    """The raw objects; reconciler.cli.status turns them into the /status shape."""

    inventories: list[Object]
    quotas: list[Object]
    agents: list[Object]


def contexts(kubeconfig: Path | None) -> list[str]:
    """Every context of the kubeconfig, by name: each one is read as a cluster."""
    try:
        files = kubeconfig_files(kubeconfig)
        if not any(path.exists() for path in files):
            raise kubeconfig_reader.KubeconfigError("no such file")
        found = kubeconfig_reader.read(files).contexts
    except (ValueError, OSError, TypeError, AttributeError, yaml.YAMLError) as exc:
        where = kubeconfig or "$KUBECONFIG or ~/.kube/config"
        raise ConnectionConfigError(f"cannot read the contexts of kubeconfig {where}: {exc}. Pass --kubeconfig "
                                    "with a file that has one context per cluster, or --url of a controller") from exc
    return sorted(found)


def read(client: ClusterClient, platform: str | None = None) -> ClusterRecord:
    """Inventories of every Platform sharing the cluster, or of ``platform`` only."""
    selector = inventory.selector(platform) if platform else f"{inventory.INVENTORY_LABEL}=true"
    return ClusterRecord(
        inventories=client.list("ConfigMap", selector, namespace=inventory.SYSTEM_NAMESPACE),
        quotas=client.list("ResourceQuota", MANAGED_SELECTOR),
        agents=client.list("Deployment", MANAGED_SELECTOR),
    )
