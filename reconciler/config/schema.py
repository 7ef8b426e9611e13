"""Validate each document against ``schemas/<Kind>.schema.json``; errors carry file:line and the field path."""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import jsonschema
import referencing
from jsonschema.exceptions import ValidationError

from reconciler.config.load import Document, location_of
from reconciler.errors import ConfigError
from reconciler.quantity import is_quantity

KINDS = ("Platform", "Cluster", "Team", "Profile", "Environment")

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

_FORMAT_HINTS = {
    "dns1123-label": "is not a valid Kubernetes name: use at most 63 lower-case letters, digits and '-', "
    "starting and ending with a letter or digit",
    "dns1123-subdomain": "is not a valid Kubernetes name: use lower-case letters, digits, '-' and '.', "
    "at most 253 characters",
    "k8s-quantity": "is not a valid Kubernetes quantity (examples: 500m, 2, 1.5, 512Mi, 4Gi)",
    "date": "is not a date (YYYY-MM-DD)",
}


def _checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("dns1123-label")
    def _label(value: object) -> bool:
        return not isinstance(value, str) or (len(value) <= 63 and bool(_DNS1123_LABEL.match(value)))

    @checker.checks("dns1123-subdomain")
    def _subdomain(value: object) -> bool:
        return not isinstance(value, str) or (len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.match(value)))

    @checker.checks("k8s-quantity")
    def _quantity(value: object) -> bool:
        return isinstance(value, bool) or not isinstance(value, str | int | float) or is_quantity(value)

    @checker.checks("date")
    def _date(value: object) -> bool:
        if isinstance(value, datetime.date):
            return True
        try:
            datetime.date.fromisoformat(str(value))
        except ValueError:
            return False
        return True

    return checker


def _schema_text(name: str) -> dict[str, Any]:
    text = resources.files("reconciler").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validators() -> dict[str, jsonschema.Draft202012Validator]:
    common = _schema_text("common")
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        common["$id"], referencing.Resource.from_contents(common)
    )
    checker = _checker()
    validators = {}
    for kind in KINDS:
        schema = _schema_text(kind)
        registry = registry.with_resource(schema["$id"], referencing.Resource.from_contents(schema))
        validators[kind] = jsonschema.Draft202012Validator(schema, registry=registry, format_checker=checker)
    return validators


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind (used by docs and editors)."""
    return _schema_text(kind)


def field_path(path: Iterable[str | int]) -> str:
    """``("spec", "targets", 1, "cluster")`` -> ``spec.targets[1].cluster``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _message(error: ValidationError) -> str:
    if error.validator == "format":
        return f"{error.instance!r} {_FORMAT_HINTS.get(str(error.validator_value), 'has the wrong format')}"
    if error.validator == "oneOf" and isinstance(error.schema, dict):
        options = [sorted(o.get("required", [])) for o in error.schema.get("oneOf", [])]
        names = [name for option in options for name in option]
        if names and isinstance(error.instance, dict):
            return "set exactly one of: " + ", ".join(names)
    if error.validator == "anyOf" and isinstance(error.schema, dict):
        names = [n for o in error.schema.get("anyOf", []) for n in o.get("required", [])]
        if names:
            return "set at least one of: " + ", ".join(names)
    if error.validator == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        return f"{error.instance!r} is not one of: {allowed}"
    if error.validator == "const" and error.path and error.path[-1] == "apiVersion":
        return f"{error.instance!r} is not supported; use {error.validator_value!r}"
    return error.message


def _errors_of(error: ValidationError) -> list[ValidationError]:
    """Leaf errors: for a oneOf where one branch nearly matches, report that branch's own errors."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        relevant = [e for e in error.context if e.validator not in ("required",)]
        if relevant and all(len(e.relative_path) > 0 for e in relevant):
            return [leaf for e in relevant for leaf in _errors_of(e)]
    return [error]


def _unexpected_keys(error: ValidationError) -> list[str]:
    if error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        return sorted(k for k in error.instance if k not in known)
    return []


def validate_document(document: Document) -> list[ConfigError]:
    """Schema errors of one document, each with the line of the offending value."""
    kind = document.kind
    if kind not in KINDS:
        where = document.where("kind")
        if kind == "Secret":
            return [ConfigError(where, "kind", "Secrets never live in git: create the Secret in the cluster "
                                "(or with a secrets manager) and reference it by name")]
        shown = repr(document.body.get("kind")) if "kind" in document.body else "missing"
        return [ConfigError(where, "kind", f"unknown kind {shown}; expected one of: {', '.join(KINDS)}")]
    errors: list[ConfigError] = []
    for error in _validators()[kind].iter_errors(document.body):
        for leaf in _errors_of(error):
            path = tuple(leaf.absolute_path)
            unexpected = _unexpected_keys(leaf)
            if unexpected:
                for key in unexpected:
                    location = location_of(document.body, (*path, key)) or document.location
                    errors.append(ConfigError(location, field_path((*path, key)),
                                              "unknown field; check its spelling against the schema of " + kind))
                continue
            location = location_of(document.body, path) or document.location
            if leaf.validator == "required" and isinstance(leaf.instance, dict):
                missing = str(leaf.message).split("'")[1] if "'" in leaf.message else ""
                errors.append(ConfigError(location, field_path((*path, missing)) if missing else field_path(path),
                                          "required field is missing"))
                continue
            errors.append(ConfigError(location, field_path(path), _message(leaf)))
    return errors
