"""Where each kind the reconciler manages, and each other kind it reads or writes, lives in the Kubernetes API.

Every request path the reconciler sends is built here: a module that needs one names its Resource rather than
spelling ``/api/v1/...`` itself, so an API version moves in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str
    plural: str
    namespaced: bool

    def collection_path(self, namespace: str | None = None) -> str:
        prefix = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace if self.namespaced else None)}/{name}"


RESOURCES: dict[str, Resource] = {
    r.kind: r
    for r in (
        Resource("Namespace", "v1", "namespaces", namespaced=False),
        Resource("ServiceAccount", "v1", "serviceaccounts", namespaced=True),
        Resource("Role", "rbac.authorization.k8s.io/v1", "roles", namespaced=True),
        Resource("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", namespaced=True),
        Resource("LimitRange", "v1", "limitranges", namespaced=True),
        Resource("ResourceQuota", "v1", "resourcequotas", namespaced=True),
        Resource("ResourceFlavor", "kueue.x-k8s.io/v1beta2", "resourceflavors", namespaced=False),
        Resource("WorkloadPriorityClass", "kueue.x-k8s.io/v1beta2", "workloadpriorityclasses", namespaced=False),
        Resource("ClusterQueue", "kueue.x-k8s.io/v1beta2", "clusterqueues", namespaced=False),
        Resource("LocalQueue", "kueue.x-k8s.io/v1beta2", "localqueues", namespaced=True),
        Resource("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", namespaced=True),
        Resource("ConfigMap", "v1", "configmaps", namespaced=True),
        Resource("Deployment", "apps/v1", "deployments", namespaced=True),
    )
}


# Kinds the reconciler uses but never manages (they are not in an inventory, never pruned, not listed by converge).
SECRET = Resource("Secret", "v1", "secrets", namespaced=True)  # kubeconfigs of clusters reached through a Secret
EVENT = Resource("Event", "v1", "events", namespaced=True)
LEASE = Resource("Lease", "coordination.k8s.io/v1", "leases", namespaced=True)
CLUSTER_ROLE = Resource("ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", namespaced=False)
SUBJECT_ACCESS_REVIEW = Resource("SubjectAccessReview", "authorization.k8s.io/v1", "subjectaccessreviews",
                                 namespaced=False)
CUSTOM_RESOURCE_DEFINITION = Resource("CustomResourceDefinition", "apiextensions.k8s.io/v1",
                                      "customresourcedefinitions", namespaced=False)


def resource_for(kind: str) -> Resource:
    try:
        return RESOURCES[kind]
    except KeyError:
        raise ValueError(f"the reconciler does not manage objects of kind {kind!r}") from None
