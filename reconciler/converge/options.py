"""How a converge runs: what the command line or the controller asks of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from reconciler.config.model import Landscape
from reconciler.plan.changes import PlanOptions
from reconciler.plan.inventory import Inventory

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ConvergeOptions:
    dry_run: bool = False
    allow_mass_delete: bool = False
    revision: str = ""
    wait_seconds: float = 0.0
    workers: int = 8
    ignore_change_windows: bool = False
    now: datetime | None = None  # the clock for change windows (tests); the real time when None
    applied_by: str = "cli"  # recorded in each inventory: "controller" for the in-cluster loop
    on_total: Callable[[int], None] | None = None  # told how many writes and deletes follow, before the first
    guard: Callable[[Inventory | None], str | None] | None = None  # see PlanOptions.guard
    drain_seconds: float = 60.0  # how long a ClusterQueue may drain before its deletion waits for the next run

    def planning(self, landscape: Landscape) -> PlanOptions:
        """What the plan is made with: every decision of this converge is taken there."""
        return PlanOptions(self.allow_mass_delete, landscape.platform.mass_delete_percent, self.guard,
                           change_windows=not self.ignore_change_windows, now=self.now)
