"""What a PromQL expression reads: the metric names, the labels it matches on and the labels it groups by.

Enough of PromQL for the project's own dashboards and alert rules, so a test can check every name against the
metrics a running controller exports (a typo in a dashboard otherwise shows an empty panel, silently).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SELECTOR = re.compile(r"(?P<name>[A-Za-z_:][\w:]*)?\s*\{(?P<matchers>[^}]*)\}")
_MATCHER = re.compile(r'(?P<label>[A-Za-z_]\w*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\((?P<labels>[^)]*)\)")
_TOKEN = re.compile(r"(?<![\w$.])(?P<name>[A-Za-z_:][\w:]*)(?P<call>\s*\()?")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
            "inf", "nan"}


@dataclass
class Reads:
    metrics: dict[str, set[str]] = field(default_factory=dict)  # metric -> labels matched on it
    grouping: set[str] = field(default_factory=set)  # labels in by (...), without (...), on (...)


def reads(expression: str) -> Reads:
    found = Reads()
    for match in _SELECTOR.finditer(expression):
        labels = {m["label"] for m in _MATCHER.finditer(match["matchers"])}
        if match["name"] and match["name"] not in KEYWORDS:
            found.metrics.setdefault(match["name"], set()).update(labels)
    for match in _GROUPING.finditer(expression):
        found.grouping.update(label.strip() for label in match["labels"].split(",") if label.strip())
    bare = _SELECTOR.sub(lambda m: f" {m['name'] or ''} ", expression)
    bare = _GROUPING.sub(" ", re.sub(r"\[[^\]]*\]", " ", bare))
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', " ", bare)
    for match in _TOKEN.finditer(bare):
        name = match["name"]
        if match["call"] or name.lower() in KEYWORDS:
            continue
        found.metrics.setdefault(name, set())
    return found
