"""TLS material for one test cluster, made with the `openssl` command line (no Python dependency needed).

Each cluster gets its own CA, a serving certificate for 127.0.0.1/localhost signed by it, and a service-account
signing key pair, as separate clusters would.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# In-cluster names too, so a kubeconfig pointing at the service name would verify as well.
SERVING_NAMES = ("DNS:localhost", "IP:127.0.0.1", "DNS:kubernetes", "DNS:kubernetes.default", "IP:10.0.0.1")
DAYS = "365"


class CertificateError(RuntimeError):
    """openssl is missing or refused a request; the message carries its output."""


@dataclass(frozen=True)
class Certificates:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    service_account_key: Path
    service_account_public_key: Path


def generate(directory: Path, cluster: str) -> Certificates:
    directory.mkdir(parents=True, exist_ok=True)
    certs = Certificates(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        service_account_key=directory / "sa.key",
        service_account_public_key=directory / "sa.pub",
    )
    ec_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_subject = f"/CN=reconciler-testenv-{cluster}-ca"
    _openssl(
        "req", "-x509", *ec_key, "-keyout", certs.ca_key, "-out", certs.ca_cert, "-days", DAYS, "-subj", ca_subject
    )
    request = directory / "apiserver.csr"
    _openssl("req", "-new", *ec_key, "-keyout", certs.serving_key, "-out", request, "-subj", "/CN=kube-apiserver")
    extensions = directory / "apiserver.ext"
    extensions.write_text(
        f"subjectAltName={','.join(SERVING_NAMES)}\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    signer: list[str | Path] = [
        "-CA",
        certs.ca_cert,
        "-CAkey",
        certs.ca_key,
        "-set_serial",
        f"0x{secrets.token_hex(16)}",
        "-days",
        DAYS,
    ]
    _openssl("x509", "-req", "-in", request, *signer, "-extfile", extensions, "-out", certs.serving_cert)
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", certs.service_account_key)
    _openssl("pkey", "-in", certs.service_account_key, "-pubout", "-out", certs.service_account_public_key)
    for key in (certs.ca_key, certs.serving_key, certs.service_account_key):
        key.chmod(0o600)
    return certs


def _openssl(*args: str | Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertificateError("`openssl` is not on PATH; install it (Debian: apt-get install openssl)")
    result = subprocess.run([openssl, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise CertificateError(f"openssl {args[0]} failed: {result.stderr.strip()}")
