"""Find or build the control-plane binaries (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl).

The binaries are built from the Go modules pinned in ``testenv/go.mod`` and cached outside the repository, in
``$XDG_CACHE_HOME/reconciler/k8s-<version>/`` (``~/.cache`` by default). A stamp file marks a complete cache, so a
later run only checks that the files exist. ``KUBEBUILDER_ASSETS`` (the envtest convention) points at a directory
that already holds ``etcd`` and ``kube-apiserver`` and skips the build.

kube-scheduler joined the cache after the first three: it has a stamp of its own, so a complete cache made before it
stays valid and only the scheduler is added to it. kwok and Kueue, from other modules, have caches of their own
(``kwok.py``, ``kueue.py``).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from testenv import kueue, kwok

MODULE_DIR = Path(__file__).resolve().parent
STAMP = ".complete"
SCHEDULER = "kube-scheduler"
SCHEDULER_STAMP = ".complete-kube-scheduler"
REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager")
PACKAGES = {
    "etcd": "go.etcd.io/etcd/server/v3",
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    SCHEDULER: "k8s.io/kubernetes/cmd/kube-scheduler",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
}

Log = Callable[[str], None]


class BuildError(RuntimeError):
    """The binaries could not be found or built; the message says what to do."""


@dataclass(frozen=True)
class Versions:
    kubernetes: str
    etcd: str


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path | None
    kubectl: Path | None
    kube_scheduler: Path | None  # with kwok: nodes to schedule on; without, pods stay Pending
    kwok: kwok.Kwok | None
    source: Literal["cache", "assets"]
    versions: Versions


def pinned_versions(go_mod: Path = MODULE_DIR / "go.mod") -> Versions:
    """Read the Kubernetes and etcd versions from the wrapper module, the one place they are pinned."""
    text = go_mod.read_text()

    def version_of(module: str) -> str:
        match = re.search(rf"^\s*{re.escape(module)} (v\S+)", text, re.MULTILINE)
        if match is None:
            raise BuildError(f"{go_mod}: no requirement on {module}")
        return match.group(1)

    return Versions(kubernetes=version_of("k8s.io/kubernetes"), etcd=version_of("go.etcd.io/etcd/server/v3"))


def cache_dir(versions: Versions | None = None) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "reconciler" / f"k8s-{(versions or pinned_versions()).kubernetes}"


def find() -> Binaries | None:
    """Binaries from KUBEBUILDER_ASSETS or from a complete cache, without building anything."""
    versions = pinned_versions()
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        return _from_assets(Path(assets), versions)
    directory = cache_dir(versions)
    if not (directory / STAMP).is_file() or not all((directory / name).is_file() for name in REQUIRED):
        return None
    return Binaries(
        etcd=directory / "etcd",
        kube_apiserver=directory / "kube-apiserver",
        kube_controller_manager=directory / "kube-controller-manager",
        kubectl=find_kubectl(directory),
        kube_scheduler=_scheduler(directory),
        kwok=kwok.find(),
        source="cache",
        versions=versions,
    )


def ensure(log: Log = print) -> Binaries:
    """Binaries ready to run: found, or built into the cache (slow the first time, then reused).

    kubectl is built too when none is on PATH (the benchmarks need one), and so are kube-scheduler and kwok.
    """
    found = find()
    if found is not None and _whole(found):
        ensure_kueue(log)
        return found
    versions = pinned_versions()
    directory = cache_dir(versions)
    directory.mkdir(parents=True, exist_ok=True)
    assets = found is not None and found.source == "assets"
    with _locked(directory / ".lock"):
        stamp = {"kubernetes": versions.kubernetes, "etcd": versions.etcd, "go": _go_version()}
        if not assets and (not (directory / STAMP).is_file() or not all((directory / n).is_file() for n in REQUIRED)):
            for name in REQUIRED:
                if not (directory / name).is_file():
                    _build(name, directory, versions, log)
            (directory / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
        if not assets and find_kubectl(directory) is None:
            _build("kubectl", directory, versions, log)
        if (found is None or found.kube_scheduler is None) and _scheduler(directory) is None:
            _build(SCHEDULER, directory, versions, log)
            (directory / SCHEDULER_STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
    with _locked(_kwok_lock()):
        if kwok.find() is None:
            kwok.build(_go(), lambda name, argv, cwd, env: _run_go(name, argv, cwd, log, env), log)
    ensure_kueue(log)
    result = find()
    assert result is not None
    return result


def ensure_kueue(log: Log = print) -> kueue.Built:
    """Kueue's manager and CRDs, built once into a cache of their own (only the Kueue tests start it)."""
    kueue.cache_dir().mkdir(parents=True, exist_ok=True)
    with _locked(kueue.cache_dir() / ".lock"):
        found = kueue.find()
        if found is None:
            found = kueue.build(_go(), lambda name, argv, cwd, env: _run_go(name, argv, cwd, log, env), log)
    return found


