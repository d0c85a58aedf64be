"""The run loop's health glue: one object the trainer calls at three points (a step's line, an eval's line, the end).

`RunHealth` owns the `Watch` (the monitors' state), writes each new finding as a metrics line, and prints the
person's console lines (`console.step_line` / `eval_line` / `warning_line`, the final summary table) through
`say`. The trainer asks `stop()` after the step is checkpointed, so stopping loses nothing. What this module
does NOT do: compute the step's numbers (the trainer and `signals`), judge them (`monitors`), or checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from rlvr.health import console
from rlvr.health.monitors import Finding
from rlvr.health.watch import HealthStop, Watch, warning_record

__all__ = ["RunHealth"]

log = logging.getLogger(__name__)


class RunHealth:
    """Health monitoring for one run: feed it every step's metrics (logged or not) and every eval's."""

    def __init__(self, cfg: Any, out: Path, write: Callable[[Mapping[str, Any]], Any], say: Callable[[str], None],
                 resumed_rows: Iterable[Mapping[str, Any]] = ()):
        self.cfg, self.out, self._write, self.say = cfg, out, write, say
        self.watch = Watch(cfg.health, {v.name: v.weight for v in cfg.rewards.verifiers}, rows=resumed_rows)
        self._fresh: list[Finding] = []  # findings since the last step's line (that step and its eval)

    def step(self, row: Mapping[str, Any]) -> None:
        """A train step's flat metrics (`health/...` keys included): the monitors see it; one console line."""
        self._fresh = self._observe(row)
        self.say(console.step_line(row, self.cfg.run.steps, [f.monitor for f in self._fresh]))
        self._warn(self._fresh)

    def eval(self, row: Mapping[str, Any], prompts: int) -> None:
        """A held-out eval's metrics line (eval_reward, its standard error, the regression set's)."""
        found = self._observe(row)
        self._fresh += found
        self.say(f"[rlvr] {console.eval_line(row, prompts)}")
        self._warn(found)

    def stop(self) -> Finding | None:
        """The first finding of the latest step (or its eval) whose monitor is in health.stop_on."""
        return self.watch.stops(self._fresh)

    def halt(self, finding: Finding) -> None:
        """End the run for `finding`: summary and report first, then `HealthStop` (the CLI exits 4)."""
        self.summary()
        raise HealthStop(f"{console.warning_line(finding)} (health.stop_on)")

    def summary(self) -> None:
        """The run report (report.md + PNGs; `python -m rlvr.report` rebuilds it) and the summary table."""
        from rlvr.health import report

        try:
            report.build(self.out)
        except Exception as err:  # the run's outputs are saved; a report that fails to draw must not fail the run
            log.warning("report not built: %s", err)
        for line in console.summary_lines(self.watch.rows, list(self.watch.fired.values()), self.out):
            self.say(line)

    def _observe(self, row: Mapping[str, Any]) -> list[Finding]:
        found = self.watch.observe(row)
        for f in found:
            self._write(warning_record(f))
        return found

    def _warn(self, found: Iterable[Finding]) -> None:
        for f in found:
            self.say(console.warning_line(f))
