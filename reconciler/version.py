"""The reconciler's own version, as the installed package records it: for `reconciler version`, /status and
the `reconciler_build_info` metric, so an operator can tell which build converged a cluster.

Every command that reaches a cluster names the version in its User-Agent, so it is read from the installation's
``reconciler-VERSION.dist-info/METADATA`` directly: ``importlib.metadata`` (and the email parser it brings) took
longer to import than the rest of a small command's start-up; it stays the answer for any other installation."""

from __future__ import annotations

import functools
import os
import platform
import sys

UNKNOWN = "0+unknown"  # run from a source tree that was never installed
PREFIX = "reconciler-"


@functools.cache
def version() -> str:
    found = _from_dist_info()
    if found is not None:
        return found
    from importlib import metadata

    try:
        return metadata.version("reconciler")
    except metadata.PackageNotFoundError:
        return UNKNOWN


def _from_dist_info() -> str | None:
    """The ``Version`` field of the first ``reconciler-*.dist-info`` on the import path, as importlib finds it."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith(PREFIX) and name.endswith(".dist-info"):
                try:
                    with open(os.path.join(entry, name, "METADATA"), encoding="utf-8") as metadata:
                        for line in metadata:
                            if not line.strip():
                                break
                            if line.startswith("Version:"):
                                return line.split(":", 1)[1].strip()
                except OSError:
                    continue
    return None


def describe() -> str:
    return f"reconciler {version()} (Python {platform.python_version()})"
