"""A compiled schema check that answers one question fast: is this document valid? Used only where it is exact.

``fastjsonschema`` turns a schema into Python code, about fifty times faster than jsonschema's interpreter on the
environments repository's documents. Its answer is trusted only when it accepts a document; every document it
refuses is validated again by jsonschema, which alone writes the messages. So the compiled check must never accept
what jsonschema refuses, and two differences are closed before compiling:

* fastjsonschema applies formats to text only, jsonschema to every value: a format that also judges numbers (a
  quantity may be ``4``) is given a rule for numbers that accepts only values that format accepts, no more;
* fastjsonschema fills in ``default`` values, which would change the document: turned off.

Its messages are never shown, so the generated code neither details nor formats them: details put a copy of each
sub-schema into the code (23 MB for Profile and Environment), and formatting a message calls ``locals()`` of the
whole generated function while a ``oneOf`` refuses a branch (raises) for every item it checks, three quarters of the
check's time on the environments of bench/render.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[object], bool]
_DRAFT_07 = "http://json-schema.org/draft-07/schema#"  # the keywords the schemas use mean the same in 2020-12


def _narrowed(node: Any, number_rules: Mapping[str, dict[str, Any]]) -> Any:
    """``node`` with each format of ``number_rules`` split into text (the format) or a number (its rule)."""
    if isinstance(node, list):
        return [_narrowed(item, number_rules) for item in node]
    if not isinstance(node, dict):
        return node
    narrowed = {key: _narrowed(value, number_rules) for key, value in node.items()}
    if "const" in narrowed and "enum" not in narrowed:  # the same rule; fastjsonschema's const needs details
        narrowed["enum"] = [narrowed.pop("const")]
    name = narrowed.get("format")
    if not isinstance(name, str) or name not in number_rules:
        return narrowed
    narrowed.pop("format")
    return {"allOf": [narrowed, {"anyOf": [{"type": "string", "format": name}, number_rules[name]]}]}


def compile_check(schema: dict[str, Any], formats: Mapping[str, Check],
                  number_rules: Mapping[str, dict[str, Any]]) -> Check:
    """A function that says whether a value is valid against ``schema``; True only where jsonschema agrees."""
    import fastjsonschema  # only a large repository compiles: small commands skip the import

    definition = {**_narrowed(schema, number_rules), "$schema": _DRAFT_07}
    code = fastjsonschema.compile_to_code(definition, formats=dict(formats), use_default=False, use_formats=True,
                                          detailed_exceptions=False)
    namespace: dict[str, Any] = {}
    exec(code.replace(".format(**locals())", ""), namespace)  # the schemas are inlined: one function, no $ref
    validate = namespace["validate"]
    custom_formats = dict(formats)

    def accepts(value: object) -> bool:
        try:
            validate(value, custom_formats)
        except Exception:  # a refusal, or generated code that met a value it did not expect: jsonschema decides
            return False
        return True

    return accepts
