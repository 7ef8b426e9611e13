"""Errors a caller can act on: each says what was wrong, where, and what to do."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_SHOWN = 80  # characters of a value echoed in an error: enough to recognise it, never a whole 300 kB value
# A quoted value as repr() and json.dumps() write it: the opening quote not inside a word (an apostrophe in prose,
# such as "Kubernetes' own", is not one) and not followed by a blank, the closing one not followed by a letter.
_QUOTED = re.compile(r"(?<![\w'\"])'(?=\S)(?:[^'\\\n]|\\.){N,}'(?!\w)|(?<![\w'\"])\"(?=\S)(?:[^\"\\\n]|\\.){N,}\"(?!\w)"
                     .replace("N", str(MAX_SHOWN)))


def shown_path(path: str) -> str:
    """A file name as errors print it: quoted when it holds a newline, a control character, a colon or space at
    either end, so one error stays one ``path:line`` line that tools can split."""
    if path.isprintable() and ":" not in path and path == path.strip() and '"' not in path:
        return path
    return json.dumps(path)


def _cut(match: re.Match[str]) -> str:
    quoted = match.group(0)
    return f"{quoted[:MAX_SHOWN - 20]}…{quoted[0]} ({len(quoted) - 2} characters)"


def one_line(message: str) -> str:
    """Every value echoed in ``message`` cut to a sensible length, and no line break left in it."""
    message = _QUOTED.sub(_cut, message)
    return message.replace("\r", "\\r").replace("\n", "\\n")


@dataclass(frozen=True, order=True, slots=True)  # one per line of every file read: slots halve their memory
class Location:
    """A place in the environments repository: a repo-relative path and a 1-based line."""

    path: str
    line: int
    column: int = 0  # 1-based where the YAML parser knows it, else 0

    def __str__(self) -> str:
        place = f"{shown_path(self.path)}:{self.line}"
        return f"{place}:{self.column}" if self.column else place


@dataclass(frozen=True, order=True)
class ConfigError:
    """One problem in the environments repository, printed as ``path:line: field: message``."""

    location: Location
    field: str
    message: str

    def __str__(self) -> str:
        if self.field:
            return one_line(f"{self.location}: {self.field}: {self.message}")
        return one_line(f"{self.location}: {self.message}")


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
