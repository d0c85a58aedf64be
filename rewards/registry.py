"""Find verifiers by name: in-tree classes registered with `@register`, third-party ones through the
entry-point group `rlvr.verifiers`.

A name maps to exactly one class. A name holding a colon is a target instead (`pkg.module:Name`,
`path/to/file.py:Name`, see `custom`): a verifier class or a TRL-style reward function, used unregistered. The project declares its own verifiers as entry points too, so an entry
point that points at the class already registered under its name is the same verifier, not a duplicate;
anything else claiming a taken name is refused with both claimants named. Entry points are loaded only
when asked for (`make`), so listing names imports nothing heavy. This module does not run verifiers.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import inspect
import threading
from typing import Any

from .base import Verifier
from .custom import FunctionVerifier, VerifierLoadError, is_target, load_target, travel_check

__all__ = ["register", "make", "available", "describe", "options_of", "DuplicateVerifierError",
           "UnknownVerifierError", "VerifierLoadError", "VerifierOptionError"]

GROUP = "rlvr.verifiers"

# The in-tree verifiers: their one declaration. `make` works from it in a source checkout that was never
# pip-installed; pyproject.toml's `rlvr.verifiers` entry points repeat it for installed copies (so a built-in
# is found the way a plugin is) and each class's `name` is its key here: tests/unit/test_project.py checks both.
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


class VerifierOptionError(TypeError):
    """A verifier was given an option it does not take; the message lists the ones it does."""


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


def describe(verbose: bool = False) -> list[dict[str, Any]]:
    """One dict per verifier (name, target, source) for `python -m rewards list`; `verbose` imports each
    to add `fields` (the row fields it needs) and `options` (name -> default), or `error` if it cannot load."""
    declared = _declared()
    rows = []
    for name in available():
        if name in declared:
            target, source = declared[name]
        else:
            target, source = _target(_registered[name]), "registered"
        row: dict[str, Any] = {"name": name, "target": target, "source": source}
        if verbose:
            try:
                cls = resolve(name)
                row["fields"], row["options"] = tuple(cls.required_fields), options_of(cls)
            except Exception as exc:  # a broken plugin must not hide the others
                row["error"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return rows


def resolve(name: str) -> Any:
    """The class (or reward function) behind `name`, importing its module if needed."""
    if is_target(name):
        return load_target(name)
    with _lock:
        if name in _registered:
            return _registered[name]
        declared = _declared()
    if name not in declared:
        close = difflib.get_close_matches(name, available(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownVerifierError(f"unknown verifier {name!r}{hint}; known: {', '.join(available())}; "
                                   f"or name one as 'pkg.module:Name' or 'path/to/file.py:Name'")
    target, source = declared[name]
    try:
        obj = load_target(target)
    except VerifierLoadError as exc:
        raise VerifierLoadError(f"verifier {name!r} (entry point {target}, from {source}) cannot be "
                                f"loaded: {str(exc).split(': ', 1)[-1]}") from exc
    if not (isinstance(obj, type) and issubclass(obj, Verifier)):
        raise VerifierLoadError(f"verifier {name!r}: entry point {target} (from {source}) is "
                                f"{type(obj).__name__} {obj!r:.60}, not a rewards.Verifier subclass")
    with _lock:
        _registered.setdefault(name, obj)
    return obj


def options_of(cls: type[Verifier]) -> dict[str, Any] | None:
    """The options `cls` takes with their defaults (`inspect.Parameter.empty` if required); None if it
    takes any keyword (its `__init__` has **kwargs), so the options cannot be listed."""
    if cls.__init__ is Verifier.__init__:
        return {}
    out = {}
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind is p.VAR_KEYWORD:
            return None
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            out[p.name] = p.default
    return out


def _build(cls: type[Verifier], name: str, options: dict[str, Any]) -> Verifier:
    valid = options_of(cls)
    unknown = sorted(set(options) - set(valid)) if valid is not None else []
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(valid), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listed = ", ".join(valid) if valid else "none: it takes no options"
        raise VerifierOptionError(f"verifier {name!r}: unknown option {', '.join(map(repr, unknown))} "
                                  f"({hint}valid: {listed})")
    try:
        return cls(**options)
    except TypeError as exc:  # a required option missing, or **kwargs refused
        raise VerifierOptionError(f"verifier {name!r}: {exc}") from exc


def make(name: str, **options: Any) -> Verifier:
    """Build the verifier called `name` (a registered name or a `module:Name` / `file.py:Name` target).

    >>> make("math").name
    'math'
    """
    obj = resolve(name)
    if isinstance(obj, type) and issubclass(obj, Verifier):
        verifier = _build(obj, name, options)
    elif callable(obj) and not isinstance(obj, type):
        if options:
            raise VerifierOptionError(f"verifier {name!r} is a reward function and takes no options (got "
                                      f"{', '.join(sorted(options))}); bind them in its file (functools.partial)")
        verifier = FunctionVerifier(obj)
    else:
        raise VerifierLoadError(f"verifier {name!r} is {type(obj).__name__} {obj!r:.60}, not a rewards.Verifier "
                                f"subclass or a reward function fn(prompts, completions, **columns)")
    if is_target(name):
        travel_check(verifier, name)
    return verifier

