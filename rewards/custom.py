"""Rewards without packaging: a verifier named `pkg.module:Name` or `path/to/file.py:Name`, where `Name` is a
`Verifier` subclass or a TRL-style reward function `fn(prompts, completions, **columns) -> list[float|None]`.

Why a file is imported as a module named after its stem, with its folder appended to `sys.path` (and not
loaded under a made-up name): `RewardPool` sends verifiers to worker processes by pickle, and pickle finds
classes and functions by module name. The workers inherit the caller's `sys.path`, so the same import works
there. For the same reason a verifier defined in `__main__` (a script, a notebook) cannot travel: it is
refused here with the fix named, rather than failing later inside a worker.

What this module does NOT do: isolate user code (it runs in the trainer's and the workers' processes), or
register names (`registry` does; a target string is its own name).
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .base import Score, Verifier

__all__ = ["FunctionVerifier", "VerifierLoadError", "is_target", "load_target", "travel_check"]

# Parameters of a TRL reward function that are not dataset columns.
_TRL_ARGS = {"prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric"}
PICKLE_HINT = ("verifiers run in worker processes, which import them by module name: define it in a .py "
               "file and name it as 'path/to/file.py:Name' or 'module:Name' (not in __main__, a notebook, "
               "a lambda or a nested function)")


class VerifierLoadError(ValueError):
    """A verifier could not be imported or is not a verifier; the message says which and why, in one line."""


def is_target(name: str) -> bool:
    """True for `module:Name` / `file.py:Name` forms (registered names never hold a colon)."""
    return ":" in name


def load_target(spec: str) -> Any:
    """The object a `module:Name` or `path/to/file.py:Name` string points at."""
    where, _, attr = spec.rpartition(":")
    if not where or not attr:
        raise VerifierLoadError(f"verifier {spec!r}: expected 'pkg.module:Name' or 'path/to/file.py:Name'")
    module = _import_file(spec, Path(where)) if where.endswith(".py") or "/" in where else _import(spec, where)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            names = sorted(n for n in vars(module) if not n.startswith("_"))
            raise VerifierLoadError(f"verifier {spec!r}: {module.__name__} has no {attr!r} "
                                    f"(it defines: {', '.join(names) or 'nothing'})") from None
    return obj


def _import(spec: str, module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise VerifierLoadError(f"verifier {spec!r}: cannot import module {module!r} ({exc})") from exc
    except Exception as exc:  # the user's module raised while importing
        raise VerifierLoadError(f"verifier {spec!r}: importing {module!r} failed: {type(exc).__name__}: {exc}") from exc


def _import_file(spec: str, path: Path):
    path = path.expanduser().resolve()
    if path.suffix != ".py" or not path.is_file():
        raise VerifierLoadError(f"verifier {spec!r}: {path} is not an existing .py file")
    stem = path.stem
    if not stem.isidentifier():
        raise VerifierLoadError(f"verifier {spec!r}: the file is imported as module {stem!r}, which is not a "
                                f"Python identifier; rename it (e.g. {stem.replace('-', '_')}.py)")
    have = sys.modules.get(stem)
    if have is None:
        if str(path.parent) not in sys.path:
            sys.path.append(str(path.parent))  # appended: never shadows an installed module
        importlib.invalidate_caches()
        have = _import(spec, stem)
    if Path(getattr(have, "__file__", None) or "-").resolve() != path:
        raise VerifierLoadError(f"verifier {spec!r}: module name {stem!r} is already taken by "
                                f"{getattr(have, '__file__', None) or 'a built-in module'}; rename {path.name}")
    return have


def travel_check(obj: Any, spec: str) -> None:
    """Refuse what cannot be pickled to a reward worker and imported back there, naming the fix."""
    for thing in (obj, getattr(obj, "fn", None)):
        if thing is None:
            continue
        module = getattr(thing, "__module__", None) if callable(thing) else type(thing).__module__
        qualname = getattr(thing, "__qualname__", "") if callable(thing) else ""
        if module == "__main__" or "<locals>" in qualname or "<lambda>" in qualname:
            raise VerifierLoadError(f"verifier {spec!r}: {module}.{qualname or type(thing).__name__} cannot be "
                                    f"sent to a reward worker: {PICKLE_HINT}")
    try:
        pickle.dumps(obj)
    except Exception as exc:
        raise VerifierLoadError(f"verifier {spec!r} cannot be pickled ({type(exc).__name__}: {exc}): "
                                f"{PICKLE_HINT}") from exc


def column_fields(fn: Callable) -> tuple[str, ...]:
    """The dataset columns a reward function names as required parameters (beyond prompts, completions)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return ()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in params
                 if p.kind in kinds and p.default is inspect.Parameter.empty and p.name not in _TRL_ARGS)


class FunctionVerifier(Verifier):
    """A TRL-style reward function as a verifier: called once per completion with one-element lists.

    The row's `prompt` (else `question`) becomes `prompts`; every other field a column. The function's
    value None means "does not apply" (like a verifier's None).
    """

    def __init__(self, fn: Callable, name: str | None = None, **options: Any) -> None:
        if options:
            raise TypeError(f"reward function {name or fn!r} takes no options (got {sorted(options)}); "
                            f"bind them in the file, e.g. with functools.partial")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "reward_fn")
        self.required_fields = column_fields(fn)

    def score(self, completion: str, **row: Any) -> Score | None:
        prompt = row.pop("prompt", row.get("question"))
        out = self.fn(prompts=[prompt], completions=[completion], **{k: [v] for k, v in row.items()})
        if not isinstance(out, list | tuple) or len(out) != 1:
            raise TypeError(f"reward function {self.name} must return a list with one value per completion, "
                            f"got {out!r:.100}")
        return None if out[0] is None else Score(float(out[0]), {"reason": self.name})
