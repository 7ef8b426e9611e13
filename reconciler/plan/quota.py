"""Quota usage as the API server counts it: a ResourceQuota's ``status.used`` against its ``status.hard``.

Pure: the controller reads ResourceQuotas with the LIST it already does for converging, and this module turns
them into the figures people ask about (CPU, memory and GPUs per environment target, per environment, in total).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from reconciler.config.quantity import parse_quantity

# What a person calls a resource -> the ResourceQuota key the environment's quota renders to.
RESOURCES: dict[str, str] = {
    "cpu": "requests.cpu",
    "memory": "requests.memory",
    "gpu": "requests.nvidia.com/gpu",
}

Usage = dict[str, dict[str, str | None]]  # {"gpu": {"used": "2", "hard": "8"}}; used is None until counted


def usage_of(quota: Mapping[str, Any]) -> Usage:
    """CPU, memory and GPU used/hard of one ResourceQuota; a resource the quota does not limit is left out.

    ``status.hard`` is what the server enforces; before the quota controller first counts, only ``spec.hard``
    is known, and ``used`` is None (not 0: nothing says it is zero yet).
    """
    status = quota.get("status") or {}
    hard = status.get("hard") or quota.get("spec", {}).get("hard") or {}
    used = status.get("used") or {}
    found: Usage = {}
    for resource, key in RESOURCES.items():
        if key in hard:
            found[resource] = {"used": _text(used.get(key)), "hard": str(hard[key])}
    return found


def by_namespace(quotas: Iterable[Mapping[str, Any]]) -> dict[str, Usage]:
    """Usage per namespace; several quotas in one namespace add up."""
    found: dict[str, list[Usage]] = {}
    for quota in quotas:
        namespace = quota.get("metadata", {}).get("namespace", "")
        found.setdefault(namespace, []).append(usage_of(quota))
    # One quota (the usual case) keeps the server's own figures, so they read as `kubectl get resourcequota` shows.
    return {namespace: usages[0] if len(usages) == 1 else total(usages) for namespace, usages in found.items()}


def total(usages: Iterable[Usage]) -> Usage:
    """The sum of several usages, resource by resource (used stays None if any part is not counted yet)."""
    hard: dict[str, Fraction] = {}
    used: dict[str, Fraction | None] = {}
    for usage in usages:
        for resource, figures in usage.items():
            hard[resource] = hard.get(resource, Fraction(0)) + amount(figures["hard"])
            part = figures["used"]
            before = used.get(resource, Fraction(0))
            used[resource] = None if part is None or before is None else before + amount(part)
    return {resource: {"used": None if used[resource] is None else _show(resource, used[resource]),
                       "hard": _show(resource, hard[resource])}
            for resource in RESOURCES if resource in hard}


def amount(text: str | None) -> Fraction:
    """The exact value of a quantity; an unreadable or missing one counts as nothing."""
    if text is None:
        return Fraction(0)
    try:
        return parse_quantity(text)
    except ValueError:
        return Fraction(0)


def share(figures: Mapping[str, str | None]) -> float | None:
    """used / hard between 0 and 1 (above 1 when over quota); None when unknown or unlimited."""
    hard = amount(figures.get("hard"))
    if figures.get("used") is None or hard == 0:
        return None
    return float(amount(figures["used"]) / hard)


def shown(resource: str, text: str | None) -> str:
    """A quantity in the units people read (``1536Mi`` -> ``1.5Gi``, ``500m`` CPU stays ``500m``)."""
    return "?" if text is None else _show(resource, amount(text))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _show(resource: str, value: Fraction | None) -> str:
    """A sum in the units people read: GiB for memory, cores (or millicores) for CPU, whole GPUs."""
    value = value or Fraction(0)
    if value == 0:
        return "0"
    if resource == "memory":
        gib = value / 2**30
        return f"{_trim(gib)}Gi" if gib >= 1 else f"{_trim(value / 2**20)}Mi"
    if resource == "cpu" and value < 1:
        return f"{round(value * 1000)}m"
    return _trim(value)


def _trim(value: Fraction) -> str:
    return str(int(value)) if value.denominator == 1 else f"{float(value):.2f}".rstrip("0").rstrip(".")


def below_usage(where: str, desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """A quota lowered below what the namespace already uses: the pods running stay, new ones are refused."""
    used = live.get("status", {}).get("used", {})
    warnings = []
    for resource, limit in desired.get("spec", {}).get("hard", {}).items():
        if resource in used:
            try:
                below = parse_quantity(limit) < parse_quantity(used[resource])
            except ValueError:
                continue
            if below:
                warnings.append(f"quota {resource} = {limit} is below current usage {used[resource]} in "
                                f"{where}: new pods will be refused until usage drops")
    return warnings
