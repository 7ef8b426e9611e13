"""Agent settings that contradict each other across the repository, checked per environment.

An agent identifies itself by an instance the control plane registered: two environments sharing one would take
each other's runs. It has one default artifacts store: two would leave Polyaxon to pick. Settings that are merely
missing (instance, control plane host, artifacts store) do not stop a revision: ``plan`` warns about them
(``reconciler.policy.prerequisites``), since the agent cannot start without them but everything else can converge.
"""

from __future__ import annotations

from typing import Any

from reconciler.config import model
from reconciler.config.located import Document, LocatedDict, LocatedList
from reconciler.errors import ConfigError, Location


def check(document: Document, settings: LocatedDict, instances: dict[str, tuple[str, Location]]) -> list[ConfigError]:
    """Errors of one environment's agent; ``instances`` collects instance -> (environment, where) across calls."""
    agent = settings.get("agent")
    if not isinstance(agent, LocatedDict) or not agent.get("enabled", True):
        return []
    where = settings.where("agent")
    return [*_instance(document.name, agent, instances), *_artifacts_store(agent, where)]


def _instance(environment: str, agent: LocatedDict, instances: dict[str, tuple[str, Location]]) -> list[ConfigError]:
    instance = agent.get("instance")
    if instance is None:
        return []
    located = agent.where("instance")
    first = instances.setdefault(instance, (environment, located))
    if first[0] == environment:
        return []
    return [ConfigError(located, "spec.agent.instance", f"agent instance {instance!r} is already the agent of "
                        f"environment {first[0]!r} (at {first[1]}); give each environment an agent of its own "
                        "(set spec.agent.instance in the environment, not in a profile)")]


def _artifacts_store(agent: LocatedDict, where: Location) -> list[ConfigError]:
    connections: list[Any] = agent.get("connections", [])
    stores = [c for c in connections if c.get("kind") == model.ARTIFACTS_STORE]
    if len(stores) <= 1:
        return []
    names = ", ".join(repr(c["name"]) for c in stores)
    second = connections.index(stores[1])
    located, index = where, second
    if isinstance(connections, LocatedList):
        located, index = connections.where(second), connections.origin(second)
    return [ConfigError(located, f"spec.agent.connections[{index}]", f"the agent has {len(stores)} artifacts-store "
                        f"connections ({names}); keep one as its default artifacts store and give the others "
                        "another kind")]
