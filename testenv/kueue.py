"""Kueue (sigs.k8s.io/kueue): the controller that admits queued Jobs against ClusterQueue quotas, per test cluster.

Built from its own Go module at a pinned release (its Kubernetes libraries differ from the control plane's) into
``$XDG_CACHE_HOME/reconciler/kueue-<version>/`` with the CRDs that ship in the module
(``config/components/crd/bases``) and a stamp. Only the tests that need it start it, next to a running control
plane, so the rest of the suite pays nothing.

Left out, and why: Kueue's webhooks. The test API server has no route to a webhook on the host, and the webhooks
only default and validate: a Job created suspended with the ``kueue.x-k8s.io/queue-name`` label is queued, admitted
and unsuspended by the Job reconciler alone. The webhook server still wants a certificate in its certDir, and the
manager reads a metrics certificate from the fixed path ``/etc/kueue/metrics/certs`` whenever internal certificate
management is off: both are self-signed here (the metrics server itself is off). ``VisibilityOnDemand`` is turned
off, since it wants certificates of its own under ``/visibility``. Only the ``batch/job`` integration is enabled.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from testenv import clients, controlplane, probes, processes, users, workers

VERSION = "v0.17.0"
MODULE = "sigs.k8s.io/kueue"
PACKAGE = f"{MODULE}/cmd/kueue@{VERSION}"
STAMP = ".complete"
METRICS_CERTS = Path("/etc/kueue/metrics/certs")  # fixed in Kueue's main.go
NAMESPACE = "kueue-system"

GoRunner = Callable[[str, list[str], Path, dict[str, str]], None]  # name, argv, cwd, extra environment


@dataclass(frozen=True)
class Built:
    binary: Path
    crds: Path  # a folder with one YAML file per CRD


@dataclass(frozen=True)
class Running:
    cluster: str
    handle: processes.Handle
    log: Path


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "reconciler" / f"kueue-{VERSION}"


def find() -> Built | None:
    directory = cache_dir()
    found = Built(directory / "kueue", directory / "crds")
    if (directory / STAMP).is_file() and found.binary.is_file() and found.crds.is_dir():
        return found
    return None


def build(go: str, run: GoRunner, log: Callable[[str], None]) -> Built:
    """`go install` Kueue at the pinned version into the cache with its CRDs; the caller holds the lock."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    log(f"building kueue ({PACKAGE}) into {directory}")
    started = time.monotonic()
    # Outside any module, so that Kueue's own go.mod and go.sum decide every dependency.
    run("kueue", [go, "install", "-v", PACKAGE], staging, {"GOBIN": str(staging), "GOFLAGS": "-buildvcs=false"})
    gomodcache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    shutil.copytree(Path(gomodcache) / f"{MODULE}@{VERSION}" / "config" / "components" / "crd" / "bases",
                    staging / "crds")
    shutil.rmtree(directory / "crds", ignore_errors=True)
    os.replace(staging / "crds", directory / "crds")
    os.replace(staging / "kueue", directory / "kueue")
    staging.rmdir()
    stamp = {"kueue": VERSION, "seconds": round(time.monotonic() - started)}
    (directory / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
    found = find()
    assert found is not None
    return found


def install_crds(api: client.ApiClient, built: Built) -> None:
    """Create Kueue's CRDs (idempotent) and wait until the API server serves them."""
    extensions = client.ApiextensionsV1Api(api)
    names = []
    for path in sorted(built.crds.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        names.append(crd["metadata"]["name"])
        try:
            extensions.create_custom_resource_definition(crd)
        except ApiException as error:
            if error.status != 409:
                raise
    for name in names:
        _until(_established, extensions, name, 60)
        _until(_listable, extensions, name, 60)


def start(env: controlplane.TestEnv, cluster: str, built: Built, timeout: float = 120.0) -> Running:
    """Kueue's manager for one cluster of a running test environment, ready to admit workloads."""
    target = env.cluster(cluster)
    directory = target.directory / "kueue"
    directory.mkdir(parents=True, exist_ok=True)
    api = clients.api_client(env, cluster)
    try:
        install_crds(api, built)
        _ensure_namespace(client.CoreV1Api(api))
    finally:
        api.close()  # type: ignore[no-untyped-call]
    _self_signed(directory / "webhook-certs")
    if not (METRICS_CERTS / "tls.crt").is_file():
        _self_signed(METRICS_CERTS)
    health, webhook = processes.free_ports(2)
    config = directory / "config.yaml"
    config.write_text(yaml.safe_dump(_configuration(health, webhook, directory / "webhook-certs")))
    kubeconfig = workers.write_kubeconfig(directory / "kubeconfig", cluster, target.server, target.ca_file,
                                          users.ADMIN, env.token(users.ADMIN))
    log = directory / "kueue.log"
    argv = [str(built.binary), f"--config={config}", "--feature-gates=VisibilityOnDemand=false",
            f"--kubeconfig={kubeconfig}", "--zap-log-level=2"]
    popen = processes.spawn(argv, log)
    handle = processes.Handle(popen.pid, processes.start_time(popen.pid) or 0, popen)
    running = Running(cluster, handle, log)
    deadline = time.monotonic() + timeout
    while not probes.is_ok(f"http://127.0.0.1:{health}/readyz"):
        if popen.poll() is not None or time.monotonic() > deadline:
            stop(running)
            raise controlplane.ControlPlaneError(
                f"{cluster}: kueue {'exited' if popen.poll() is not None else 'was not ready'} during start-up; "
                f"its log ({log}) ends:\n{processes.tail(log)}")
        time.sleep(0.2)
    return running


def stop(running: Running) -> None:
    processes.stop([running.handle])


def _configuration(health: int, webhook: int, cert_dir: Path) -> dict[str, object]:
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "namespace": NAMESPACE,
        "health": {"healthProbeBindAddress": f"127.0.0.1:{health}"},
        "metrics": {"bindAddress": "0"},
        "webhook": {"port": webhook, "host": "127.0.0.1", "certDir": str(cert_dir)},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "manageJobsWithoutQueueName": False,
        "integrations": {"frameworks": ["batch/job"]},
        "clientConnection": {"qps": 50, "burst": 100},
    }


def _self_signed(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(directory / "tls.key"), "-out", str(directory / "tls.crt"),
                    "-days", "365", "-subj", "/CN=kueue-testenv", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)


def _ensure_namespace(core: client.CoreV1Api) -> None:
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    except ApiException as error:
        if error.status != 409:
            raise


def _established(extensions: client.ApiextensionsV1Api, name: str) -> bool:
    crd = extensions.read_custom_resource_definition(name)
    conditions = crd.status.conditions or [] if crd.status else []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


def _listable(extensions: client.ApiextensionsV1Api, name: str) -> bool:
    """Established is not yet servable: until its watch cache is ready, the API server answers a LIST of a new
    kind with 429 (Retry-After), which a client that does not retry takes for an unreachable cluster."""
    crd = extensions.read_custom_resource_definition(name)
    version = next(v.name for v in crd.spec.versions if v.served and v.storage)
    objects = client.CustomObjectsApi(extensions.api_client)
    try:
        objects.list_cluster_custom_object(crd.spec.group, version, crd.spec.names.plural, limit=1,
                                           label_selector="app.kubernetes.io/managed-by=reconciler")
    except ApiException as error:
        if error.status == 429:
            return False
        raise
    return True


def _until(check: Callable[[client.ApiextensionsV1Api, str], bool], extensions: client.ApiextensionsV1Api,
           name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check(extensions, name):
        if time.monotonic() > deadline:
            raise controlplane.ControlPlaneError(f"timed out after {timeout}s waiting for CRD {name} to be "
                                                 "established and listable; see the API server's log")
        time.sleep(0.2)
