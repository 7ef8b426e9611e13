"""A transport built from a kubeconfig (read by reconciler.kube.kubeconfig), against a real TLS server: a client
certificate, an IPv6 server behind a path prefix with tls-server-name, insecure-skip-tls-verify, a proxy
(proxy-url, HTTPS_PROXY, NO_PROXY) and an exec credential plugin whose token rotates."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.kube import kubeconfig as kubeconfig_reader
from reconciler.kube import transport as transport_module
from reconciler.kube.transport import Transport
from tests.unit.wire_server import OK, Tls, serve, server_context, tls_material

PATH = "/api/v1/namespaces?limit=500"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return tls_material(tmp_path_factory.mktemp("tls"))


def _whoami(connection: socket.socket, _: bytes) -> None:
    """Answers with the client certificate's subject, as the API server authenticates it."""
    peer: Any = getattr(connection, "getpeercert", lambda: None)() or {}
    names = [value for entry in peer.get("subject", ()) for key, value in entry if key == "commonName"]
    body = json.dumps({"user": names}).encode()
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def _transport(tmp_path: Path, server: str, cluster: dict[str, Any], user: dict[str, Any]) -> Transport:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server, **cluster}}],
        "users": [{"name": "u", "user": user}], "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    return Transport(kubeconfig_reader.endpoint(kubeconfig_reader.read([kubeconfig])))


def _send(transport: Transport) -> tuple[int, bytes]:
    return transport.send("GET", PATH, None, transport.headers("application/json", "application/json"), (3, 3))


