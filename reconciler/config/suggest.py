""""Did you mean" for a misspelt field or kind: the closest name the schema knows, by edit distance."""

from __future__ import annotations

from collections.abc import Iterable


def _distance(a: str, b: str) -> int:
    """Levenshtein distance, case-insensitive: `Enviroment` and `environment` are one edit apart."""
    a, b = a.lower(), b.lower()
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, 1):
        current = [i]
        for j, right in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right)))
        previous = current
    return previous[-1]


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name nearest to ``name``, if it is near enough to be a typo (at most a third of it changed)."""
    limit = max(1, len(name) // 3)
    ranked = sorted((_distance(name, candidate), candidate) for candidate in known)
    if ranked and ranked[0][0] <= limit:
        return ranked[0][1]
    return None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'quota'?)`` or nothing."""
    match = closest(name, known)
    return f" (did you mean {match!r}?)" if match is not None and match != name else ""
