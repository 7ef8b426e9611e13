"""Durations on the command line and in settings: ``30s``, ``5m``, ``1h30m``, ``500ms``.

A module of its own so that building the command-line parser does not import the controller (and with it the
Kubernetes client), which would slow every command that never reaches a cluster.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m(?!s))?(?:(?P<s>\d+(?:\.\d+)?)s)?"
                       r"(?:(?P<ms>\d+)ms)?$")


def parse_duration(text: str) -> float:
    """Seconds from ``30s``, ``5m``, ``1h30m``, ``500ms`` or a plain number of seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    match = _DURATION.match(text)
    if not text or not match or not any(match.groupdict().values()):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m, 1h, 500ms)")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0) + parts.get("ms", 0) / 1000
