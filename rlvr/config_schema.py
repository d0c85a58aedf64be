"""The strict checks every config section goes through: field types, known keys, one-line errors.

Why a module of its own: `rlvr.config` declares what a run can be configured with (its sections, keys,
defaults and ranges); this is the small type checker beneath it, which knows nothing of any section. It
does not read YAML or files (`rlvr.config.load_config` does).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal

__all__ = ["ConfigError", "Section", "check_keys", "require", "unknown"]


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message names the key and where it came from."""


def require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


class Section:
    """Base of every section: checks field types (coercing int -> float) and then the section's ranges."""

    _name = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _coerce(getattr(self, f.name), hints[f.name], f"{self._name}.{f.name}")
            object.__setattr__(self, f.name, value)
        self._check()

    def _check(self) -> None:
        """Range and consistency checks; raise ConfigError."""

    @classmethod
    def coerce(cls, value: Any, where: str) -> Section:
        """A section (or a list item such as a verifier spec) from a YAML mapping, its keys checked."""
        if isinstance(value, cls):
            return value
        require(isinstance(value, Mapping), f"{where} must be a mapping; got {value!r}")
        check_keys(value, cls, where)
        return cls(**value)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`; return it, converted where lossless (int -> float)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(value, inner, where)
    if origin is Literal:
        require(value in args, f"{where} must be one of {', '.join(map(repr, args))}; got {value!r}")
        return value
    if origin is list:
        require(isinstance(value, list | tuple), f"{where} must be a list; got {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(tp, type) and issubclass(tp, Section):
        return tp.coerce(value, where)
    if tp is float:
        if isinstance(value, str):  # PyYAML reads `1e-4` (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{where} must be a number; got {value!r}") from None
        require(isinstance(value, int | float) and not isinstance(value, bool),
                 f"{where} must be a number; got {value!r}")
        return float(value)
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        require(ok, f"{where} must be an integer; got {value!r}")
        return value
    require(isinstance(value, tp), f"{where} must be a {_type_name(tp)}; got {value!r}")
    return value


def _known_keys(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def unknown(key: str, known: Iterable[str], where: str, what: str = "key") -> ConfigError:
    known = list(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
    return ConfigError(f"unknown {what} {key!r} in {where}{hint}")


def check_keys(mapping: Mapping, cls: type, where: str) -> None:
    known = _known_keys(cls)
    for key in mapping:
        if key not in known:
            raise unknown(str(key), known, f"section {where!r}")
