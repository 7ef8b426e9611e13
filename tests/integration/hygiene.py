"""What tests leave on the session clusters: the namespaces of their environments, removed when they end.

The reconciler never deletes a namespace implicitly, so every private copy of sample-repo that a test converges
leaves its namespaces behind, with their agents, pods and quotas, and its inventories in reconciler-system: over a
hundred namespaces by the end of a run, each one more for the session clusters' controller managers, scheduler
and kwok to keep. :func:`support.private_repo` records the prefix of each copy here; conftest.py's autouse fixtures
delete, at the end of the test (or of the module, for a module's fixtures), the namespaces named ``<prefix>-...``
on both session clusters and the inventories of the copy's Platform.

Nothing waits for a namespace to finalize: no test needs another's namespaces gone, and the counts tests take of
the reconciler's requests are read per credential from the audit log, which the namespace controller's work does
not enter (``testenv/audit.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reconciler.plan import inventory as inv
from testenv import clients, controlplane

TIMEOUT = 30.0  # seconds per request: a test that stopped an API server and did not start it again fails here
_PREFIXES: list[str] = []  # in the order the copies were made, for the whole session


def record(prefix: str) -> None:
    """A private repository's namespaces are ``<prefix>-...`` and its Platform ``platform-<prefix>``."""
    _PREFIXES.append(prefix)


def recorded() -> int:
    """How many copies were made so far: :func:`made_since` counts from here."""
    return len(_PREFIXES)


def made_since(start: int) -> list[str]:
    return list(dict.fromkeys(_PREFIXES[start:]))


def remove(env: controlplane.TestEnv, prefixes: Sequence[str]) -> list[str]:
    """Delete, on every cluster of ``env``, the namespaces of ``prefixes`` (not yet being deleted) and their
    Platforms' inventories; return the namespaces deleted as ``cluster/namespace``."""
    if not prefixes:
        return []
    deleted = []
    for name in env.clusters:
        api = clients.api_client(env, name)
        try:
            core = client.CoreV1Api(api)
            deleted += [f"{name}/{namespace}" for namespace in _namespaces(core, prefixes) if _deleted(core, namespace)]
            for prefix in prefixes:
                _inventories_deleted(core, f"platform-{prefix}")
        finally:
            api.close()  # type: ignore[no-untyped-call]
    return deleted


def _namespaces(core: client.CoreV1Api, prefixes: Sequence[str]) -> list[str]:
    starts = tuple(f"{prefix}-" for prefix in prefixes)
    return [ns.metadata.name for ns in core.list_namespace(_request_timeout=TIMEOUT).items
            if ns.metadata.name.startswith(starts) and ns.metadata.deletion_timestamp is None]


def _inventories_deleted(core: client.CoreV1Api, platform: str) -> None:
    try:
        core.delete_collection_namespaced_config_map(inv.SYSTEM_NAMESPACE, label_selector=inv.selector(platform),
                                                     _request_timeout=TIMEOUT)
    except ApiException as error:
        if error.status != 404:
            raise


def _deleted(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        core.delete_namespace(namespace, _request_timeout=TIMEOUT)
    except ApiException as error:
        if error.status in (404, 409):  # gone, or already being deleted (a test's own clean-up came first)
            return False
        raise
    return True
