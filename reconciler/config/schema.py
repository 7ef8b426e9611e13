"""Validate each document against ``schemas/<Kind>.schema.json``; errors carry file:line and the field path."""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

from reconciler.config import compiled, suggest
from reconciler.config.located import Document, location_of
from reconciler.config.quantity import parse_quantity
from reconciler.errors import ConfigError

if TYPE_CHECKING:  # jsonschema is imported when a document needs its messages: a large repository's no-op never
    import jsonschema  # does (its import costs about as much as validating a hundred documents compiled)
    from jsonschema.exceptions import ValidationError

KINDS = ("Platform", "Cluster", "Team", "Profile", "Environment")

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")

_FORMAT_HINTS = {
    "dns1123-label": "is not a valid Kubernetes name: use at most 63 lower-case letters, digits and '-', "
    "starting and ending with a letter or digit",
    "dns1123-subdomain": "is not a valid Kubernetes name: use lower-case letters, digits, '-' and '.', "
    "at most 253 characters",
    "label-key": "is not a valid label key: an optional DNS prefix and '/', then at most 63 letters, digits, "
    "'-', '_' or '.', starting and ending with a letter or digit",
    "label-value": "is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending "
    "with a letter or digit",
    "k8s-quantity": "is not a valid Kubernetes quantity: use a non-negative number with an optional suffix "
    "(examples: 500m, 2, 1.5, 512Mi, 4Gi)",
    "k8s-whole-quantity": "is not a whole, non-negative number (Kubernetes counts GPUs and other extended "
    "resources in whole units)",
    "date": "is not a date (YYYY-MM-DD)",
}

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _is_label(value: str) -> bool:
    return len(value) <= 63 and _DNS1123_LABEL.fullmatch(value) is not None


def _is_subdomain(value: str) -> bool:
    return len(value) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(value) is not None


def _is_label_key(value: str) -> bool:
    prefix, _, name = value.rpartition("/")
    return (not prefix or _is_subdomain(prefix)) and len(name) <= 63 and _LABEL_NAME.fullmatch(name) is not None


def _is_label_value(value: str) -> bool:
    return value == "" or (len(value) <= 63 and _LABEL_NAME.fullmatch(value) is not None)


def _quantity_value(value: object) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return parse_quantity(value)
    except ValueError:
        return None


def _is_quantity(value: object) -> bool:
    number = _quantity_value(value)
    return number is not None and number >= 0


def _is_whole_quantity(value: object) -> bool:
    number = _quantity_value(value)
    return number is not None and number >= 0 and number.denominator == 1


def _is_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _text_check(check: Callable[[str], bool]) -> Callable[[object], bool]:
    """Formats apply to text only; other types are the ``type`` keyword's to report."""
    return lambda value: not isinstance(value, str) or check(value)


