"""The compiled schema check: trusted only where it is exact, so every verdict stays jsonschema's."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import schema
from reconciler.config.load import load_repository
from reconciler.config.located import Document, LocatedDict

SAMPLE = Path(__file__).resolve().parents[3] / "sample-repo"
# Values that sit on the edges where fastjsonschema and jsonschema could differ: booleans beside numbers, floats
# that are whole or not, values a format judges although they are not text, non-finite numbers.
ODD_VALUES: tuple[Any, ...] = (True, -1, 0.5, 2.0, float("inf"), float("nan"), "", "-1", None, [{"a": 1}, {"a": 1}])


def _documents() -> list[Document]:
    return load_repository(SAMPLE).documents


def _places(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*path, index))


def _plain(value: Any) -> Any:
    """A copy of ``value`` made of plain dicts and lists (several times faster to copy than located values)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _replaced(body: LocatedDict, path: tuple[str | int, ...], value: Any) -> LocatedDict:
    changed = LocatedDict(body.location, _plain(body))
    parent: Any = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return changed


def _mutants() -> Iterator[tuple[str, Document]]:
    for document in _documents():
        for path in list(_places(document.body))[1:]:
            if path == ("kind",):
                continue  # the kind chooses the schema: an unknown kind never reaches either validator
            for value in ODD_VALUES:
                yield f"{document.kind}:{'.'.join(map(str, path))}={value!r}", Document(
                    _replaced(document.body, path, value), document.location)


def test_the_compiled_check_accepts_every_valid_document_of_the_sample() -> None:
    for document in _documents():
        assert schema.exact_errors(document) == []
        assert schema._compiled_check(document.kind)(document.body), f"{document.kind} {document.name}"


def test_the_compiled_check_never_accepts_what_jsonschema_refuses() -> None:
    """Every field of every sample document, replaced in turn by each odd value."""
    accepted_wrongly = []
    tried = refused = 0
    for name, mutant in _mutants():
        tried += 1
        exact = schema.exact_errors(mutant)
        refused += bool(exact)
        if exact and schema._compiled_check(mutant.kind)(mutant.body):
            accepted_wrongly.append(f"{name}: {exact[0]}")
    assert not accepted_wrongly, "\n".join(accepted_wrongly[:20])
    assert tried > 1000 and refused > tried // 2  # the mutants do reach the schema's rules


def test_the_compiled_check_does_not_change_the_document() -> None:
    for document in _documents():
        before = copy.deepcopy(document.body)
        schema._compiled_check(document.kind)(document.body)
        assert document.body == before


@pytest.mark.parametrize("value", [0.5, float("inf"), -1, True])
def test_a_refused_document_gets_jsonschemas_own_message(monkeypatch: pytest.MonkeyPatch, value: Any) -> None:
    monkeypatch.setattr(schema, "COMPILE_AFTER", 0)
    profile = next(d for d in _documents() if d.kind == "Profile")
    mutant = Document(_replaced(profile.body, ("spec", "quota", "gpu"), value), profile.location)
    errors = schema.validate_document(mutant)
    assert errors and errors == schema.exact_errors(mutant)
    assert [e.field for e in errors] == ["spec.quota.gpu"] and errors[0].location.line > 1
