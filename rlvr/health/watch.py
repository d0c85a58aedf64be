"""The run loop's health hook: feed it each metrics line, get back the findings that are new, and whether to stop.

A monitor warns once, the step it starts firing (a rule that keeps firing is not repeated every step); each new
finding is also one `{"step", "warning", "message", "warning_value", "warning_limit"}` line in metrics.jsonl so the report and a
resumed run see it. What this module does NOT do: define rules (`monitors`) or print (the caller does, with
`console.warning_line`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rlvr.health.monitors import Finding, check

__all__ = ["HealthStop", "Watch"]


class HealthStop(RuntimeError):
    """A monitor named in health.stop_on fired: the run stops after the step's checkpoint."""


class Watch:
    """Monitor state for one run: the lines seen so far and the monitors that already warned."""

    def __init__(self, cfg: Any, weights: Mapping[str, float], rows: Iterable[Mapping[str, Any]] = ()):
        self.cfg, self.weights = cfg, dict(weights)
        self.rows: list[Mapping[str, Any]] = []
        self.fired: dict[str, Finding] = {}
        for row in rows:  # a resumed run: its warnings so far, without warning again
            if "warning" in row:
                self.fired.setdefault(row["warning"], Finding(row["warning"], int(row["step"]), row.get("warning_value", 0.0),
                                                              row.get("warning_limit", 0.0), row.get("message", "")))
            else:
                self.rows.append(row)

    def observe(self, row: Mapping[str, Any]) -> list[Finding]:
        """Add one metrics line; returns the findings that fire for the first time."""
        self.rows.append(row)
        new = [f for f in check(self.rows, self.cfg, self.weights) if f.monitor not in self.fired]
        for f in new:
            self.fired[f.monitor] = f
        return new

    def stops(self, findings: Iterable[Finding]) -> Finding | None:
        """The first finding whose monitor is in health.stop_on ("all": any)."""
        stop_on = set(self.cfg.stop_on)
        return next((f for f in findings if "all" in stop_on or f.monitor in stop_on), None)


def warning_record(f: Finding) -> dict:
    """The metrics line of a finding."""
    return {"step": f.step, "warning": f.monitor, "message": f.message, "warning_value": f.value, "warning_limit": f.limit}
