"""Semantic checks on an environment's merged settings: what the schemas accept but Kubernetes would refuse, or what
could never work (a quota no container fits in). Each error names the file and line that set the wrong value, also
when it came from a profile; messages never name the environment, so a profile's mistake is reported once.
"""

from __future__ import annotations

import functools
import operator
import posixpath
import re
from fractions import Fraction
from typing import Any

from reconciler.config.located import LocatedDict
from reconciler.config.memo import ByIdentity
from reconciler.config.model import AGENT_OWN_MOUNT as OWN_MOUNT
from reconciler.config.quantity import parse_quantity
from reconciler.config.rules import mount_path
from reconciler.errors import ConfigError, Location

# A LimitRange entry must hold min <= defaultRequest <= default <= max for every resource (Kubernetes refuses
# the object otherwise).
LIMIT_ORDER = ("min", "defaultRequest", "default", "max")
# Quota settings that bound what containers request or are limited to: (LimitRange side, resource).
QUOTA_BOUNDS = {"cpu": ("requests", "cpu"), "memory": ("requests", "memory"), "gpu": ("requests", "nvidia.com/gpu"),
                "limitsCpu": ("limits", "cpu"), "limitsMemory": ("limits", "memory")}
# The OCI distribution grammar (github.com/distribution/reference): [domain[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_IMAGE = re.compile(rf"(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::[\w][\w.-]{{0,127}})?"
                    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?")
MAX_IMAGE_NAME = 255
# Resource names: a container may use the standard ones or an extended resource with a domain (nvidia.com/gpu); a
# quota's count/<resource>[.<group>] must be a qualified name (a name part of at most 63 characters).
STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_NAME_PART = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_DOMAIN_PREFIX = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)+")


def check_settings(settings: LocatedDict, checked: ByIdentity | None = None) -> list[ConfigError]:
    """Every semantic error of one environment's merged settings; ``checked`` remembers checks of values shared
    between environments."""
    checked = ByIdentity() if checked is None else checked
    limits = _mapping(settings.get("limits"))
    agent = _mapping(settings.get("agent"))
    quota = _mapping(settings.get("quota"))
    resources = _mapping(agent.get("resources"))
    objects = _mapping(quota.get("objects"))
    connections = agent.get("connections", _NO_CONNECTIONS)
    return [*checked.of(limit_order, limits), *checked.of(_agent_resources, resources, limits),
            *quota_fits(quota, limits), *checked.of(_agent_mounts, connections), *image_reference(agent),
            *checked.of(_resource_names, resources, objects)]


_EMPTY = LocatedDict(Location("", 0))  # what an unset mapping is checked as; never changed
_NO_CONNECTIONS: list[Any] = []


def _mapping(value: Any) -> LocatedDict:
    return value if isinstance(value, LocatedDict) else _EMPTY


def _amount(value: Any) -> Fraction | None:
    try:
        return parse_quantity(value)
    except (ValueError, TypeError, ArithmeticError):
        return None  # the schema reports it


def limit_order(limits: LocatedDict) -> list[ConfigError]:
    errors = []
    entries = [(name, _mapping(limits.get(name))) for name in LIMIT_ORDER if name in limits]
    for index, (low_name, low) in enumerate(entries):
        for high_name, high in entries[index + 1:]:
            for resource in sorted(set(low) & set(high)):
                small, large = _amount(low[resource]), _amount(high[resource])
                if small is not None and large is not None and small > large:
                    errors.append(ConfigError(
                        low.where(resource), f"spec.limits.{low_name}.{resource}",
                        f"{low[resource]} is above limits.{high_name}.{resource} ({high[resource]}, at "
                        f"{high.where(resource)}); Kubernetes needs min <= defaultRequest <= default <= max for "
                        "each resource: lower this value or raise the other"))
    return errors


def agent_resources(agent: LocatedDict, limits: LocatedDict) -> list[ConfigError]:
    """Requests above limits are refused in the Deployment; outside the LimitRange, every agent pod is refused."""
    return _agent_resources(_mapping(agent.get("resources")), limits)


def _agent_resources(resources: LocatedDict, limits: LocatedDict) -> list[ConfigError]:
    requests, caps = _mapping(resources.get("requests")), _mapping(resources.get("limits"))
    errors = []
    for resource in sorted(set(requests) & set(caps)):
        wanted, cap = _amount(requests[resource]), _amount(caps[resource])
        if wanted is not None and cap is not None and wanted > cap:
            errors.append(ConfigError(requests.where(resource), f"spec.agent.resources.requests.{resource}",
                                      f"{requests[resource]} is above the agent's limit ({caps[resource]}, at "
                                      f"{caps.where(resource)}); a request may not exceed its limit"))
    outside = (("limits", "max", "above", operator.gt), ("requests", "min", "below", operator.lt))
    for side, bound, name, wrong in outside:
        values, bounds = (caps if side == "limits" else requests), _mapping(limits.get(bound))
        for resource in sorted(set(values) & set(bounds)):
            value, limit = _amount(values[resource]), _amount(bounds[resource])
            if value is not None and limit is not None and wrong(value, limit):
                errors.append(ConfigError(values.where(resource), f"spec.agent.resources.{side}.{resource}",
                                          f"{values[resource]} is {name} limits.{bound}.{resource} ({bounds[resource]}"
                                          f", at {bounds.where(resource)}); the namespace's LimitRange would refuse "
                                          "every agent pod"))
    return errors


