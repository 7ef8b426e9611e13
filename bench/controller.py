"""Controller benchmark on one real API server: `reconciler run` on its watch cache at N environment targets.

It reports, for each size: the requests a no-op resync sends (as the API server's audit log records them, the fewest
over three windows of several resyncs; Lease renewals are left out: they do not depend on the targets), the seconds
from the webhook call to the cluster converged at a one-line commit (median and 90th percentile over the commits;
seen in the controller's log, then confirmed on /status),
the controller's CPU-seconds per commit (user + system from /proc, which hardly depend on how busy the machine is),
the seconds from an edit of a managed object to the edit undone, without a resync (``--drifts`` edits of one
environment's ResourceQuota after another's, median and 90th percentile), and its resident memory: after its first
converge, after the first and the last commit (the growth over the commits is between these two, no commit left out
as a warm-up), and the process's peak (VmHWM, from its start, the first converge included). The controller runs with
the allocator settings deploy/deployment.yaml gives it (``MALLOC_ARENA_MAX``).

With ``--baseline-rev REV`` the code of git revision REV (extracted with ``git archive``; the work tree is not
touched) then follows the same branch on the same cluster and converges ``--baseline-commits`` one-line commits
too, so both rows come from one run on one machine. ``--readme`` rewrites the table between the bench:controller
markers of README.md.

    .venv/bin/python bench/controller.py [--sizes 200,1000] [--commits 100] [--drifts 20] [--baseline-rev REV]
        [--baseline-commits 10] [--readme] [--keep]

The control plane is the API server alone (no controller manager), so that only the reconciler loads it.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench import readme  # noqa: E402
from bench.converge import generate  # noqa: E402
from bench.revision import extract  # noqa: E402
from testenv import audit, build, clients, controlplane, users  # noqa: E402

SECRET = "bench-webhook-secret"
NOT_COUNTED = ("leases",)
PREFIX = "c"  # of the generated environments' namespaces: c-0000, c-0001, ...
QUOTA, GPU = "environment-quota", "requests.nvidia.com/gpu"
AS_DEPLOYED = ("MALLOC_ARENA_MAX",)  # taken from deploy/deployment.yaml: the controller's memory is measured as run


@dataclasses.dataclass(frozen=True)
class Figures:
    size: int
    code: str
    noop_requests: int | None
    webhook_seconds: list[float]
    cpu_seconds: list[float]  # the controller's, per commit
    rss_mib: list[float]  # after each commit
    converged_mib: float  # after the first converge, before any commit
    peak_mib: float  # VmHWM: the most the process ever held, from its start
    drift_seconds: list[float]  # from each edit to the edit undone; none measured: empty

    def row(self) -> str:
        first, last = self.rss_mib[0], self.rss_mib[-1]
        noop = "n/a" if self.noop_requests is None else str(self.noop_requests)
        drift = (f"{statistics.median(self.drift_seconds):.2f} s / {_p90(self.drift_seconds):.2f} s"
                 if self.drift_seconds else "n/a")
        return (f"| {self.size:,} | {self.code} | {noop} | {statistics.median(self.webhook_seconds):.2f} s | "
                f"{_p90(self.webhook_seconds):.2f} s | {drift} | {statistics.median(self.cpu_seconds):.2f} | "
                f"{self.converged_mib:.0f} MiB | {first:.0f} -> {last:.0f} MiB ({100 * (last - first) / first:+.1f} % "
                f"over {len(self.rss_mib)} commits) | {self.peak_mib:.0f} MiB |")


HEADER = ("| targets | code | no-op resync: requests | webhook to converged, median | p90 | drift undone, median / p90 "
          "| controller CPU-s per commit | RSS after the first converge | RSS after the first commit -> after the last "
          "| peak RSS (VmHWM) |\n|---:|---|---:|---:|---:|---:|---:|---:|---|---:|")


def _deployed_environment() -> dict[str, str]:
    """The variables of AS_DEPLOYED as deploy/deployment.yaml sets them for the reconciler container."""
    documents = yaml.safe_load_all((ROOT / "deploy" / "deployment.yaml").read_text())
    deployment = next(d for d in documents if d and d.get("kind") == "Deployment")
    container = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "reconciler")
    found = {e["name"]: str(e["value"]) for e in container.get("env", ()) if e["name"] in AS_DEPLOYED}
    if set(found) != set(AS_DEPLOYED):
        raise SystemExit(f"deploy/deployment.yaml no longer sets {sorted(set(AS_DEPLOYED) - set(found))}: update "
                         "AS_DEPLOYED in bench/controller.py")
    return found


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def _git(cwd: Path, *argv: str) -> str:
    return subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *argv], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


def _webhook(port: int) -> None:
    body = b'{"ref": "refs/heads/main"}'
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/hooks/git", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push", "X-Hub-Signature-256": signature})
    urllib.request.urlopen(request, timeout=10).close()


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)


def _converged(port: int, revision: str) -> bool:
    try:
        cluster = _get(port, "/status")["clusters"].get("bench") or {}
    except OSError:  # not answering yet
        return False
    return bool(cluster.get("state") == "converged" and cluster.get("revision") == revision)


class LogTail:
    """The controller's JSON log read as it grows: seeing a converge there costs the controller nothing, where
    asking its /status every few milliseconds would (at 1,000 targets a /status answer is a sizeable JSON)."""

    def __init__(self, log: Path) -> None:
        self.log, self.offset = log, log.stat().st_size

    def converged(self, revision: str) -> bool:
        with self.log.open("rb") as file:
            file.seek(self.offset)
            chunk = file.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("message") == "converged" and entry.get("revision") == revision:
                return True
        return False


def _syncs(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if '"message": "converged"' in line)


def _requests(start: audit.Mark) -> int:
    """The controller's requests since ``start``, from the API server's audit log: the admin's requests but the
    benchmark's own (kubectl's), so the cluster's components (identity Leases, the controller manager) and the
    benchmark's reads are not counted."""
    return sum(1 for event in audit.events_since(start, users.ADMIN)
               if not event.get("userAgent", "").startswith("kubectl")
               and (event.get("objectRef") or {}).get("resource") not in NOT_COUNTED)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _noop_requests(env: controlplane.TestEnv, log: Path) -> int:
    """The fewest requests over three windows of three resyncs each."""
    fewest: int | None = None
    for _ in range(3):
        start, syncs = audit.mark(env.cluster("bench").audit_log), _syncs(log)
        _until(lambda seen=syncs: _syncs(log) >= seen + 3, 600, "three resyncs")  # type: ignore[misc]
        sent = _requests(start)
        fewest = sent if fewest is None else min(fewest, sent)
    return fewest or 0


