"""``apply --in-flight``: how many requests a converge keeps in flight per cluster, never more than its pool holds."""

from __future__ import annotations

import argparse

import pytest

from reconciler.cli import apply
from reconciler.kube import api_sources


def test_every_request_in_flight_has_a_pooled_connection() -> None:
    # A request beyond the pool's size would open a connection of its own and drop it: a TLS handshake per write.
    assert apply.MAX_CONCURRENCY == api_sources.POOL_SIZE
    assert 1 <= apply.CONCURRENCY <= apply.MAX_CONCURRENCY


@pytest.mark.parametrize("text", ["0", "33", "-1", "eight", "1.5"])
def test_a_number_the_pool_cannot_hold_is_refused_with_the_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="from 1 to 32"):
        apply.in_flight(text)


def test_a_number_in_range_is_taken() -> None:
    assert apply.in_flight("1") == 1 and apply.in_flight("32") == 32