def _value_check(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: isinstance(value, bool) or not isinstance(value, str | int | float) or check(value)


_FORMATS: dict[str, Callable[[object], bool]] = {
    "dns1123-label": _text_check(_is_label),
    "dns1123-subdomain": _text_check(_is_subdomain),
    "label-key": _text_check(_is_label_key),
    "label-value": _text_check(_is_label_value),
    "date": _text_check(_is_date),
    "k8s-quantity": _value_check(_is_quantity),
    "k8s-whole-quantity": _value_check(_is_whole_quantity),
}


def _schema_text(name: str) -> dict[str, Any]:
    text = resources.files("reconciler").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _inline(node: Any, document: dict[str, Any], documents: dict[str, dict[str, Any]]) -> Any:
    """``node`` with every ``$ref`` replaced by what it points to (the schemas have no recursive references).

    Following references is the largest cost of validating with jsonschema; the inlined schemas validate the same
    documents about twice as fast.
    """
    if isinstance(node, list):
        return [_inline(item, document, documents) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" not in node:
        return {key: _inline(value, document, documents) for key, value in node.items()}
    file, _, pointer = node["$ref"].partition("#")
    target_document = documents[file] if file else document
    target: Any = target_document
    for step in pointer.strip("/").split("/") if pointer.strip("/") else []:
        target = target[step]
    resolved = _inline(target, target_document, documents)
    siblings = {key: _inline(value, document, documents) for key, value in node.items() if key != "$ref"}
    if set(siblings) & set(resolved) - {"description"}:
        return {"allOf": [resolved], **siblings}
    return {**resolved, **siblings}


# Beside a format the reconciler checks itself, these restate it for editors and other validators, which ignore
# custom formats; dropped here so that a wrong value gets the format's one precise message, not three.
_EDITOR_KEYWORDS = ("pattern", "multipleOf", "minimum")


def _editor_keywords_dropped(node: Any) -> Any:
    if isinstance(node, list):
        return [_editor_keywords_dropped(item) for item in node]
    if not isinstance(node, dict):
        return node
    formatted = "format" in node
    return {key: _editor_keywords_dropped(value) for key, value in node.items()
            if not (formatted and key in _EDITOR_KEYWORDS)}


@functools.cache
def inlined_schema(kind: str) -> dict[str, Any]:
    """The schema of ``kind`` as the reconciler validates it: references inlined, editor-only keywords dropped."""
    documents = {"common.schema.json": _schema_text("common")}
    schema = _schema_text(kind)
    inlined: dict[str, Any] = _editor_keywords_dropped(_inline(schema, schema, documents))
    inlined.pop("$defs", None)
    return inlined


# Numbers each value-judging format accepts, as a schema: a whole number from 0 is a quantity and a whole quantity.
# Other numbers (0.5, 1e3) are left to jsonschema.
_NUMBER_RULES = {name: {"type": "integer", "minimum": 0} for name in ("k8s-quantity", "k8s-whole-quantity")}


# Compiling a kind's check (and importing fastjsonschema) costs about as much as validating a few dozen documents
# with jsonschema: a command on a small repository never pays it, a large repository or a long-running controller
# soon does. (bench/render.py measures its baseline, jsonschema alone, by setting this beyond any repository.)
COMPILE_AFTER = 50
_validated: dict[str, int] = dict.fromkeys(KINDS, 0)


@functools.cache
def _compiled_check(kind: str) -> compiled.Check:
    return compiled.compile_check(inlined_schema(kind), _FORMATS, _NUMBER_RULES)


def expect(documents: Iterable[Document]) -> None:
    """Documents about to be validated: in a repository of more than COMPILE_AFTER, every kind's check is compiled
    from its first document, the few Platforms and Clusters too, so jsonschema is needed only for errors."""
    counts = Counter(document.kind for document in documents)
    if sum(counts.values()) > COMPILE_AFTER:
        for kind in counts.keys() & set(KINDS):
            _validated[kind] = max(_validated[kind], COMPILE_AFTER)


def _accepted_fast(document: Document) -> bool:
    _validated[document.kind] += 1
    return _validated[document.kind] > COMPILE_AFTER and _compiled_check(document.kind)(document.body)


@functools.cache
def _validators() -> dict[str, jsonschema.Draft202012Validator]:
    """One validator per kind, built once per process."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, check in _FORMATS.items():
        checker.checkers[name] = (check, ())
    return {kind: jsonschema.Draft202012Validator(inlined_schema(kind), format_checker=checker) for kind in KINDS}


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind (used by docs and editors)."""
    return _schema_text(kind)


def field_path(path: Iterable[str | int]) -> str:
    """``("spec", "targets", 1, "cluster")`` -> ``spec.targets[1].cluster``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:60]!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a value of type {type(value).__name__}"


def _type_message(error: ValidationError) -> str:
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    names = " or ".join(_TYPE_NAMES.get(str(name), str(name)) for name in expected)
    message = f"expected {names}, got {_describe(error.instance)}"
    if "string" in expected and isinstance(error.instance, bool | int | float):
        message += "; put it in quotes to make it text"
    return message


def _message(error: ValidationError) -> str:
    validator, value, instance = error.validator, error.validator_value, error.instance
    if validator == "type":
        return _type_message(error)
    if validator == "format":
        return f"{instance!r} {_FORMAT_HINTS.get(str(value), 'has the wrong format')}"
    if validator == "oneOf" and isinstance(error.schema, dict):
        names = [name for option in error.schema.get("oneOf", []) for name in sorted(option.get("required", []))]
        if names and isinstance(instance, dict):
            return "set exactly one of: " + ", ".join(names)
    if validator == "anyOf" and isinstance(error.schema, dict):
        names = [name for option in error.schema.get("anyOf", []) for name in option.get("required", [])]
        if names:
            return "set at least one of: " + ", ".join(names)
    if validator == "enum":
        return f"{instance!r} is not one of: {', '.join(json.dumps(v) for v in value)}"
    if validator == "const" and error.path and error.path[-1] == "apiVersion":
        return f"{instance!r} is not supported; use {value!r}"
    if validator == "minItems" and value == 1:
        return "needs at least one item"
    if validator == "uniqueItems":
        return "lists the same item more than once; keep one of each"
    return str(error.message)


def _errors_of(error: ValidationError) -> list[ValidationError]:
    """Leaf errors: for a oneOf/anyOf where one branch nearly matches, report that branch's own errors."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        relevant = [e for e in error.context if e.validator != "required"]
        if relevant and all(len(e.relative_path) > 0 for e in relevant):
            return [leaf for e in relevant for leaf in _errors_of(e)]
    return [error]


def _unknown_kind(document: Document) -> ConfigError:
    where = document.where("kind")
    if "kind" not in document.body:
        return ConfigError(where, "kind", f"required field is missing; set one of: {', '.join(KINDS)}")
    kind = document.body["kind"]
    if kind == "Secret":
        return ConfigError(where, "kind", "Secrets never live in git: create the Secret in the cluster (or with a "
                           "secrets manager) and reference it by name")
    shown = repr(kind) if isinstance(kind, str) else _describe(kind)
    hint = suggest.did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
    return ConfigError(where, "kind", f"unknown kind {shown}{hint}; expected one of: {', '.join(KINDS)}")


def _leaf_errors(document: Document, leaf: ValidationError) -> Iterable[ConfigError]:
    body, kind = document.body, document.kind
    path = tuple(leaf.absolute_path)
    if leaf.validator in ("oneOf", "anyOf") and not isinstance(leaf.instance, dict):
        return  # choices between fields of a mapping: when it is no mapping, its type error says so
    if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict) and leaf.validator_value is False:
        known = leaf.schema.get("properties", {}) if isinstance(leaf.schema, dict) else {}
        for key in sorted(k for k in leaf.instance if k not in known):
            hint = suggest.did_you_mean(key, known) if isinstance(key, str) else ""
            yield ConfigError(location_of(body, (*path, key)) or document.location, field_path((*path, key)),
                              f"unknown field{hint}; check its spelling against the schema of {kind}")
        return
    if leaf.validator == "required" and isinstance(leaf.instance, dict):
        for key in leaf.validator_value:
            if key not in leaf.instance:
                yield ConfigError(location_of(body, path) or document.location, field_path((*path, key)),
                                  "required field is missing")
        return
    if "propertyNames" in leaf.relative_schema_path and isinstance(leaf.instance, str):
        path = (*path, leaf.instance)  # the offending key itself, on its own line
    yield ConfigError(location_of(body, path) or document.location, field_path(path), _message(leaf))


def validate_document(document: Document) -> list[ConfigError]:
    """Schema errors of one document, each with the line of the offending value.

    The compiled validator answers for a valid document; any document it does not accept is validated again by
    jsonschema, whose errors (and only those) are reported, so messages and lines do not depend on the fast path.
    """
    if document.kind not in KINDS:
        return [_unknown_kind(document)]
    if _accepted_fast(document):
        return []
    return exact_errors(document)


def exact_errors(document: Document) -> list[ConfigError]:
    """Schema errors of one document of a known kind, found by jsonschema alone."""
    errors: list[ConfigError] = []
    for error in _validators()[document.kind].iter_errors(document.body):
        for leaf in _errors_of(error):
            errors.extend(_leaf_errors(document, leaf))
    return errors