class Controller:
    """`reconciler run` following ``remote`` on the bench cluster, its webhook enabled."""

    def __init__(self, env: controlplane.TestEnv, remote: Path, work: Path, resync: str, code: Path = ROOT) -> None:
        """``code``: the folder the ``reconciler`` package is imported from."""
        self.port, self.log = 18000 + os.getpid() % 1000, work / f"controller-{code.name}-{resync}.log"
        (work / "secret").write_text(SECRET)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reconciler.cli", "run", "--repo", str(remote), "--kubeconfig",
                 str(env.kubeconfig), "--interval", "1h", "--resync", resync, "--listen", f"127.0.0.1:{self.port}",
                 "--workdir", str(work / "controller"), "--webhook-secret-file", str(work / "secret"),
                 "--log-format", "json"], stdout=out, stderr=out, cwd=code,
                env={**os.environ, **_deployed_environment(), "PYTHONPATH": str(code)})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _repository(work: Path, size: int) -> tuple[Path, Path]:
    repo = generate(work / "repo", size, PREFIX)
    _git(repo, "init", "--quiet", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "--quiet", "-m", "bench")
    remote = work / "remote.git"
    _git(work, "clone", "--quiet", "--bare", str(repo), str(remote))
    _git(repo, "remote", "add", "origin", str(remote))
    return repo, remote


def _commits(repo: Path, size: int, controller: Controller, commits: int,
             first: int = 0) -> tuple[list[float], list[float], list[float]]:
    """Seconds from the webhook to converged, the controller's CPU-seconds, and its RSS after, for each one-line
    commit."""
    seconds, cpu, rss = [], [], []
    for number in range(first, first + commits):
        generate(repo, size, PREFIX, changed=0 if number % 2 == 0 else None)  # env-0000's GPU quota: one line
        _git(repo, "commit", "--quiet", "-am", f"change {number}")
        _git(repo, "push", "--quiet", "origin", "main")
        head = _git(repo, "rev-parse", "HEAD")
        tail = LogTail(controller.log)
        began, used = time.monotonic(), _cpu_seconds(controller.process.pid)
        _webhook(controller.port)
        _until(lambda head=head, tail=tail: tail.converged(head), 300,  # type: ignore[misc]
               f"commit {number} converged")
        seconds.append(time.monotonic() - began)
        if not _converged(controller.port, head):  # the log said so: /status must say the same
            raise SystemExit(f"commit {number}: the log says converged, /status does not")
        cpu.append(_cpu_seconds(controller.process.pid) - used)
        rss.append(_rss_mib(controller.process.pid))
    return seconds, cpu, rss


