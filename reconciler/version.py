"""The reconciler's own version, as the installed package records it: for `reconciler version`, /status and
the `reconciler_build_info` metric, so an operator can tell which build converged a cluster."""

from __future__ import annotations

import platform
from importlib import metadata

UNKNOWN = "0+unknown"  # run from a source tree that was never installed


def version() -> str:
    try:
        return metadata.version("reconciler")
    except metadata.PackageNotFoundError:
        return UNKNOWN


def describe() -> str:
    return f"reconciler {version()} (Python {platform.python_version()})"


def build_info_metric() -> list[str]:
    return ["# HELP reconciler_build_info The reconciler's version (value 1).",
            "# TYPE reconciler_build_info gauge",
            f'reconciler_build_info{{version="{version()}",python="{platform.python_version()}"}} 1']
