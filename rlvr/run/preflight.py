"""The pre-flight checks `rlvr.run` makes before anything expensive starts, each failing as one line.

A user's mistake must cost a second and read as one sentence, not a traceback after a minute of actor
start-up. Checked here: every verifier builds with its options (an unknown option lists the valid ones; a
plugin or `file.py:Name` that cannot load says why), the output folder can be written (a parent that is a
file, a folder without write permission), and `data.prompt_template` renders on every row (a field it names
that a row lacks is reported by file and line, through `rlvr.data.prompts.file_rows`), and so is a row lacking a
field the verifiers need (before, it was named by its position after the shuffle). Per-row field checks
(malformed tests, schemas, tool calls) live in `rlvr.data.checks`; the run-folder rules in `rlvr.run.folder`.

What this module does NOT do: load the model or start Ray, vLLM or the reward pool.
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["UserError", "build_reward", "check_output_dir", "combine", "fields_checker", "template_checker"]


class UserError(Exception):
    """A problem the user can fix (config, model, data, folder); printed as one line without a traceback."""


def build_reward(verifiers) -> Any:
    """A `rewards.Composite` of the config's `rewards.verifiers`; any mistake is one UserError naming it."""
    from rewards import Composite, make
    from rewards.registry import DuplicateVerifierError, UnknownVerifierError, VerifierLoadError

    built = []
    for i, v in enumerate(verifiers):
        try:
            built.append((make(v.name, **dict(v.options)), v.weight))
        except (UnknownVerifierError, VerifierLoadError, DuplicateVerifierError, TypeError, ValueError) as err:
            raise UserError(f"rewards.verifiers[{i}]: {err}") from err
    return Composite(built)


def check_output_dir(path: str | Path) -> None:
    """Refuse an output folder that cannot be created or written, before a minute of start-up is spent."""
    where = f"run.output_dir {str(path)!r}"
    path = Path(path).expanduser().absolute()
    if path.exists() and not path.is_dir():
        raise UserError(f"{where} is a file, not a folder")
    probe = path
    while not probe.exists():  # the nearest existing ancestor decides
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe != path and not probe.is_dir():
        raise UserError(f"{where} cannot be created: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{where} cannot be written: no write permission in {probe}")


def _field_names(template: str) -> list[str]:
    """The row fields a template names: `{tools}`, `{meta[lang]}` -> tools, meta."""
    names = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name:
            root = name.split(".", 1)[0].split("[", 1)[0]
            if root and root not in names:
                names.append(root)
    return names


def template_checker(template: str) -> Callable[[Mapping], None] | None:
    """A row check: the template's fields must be in the row, and the template must render on it."""
    names = [n for n in _field_names(template) if n != "question"]
    if not names:
        return None

    def check(row: Mapping) -> None:
        from rlvr.data.prompts import _field_text

        missing = [n for n in names if n not in row]
        if missing:
            raise ValueError(f"data.prompt_template uses {{{missing[0]}}}, which this row lacks "
                             f"(its fields: {', '.join(sorted(row))})")
        try:
            template.format(**{k: _field_text(v) for k, v in row.items() if k != "question"},
                            question=row.get("question", ""))
        except (KeyError, IndexError, AttributeError, ValueError) as err:
            raise ValueError(f"data.prompt_template does not render on this row: {type(err).__name__}: {err}") from None

    return check


def fields_checker(required: Iterable[str]) -> Callable[[Mapping], None] | None:
    """A row check: every field the verifiers need is present and not null (read with the row's file line)."""
    required = list(required)
    if not required:
        return None

    def check(row: Mapping) -> None:
        for name in required:
            if row.get(name) is None:
                raise ValueError(f"lacks field {name!r}, which the verifiers need (its fields: {', '.join(sorted(row))})")

    return check


def combine(*checks: Callable[[Mapping], None] | None) -> Callable[[Mapping], None] | None:
    """One row check running each given check in turn (None entries are skipped)."""
    live = [c for c in checks if c is not None]
    if not live:
        return None

    def check(row: Mapping) -> None:
        for fn in live:
            fn(row)

    return check
