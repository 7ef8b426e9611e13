"""Kubernetes resource quantities ("500m", "2", "4Gi", "1e3"), parsed exactly so "1Gi" == "1024Mi"."""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from fractions import Fraction

_QUANTITY = re.compile(r"(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))(?P<suffix>[eE][+-]?\d+|[KMGTPE]i|[numkMGTPE]?)")
# Kubernetes stores quantities in 64 bits; an exponent far beyond that is a typo, and computing 10**huge would hang.
MAX_EXPONENT = 64

_SUFFIXES: dict[str, Fraction] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}


def parse_quantity(value: str | int | float) -> Fraction:
    """The exact value of a Kubernetes quantity; raises ValueError for anything else."""
    if type(value) in (str, int, float):
        return _remembered(value)
    return _parse(value)


# A repository repeats the same few quantities ("4Gi", "500m") thousands of times; typed, so 1.0 is not 1.
@functools.lru_cache(maxsize=4096, typed=True)
def _remembered(value: str | int | float) -> Fraction:
    return _parse(value)


def _parse(value: str | int | float) -> Fraction:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a quantity")
        return Fraction(Decimal(repr(value)))
    match = _QUANTITY.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 1.5, 4Gi, 100M)")
    number = Fraction(Decimal(match["number"]))
    suffix = match["suffix"]
    if suffix[:1] in ("e", "E") and len(suffix) > 1:  # "1E" alone is exa, "1E3" is an exponent
        exponent = int(suffix[1:])
        if abs(exponent) > MAX_EXPONENT:
            raise ValueError(f"{value!r} is out of range for a Kubernetes quantity")
        return number * Fraction(10) ** exponent
    return number * _SUFFIXES[suffix]


def is_quantity(value: object) -> bool:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return False
    try:
        parse_quantity(value)
    except ValueError:
        return False
    return True


def quantities_equal(left: object, right: object) -> bool:
    """True when both are quantities of the same value ("1Gi" and "1024Mi"), else plain equality."""
    if left == right:
        return True
    if is_quantity(left) and is_quantity(right):
        return parse_quantity(left) == parse_quantity(right)  # type: ignore[arg-type]
    return False