def quota_fits(quota: LocatedDict, limits: LocatedDict) -> list[ConfigError]:
    """A quota below what one container gets by default (or must at least ask for) admits no container at all."""
    errors = []
    for key, (side, resource) in QUOTA_BOUNDS.items():
        hard = _amount(quota.get(key)) if key in quota else None
        if hard is None:
            continue
        floors = ("min", "defaultRequest") if side == "requests" else ("min", "default")
        for floor in floors:
            entry = _mapping(limits.get(floor))
            need = _amount(entry.get(resource)) if resource in entry else None
            if need is not None and hard < need:
                errors.append(ConfigError(quota.where(key), f"spec.quota.{key}",
                                          f"{quota[key]} is below limits.{floor}.{resource} ({entry[resource]}, at "
                                          f"{entry.where(resource)}), what every container {side[:-1]}s at least: "
                                          "no pod could start in the namespace; raise the quota or lower the limit"))
                break
    return errors


def agent_mounts(agent: LocatedDict) -> list[ConfigError]:
    """Connection mounts may not cover the agent's own folder, nor meet another mount after normalising."""
    return _agent_mounts(agent.get("connections", []))


def _agent_mounts(connections: Any) -> list[ConfigError]:
    errors = []
    seen: dict[str, str] = {}
    for index, connection in enumerate(connections if isinstance(connections, list) else []):
        kind = "secret" if "secret" in connection else "configMap"
        ref = _mapping(connection.get(kind))
        raw = mount_path(connection)
        # normpath keeps a leading "//" (POSIX allows it a meaning); a container's mount does not.
        path = "/" + posixpath.normpath(raw).lstrip("/") if isinstance(raw, str) else ""
        field = f"spec.agent.connections[{index}].{kind}.mountPath"
        where = ref.where("mountPath")
        if path == "/" or path == OWN_MOUNT or path.startswith(OWN_MOUNT + "/") or (
                OWN_MOUNT.startswith(path + "/")):
            errors.append(ConfigError(where, field, f"{raw!r} meets the agent's own folder {OWN_MOUNT}; "
                                      "mount the connection elsewhere, e.g. /etc/connections/<name>"))
        elif path in seen and seen[path] != raw:
            errors.append(ConfigError(where, field, f"{raw!r} is the same folder as {seen[path]!r}, the mount path of "
                                      "another connection; give each connection its own"))
        seen.setdefault(path, raw)
    return errors


def image_reference(agent: LocatedDict) -> list[ConfigError]:
    image = agent.get("image")
    if not isinstance(image, str) or _is_image(image):
        return []
    return [ConfigError(agent.where("image"), "spec.agent.image", f"{image!r} is not an image reference: use "
                        "[registry[:port]/]repository[:tag][@sha256:digest] with a lower-case repository, e.g. "
                        "polyaxon/polyaxon-agent:2.15.1")]


@functools.lru_cache(maxsize=1024)  # most environments run the same few images
def _is_image(image: str) -> bool:
    match = _IMAGE.fullmatch(image)
    first = image.split("/", 1)[0] if "/" in image else ""
    # As container runtimes read it, a first part without "." or ":" is a repository path, not a registry.
    registry = "." in first or ":" in first or first == "localhost"
    return match is not None and len(match["name"]) <= MAX_IMAGE_NAME and bool(
        registry or not first or re.fullmatch(_COMPONENT, first))


def _container_resource(name: str) -> bool:
    if name in STANDARD_CONTAINER_RESOURCES or name.startswith("hugepages-"):
        return True
    prefix, slash, rest = name.partition("/")
    return bool(slash) and len(prefix) <= 253 and bool(_DOMAIN_PREFIX.fullmatch(prefix)) and bool(
        _NAME_PART.fullmatch(rest))


def resource_names(agent: LocatedDict, quota: LocatedDict) -> list[ConfigError]:
    """Names Kubernetes refuses as resources: in the agent's requests and limits, and in quota ``objects``."""
    return _resource_names(_mapping(agent.get("resources")), _mapping(quota.get("objects")))


def _resource_names(resources: LocatedDict, objects: LocatedDict) -> list[ConfigError]:
    errors = []
    for side in ("requests", "limits"):
        values = _mapping(resources.get(side))
        errors += [ConfigError(values.where(name), f"spec.agent.resources.{side}.{name}", f"{name!r} is not a "
                               "resource a container may use: cpu, memory, ephemeral-storage, hugepages-<size> or a "
                               "name with a domain such as nvidia.com/gpu")
                   for name in values if not _container_resource(name)]
    errors += [ConfigError(objects.where(name), f"spec.quota.objects.{name}", f"'count/{name}' is not a resource "
                           "name Kubernetes accepts in a quota: use a resource such as services or "
                           "widgets.example.com (at most 63 characters, starting and ending with a letter or digit)")
               for name in objects if not _NAME_PART.fullmatch(name)]
    return errors
