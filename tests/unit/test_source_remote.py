"""Following a remote branch with short-lived git processes: credentials, ls-remote, fetch, force-push, checkout."""

from __future__ import annotations

import base64
import http.server
import os
import shlex
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from reconciler.source.git import GitError, redact
from reconciler.source.mirror import Mirror, Remote, remove_tree

IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A repository with three commits on main; the remote the mirror follows."""
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    for number in range(3):
        (repo / "envs").mkdir(exist_ok=True)
        (repo / "envs" / "quota.yaml").write_text(f"gpu: {number}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", f"commit {number}")
    return repo


def commit(repo: Path, text: str) -> str:
    (repo / "envs" / "quota.yaml").write_text(text)
    git(repo, "commit", "--quiet", "-am", text)
    return git(repo, "rev-parse", "HEAD")


def test_redact_hides_credentials_of_urls_but_keeps_an_ssh_user() -> None:
    text = ("fatal: https://x-access-token:ghp_secret@github.com/o/r.git and https://glpat-abc@gitlab.com/o/r "
            "and ssh://git@github.com/o/r and ssh://git:pw@host/r")
    assert redact(text) == ("fatal: https://***@github.com/o/r.git and https://***@gitlab.com/o/r "
                            "and ssh://git@github.com/o/r and ssh://git:***@host/r")


def test_a_token_in_an_https_url_is_moved_out_of_the_url() -> None:
    remote = Remote.parse("https://ci:s3cr%40t@git.example.com/ml/environments.git", "main")
    assert remote.url == "https://git.example.com/ml/environments.git"
    assert (remote.username, remote.token) == ("ci", "s3cr@t")
    assert "s3cr" not in repr(remote)
    bare = Remote.parse("https://ghp_token@github.com/ml/environments.git")
    assert bare.url == "https://github.com/ml/environments.git" and bare.token == "ghp_token"


def test_the_token_travels_in_the_environment_scoped_to_the_url_never_on_the_command_line() -> None:
    remote = Remote.parse("https://github.com/ml/environments.git", token="ghp_token")
    env = remote.environment()
    index = int(env["GIT_CONFIG_COUNT"]) - 1
    assert env[f"GIT_CONFIG_KEY_{index}"] == "http.https://github.com/ml/environments.git.extraHeader"
    expected = base64.b64encode(b"x-access-token:ghp_token").decode()
    assert env[f"GIT_CONFIG_VALUE_{index}"] == f"Authorization: Basic {expected}"
    assert env["GIT_TERMINAL_PROMPT"] == "0"


def test_ssh_uses_the_given_key_and_known_hosts_and_checks_host_keys(tmp_path: Path) -> None:
    remote = Remote.parse("git@github.com:ml/environments.git", ssh_key=tmp_path / "id ed25519",
                          known_hosts=tmp_path / "known_hosts")
    assert remote.url == "git@github.com:ml/environments.git"
    command = shlex.split(remote.environment()["GIT_SSH_COMMAND"])
    assert command[:5] == ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
    assert ["-i", str(tmp_path / "id ed25519")] == command[5:7]
    assert f"UserKnownHostsFile={tmp_path / 'known_hosts'}" in command


def test_a_relative_local_path_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Remote.parse("origin").url == str(tmp_path / "origin")
    assert Remote.parse("file:///srv/git/envs.git").url == "file:///srv/git/envs.git"


def test_ls_remote_fetch_and_a_read_only_checkout(origin: Path, tmp_path: Path) -> None:
    mirror = Mirror(Remote.parse(str(origin)), tmp_path / "mirror.git")
    head = git(origin, "rev-parse", "HEAD")
    assert mirror.ls_remote() == head
    update = mirror.fetch()
    assert (update.commit, update.previous, update.forced) == (head, None, False)
    assert git(tmp_path / "mirror.git", "rev-list", "--count", "--all") == "1", "the first fetch is shallow"

    tree = mirror.checkout(head, tmp_path / "trees" / head)
    assert (tree / "envs" / "quota.yaml").read_text() == "gpu: 2\n"
    # Mode bits, not a write attempt: the tests may run as root, which ignores them.
    assert stat.S_IMODE((tree / "envs" / "quota.yaml").stat().st_mode) == 0o444
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tree, tree / "envs")} == {0o555}
    remove_tree(tmp_path / "trees")
    assert not (tmp_path / "trees").exists()


def test_a_fast_forward_is_not_a_force_push_but_a_rewrite_is(origin: Path, tmp_path: Path) -> None:
    mirror = Mirror(Remote.parse(str(origin)), tmp_path / "mirror.git")
    first = mirror.fetch().commit
    second = commit(origin, "gpu: 4\n")
    third = commit(origin, "gpu: 5\n")
    update = mirror.fetch()
    assert (update.previous, update.commit, update.forced) == (first, third, False)
    assert second != third

    git(origin, "reset", "--quiet", "--hard", "HEAD~2")
    rewritten = commit(origin, "gpu: 9\n")
    update = mirror.fetch()
    assert (update.previous, update.commit, update.forced) == (third, rewritten, True)
    tree = mirror.checkout(rewritten, tmp_path / "tree")
    assert (tree / "envs" / "quota.yaml").read_text() == "gpu: 9\n"


def test_only_the_tracked_branch_is_fetched(origin: Path, tmp_path: Path) -> None:
    git(origin, "checkout", "--quiet", "-b", "feature")
    feature = commit(origin, "gpu: 100\n")
    git(origin, "checkout", "--quiet", "main")
    mirror = Mirror(Remote.parse(str(origin), "main"), tmp_path / "mirror.git")
    assert mirror.fetch().commit == git(origin, "rev-parse", "main")
    refs = git(tmp_path / "mirror.git", "for-each-ref", "--format=%(refname)")
    assert refs.splitlines() == ["refs/remotes/origin/main"]
    with pytest.raises(subprocess.CalledProcessError):
        git(tmp_path / "mirror.git", "cat-file", "-e", feature)


def test_a_missing_branch_and_an_unreachable_remote_are_clear_errors(origin: Path, tmp_path: Path) -> None:
    with pytest.raises(GitError, match=r"branch release does not exist in .*origin; check --branch"):
        Mirror(Remote.parse(str(origin), "release"), tmp_path / "m1").ls_remote()
    remote = Remote.parse("https://user:hunter2@127.0.0.1:1/ml/environments.git")
    with pytest.raises(GitError) as failed:
        Mirror(remote, tmp_path / "m2", timeout=20).ls_remote()
    assert "hunter2" not in str(failed.value)
    assert "git ls-remote of https://127.0.0.1:1/ml/environments.git (branch main) failed" in str(failed.value)


def test_a_symlink_leaving_the_tree_is_refused_at_checkout(origin: Path, tmp_path: Path) -> None:
    os.symlink("/etc/passwd", origin / "envs" / "passwd.yaml")
    git(origin, "add", "-A")
    git(origin, "commit", "--quiet", "-m", "a link out of the repository")
    mirror = Mirror(Remote.parse(str(origin)), tmp_path / "mirror.git")
    head = mirror.fetch().commit
    with pytest.raises(GitError, match="cannot be checked out safely"):
        mirror.checkout(head, tmp_path / "tree")


class _GitOverHttp(http.server.BaseHTTPRequestHandler):
    """`git http-backend` behind HTTP basic authentication, as a git host serves https."""

    root: Path
    expected: str
    seen: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {**os.environ, "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
               "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
               "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
               "GIT_PROTOCOL": self.headers.get("Git-Protocol", "")}
        output = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True,
                                check=True).stdout
        head, _, payload = output.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve


def test_an_https_token_authenticates_real_git_over_http(origin: Path, tmp_path: Path) -> None:
    served = tmp_path / "served"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(origin), str(served / "envs.git")], check=True)
    token = "glpat-very-secret"
    handler = type("Handler", (_GitOverHttp,), {
        "root": served, "seen": [],
        "expected": "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/envs.git"
    try:
        with pytest.raises(GitError) as asked:
            Mirror(Remote.parse(url), tmp_path / "anonymous.git").ls_remote()
        assert str(asked.value) == (
            f"git ls-remote of {url} (branch main) failed: fatal: could not read Username for "
            f"'{url.rsplit('/', 1)[0]}': terminal prompts disabled; the remote asks for credentials: give a token "
            "with --git-token-file (or $RECONCILER_GIT_TOKEN) for https, or use an ssh URL with --ssh-key")
        with pytest.raises(GitError) as refused:
            Mirror(Remote.parse(url, token="glpat-revoked"), tmp_path / "revoked.git").ls_remote()
        assert "glpat-revoked" not in str(refused.value)
        assert str(refused.value).endswith("; the remote refused the token: check --git-token-file (and "
                                           "--git-username), and that the token may read this repository")

        mirror = Mirror(Remote.parse(url, token=token), tmp_path / "mirror.git")
        assert mirror.ls_remote() == git(origin, "rev-parse", "HEAD")
        update = mirror.fetch()
        tree = mirror.checkout(update.commit, tmp_path / "tree")
        assert (tree / "envs" / "quota.yaml").read_text() == "gpu: 2\n"
        stored = (tmp_path / "mirror.git" / "config").read_text()
        assert token not in stored and "extraHeader" not in stored, "the token must not be stored"
        assert handler.seen.count(handler.expected) >= 2  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_a_remote_that_never_answers_is_reported_after_the_check_timeout(tmp_path: Path) -> None:
    """A black hole: the connection is accepted and nothing ever comes back."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/ml/environments.git"
        began = time.monotonic()
        with pytest.raises(GitError) as failed:
            Mirror(Remote.parse(url), tmp_path / "m", check_timeout=1.5).ls_remote()
        took = time.monotonic() - began
    assert took < 10, f"a silent remote took {took:.1f}s to be reported"
    assert str(failed.value) == (f"git ls-remote of {url}: no answer within 2s; check that the host is reachable "
                                 "from here (DNS, firewall, proxy) and the URL is right")


@pytest.mark.parametrize(("url", "expected"), [
    ("{tmp}/missing.git", "fatal: '{tmp}/missing.git' does not appear to be a git repository fatal: Could not read "
     "from remote repository. Please make sure you have the correct access rights and the repository exists."),
])
def test_git_errors_are_shown_whole_not_by_their_last_line(tmp_path: Path, url: str, expected: str) -> None:
    remote = Remote.parse(url.format(tmp=tmp_path))
    with pytest.raises(GitError) as failed:
        Mirror(remote, tmp_path / "m").ls_remote()
    assert str(failed.value).endswith("failed: " + expected.format(tmp=tmp_path))


def test_an_empty_commit_tree_is_a_clear_error(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "nothing yet")
    mirror = Mirror(Remote.parse(str(repo)), tmp_path / "m")
    mirror.ls_remote()
    update = mirror.fetch()
    with pytest.raises(GitError, match=r"revision \w{12} of .*empty has no files \(an empty commit tree\); push a "
                                       "commit with the environments repository's YAML files"):
        mirror.checkout(update.commit, tmp_path / "tree")
