"""Results of pure functions of the values that merged settings share, made once per value.

Merged settings share every value an environment does not set itself (a profile's ``limits``, an agent's
``resources`` and ``connections``), and values are never changed once read: a function of the very same values
gives the same result, so it is computed once per shared value instead of once per environment, and the result
(a check's errors, a part of the model) is itself shared. The values are kept with their results, so that no other
value can take their ``id`` while the results are known; a memo lives as long as one resolve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ByIdentity:
    def __init__(self) -> None:
        self._results: dict[tuple[int, ...], tuple[tuple[object, ...], Any]] = {}

    def of(self, function: Callable[..., T], *values: object) -> T:
        key = (id(function), *map(id, values))
        found = self._results.get(key)
        if found is None:
            found = self._results[key] = (values, function(*values))
        result: T = found[1]
        return result
