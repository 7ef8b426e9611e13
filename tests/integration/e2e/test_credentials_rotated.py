"""Credentials that rotate, other than a ``tokenFile``: cluster shared is reached with a token written into the
kubeconfig itself, cluster gpu with a client certificate and key named by the kubeconfig. The token is revoked
(its ServiceAccount deleted) and the certificate expires, so both clusters refuse the controller (HTTP 401) and
/readyz turns unhealthy; a kubeconfig rewritten with a new token and a new certificate written over the old files
are used within one retry interval, without a restart, and /readyz is healthy again. With --leader-elect: a standby
does not converge, so before only a converge's 401s counted and /readyz stayed 200 while every Lease was refused;
now the Lease's own client tells. A kubeconfig kept in a Secret
(a hub's remote cluster) whose token is revoked, then updated in the Secret, is used within one retry too."""

from __future__ import annotations

import base64
import datetime
import json
import subprocess
import time
from pathlib import Path

import pytest

from testenv import controlplane

from ..support import clients
from .conftest import StartController
from .deployed import apply_deploy, service_account_token
from .harness import GitRemote, git
from .test_credentials import revoke

pytestmark = pytest.mark.integration

RETRY_SECONDS = 1.0  # --max-backoff
CERTIFICATE_LIFE = 20  # seconds: long enough to converge once, short enough to wait for
CA_CONFIG = """[ca]
default_ca = test
[test]
database = {directory}/index.txt
new_certs_dir = {directory}
serial = {directory}/serial
default_md = sha256
policy = anything
[anything]
organizationName = supplied
commonName = supplied
"""


def client_certificate(ca: Path, directory: Path, name: str, seconds: int) -> tuple[bytes, bytes]:
    """A key and a certificate for the system:masters group signed by the cluster's CA, valid for ``seconds``
    (``openssl ca``, as ``openssl x509`` only counts in days)."""
    work = directory / name
    work.mkdir(parents=True)
    (work / "index.txt").write_text("")
    (work / "serial").write_text("01\n")
    (work / "ca.cnf").write_text(CA_CONFIG.format(directory=work))
    now = datetime.datetime.now(datetime.UTC)
    stamp = "%y%m%d%H%M%SZ"
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", work / "key", "-out", work / "csr", "-subj", f"/O=system:masters/CN={name}"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "ca", "-batch", "-notext", "-config", work / "ca.cnf", "-cert", ca / "ca.crt",
                    "-keyfile", ca / "ca.key", "-in", work / "csr", "-out", work / "crt",
                    "-startdate", (now - datetime.timedelta(minutes=5)).strftime(stamp),
                    "-enddate", (now + datetime.timedelta(seconds=seconds)).strftime(stamp)],
                   check=True, capture_output=True)
    return (work / "key").read_bytes(), (work / "crt").read_bytes()


