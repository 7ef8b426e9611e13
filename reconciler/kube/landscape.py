"""Read what the reconciler left in a cluster, for `reconciler status --kubeconfig`: its inventories, the
ResourceQuotas and agent Deployments it manages. One LIST per kind, as converge reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from reconciler import inventory
from reconciler.config.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.errors import ConnectionConfigError

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"


@dataclass
class ClusterRecord:
    """The raw objects; reconciler.status_cli turns them into the /status shape."""

    inventories: list[Object]
    quotas: list[Object]
    agents: list[Object]


def contexts(kubeconfig: Path | None) -> list[str]:
    """Every context of the kubeconfig, by name: each one is read as a cluster."""
    try:
        found, _ = k8s_config.list_kube_config_contexts(config_file=str(kubeconfig) if kubeconfig else None)
    except (ConfigException, OSError) as exc:
        where = kubeconfig or "$KUBECONFIG or ~/.kube/config"
        raise ConnectionConfigError(f"cannot read the contexts of kubeconfig {where}: {exc}. Pass --kubeconfig "
                                    "with a file that has one context per cluster, or --url of a controller") from exc
    return sorted(str(context["name"]) for context in found or [])


def read(client: ClusterClient, platform: str | None = None) -> ClusterRecord:
    """Inventories of every Platform sharing the cluster, or of ``platform`` only."""
    selector = inventory.selector(platform) if platform else f"{inventory.INVENTORY_LABEL}=true"
    return ClusterRecord(
        inventories=client.list("ConfigMap", selector, namespace=inventory.SYSTEM_NAMESPACE),
        quotas=client.list("ResourceQuota", MANAGED_SELECTOR),
        agents=client.list("Deployment", MANAGED_SELECTOR),
    )
