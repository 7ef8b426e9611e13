"""End-to-end helpers: a bare git repository on disk as the remote, and the controller as a real process."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
GIT_IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {completed.stderr.strip()}")
    return completed.stdout.strip()


class GitRemote:
    """``work`` (a folder with the repository's files) becomes a clone of the bare repository ``remote.git``."""

    def __init__(self, work: Path, branch: str = "main", prefix: str = "ml") -> None:
        self.work = work
        self.branch = branch
        self.prefix = prefix  # namespaces are <prefix>-dev, <prefix>-staging, <prefix>-prod
        self.bare = work.parent / "remote.git"
        git(work.parent, "init", "--quiet", "--bare", f"--initial-branch={branch}", str(self.bare))
        git(work, "init", "--quiet", f"--initial-branch={branch}")
        git(work, "remote", "add", "origin", str(self.bare))
        self.commit("initial landscape")

    @property
    def url(self) -> str:
        return str(self.bare)

    def commit(self, message: str, *, push: bool = True) -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        if push:
            git(self.work, "push", "--quiet", "origin", f"HEAD:{self.branch}")
        return git(self.work, "rev-parse", "HEAD")

    def edit(self, relative: str, old: str, new: str, message: str | None = None) -> str:
        path = self.work / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1))
        return self.commit(message or f"{relative}: {old.strip()} -> {new.strip()}")

    def force_push_reset(self, commits_back: int, message: str) -> str:
        git(self.work, "reset", "--quiet", "--hard", f"HEAD~{commits_back}")
        (self.work / "force-pushed.txt").write_text(message)
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "-m", message)
        git(self.work, "push", "--quiet", "--force", "origin", f"HEAD:{self.branch}")
        return git(self.work, "rev-parse", "HEAD")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ControllerProcess:
    """`reconciler run` as a subprocess: its HTTP endpoints, its JSON log, and its /proc figures."""

    def __init__(self, args: list[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "controller.log"
        self.args = [sys.executable, "-m", "reconciler.cli", "run", *args, "--listen", f"127.0.0.1:{self.port}",
                     "--workdir", str(workdir / "work"), "--log-format", "json"]
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ControllerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.args, stdout=log, stderr=log, cwd=ROOT, env=self.env,
                                        start_new_session=True)
        log.close()
        self.wait_for(lambda: self.get("/healthz") is not None, 30, "the controller's /healthz")
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, str] | None:
        try:
            with urllib.request.urlopen(self.url(path), timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return None

    def status(self) -> dict[str, Any]:
        answer = self.get("/status")
        assert answer is not None, f"the controller does not answer; its log:\n{self.log_tail()}"
        result: dict[str, Any] = json.loads(answer[1])
        return result

    def metrics(self) -> dict[str, float]:
        answer = self.get("/metrics")
        assert answer is not None
        values = {}
        for line in answer[1].splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def post_webhook(self, body: bytes, secret: str | None, event: str = "push") -> int:
        headers = {"Content-Type": "application/json", "X-GitHub-Event": event}
        if secret is not None:
            headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.url("/hooks/git"), data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def wait_for(self, check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the controller exited ({self.process.returncode}) while waiting for {what}:"
                                     f"\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; status:\n"
                                     f"{json.dumps(self.status(), indent=1)[:4000]}\nlog:\n{self.log_tail()}")
            time.sleep(interval)

    def cluster_revision(self, cluster: str) -> str | None:
        state = self.status()["clusters"].get(cluster) or {}
        return state.get("revision") if state.get("state") == "converged" else None

    def wait_converged(self, revision: str, clusters: tuple[str, ...] = ("shared", "gpu"),
                       timeout: float = 60) -> float:
        began = time.monotonic()
        self.wait_for(lambda: all(self.cluster_revision(c) == revision for c in clusters), timeout,
                      f"clusters {', '.join(clusters)} converged at {revision[:12]}")
        return time.monotonic() - began

    def logs(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"message": line, "level": "raw"})
        return lines

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-lines:]) if self.log_path.exists() else ""

    def terminate(self, timeout: float = 60) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.running():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=30)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))


EXTRA_ENVIRONMENT = """apiVersion: reconciler.dev/v1alpha1
kind: Environment
metadata:
  name: extra-{number}
spec:
  extends: [standard]
  targets:
    - {{cluster: shared, namespace: {prefix}-x{number}}}
  access:
    - {{team: research, role: edit}}
"""


def add_environments(work: Path, prefix: str, numbers: range) -> None:
    """More environments on the shared cluster, so a converge takes long enough to be interrupted."""
    for number in numbers:
        path = work / "environments" / f"extra-{number}.yaml"
        path.write_text(EXTRA_ENVIRONMENT.format(number=number, prefix=prefix))
