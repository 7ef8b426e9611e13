"""The Prometheus text exposition format's small pieces: label sets and numbers."""

from __future__ import annotations


def labels(values: dict[str, str]) -> str:
    if not values:
        return ""

    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{key}="{escape(value)}"' for key, value in values.items()) + "}"


def number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)
