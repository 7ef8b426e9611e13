"""How to reach one API server: its URL, TLS settings, proxy and credential, as a kubeconfig context names them.

Every request of a command goes over :class:`~reconciler.kube.transport.Transport`, which needs nothing more, so a
command that converges imports no ``kubernetes`` package (its import alone was a sixth of a no-op). The library's
``ApiClient`` is built from an endpoint only where its code is still used (the controller's watches, a proxy's
pool manager, tests), by :func:`api_client`, which imports it then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.version import version

if TYPE_CHECKING:
    from kubernetes import client as k8s

# Connections kept per cluster: at least the most requests a converge has in flight (apply --in-flight).
POOL_SIZE = 32
USER_AGENT = f"reconciler/{version()}"  # audit logs and API server metrics show the reconciler and its version


class Credential(Protocol):
    """The header-borne credential of a connection (a bearer token, basic auth), read again when asked: a
    credential that expires (an exec plugin's token) renews itself here."""

    def headers(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Static:
    """A credential that does not change while the endpoint lives (a token, a token file read once)."""

    authorization: str | None = None

    def headers(self) -> dict[str, str]:
        return {"authorization": self.authorization} if self.authorization else {}


@dataclass(frozen=True, eq=False)
class Endpoint:
    """One API server as a client reaches it. Files, not data: a certificate given as data in a kubeconfig is
    written to a private temporary file, as TLS loads a client certificate only from a file."""

    host: str  # the server URL without a trailing slash; it may carry a path (a proxy that routes by prefix)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True  # False: insecure-skip-tls-verify
    tls_server_name: str | None = None
    proxy: str | None = None  # proxy-url of the kubeconfig; the environment's HTTPS_PROXY is read by the transport
    credential: Credential = field(default_factory=Static)
    pool_size: int = POOL_SIZE  # connections kept
    # The library's own configuration, for an endpoint the library loaded (in-cluster): api_client reuses it.
    library: Any = None


def api_client(endpoint: Endpoint) -> k8s.ApiClient:
    """The ``kubernetes`` package's client for ``endpoint``, its credential read through the endpoint's."""
    import urllib3
    from kubernetes import client as k8s

    configuration = endpoint.library
    if configuration is None:
        configuration = k8s.Configuration()
        configuration.host = endpoint.host
        configuration.ssl_ca_cert = endpoint.ca_file
        configuration.cert_file, configuration.key_file = endpoint.cert_file, endpoint.key_file
        configuration.verify_ssl = endpoint.verify
        configuration.tls_server_name = endpoint.tls_server_name
        if endpoint.proxy:
            configuration.proxy = endpoint.proxy
        configuration.refresh_api_key_hook = lambda c: _refresh(c, endpoint.credential)  # type: ignore[assignment]
        _refresh(configuration, endpoint.credential)
    configuration.connection_pool_maxsize = endpoint.pool_size
    # No retry after a read timeout: urllib3 would retry a hanging GET three times, four deadlines in all, before
    # the error is seen; the controller retries the whole cluster with backoff instead.
    configuration.retries = urllib3.util.Retry(total=2, read=0, status=0, redirect=0)
    api = k8s.ApiClient(configuration)
    api.user_agent = USER_AGENT
    return api


def _refresh(configuration: k8s.Configuration, credential: Credential) -> None:
    value = credential.headers().get("authorization")
    configuration.api_key = {"BearerToken": value} if value else {}


@dataclass(frozen=True)
class LibraryCredential:
    """The credential of a configuration the ``kubernetes`` package loaded, through its own refresh hook."""

    configuration: Any

    def headers(self) -> dict[str, str]:
        settings = self.configuration.auth_settings()
        return {str(s["key"]): str(s["value"]) for s in settings.values()
                if s.get("in") == "header" and s.get("value")}


def from_library(configuration: k8s.Configuration) -> Endpoint:
    """An endpoint for what the ``kubernetes`` package loaded (the in-cluster service account, an auth-provider
    user, a test's client acting as some user), keeping as many connections as its configuration says."""
    return Endpoint(str(configuration.host).rstrip("/"), configuration.ssl_ca_cert or None,
                    configuration.cert_file or None, configuration.key_file or None,
                    bool(configuration.verify_ssl), configuration.tls_server_name or None,
                    configuration.proxy or None, LibraryCredential(configuration),
                    configuration.connection_pool_maxsize or 1, library=configuration)
