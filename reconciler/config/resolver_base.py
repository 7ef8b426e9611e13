"""What every stage of resolving shares: the documents by kind and name, the errors found so far, and whether a
reference to a missing document is worth reporting."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from reconciler.config.guardrails import DEFAULT as DEFAULT_GUARDRAILS
from reconciler.config.guardrails import Guardrails
from reconciler.config.located import Document, LocatedDict
from reconciler.config.memo import ByIdentity
from reconciler.errors import ConfigError, Location


class ResolverBase:
    def __init__(self, documents: Iterable[Document], broken: set[tuple[str, str]], all_read: bool,
                 guardrails: Guardrails = DEFAULT_GUARDRAILS) -> None:
        self.guardrails = guardrails
        self.broken = broken
        self.all_read = all_read
        self.errors: list[ConfigError] = []
        # Profiles and environments that extend a document with schema errors: what they lack after merging is
        # a consequence of that error, reported once at its source.
        self.incomplete: set[tuple[str, str]] = set()
        self.reported: set[tuple[Location, str]] = set()
        self.by_kind: dict[str, dict[str, Document]] = {}
        for document in documents:
            seen = self.by_kind.setdefault(document.kind, {})
            if document.name in seen:
                first = seen[document.name].where("metadata", "name")
                self.errors.append(ConfigError(document.where("metadata", "name"), "metadata.name",
                                               f"duplicate {document.kind} {document.name!r} (first defined at "
                                               f"{first}); names of a kind must be unique"))
                continue
            seen[document.name] = document
        self.settings_cache: dict[tuple[str, str], LocatedDict] = {}
        self.shared = ByIdentity()  # checks and model parts of settings that environments share, made once

    def error(self, where: Location, field: str, message: str) -> None:
        self.errors.append(ConfigError(where, field, message))

    def reportable(self, kind: str, name: str, *other_kinds: str) -> bool:
        """Whether a reference to a missing document is worth reporting: not when the document exists but has
        errors of its own, nor when some file could not be read (the document may be in it)."""
        return self.all_read and not any((k, name) in self.broken for k in (kind, *other_kinds))

    def first(self, where: Location, topic: str) -> bool:
        """True the first time a problem about ``topic`` is found at ``where``."""
        if (where, topic) in self.reported:
            return False
        self.reported.add((where, topic))
        return True

    def named(self, kind: str) -> dict[str, Document]:
        return self.by_kind.get(kind, {})

    def parents(self, name: str) -> tuple[Document | None, Document | None]:
        """The Profile and the Environment named ``name`` (what an ``extends`` entry may name)."""
        return self.named("Profile").get(name), self.named("Environment").get(name)

    @property
    def complete(self) -> bool:
        """Every document was read and passed its schema: nothing the resolve reports depends on what is missing."""
        return self.all_read and not self.broken


def suggest(name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known: {', '.join(names)}" if names else "; none is defined"