def _data(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def test_the_client_certificate_of_the_kubeconfig_authenticates_the_request(tls: Tls, tmp_path: Path) -> None:
    made, cert, key = tls
    ca = {"certificate-authority": str(made.ca_cert)}
    with serve(_whoami, context=server_context(tls, client_certificates=True)) as server:
        url = f"https://127.0.0.1:{server.port}"
        user = {"client-certificate-data": _data(cert), "client-key-data": _data(key)}
        assert _send(_transport(tmp_path, url, ca, user)) == (200, b'{"user": ["alice"]}')
        # TLS 1.3 refuses after the handshake: the client reads the server's alert or, as often, its close.
        with pytest.raises(OSError, match=r"certificate required|EOF occurred"):
            _send(_transport(tmp_path, url, ca, {"token": "not-a-certificate"}))
        assert len(server.heads) == 1, "the request without a certificate never reached the handler"


def test_an_ipv6_server_behind_a_path_prefix_is_reached_below_it_under_tls_server_name(tls: Tls,
                                                                                         tmp_path: Path) -> None:
    made = tls[0]
    context = server_context(tls)
    names: list[str | None] = []
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    with serve(lambda connection, _: connection.sendall(OK), host="::1", context=context) as server:
        url = f"https://[::1]:{server.port}/k8s/clusters/c-1"
        ca = {"certificate-authority-data": _data(made.ca_cert)}
        transport = _transport(tmp_path, url, {**ca, "tls-server-name": "localhost"}, {"token": "t"})
        assert _send(transport) == (200, b"ok")
        assert server.heads[0].split(b"\r\n")[:2] == [f"GET /k8s/clusters/c-1{PATH} HTTP/1.1".encode(),
                                                      f"Host: [::1]:{server.port}".encode()]
        assert names == ["localhost"]
        with pytest.raises(OSError, match="certificate verify failed"):  # the certificate does not name ::1
            _send(_transport(tmp_path, url, ca, {"token": "t"}))


def test_insecure_skip_tls_verify_is_the_only_way_past_an_unknown_certificate(tls: Tls, tmp_path: Path) -> None:
    with serve(lambda connection, _: connection.sendall(OK), context=server_context(tls)) as server:
        url = f"https://127.0.0.1:{server.port}"
        assert _send(_transport(tmp_path, url, {"insecure-skip-tls-verify": True}, {"token": "t"})) == (200, b"ok")
        with pytest.raises(OSError, match="certificate verify failed"):
            _send(_transport(tmp_path, url, {}, {"token": "t"}))


@contextlib.contextmanager
def _proxy() -> Iterator[tuple[int, list[bytes]]]:
    """An HTTP CONNECT proxy on 127.0.0.2 (so NO_PROXY=127.0.0.1 names the server alone); yields its port and the
    request lines it was asked."""
    listener = socket.create_server(("127.0.0.2", 0))
    asked: list[bytes] = []

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        sink.close()

    def tunnel(client: socket.socket) -> None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += client.recv(1)
        asked.append(head.split(b"\r\n")[0])
        host, _, port = head.split()[1].decode().rpartition(":")
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=tunnel, args=(client,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1], asked
    finally:
        listener.close()


@pytest.mark.parametrize("how", ["proxy-url", "HTTPS_PROXY", "NO_PROXY"])
def test_a_proxy_from_the_kubeconfig_or_the_environment_carries_the_requests_unless_no_proxy_names_the_server(
        how: str, tls: Tls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with serve(lambda connection, _: connection.sendall(OK), context=server_context(tls)) as server, \
            _proxy() as (port, asked):
        cluster: dict[str, Any] = {"certificate-authority": str(tls[0].ca_cert)}
        if how == "proxy-url":
            cluster["proxy-url"] = f"http://127.0.0.2:{port}"
        else:
            monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.2:{port}")
            if how == "NO_PROXY":
                monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        transport = _transport(tmp_path, f"https://127.0.0.1:{server.port}", cluster, {"token": "t"})
        assert _send(transport) == (200, b"ok")
        assert _send(transport) == (200, b"ok")
    tunnel = f"CONNECT 127.0.0.1:{server.port} ".encode()
    assert [line[:len(tunnel)] for line in asked] == ([] if how == "NO_PROXY" else [tunnel])


def test_a_token_from_an_exec_plugin_is_re_read_once_it_expires(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    token = tmp_path / "issued"
    token.write_text("first")
    plugin = tmp_path / "plugin.py"
    plugin.write_text("import json, pathlib, sys\njson.dump({'apiVersion': 'client.authentication.k8s.io/v1', "
                      "'kind': 'ExecCredential', 'status': {'token': pathlib.Path(sys.argv[1]).read_text(), "
                      "'expirationTimestamp': '2020-01-01T00:00:00Z'}}, sys.stdout)\n")
    monkeypatch.setattr(transport_module, "AUTH_SECONDS", 0.0)
    seen: list[bytes] = []

    def handle(connection: socket.socket, head: bytes) -> None:
        seen.extend(line.lower() for line in head.split(b"\r\n") if line.lower().startswith(b"authorization"))
        connection.sendall(OK)
    with serve(handle) as server:
        user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                         "args": [str(plugin), str(token)], "interactiveMode": "Never"}}
        transport = _transport(tmp_path, f"http://127.0.0.1:{server.port}", {}, user)
        _send(transport)
        token.write_text("second")
        _send(transport)
    assert seen == [b"authorization: bearer first", b"authorization: bearer second"]


def test_a_token_file_ending_in_a_newline_is_sent_trimmed_and_a_line_break_inside_a_header_is_never_sent(
        tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("abc\n")  # as `echo abc > token` writes it
    with serve(lambda connection, _: connection.sendall(OK)) as server:
        url = f"http://127.0.0.1:{server.port}"
        transport = _transport(tmp_path, url, {}, {"tokenFile": str(token)})
        assert _send(transport) == (200, b"ok")
        assert _send(transport) == (200, b"ok")
        assert [line for head in server.heads for line in head.split(b"\r\n") if b"bearer" in line.lower()] == \
            [b"authorization: Bearer abc"] * 2
        token.write_text("abc\r\nX-Injected: 1")
        with pytest.raises(OSError, match="header authorization holds a line break") as refused:
            _send(_transport(tmp_path, url, {}, {"tokenFile": str(token)}))
        assert "abc" not in str(refused.value)
        assert len(server.heads) == 2, "nothing of the refused request reached the server"
