"""One cluster's HTTP transport: raw requests to its API server, with the settings of its endpoint.

The generated client built every request through ``param_serialize`` and ``RESTClientObject.request``: a header
dict, a URL parsed again by the pool manager, a ``Timeout`` object and, on every call, the kubeconfig loader's
refresh hook. At thousands of writes per converge that was most of the reconciler's own CPU beside TLS. Here the
headers are built once (the credential re-read at most once a second, so a rotated or refreshed token is still
picked up), a body is bytes, serialised once by the caller, and requests go over
:class:`~reconciler.kube.wire.Wire`'s kept connections, as many as the pool size. Only behind a proxy (proxy-url,
or HTTPS_PROXY unless NO_PROXY names the server) do they go through urllib3's pool manager, as the ``kubernetes``
package builds it, and only then are those imported.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from reconciler.kube.endpoint import POOL_SIZE, USER_AGENT, Endpoint, api_client
from reconciler.kube.wire import Wire

# How long a credential read from the endpoint is reused: an exec plugin's expiry is checked at most this often
# instead of on every request.
AUTH_SECONDS = 1.0
PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy")


class ProxyError(OSError):
    """A request through a proxy failed (urllib3's error, in the words of the socket where it has them)."""


class ProxyTimeout(TimeoutError):
    """A request through a proxy got no answer in time."""


class Transport:
    """Requests to the API server of ``endpoint``, over as many kept connections as ``size``."""

    def __init__(self, endpoint: Endpoint, size: int = POOL_SIZE) -> None:
        self.endpoint = endpoint
        self.host = endpoint.host
        # A host may carry a path (an API server behind a proxy that routes by prefix): requests go below it.
        self._prefix = urlsplit(self.host).path.rstrip("/")
        self._base = {"User-Agent": USER_AGENT}
        self._wire = None if _may_be_proxied(endpoint) else _wire(endpoint, size)
        self._via: Any = None if self._wire is not None else _Pooled(endpoint)
        self._lock = threading.Lock()
        self._auth: dict[str, str] = {}
        self._auth_at = float("-inf")

    def headers(self, accept: str, content_type: str) -> dict[str, str]:
        return {**self._base, **self._credential(), "Accept": accept, "Content-Type": content_type}

    def send(self, method: str, path_and_query: str, body: bytes | None, headers: dict[str, str],
             deadline: tuple[float, float]) -> tuple[int, bytes]:
        """One request; raises OSError as the socket gives it (ProxyError, ProxyTimeout behind a proxy)."""
        if self._wire is not None:
            return self._wire.request(method, self._prefix + path_and_query, headers, body, deadline)
        status, data = self._via.send(method, self._prefix + path_and_query, body, headers, deadline)
        return int(status), bytes(data)

    def close(self) -> None:
        if self._wire is not None:
            self._wire.close()

    def _credential(self) -> dict[str, str]:
        now = time.monotonic()
        if now - self._auth_at < AUTH_SECONDS:
            return self._auth
        with self._lock:
            if now - self._auth_at >= AUTH_SECONDS:
                self._auth = _checked(self.endpoint.credential.headers())
                self._auth_at = now
        return self._auth


def _checked(headers: dict[str, str]) -> dict[str, str]:
    """The header-borne credentials, trimmed as kubectl does: a token file written by ``echo`` ends in a newline,
    which would otherwise end the header early."""
    return {key: value.strip() for key, value in headers.items() if value}


def _may_be_proxied(endpoint: Endpoint) -> bool:
    """A proxy the kubeconfig or the environment names (NO_PROXY is judged by the pool manager, as before)."""
    return bool(endpoint.proxy) or any(os.environ.get(name) or os.environ.get(name.upper())
                                       for name in PROXY_VARIABLES)


def _wire(endpoint: Endpoint, size: int) -> Wire | None:
    """The endpoint's TLS settings as a context for :class:`Wire`; None for a scheme only urllib3 speaks."""
    url = urlsplit(endpoint.host)
    if url.scheme not in ("http", "https") or not url.hostname:
        return None
    host = url.hostname
    context = None
    if url.scheme == "https":
        context = ssl.create_default_context(cafile=endpoint.ca_file or None)
        if not endpoint.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if endpoint.cert_file:
            context.load_cert_chain(endpoint.cert_file, endpoint.key_file or None)
    port = url.port or (443 if url.scheme == "https" else 80)
    return Wire(host, port, context, endpoint.tls_server_name or host, size)


class _Pooled:
    """Requests through the pool manager the ``kubernetes`` package builds for the endpoint: a proxy (HTTP or
    SOCKS) gets the absolute URL; a direct connection (NO_PROXY names the server) the pool of its host."""

    def __init__(self, endpoint: Endpoint) -> None:
        import urllib3

        self._urllib3 = urllib3
        self._api = api_client(endpoint)
        manager = self._api.rest_client.pool_manager
        self._manager = manager
        self._host = endpoint.host
        self._origin = endpoint.host[:len(endpoint.host) - len(urlsplit(endpoint.host).path)]
        self._pool = manager.connection_from_url(self._host) if type(manager) is urllib3.PoolManager else None
        self._timeouts: dict[tuple[float, float], Any] = {}

    def send(self, method: str, target: str, body: bytes | None, headers: dict[str, str],
             deadline: tuple[float, float]) -> tuple[int, bytes]:
        urllib3 = self._urllib3
        timeout = self._timeouts.get(deadline)
        if timeout is None:
            timeout = self._timeouts.setdefault(deadline, urllib3.Timeout(connect=deadline[0], read=deadline[1]))
        try:
            if self._pool is not None:
                response = self._pool.urlopen(method, target, body=body, headers=headers, timeout=timeout,
                                              preload_content=True, assert_same_host=False)
            else:
                response = self._manager.urlopen(method, self._origin + target, body=body, headers=headers,
                                                 timeout=timeout, preload_content=True)
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None)
            timed_out = urllib3.exceptions.ReadTimeoutError
            if isinstance(exc, timed_out) or isinstance(reason, timed_out):
                raise ProxyTimeout(str(exc)) from exc
            raise ProxyError(str(reason or exc)) from exc
        return response.status, response.data or b""
