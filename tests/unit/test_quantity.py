"""Kubernetes quantities: exact values, so a no-op reconcile compares "1Gi" and "1024Mi" as equal."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from reconciler.config.quantity import is_quantity, parse_quantity, quantities_equal


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("1Gi", "1024Mi"),
        ("1000m", "1"),
        ("1000m", 1),
        ("0.5", "500m"),
        ("1k", "1000"),
        ("1e3", "1k"),
        ("1E3", 1000),
        ("1Ki", 1024),
        ("2Ti", "2048Gi"),
        ("1M", "1000k"),
        ("1500m", 1.5),
        (".5", "0.5"),
        ("1E", "1000P"),
        ("100n", "0.1u"),
    ],
)
def test_equal_quantities(left: str | int | float, right: str | int | float) -> None:
    assert quantities_equal(left, right)
    assert parse_quantity(left) == parse_quantity(right)


@pytest.mark.parametrize(("left", "right"), [("1Gi", "1G"), ("1", "1001m"), ("1Mi", "1M"), ("1k", "1Ki")])
def test_different_quantities(left: str, right: str) -> None:
    assert not quantities_equal(left, right)


def test_values_are_exact() -> None:
    assert parse_quantity("1Gi") == 2**30
    assert parse_quantity("250m") == Fraction(1, 4)
    assert parse_quantity("0.1") + parse_quantity("0.2") == parse_quantity("300m")


@pytest.mark.parametrize(
    "value",
    ["", " 1Gi", "1Gi ", "1 Gi", "1GB", "1gi", "1K", "Gi", "1.2.3", "1e", "e3", "1m1", "--1", "1Gi1",
     "∞", "1e999999999", True, None, [], float("inf"), float("nan")],
)
def test_invalid_quantities(value: object) -> None:
    assert not is_quantity(value)
    with pytest.raises(ValueError):
        parse_quantity(value)  # type: ignore[arg-type]


def test_a_huge_exponent_is_refused_without_computing_it() -> None:
    started = time.perf_counter()
    assert not is_quantity("1e99999999999")
    assert time.perf_counter() - started < 0.1


def test_negative_quantities_parse_as_kubernetes_does() -> None:
    assert parse_quantity("-1Gi") == -(2**30)


def test_non_quantities_compare_by_plain_equality() -> None:
    assert quantities_equal("abc", "abc")
    assert not quantities_equal("abc", "abd")
    assert not quantities_equal(None, "0")