def _kwok_lock() -> Path:
    kwok.cache_dir().mkdir(parents=True, exist_ok=True)
    return kwok.cache_dir() / ".lock"


def _whole(found: Binaries) -> bool:
    if found.kwok is None:
        return False
    if found.source == "assets":
        return True
    return found.kubectl is not None and found.kube_scheduler is not None


def _scheduler(directory: Path) -> Path | None:
    built = directory / SCHEDULER
    return built if (directory / SCHEDULER_STAMP).is_file() and built.is_file() else None


def find_kubectl(directory: Path | None = None) -> Path | None:
    on_path = shutil.which("kubectl")
    if on_path:
        return Path(on_path)
    built = (directory or cache_dir()) / "kubectl"
    return built if built.is_file() else None


def _from_assets(directory: Path, versions: Versions) -> Binaries:
    missing = [name for name in ("etcd", "kube-apiserver") if not (directory / name).is_file()]
    if missing:
        raise BuildError(
            f"KUBEBUILDER_ASSETS={directory} lacks {', '.join(missing)}; point it at a directory with etcd and "
            "kube-apiserver, or unset it to build them from Go modules"
        )
    manager = directory / "kube-controller-manager"
    if not manager.is_file() and (cache_dir(versions) / "kube-controller-manager").is_file():
        manager = cache_dir(versions) / "kube-controller-manager"
    kubectl = directory / "kubectl"
    scheduler = directory / SCHEDULER
    return Binaries(
        etcd=directory / "etcd",
        kube_apiserver=directory / "kube-apiserver",
        kube_controller_manager=manager if manager.is_file() else None,
        kubectl=kubectl if kubectl.is_file() else find_kubectl(),
        kube_scheduler=scheduler if scheduler.is_file() else _scheduler(cache_dir(versions)),
        kwok=kwok.find(),
        source="assets",
        versions=versions,
    )


def ldflags(versions: Versions) -> str:
    """Version stamps so that /version and `kubectl version` report the release, not v0.0.0-master."""
    major, minor = versions.kubernetes.lstrip("v").split(".")[:2]
    prefix = "-X k8s.io/component-base/version."
    return (
        f"-s -w {prefix}gitVersion={versions.kubernetes} {prefix}gitMajor={major} {prefix}gitMinor={minor} "
        f"{prefix}gitTreeState=clean"
    )


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "`go` is not on PATH: install Go (the version testenv/go.mod declares or newer) to build the control "
            "plane, or set KUBEBUILDER_ASSETS to a directory with etcd and kube-apiserver"
        )
    return go


def _build(name: str, directory: Path, versions: Versions, log: Log) -> None:
    go = _go()
    partial = directory / f".{name}.partial"
    # Identical flags on every run let Go reuse its build cache: a rebuild only links.
    argv = [go, "build", "-v", "-ldflags", ldflags(versions), "-o", str(partial), PACKAGES[name]]
    log(f"building {name} ({PACKAGES[name]}) into {directory}")
    try:
        _run_go(name, argv, MODULE_DIR, log)
    except BuildError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, directory / name)


def _run_go(name: str, argv: list[str], cwd: Path, log: Log, env: dict[str, str] | None = None) -> None:
    """Run one `go build -v`/`go install -v`, reporting progress; BuildError with the end of its output if it fails."""
    started = time.monotonic()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **(env or {})})
    assert process.stdout is not None
    progress = _Progress(name, started)
    reporter = threading.Thread(target=progress.report_until_done, daemon=True)
    reporter.start()
    for line in process.stdout:
        progress.record(line.rstrip("\n"))
    code = process.wait()
    progress.finish()
    reporter.join()
    if code != 0:
        raise BuildError(f"building {name} failed ({argv[1]} exited {code}):\n" + "\n".join(progress.messages[-40:]))
    log(f"built {name} in {_duration(time.monotonic() - started)}")


class _Progress:
    """Counts the packages `go build -v` compiles and reports them with the elapsed time."""

    def __init__(self, name: str, started: float) -> None:
        self.name = name
        self.started = started
        self.compiled = 0
        self.last = ""
        self.messages: list[str] = []
        self._done = threading.Event()
        self._tty = sys.stderr.isatty()

    def record(self, line: str) -> None:
        if line and " " not in line and not line.startswith("#"):
            self.compiled += 1
            self.last = line
        else:
            self.messages.append(line)

    def report_until_done(self) -> None:
        interval = 1.0 if self._tty else 30.0
        while not self._done.wait(interval):
            text = (
                f"  {self.name}: {_duration(time.monotonic() - self.started)}, "
                f"{self.compiled} packages compiled, last {self.last or '-'}"
            )
            if self._tty:
                sys.stderr.write("\r\033[K" + text[: shutil.get_terminal_size().columns - 1])
            else:
                sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def finish(self) -> None:
        self._done.set()
        if self._tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _go_version() -> str:
    go = shutil.which("go")
    if go is None:
        return "unknown"
    return subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout.strip()


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{seconds:.1f}s"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build at a time per cache, even from two processes (a test run and a shell)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
