"""Tests that run the reconciler as a program (its command, a fresh interpreter, the CI example's script), as
users and CI do; no server. In-process tests stay in tests/unit, whose repository fixtures these share."""

from tests.unit.conftest import sample_copy

__all__ = ["sample_copy"]