def _drifts(env: controlplane.TestEnv, size: int, count: int) -> list[float]:
    """Seconds from an edit of one environment's GPU quota to the controller's undoing it, for ``count``
    environments spread over the cluster (env-0000, which the commits change, left out), one after the other."""
    from kubernetes import client as k8s  # the benchmark's own client; the reconciler does not use this package

    core = k8s.CoreV1Api(clients.api_client(env, "bench"))
    seconds = []
    for number in range(count):
        namespace = f"{PREFIX}-{1 + number * (size - 1) // max(count, 1):04d}"
        wanted = core.read_namespaced_resource_quota(QUOTA, namespace).spec.hard[GPU]
        began = time.monotonic()
        edited = core.patch_namespaced_resource_quota(QUOTA, namespace, {"spec": {"hard": {GPU: "99"}}})
        if edited.spec.hard[GPU] != "99":
            raise SystemExit(f"the edit of {namespace}'s quota did not take: {edited.spec.hard}")
        _until(lambda ns=namespace, w=wanted: core.read_namespaced_resource_quota(  # type: ignore[misc]
            QUOTA, ns).spec.hard[GPU] == w, 60, f"the edit of {namespace}'s quota undone")
        seconds.append(time.monotonic() - began)
    return seconds


def run(size: int, commits: int, drifts: int, work: Path, binaries: build.Binaries,
        baseline: tuple[str, Path, int] | None) -> list[Figures]:
    """No-op resyncs with one controller resyncing every 2 s; then commits with another whose resync is an hour
    away, so that a resync in progress does not delay the commit it measures; then, with a ``baseline`` (its name,
    code and number of commits), the same commits with the baseline's code on the cluster as it was left. Drift is
    measured with this tree's code only, after its commits (a baseline may undo drift only at a resync)."""
    env = controlplane.up(["bench"], work / "cluster", binaries=binaries, log=lambda _: None)
    controllers: list[Controller] = []
    try:
        repo, remote = _repository(work, size)
        controllers.append(Controller(env, remote, work, "2s"))
        head = _git(repo, "rev-parse", "HEAD")
        _until(lambda: _converged(controllers[-1].port, head), 1800, "the cold converge")
        print(f"N={size}: converged cold; measuring no-op resyncs", file=sys.stderr, flush=True)
        noop = _noop_requests(env, controllers[-1].log)
        controllers.pop().stop()
        figures = [_measured(env, repo, remote, work, size, ("reconciler", ROOT, commits), noop, 0, drifts)]
        if baseline is not None:
            figures.append(_measured(env, repo, remote, work, size, baseline, None, commits, 0))
        return figures
    finally:
        for controller in controllers:
            controller.stop()
        controlplane.down(env, keep=False)


def _measured(env: controlplane.TestEnv, repo: Path, remote: Path, work: Path, size: int,
              code: tuple[str, Path, int], noop: int | None, first: int, drifts: int) -> Figures:
    name, folder, commits = code
    controller = Controller(env, remote, work, "1h", folder)
    try:
        head = _git(repo, "rev-parse", "HEAD")
        _until(lambda: _converged(controller.port, head), 1800, f"{name}'s first converge")
        converged = _rss_mib(controller.process.pid)
        print(f"N={size}: {name}: measuring {commits} one-line commits", file=sys.stderr, flush=True)
        seconds, cpu, rss = _commits(repo, size, controller, commits, first)
        if drifts:
            print(f"N={size}: {name}: measuring {drifts} edits undone", file=sys.stderr, flush=True)
        drift = _drifts(env, size, drifts) if drifts else []
        return Figures(size, name, noop, seconds, cpu, rss, converged, _rss_mib(controller.process.pid, "VmHWM"),
                       drift)
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200,1000", help="comma-separated numbers of environment targets")
    parser.add_argument("--commits", type=int, default=100, help="one-line commits to converge at each size")
    parser.add_argument("--drifts", type=int, default=20, help="edits of managed objects to time until undone "
                        "(after the commits; 0: none)")
    parser.add_argument("--baseline-rev", help="also measure the code of this git revision (e.g. HEAD~3)")
    parser.add_argument("--baseline-commits", type=int, help="one-line commits for the baseline (default: --commits)")
    parser.add_argument("--readme", action="store_true", help="rewrite the results table in README.md")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    binaries = dataclasses.replace(build.ensure(lambda _: None), kube_controller_manager=None, kube_scheduler=None,
                                   kwok=None)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix=f"bench-controller-{size}-"))
        try:
            baseline = None
            if args.baseline_rev:
                baseline = (f"reconciler@{args.baseline_rev}", extract(args.baseline_rev, work / "baseline"),
                            args.baseline_commits or args.commits)
            rows += [figures.row() for figures in run(size, args.commits, args.drifts, work, binaries, baseline)]
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    table = "\n".join([HEADER, *rows])
    print(table)
    if args.readme:
        readme.rewrite("controller", table)

if __name__ == "__main__":
    main()
