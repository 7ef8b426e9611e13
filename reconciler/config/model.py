"""The typed model of an environments repository, after resolution."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.config.guardrails import DEFAULT as DEFAULT_GUARDRAILS
from reconciler.config.guardrails import Guardrails
from reconciler.config.kueue import Enforcement, KueueQuota
from reconciler.errors import Location

DEFAULT_ALLOWED_CLUSTER_ROLES = ("view", "edit", "admin")
DEFAULT_MASS_DELETE_PERCENT = 25
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "reconciler"
ENVIRONMENT_LABEL = "reconciler/environment"
PLATFORM_LABEL = "reconciler/platform"  # several environments repositories (Platforms) may share a cluster
POD_SECURITY_LABEL = "pod-security.kubernetes.io/"  # + enforce, warn, audit: the namespace's Pod Security level
DEFAULT_POD_SECURITY: Literal["baseline"] = "baseline"
ORPHANED_ANNOTATION = "reconciler/orphaned"  # set on what a removed environment left behind
FIELD_MANAGER = "reconciler"  # the one server-side apply field manager of every write
# The agent's own writable folder (its root filesystem is read-only): connections may not be mounted over it
# (config.semantics checks).
AGENT_OWN_MOUNT = "/tmp"
# Namespaces the reconciler never manages: they belong to Kubernetes itself or to the reconciler.
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "reconciler-system"})

ARTIFACTS_STORE = "artifacts-store"  # the connection kind the agent takes as its default artifacts store
AGENT_TOKEN_KEY = "POLYAXON_AUTH_TOKEN"  # the agent and its runs read the token Secret under this key

OnRemove = Literal["orphan", "delete"]
Network = Literal["isolated", "open"]
PodSecurity = Literal["privileged", "baseline", "restricted"]
RiskLevel = Literal["info", "warn", "block"]


@dataclass(frozen=True, slots=True)
class ChangeWindow:
    environments: tuple[str, ...]
    days: tuple[str, ...]
    start: str | None
    end: str | None
    freezes: tuple[tuple[str, str, str], ...]  # (from, to, reason), dates inclusive, UTC


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    allowed_cluster_roles: tuple[str, ...] = DEFAULT_ALLOWED_CLUSTER_ROLES
    control_plane_namespace: str | None = None
    control_plane_cluster: str | None = None
    control_plane_host: str | None = None  # the control plane's API, as agents reach it (POLYAXON_HOST)
    mass_delete_percent: int = DEFAULT_MASS_DELETE_PERCENT
    risk_rules: dict[str, RiskLevel] = field(default_factory=dict)
    risk_by_environment: dict[str, dict[str, RiskLevel]] = field(default_factory=dict)
    change_windows: tuple[ChangeWindow, ...] = ()
    location: Location | None = None
    quota_enforcement: Enforcement = "ResourceQuota"  # who enforces quotas: ResourceQuota, Kueue or Both


@dataclass(frozen=True, slots=True)
class SecretKeyRef:
    name: str
    key: str


@dataclass(frozen=True, slots=True)
class KubeconfigSecret:
    namespace: str
    name: str
    key: str
    context: str | None


@dataclass(frozen=True, slots=True)
class ClusterConnection:
    context: str | None = None
    in_cluster: bool = False
    kubeconfig_secret: KubeconfigSecret | None = None
    # where the context is named, for errors about it (a --context override has none)
    context_location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class NodePool:
    name: str
    node_selector: dict[str, str]
    tolerations: tuple[dict[str, Any], ...]
    gpu: bool


@dataclass(frozen=True, slots=True)
class Cluster:
    name: str
    connection: ClusterConnection
    node_pools: dict[str, NodePool]
    location: Location


@dataclass(frozen=True, slots=True)
class ServiceAccountRef:
    namespace: str
    name: str
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    groups: tuple[str, ...]
    users: tuple[str, ...]
    service_accounts: tuple[ServiceAccountRef, ...]
    location: Location


@dataclass(frozen=True, slots=True)
class Access:
    """A binding of a team or a single user to an allowed ClusterRole, in one environment."""

    subject: Literal["team", "user"]
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    concurrency: int
    priority: int
    node_pool: str | None


@dataclass(frozen=True, slots=True)
class AgentConnection:
    name: str
    kind: str
    secret: str | None
    config_map: str | None
    mount_path: str
    provider: str = "custom"  # the Polyaxon connection kind: s3, gcs, wasb, volume_claim, host_path, git, ...
    schema: dict[str, Any] = field(default_factory=dict)  # Polyaxon's connection schema: bucket, url, ...


@dataclass(frozen=True, slots=True)
class Agent:
    image: str
    replicas: int
    resources: dict[str, dict[str, str]]
    node_pool: str | None
    token_secret: SecretKeyRef
    queues: tuple[Queue, ...]
    connections: tuple[AgentConnection, ...]
    instance: str = ""  # <owner>.agents.<uuid>, as the control plane registered the agent
    runs_node_pool: str | None = None  # where runs go by default (POLYAXON_AGENT_DEFAULT_SCHEDULING)

    @property
    def artifacts_store(self) -> AgentConnection | None:
        return next((c for c in self.connections if c.kind == ARTIFACTS_STORE), None)


@dataclass(frozen=True, slots=True)
class Environment:
    """An environment with its profiles and ``extends`` merged in."""

    name: str
    protected: bool
    on_remove: OnRemove
    adopt: bool
    quota: dict[str, str]  # ResourceQuota spec.hard, Kubernetes resource names
    limits: dict[str, dict[str, str]]  # LimitRange container entry: default, defaultRequest, max, min
    network: Network
    access: tuple[Access, ...]
    agent: Agent | None
    labels: dict[str, str]
    targets: tuple[tuple[str, str], ...]  # (cluster, namespace)
    location: Location
    pod_security: PodSecurity = DEFAULT_POD_SECURITY
    # Previous owners whose objects and namespaces this environment may take over: a move made explicit in git.
    take_over: tuple[Owner, ...] = ()
    kueue: KueueQuota | None = None  # quota per node pool, rendered when the Platform enforces with Kueue


@dataclass(frozen=True, slots=True)
class Owner:
    """Who an object belongs to, by its labels: an environment of a Platform ("" for objects labelled before
    the platform label existed)."""

    environment: str
    platform: str

    def __str__(self) -> str:
        if not self.platform:
            return f"environment {self.environment!r} (no platform label)"
        return f"environment {self.environment!r} of Platform {self.platform!r}"


@dataclass(frozen=True, slots=True)
class Target:
    """One environment placed as one namespace on one cluster: the unit that is rendered and converged."""

    environment: Environment
    cluster: Cluster
    namespace: str
    platform: str = ""  # the Platform's name, rendered as a label on every object

    @property
    def key(self) -> str:
        return f"{self.cluster.name}/{self.namespace}"


@dataclass(frozen=True, slots=True)
class Landscape:
    """Everything a valid environments repository describes."""

    platform: Platform
    clusters: dict[str, Cluster]
    teams: dict[str, Team]
    environments: dict[str, Environment]
    targets: tuple[Target, ...]
    files: int = 0
    profiles: tuple[str, ...] = ()
    guardrails: Guardrails = DEFAULT_GUARDRAILS  # the installation's limits this landscape was validated against

    def select(self, cluster: str | None = None, environment: str | None = None) -> tuple[Target, ...]:
        return tuple(
            t for t in self.targets
            if cluster in (None, t.cluster.name) and environment in (None, t.environment.name)
        )

    def summary(self) -> str:
        return (
            f"{len(self.clusters)} cluster(s), {len(self.teams)} team(s), {len(self.profiles)} profile(s), "
            f"{len(self.environments)} environment(s), {len(self.targets)} target(s) in {self.files} file(s)"
        )
