"""Start and stop the control-plane processes, each in its own process group.

A process is known by its pid *and* its start time (from /proc), so a stop never signals an unrelated process that
reused the pid after ours exited.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path


def spawn(argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_time(pid: int) -> int | None:
    """Clock ticks after boot at which the process started, or None if it is gone or a zombie."""
    fields = _stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_running(pid: int, started: int) -> bool:
    return pid > 0 and start_time(pid) == started


@dataclass(frozen=True)
class Handle:
    pid: int
    started: int
    popen: subprocess.Popen[bytes] | None = None  # set when this process started it, to reap it


def stop(handles: Sequence[Handle], timeout: float = 10.0) -> None:
    """SIGTERM each process group, SIGKILL what is left after ``timeout`` seconds, and reap what we can."""
    running = [handle for handle in handles if is_running(handle.pid, handle.started)]
    for handle in running:
        _signal_group(handle.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_group_alive(handle.pid) for handle in running) and time.monotonic() < deadline:
        _reap(handles)
        time.sleep(0.05)
    for handle in running:
        if _group_alive(handle.pid):
            _signal_group(handle.pid, signal.SIGKILL)
    while any(_group_alive(handle.pid) for handle in running):
        time.sleep(0.05)
    _reap(handles)


def await_reaped(pids: Sequence[int], timeout: float = 5.0) -> None:
    """Processes started by a command that has exited are init's children: give init a moment to reap their
    zombies, so that `pgrep` right after a stop lists nothing."""
    deadline = time.monotonic() + timeout
    while any(_stat(pid) is not None for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 that are free now; all held open together so none is handed out twice."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def tail(log: Path, lines: int = 25) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return f"(no log at {log})"
    return "\n".join(text.splitlines()[-lines:])


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is still in the group."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
                return True
    return False


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _reap(handles: Sequence[Handle]) -> None:
    for handle in handles:
        if handle.popen is not None:
            handle.popen.poll()