def test_a_kubeconfig_token_and_a_client_certificate_rotated_are_used_within_one_retry(
    remote: GitRemote, start_controller: StartController, control_plane: controlplane.TestEnv, tmp_path: Path
) -> None:
    kubeconfig = control_plane.kubeconfig
    admin = clients(remote.work, kubeconfig)
    apply_deploy(admin["shared"])
    ca = control_plane.cluster("gpu").directory / "pki"
    key, certificate = tmp_path / "gpu.key", tmp_path / "gpu.crt"
    first_key, first_certificate = client_certificate(ca, tmp_path, "reconciler-first", CERTIFICATE_LIFE)
    expires = time.monotonic() + CERTIFICATE_LIFE
    key.write_bytes(first_key)
    certificate.write_bytes(first_certificate)
    config = json.loads(kubeconfig.read_text())
    token = service_account_token(admin["shared"])

    def write_kubeconfig(token: str) -> None:
        config["users"] = [{"name": "reconciler@shared", "user": {"token": token}},
                           {"name": "reconciler@gpu", "user": {"client-certificate": str(certificate),
                                                               "client-key": str(key)}}]
        config["contexts"] = [{"name": name, "context": {"cluster": name, "user": f"reconciler@{name}"}}
                              for name in ("shared", "gpu")]
        (tmp_path / "rotating.kubeconfig").write_text(json.dumps(config))

    write_kubeconfig(token)
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--max-backoff", f"{RETRY_SECONDS}s",
                                  "--kubeconfig", tmp_path / "rotating.kubeconfig", "--leader-elect",
                                  "--lease-name", f"{remote.prefix}-rotated", "--lease-duration", "4s")
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))

    denial = revoke(admin["shared"], kubeconfig, token)
    print(f"\nthe revoked token on shared: {denial}")
    time.sleep(max(0.0, expires - time.monotonic()) + 1)
    revision = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 3")
    controller.wait_for(lambda: all("HTTP 401" in (c["lastError"] or "")
                                    for c in controller.status()["clusters"].values()), 20,
                        "both clusters refusing the revoked token and the expired certificate")
    unready = controller.wait_for(lambda: (lambda a: a if a and a[0] == 503 else None)(controller.get("/readyz")),
                                  25, "/readyz to fail while every cluster refuses the credentials")
    print("/readyz:", unready)

    rotated = time.monotonic()
    write_kubeconfig(service_account_token(admin["shared"]))
    new_key, new_certificate = client_certificate(ca, tmp_path, "reconciler-second", 3600)
    key.write_bytes(new_key)
    certificate.write_bytes(new_certificate)
    controller.wait_converged(revision, timeout=30)
    took = time.monotonic() - rotated
    print(f"converged {took:.1f}s after the kubeconfig and the certificate were rewritten")
    assert took <= RETRY_SECONDS * 1.2 + 2.0, "not picked up within one retry interval"
    quota = admin["gpu"].get("ResourceQuota", f"{remote.prefix}-prod", "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "3"
    assert controller.get("/readyz") == (200, "ready\n")
    assert controller.terminate() == 0


def test_a_kubeconfig_secret_updated_with_a_new_token_is_used_within_one_retry(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path
) -> None:
    """Cluster gpu is reached through a kubeconfig kept in a Secret on the home cluster (shared), as a hub does."""
    admin = clients(remote.work, kubeconfig)
    apply_deploy(admin["shared"])
    apply_deploy(admin["gpu"])
    name = f"{remote.prefix}-gpu-kubeconfig"
    config = json.loads(kubeconfig.read_text())
    gpu_entry = next(entry for entry in config["clusters"] if entry["name"] == "gpu")

    def store(token: str) -> None:
        inner = {"apiVersion": "v1", "kind": "Config", "clusters": [gpu_entry], "current-context": "gpu",
                 "users": [{"name": "reconciler", "user": {"token": token}}],
                 "contexts": [{"name": "gpu", "context": {"cluster": "gpu", "user": "reconciler"}}]}
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "reconciler-system"},
                  "data": {"kubeconfig": base64.b64encode(json.dumps(inner).encode()).decode()}}
        admin["shared"].request("PATCH", f"/api/v1/namespaces/reconciler-system/secrets/{name}",
                                f"store Secret {name}", query={"fieldManager": "test-admin", "force": "true"},
                                body=secret, content_type="application/apply-patch+yaml")

    token = service_account_token(admin["gpu"])
    store(token)
    remote.edit("clusters/gpu.yaml", "    context: gpu\n",
                f"    kubeconfigSecret: {{namespace: reconciler-system, name: {name}, key: kubeconfig}}\n")
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--max-backoff", f"{RETRY_SECONDS}s",
                                  "--kubeconfig", kubeconfig)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))

    print(f"\nthe revoked token on gpu: {revoke(admin['gpu'], kubeconfig, token)}")
    revision = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 3")
    controller.wait_for(lambda: "HTTP 401" in (controller.status()["clusters"]["gpu"]["lastError"] or ""), 20,
                        "gpu refusing the revoked token of the Secret's kubeconfig")
    rotated = time.monotonic()
    store(service_account_token(admin["gpu"]))
    controller.wait_converged(revision, clusters=("gpu",), timeout=30)
    took = time.monotonic() - rotated
    print(f"converged {took:.1f}s after the Secret was updated")
    assert took <= RETRY_SECONDS * 1.2 + 2.0, "not picked up within one retry interval"
    quota = admin["gpu"].get("ResourceQuota", f"{remote.prefix}-prod", "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "3"
    assert controller.terminate() == 0
