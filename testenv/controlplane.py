"""Real Kubernetes control planes on 127.0.0.1: per cluster name one etcd, kube-apiserver, controller manager,
scheduler and kwok, with simulated nodes (``nodes.py``) on which pods are scheduled and run.

``up`` starts them and returns when every API server is ready; ``down`` stops every process it started. The state
(pids, ports, command lines) lives in ``DIR/state.json``, so ``down`` and ``status`` work from another process, and
one component can be stopped and started again (``stop_component``/``start_component``) to test outages.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testenv import audit, build, certs, kubeconfig, nodes, probes, processes, users, workers

ETCD, APISERVER, CONTROLLER_MANAGER = "etcd", "kube-apiserver", "kube-controller-manager"
SCHEDULER, KWOK = workers.SCHEDULER, workers.KWOK
COMPONENTS = (ETCD, APISERVER, CONTROLLER_MANAGER, SCHEDULER, KWOK)
# ValidatingAdmissionPolicy and PodSecurity are on by default in v1.36; listed so the test control plane visibly runs
# the admission that confines the reconciler (deploy/admission-policy.yaml) as a real cluster does.
ADMISSION_PLUGINS = "NamespaceLifecycle,LimitRanger,ResourceQuota,ServiceAccount,PodSecurity,ValidatingAdmissionPolicy"
STATE, KUBECONFIG, USERS_KUBECONFIG = "state.json", "kubeconfig", "users.kubeconfig"
TOKENS, USERS = "tokens.csv", "users.json"
AUDIT_LOG = "audit.log"  # in DIR/CLUSTER/logs: every request but the components', by user (testenv/audit.py)
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

Log = Callable[[str], None]


class ControlPlaneError(RuntimeError):
    """A component did not start or stay up; the message names the cluster and shows the end of its log."""


@dataclass
class Component:
    name: str
    argv: list[str]
    log: Path
    pid: int = 0
    started: int = 0
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def running(self) -> bool:
        return processes.is_running(self.pid, self.started)


@dataclass
class Cluster:
    name: str
    directory: Path
    server: str
    ca_file: Path
    controller_manager_url: str | None
    components: dict[str, Component]
    health: dict[str, str] = field(default_factory=dict)  # scheduler and kwok: their /healthz URLs

    @property
    def audit_log(self) -> Path:
        return self.directory / "logs" / AUDIT_LOG

    @property
    def context(self) -> str:
        """The context of DIR/kubeconfig that reaches this cluster as the admin."""
        return self.name


@dataclass
class TestEnv:
    directory: Path
    clusters: dict[str, Cluster]
    users: dict[str, users.User]
    binaries_source: str
    version: str = ""

    @property
    def kubeconfig(self) -> Path:
        """One context per cluster, named after it, authenticated as the admin."""
        return self.directory / KUBECONFIG

    @property
    def users_kubeconfig(self) -> Path:
        """Contexts ``<user>@<cluster>`` for every user, to act as a team member with kubectl."""
        return self.directory / USERS_KUBECONFIG

    def token(self, user: str) -> str:
        if user not in self.users:
            raise KeyError(f"no user {user!r} in this test environment; known: {', '.join(self.users)}")
        return self.users[user].token

    def cluster(self, name: str) -> Cluster:
        if name not in self.clusters:
            raise KeyError(f"no cluster {name!r} in this test environment; known: {', '.join(self.clusters)}")
        return self.clusters[name]


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    server: str
    ready: bool
    pids: dict[str, tuple[int, bool]]


def up(
    names: Sequence[str],
    directory: Path,
    *,
    members: Mapping[str, Sequence[str]] | None = None,
    binaries: build.Binaries | None = None,
    node_description: Mapping[str, tuple[nodes.Pool, ...]] | None = None,
    timeout: float = 90.0,
    log: Log = print,
) -> TestEnv:
    """Start one control plane per name; return when every API server is ready, every controller manager,
    scheduler and kwok healthy and every node Ready (``node_description``, by default ``testenv/nodes.yaml``).
    On failure everything started is stopped again and the state directory is kept for its logs."""
    _check_names(names)
    directory = directory.resolve()
    if (directory / STATE).is_file() and _running(load(directory)):
        raise ControlPlaneError(f"{directory} already runs a test environment; stop it with `down --dir {directory}`")
    binaries = binaries or build.ensure(log)
    directory.mkdir(parents=True, exist_ok=True)
    identities = users.make(members)
    users.write_token_file(directory / TOKENS, identities)
    people = {name: user for name, user in identities.items() if name not in users.SERVICES}
    description = nodes.load() if node_description is None else node_description
    users.write_json(directory / USERS, people)
    env = TestEnv(directory, {}, people, binaries.source)
    began = time.monotonic()
    try:
        for name in names:
            env.clusters[name] = _prepare(name, directory, binaries, identities)
        for cluster in env.clusters.values():
            _spawn(env, cluster, ETCD)
            _spawn(env, cluster, APISERVER)
        _wait(env, APISERVER, timeout)
        for cluster in env.clusters.values():
            if CONTROLLER_MANAGER in cluster.components:
                _spawn(env, cluster, CONTROLLER_MANAGER)
        _wait(env, CONTROLLER_MANAGER, timeout)
        for cluster in env.clusters.values():
            for component in (SCHEDULER, KWOK):
                if component in cluster.components:
                    _spawn(env, cluster, component)
        _wait(env, SCHEDULER, timeout)
        _wait(env, KWOK, timeout)
        _create_nodes(env, description, timeout)
        env.version = _check_version(env, binaries)
        endpoints = [kubeconfig.Endpoint(c.name, c.server, c.ca_file) for c in env.clusters.values()]
        tokens = {name: user.token for name, user in people.items()}
        kubeconfig.write(env.kubeconfig, endpoints, tokens, context_user=users.ADMIN)
        kubeconfig.write(env.users_kubeconfig, endpoints, tokens, context_user=None)
        _save(env)
    except BaseException:
        down(env, keep=True)
        raise
    if binaries.kube_controller_manager is None:
        log("warning: no kube-controller-manager binary: namespaces will not finalize, quotas get no status")
    if binaries.kube_scheduler is None or binaries.kwok is None:
        log("warning: no kube-scheduler or kwok binary: there are no nodes, pods stay Pending")
    log(f"{len(names)} cluster(s) ready in {time.monotonic() - began:.1f}s (Kubernetes {env.version})")
    return env


def down(env: TestEnv, *, keep: bool = False) -> None:
    """Stop every process of the environment (controller managers first, etcd last); remove the state unless kept."""
    every = [c for cluster in env.clusters.values() for c in cluster.components.values()]
    pids = [component.pid for component in every if component.pid]
    _stop([c for c in every if c.name != ETCD])  # etcd last: a stopping API server still writes to it
    _stop([c for c in every if c.name == ETCD])
    processes.await_reaped(pids)
    if env.directory.is_dir():
        _save(env)
    if not keep:
        _remove_state(env)


def stop_component(env: TestEnv, cluster: str, component: str = APISERVER) -> None:
    """Stop one component of one cluster (e.g. its API server, to test an outage); the others keep running."""
    target = _component(env, cluster, component)
    pid = target.pid
    _stop([target])
    processes.await_reaped([pid])
    _save(env)


def start_component(env: TestEnv, cluster: str, component: str = APISERVER, timeout: float = 60.0) -> None:
    """Start a stopped component again with the same ports, certificates and data; return when it is ready."""
    target = _component(env, cluster, component)
    if target.running():
        return
    _spawn(env, env.clusters[cluster], component)
    _wait(env, component, timeout, only=cluster)


def status(env: TestEnv) -> list[ClusterStatus]:
    admin = env.token(users.ADMIN)
    return [
        ClusterStatus(
            name=cluster.name,
            server=cluster.server,
            ready=probes.is_ok(f"{cluster.server}/readyz", ca_file=cluster.ca_file, token=admin),
            pids={name: (component.pid, component.running()) for name, component in cluster.components.items()},
        )
        for cluster in env.clusters.values()
    ]


def load(directory: Path) -> TestEnv:
    """The environment recorded in ``directory/state.json`` by ``up`` (possibly from another process)."""
    directory = directory.resolve()
    path = directory / STATE
    if not path.is_file():
        raise ControlPlaneError(f"no test environment in {directory} (no {STATE}); start one with `up --dir`")
    data: dict[str, Any] = json.loads(path.read_text())
    clusters = {
        name: Cluster(
            name=name,
            directory=Path(entry["directory"]),
            server=entry["server"],
            ca_file=Path(entry["ca_file"]),
            controller_manager_url=entry["controller_manager_url"],
            health=entry.get("health", {}),
            components={
                component: Component(component, spec["argv"], Path(spec["log"]), spec["pid"], spec["started"])
                for component, spec in entry["components"].items()
            },
        )
        for name, entry in data["clusters"].items()
    }
    people = users.read_json(directory / USERS) if (directory / USERS).is_file() else {}
    return TestEnv(directory, clusters, people, data["binaries_source"], data["version"])


def _prepare(name: str, directory: Path, binaries: build.Binaries, identities: Mapping[str, users.User]) -> Cluster:
    manager_token = identities[users.CONTROLLER_MANAGER].token
    home = directory / name
    for stale in (home / "etcd", home / "logs"):
        shutil.rmtree(stale, ignore_errors=True)
    (home / "logs").mkdir(parents=True)
    tls = certs.generate(home / "pki", name)
    etcd_port, peer_port, api_port, manager_port, scheduler_port, kwok_port = processes.free_ports(6)
    etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
    server = f"https://127.0.0.1:{api_port}"
    etcd = [
        str(binaries.etcd), f"--name={name}", f"--data-dir={home / 'etcd'}",
        f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
        f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster={name}={peer_url}", "--unsafe-no-fsync", "--log-level=warn",
    ]  # fmt: skip
    apiserver = [
        str(binaries.kube_apiserver), f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={api_port}",
        f"--tls-cert-file={tls.serving_cert}", f"--tls-private-key-file={tls.serving_key}",
        f"--client-ca-file={tls.ca_cert}", f"--cert-dir={home / 'pki'}",
        f"--token-auth-file={directory / TOKENS}", "--authorization-mode=RBAC",
        f"--enable-admission-plugins={ADMISSION_PLUGINS}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={tls.service_account_public_key}",
        f"--service-account-signing-key-file={tls.service_account_key}",
        "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true", "--profiling=false",
        # Without a bound, open watches (the controller manager's) hold a stopping server for its full timeout.
        "--shutdown-watch-termination-grace-period=1s",
        *audit.flags(home, home / "logs" / AUDIT_LOG),
    ]  # fmt: skip
    components = {
        ETCD: Component(ETCD, etcd, home / "logs" / "etcd.log"),
        APISERVER: Component(APISERVER, apiserver, home / "logs" / "kube-apiserver.log"),
    }
    manager_url = None
    if binaries.kube_controller_manager is not None:
        config = home / "controller-manager.kubeconfig"
        kubeconfig.write(
            config,
            [kubeconfig.Endpoint(name, server, tls.ca_cert)],
            {users.CONTROLLER_MANAGER: manager_token},
            context_user=users.CONTROLLER_MANAGER,
        )
        manager = [
            str(binaries.kube_controller_manager), f"--kubeconfig={config}",
            f"--authentication-kubeconfig={config}", f"--authorization-kubeconfig={config}",
            "--authentication-skip-lookup=true",  # the API server has no front-proxy CA to look up
            "--bind-address=127.0.0.1", f"--secure-port={manager_port}", f"--cert-dir={home / 'pki'}",
            "--leader-elect=false", "--controllers=*", f"--cluster-name={name}",
            f"--service-account-private-key-file={tls.service_account_key}", f"--root-ca-file={tls.ca_cert}",
            "--use-service-account-credentials=false",
        ]  # fmt: skip
        manager_log = home / "logs" / "kube-controller-manager.log"
        components[CONTROLLER_MANAGER] = Component(CONTROLLER_MANAGER, manager, manager_log)
        manager_url = f"https://127.0.0.1:{manager_port}"
    cluster = Cluster(name, home, server, tls.ca_cert, manager_url, components)
    if binaries.kube_scheduler is not None and binaries.kwok is not None:
        ports = {SCHEDULER: scheduler_port, KWOK: kwok_port}
        for spec in workers.specs(name, home, server, tls.ca_cert, binaries, identities, ports):
            cluster.components[spec.name] = Component(spec.name, spec.argv, spec.log)
            cluster.health[spec.name] = spec.health
    return cluster


def _create_nodes(env: TestEnv, description: Mapping[str, tuple[nodes.Pool, ...]], timeout: float) -> None:
    admin = env.token(users.ADMIN)
    for cluster in env.clusters.values():
        if KWOK in cluster.components:
            wanted = nodes.manifests(cluster.name, nodes.pools_for(dict(description), cluster.name))
            try:
                nodes.create(cluster.server, cluster.ca_file, admin, wanted, timeout)
            except (TimeoutError, RuntimeError) as error:
                raise ControlPlaneError(_failure(cluster, cluster.components[KWOK], str(error))) from error


def _spawn(env: TestEnv, cluster: Cluster, name: str) -> None:
    component = cluster.components[name]
    component.popen = processes.spawn(component.argv, component.log)
    component.pid = component.popen.pid
    component.started = processes.start_time(component.pid) or 0
    _save(env)  # recorded at once, so `down` finds it even if this process dies during start-up


def _wait(env: TestEnv, name: str, timeout: float, only: str | None = None) -> None:
    pending = [c for c in env.clusters.values() if name in c.components and only in (None, c.name)]
    admin = env.token(users.ADMIN)
    deadline = time.monotonic() + timeout
    while pending:
        for cluster in list(pending):
            for component in cluster.components.values():
                if component.pid and not component.running():
                    raise ControlPlaneError(_failure(cluster, component, "exited during start-up"))
            if _ready(cluster, name, admin):
                pending.remove(cluster)
        if pending and time.monotonic() > deadline:
            raise ControlPlaneError(_failure(pending[0], pending[0].components[name], f"not ready after {timeout}s"))
        time.sleep(0.1 if pending else 0)


def _ready(cluster: Cluster, name: str, admin_token: str) -> bool:
    if name == APISERVER:
        return probes.is_ok(f"{cluster.server}/readyz", ca_file=cluster.ca_file, token=admin_token)
    if name == CONTROLLER_MANAGER:
        return probes.is_ok(f"{cluster.controller_manager_url}/healthz")
    if name in cluster.health:
        return probes.is_ok(cluster.health[name])
    return True  # etcd: the API server's readiness covers it


def _check_version(env: TestEnv, binaries: build.Binaries) -> str:
    admin = env.token(users.ADMIN)
    reported = {c.name: probes.version(c.server, c.ca_file, admin)["gitVersion"] for c in env.clusters.values()}
    expected = binaries.versions.kubernetes
    wrong = {name: version for name, version in reported.items() if version != expected}
    if wrong and binaries.source == "cache":
        raise ControlPlaneError(f"API servers report {wrong} instead of {expected}: the build lacks version ldflags")
    return str(next(iter(reported.values())))


def _running(env: TestEnv) -> bool:
    return any(component.running() for cluster in env.clusters.values() for component in cluster.components.values())


def _failure(cluster: Cluster, component: Component, what: str) -> str:
    return (
        f"cluster {cluster.name}: {component.name} {what}; its log is {component.log}, ending with:\n"
        + processes.tail(component.log)
    )


def _component(env: TestEnv, cluster: str, component: str) -> Component:
    components = env.cluster(cluster).components
    if component not in components:
        raise KeyError(f"cluster {cluster} has no {component}; it has {', '.join(components)}")
    return components[component]


def _stop(components: Sequence[Component]) -> None:
    processes.stop([processes.Handle(c.pid, c.started, c.popen) for c in components if c.pid])
    for component in components:
        component.popen, component.pid, component.started = None, 0, 0  # pid 0: stopped on purpose


def _check_names(names: Sequence[str]) -> None:
    if not names:
        raise ValueError("give at least one cluster name")
    bad = [name for name in names if not NAME.match(name)]
    if bad or len(set(names)) != len(names):
        raise ValueError(f"cluster names must be distinct DNS labels (a-z, 0-9, '-'); got {', '.join(names)}")


def _save(env: TestEnv) -> None:
    data = {
        "binaries_source": env.binaries_source,
        "version": env.version,
        "clusters": {
            cluster.name: {
                "directory": str(cluster.directory),
                "server": cluster.server,
                "ca_file": str(cluster.ca_file),
                "controller_manager_url": cluster.controller_manager_url,
                "health": cluster.health,
                "components": {
                    name: {"argv": c.argv, "log": str(c.log), "pid": c.pid, "started": c.started}
                    for name, c in cluster.components.items()
                },
            }
            for cluster in env.clusters.values()
        },
    }
    (env.directory / STATE).write_text(json.dumps(data, indent=2) + "\n")


def _remove_state(env: TestEnv) -> None:
    """Remove what ``up`` wrote, and the directory if that leaves it empty (it may be one the user chose)."""
    for cluster in env.clusters.values():
        shutil.rmtree(cluster.directory, ignore_errors=True)
    for name in (STATE, KUBECONFIG, USERS_KUBECONFIG, TOKENS, USERS):
        (env.directory / name).unlink(missing_ok=True)
    if env.directory.is_dir() and not any(env.directory.iterdir()):
        env.directory.rmdir()
