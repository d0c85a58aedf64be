"""Find verifiers by name: in-tree classes registered with `@register`, third-party ones through the
entry-point group `rlvr.verifiers`.

A name maps to exactly one class. The project declares its own verifiers as entry points too, so an entry
point that points at the class already registered under its name is the same verifier, not a duplicate;
anything else claiming a taken name is refused with both claimants named. Entry points are loaded only
when asked for (`make`), so listing names imports nothing heavy. This module does not run verifiers.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import threading
from typing import Any

from .base import Verifier

__all__ = ["register", "make", "available", "describe", "DuplicateVerifierError", "UnknownVerifierError"]

GROUP = "rlvr.verifiers"

# The in-tree verifiers, so `make` works from a source checkout that was never pip-installed.
BUILTIN = {
    "math": "rewards.math_answer:MathVerifier",
    "code": "rewards.code:CodeVerifier",
    "json_schema": "rewards.json_schema:JsonSchemaVerifier",
    "tool_call": "rewards.tool_call:ToolCallVerifier",
    "format": "rewards.format:FormatVerifier",
    "length_penalty": "rewards.format:LengthPenalty",
}

_registered: dict[str, type[Verifier]] = {}
_lock = threading.RLock()


class DuplicateVerifierError(ValueError):
    """Two different verifiers claim one name."""


class UnknownVerifierError(KeyError):
    """No verifier has this name; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def _target(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _declared() -> dict[str, tuple[str, str]]:
    """name -> (target "module:attr", source) from the built-in table and installed entry points."""
    out: dict[str, tuple[str, str]] = {name: (target, "builtin") for name, target in BUILTIN.items()}
    for ep in md.entry_points(group=GROUP):
        dist = getattr(ep.dist, "name", None) or "?"
        prev = out.get(ep.name)
        if prev is not None and prev[0] != ep.value:
            raise DuplicateVerifierError(
                f"verifier name {ep.name!r} is claimed twice: {prev[0]} ({prev[1]}) and {ep.value} ({dist})")
        if prev is None or prev[1] == "builtin":
            out[ep.name] = (ep.value, "builtin" if prev else dist)
    return out


def register(name: str | None = None):
    """Class decorator: make `cls` available to `make(name)` (default: `cls.name`).

    Usage (in a module that `make` can import)::

        @register("shouty")
        class Shouty(Verifier):
            name = "shouty"
            def score(self, completion, **row):
                return Score(float(completion.isupper()), {"reason": "upper"})
    """

    def deco(cls: type[Verifier]) -> type[Verifier]:
        key = name or cls.name
        if not key:
            raise ValueError(f"{cls.__qualname__} has no name; set `name` or pass one to @register")
        if not (isinstance(cls, type) and issubclass(cls, Verifier)):
            raise TypeError(f"@register expects a Verifier subclass, got {cls!r}")
        with _lock:
            have = _registered.get(key)
            if have is not None and _target(have) != _target(cls):
                raise DuplicateVerifierError(
                    f"verifier name {key!r} is already registered to {_target(have)}; refusing {_target(cls)}")
            declared = _declared().get(key)
            if declared is not None and declared[0] != _target(cls):
                raise DuplicateVerifierError(
                    f"verifier name {key!r} is declared by {declared[0]} ({declared[1]}); refusing {_target(cls)}")
            _registered[key] = cls
        return cls

    return deco


def available() -> list[str]:
    """Every verifier name: registered in this process, built in, or installed as a plugin."""
    with _lock:
        return sorted(set(_registered) | set(_declared()))


def describe() -> list[dict[str, str]]:
    """One dict per verifier (name, target, source) for `python -m rewards list`."""
    declared = _declared()
    rows = []
    for name in available():
        if name in declared:
            target, source = declared[name]
        else:
            target, source = _target(_registered[name]), "registered"
        rows.append({"name": name, "target": target, "source": source})
    return rows


def resolve(name: str) -> type[Verifier]:
    """The class behind `name`, importing its module if needed."""
    with _lock:
        if name in _registered:
            return _registered[name]
        declared = _declared()
    if name not in declared:
        raise UnknownVerifierError(f"unknown verifier {name!r}; known: {', '.join(available())}")
    module, _, attr = declared[name][0].partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, Verifier)):
        raise TypeError(f"entry point {name!r} -> {declared[name][0]} is not a rewards.Verifier subclass")
    with _lock:
        _registered.setdefault(name, obj)
    return obj


def make(name: str, **options: Any) -> Verifier:
    """Build the verifier called `name` with `options`.

    >>> make("math").name
    'math'
    """
    return resolve(name)(**options)
