"""Errors a caller can act on: each says what was wrong, where, and what to do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """A place in the environments repository: a repo-relative path and a 1-based line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, order=True)
class ConfigError:
    """One problem in the environments repository, printed as ``path:line: field: message``."""

    location: Location
    field: str
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.location}: {self.field}: {self.message}"
        return f"{self.location}: {self.message}"


class ReconcilerError(Exception):
    """Base class of every error the reconciler reports to a user without a traceback."""


class InvalidRepository(ReconcilerError):
    """The environments repository has errors; nothing may be applied from it."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors: list[ConfigError] = sorted(set(errors))
        super().__init__(f"{len(self.errors)} error(s) in the environments repository")

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


class PolicyViolation(ReconcilerError):
    """A change is refused by a safety rule or by the platform's policy."""
