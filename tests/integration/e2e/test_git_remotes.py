"""Git remotes that fail, each followed by a controller of its own: black holes (a connection accepted and never
answered) over http, ssh and git://, a port that refuses, an http remote that asks for credentials, and a branch that
vanishes after it was followed. Each is on /status (``source.lastFetchError``) within seconds, saying what failed,
where, and what to do; /healthz keeps answering. No cluster is needed: the kubeconfig names servers that refuse."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.source.mirror import CHECK_TIMEOUT_SECONDS

from .conftest import StartController
from .harness import ControllerProcess, GitRemote, git

pytestmark = pytest.mark.integration

REPORTED_WITHIN = CHECK_TIMEOUT_SECONDS + 5  # from a controller's start; a black hole is given up at the timeout


class AsksForCredentials(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts connections and never sends a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


@pytest.fixture
def asks_for_credentials() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AsksForCredentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def refusing_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


def nowhere_kubeconfig(path: Path) -> Path:
    server = f"https://127.0.0.1:{refusing_port()}"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": server, "insecure-skip-tls-verify": True}}
                     for n in ("shared", "gpu")],
        "users": [{"name": "nobody", "user": {"token": "none"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "nobody"}} for n in ("shared", "gpu")]}))
    return path


def fetch_error(controller: ControllerProcess) -> str | None:
    error: str | None = controller.status()["source"]["lastFetchError"]
    return error


def test_failing_git_remotes_are_reported_within_seconds(
    remote: GitRemote, start_controller: StartController, black_hole: int, asks_for_credentials: int,
    tmp_path: Path
) -> None:
    kubeconfig = nowhere_kubeconfig(tmp_path / "nowhere.kubeconfig")
    expected = {  # the remote, and what its error must say
        f"http://127.0.0.1:{black_hole}/envs.git": "Operation too slow",
        f"ssh://git@127.0.0.1:{black_hole}/envs.git": "timed out during banner exchange",
        f"git://127.0.0.1:{black_hole}/envs.git": f"no answer within {CHECK_TIMEOUT_SECONDS:.0f}s; check that the host "
                                                  "is reachable",
        f"http://127.0.0.1:{refusing_port()}/envs.git": "Couldn't connect to server",
        f"http://127.0.0.1:{asks_for_credentials}/envs.git": "terminal prompts disabled; the remote asks for "
                                                             "credentials: give a token with --git-token-file",
    }
    controllers, started = {}, {}
    for number, url in enumerate(expected):
        controllers[url] = start_controller("--repo", url, "--interval", "1s", "--kubeconfig", kubeconfig,
                                            name=f"remote-{number}")
        started[url] = time.monotonic()  # answering: its source loop runs its first check now
    followed = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig,
                                name="vanishing")
    head = git(remote.work, "rev-parse", "HEAD")
    followed.wait_for(lambda: followed.status()["source"]["head"] == head, 20, "the branch fetched")
    git(remote.bare, "update-ref", "-d", f"refs/heads/{remote.branch}")
    expected[remote.url] = f"branch {remote.branch} does not exist in {remote.url}; check --branch"
    controllers[remote.url], started[remote.url] = followed, time.monotonic()

    seen: dict[str, tuple[float, str]] = {}  # when each error first showed, after its controller started
    deadline = max(started.values()) + REPORTED_WITHIN
    while len(seen) < len(expected) and time.monotonic() < deadline:
        for url, controller in controllers.items():
            if url not in seen and (error := fetch_error(controller)):
                seen[url] = (time.monotonic() - started[url], error)
        time.sleep(0.1)
    for url, words in expected.items():
        assert url in seen, f"no error for {url} on /status within {REPORTED_WITHIN}s:\n{controllers[url].log_tail()}"
        took, error = seen[url]
        print(f"\n{took:4.1f}s {error}")
        assert took <= REPORTED_WITHIN and url in error and words in error, error
        assert controllers[url].get("/healthz") == (200, "ok\n")
    assert followed.status()["source"]["head"] == head, "the last commit fetched is kept"
