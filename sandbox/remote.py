"""The candidate as the trusted test code sees it: proxies, handles, and one opaque exception type.

Runs in the judge. Everything the candidate gives back crosses as plain data (codec.py) or as a `Remote`
handle: an object of the judge's own class that forwards only a fixed set of questions to the child
(attribute read/write, call, item read/write, its items as one list, str, repr, bool) and gets plain data
back. Equality and hashing of a handle are identity: a candidate's `__eq__` never runs here. `len(h)`,
`iter(h)` and `x in h` are computed here from one plain snapshot of the items, so they cannot contradict
each other and `in` compares with the judge's `==` (a `__contains__` that says yes to everything is moot).

Exceptions. A candidate's exception reaches the tests only as `CandidateError` (an `Exception`), never as
an instance of the built-in type it names, so no built-in or library machinery that catches a type for
control flow (`map`/`filter`/`zip` and StopIteration, `getattr`'s default and AttributeError,
`Mapping.get` and KeyError, ...) can be steered by the candidate: `all(map(f, xs))` fails if `f` raises.
Fairness for tests that expect an exception: the judge rewrites the tests' own `except T` clauses
(`exc_filter`) and `pytest.raises(T)` blocks (`Raises`) so that they also catch a CandidateError whose
candidate type has the *built-in* class `T` among its bases, by name (a candidate `class E(ValueError)` is
caught by `except ValueError`). Control-flow types (StopIteration, StopAsyncIteration, GeneratorExit and
BaseException-only types) are never matched by name: no honest test expects a solution to raise them, and
matching them would let a candidate end a test's `while True: ... except StopIteration` loop early.
`except Exception` / bare `except` catch a CandidateError as Python would. Catching an exception is not a
check; `pytest.raises` that sees the expected exception is one. The two real built-in exceptions a candidate
can cause are answers about its own objects: a handle's missing attribute is an AttributeError (so
`hasattr`/`getattr(h, n, default)` work) and a handle that is not iterable a TypeError (so `list(h)`
skips the length hint as Python would).

Mutated arguments: after a call, top-level list/dict/set/bytearray arguments the candidate changed are
copied back into the test's objects as plain values (`copy_back`); nested objects are replaced, not
mutated, so identity below the top level is not kept. As in plain Python, a test that hands the candidate
an object it later compares against (`assert f(xs) == sorted(xs)`) trusts the candidate with it.
What this module does NOT do: send test-supplied callables to the candidate (a TypeError), let tests use
a candidate's class for isinstance/subclassing, or match a test's own exception classes by name.
"""

from __future__ import annotations

import builtins
import re
import sys

CONTROL_FLOW = frozenset({"StopIteration", "StopAsyncIteration", "GeneratorExit"})


class Abort(BaseException):
    """Stops the test code at once; BaseException so that `except Exception` in a test cannot eat it."""

    def __init__(self, status: str, detail: str):
        super().__init__(status, detail)
        self.status, self.detail = status, detail


class CheckFailed(AssertionError):
    """A rewritten `assert` of the tests failed. Recorded before it is raised, so a test cannot hide it."""


class CandidateError(Exception):
    """The candidate raised; carries its type's name, its built-in bases' names and its message (plain str)."""

    def __init__(self, type_name: str, bases: tuple[str, ...], message: str):
        super().__init__(message)
        self.type_name, self.bases, self.message = type_name, bases, message

    def __str__(self) -> str:
        return self.message

    def matches(self, spec) -> bool:
        """Whether a test's `except spec` means this exception: a built-in class among its bases, by name."""
        for c in _flatten(spec):
            name = getattr(c, "__name__", None)
            if (isinstance(c, type) and name in self.bases and name not in CONTROL_FLOW
                    and getattr(builtins, name, None) is c and issubclass(c, Exception)):
                return True
        return False


def _flatten(spec, depth: int = 0):
    if isinstance(spec, tuple) and depth < 10:
        for s in spec:
            yield from _flatten(s, depth + 1)
    else:
        yield spec


def exc_filter(spec):
    """`except spec:` of the tests becomes `except exc_filter(spec):` (evaluated while the exception is live)."""
    e = sys.exception()
    if isinstance(e, CandidateError) and not isinstance(e, _types_of(spec)) and e.matches(spec):
        return CandidateError
    return spec


def _types_of(spec) -> tuple:
    return tuple(c for c in _flatten(spec) if isinstance(c, type) and issubclass(c, BaseException))


class Checks:
    """Checks of one block. A check is one `assert` statement (or `pytest.raises` block) of the tests that
    ran at least once; it passed when every one of its executions passed. Counting statements, not
    executions, keeps a candidate from inflating partial credit by making a test loop over its own long
    answer (`for v in candidate(n): assert v > 0`); counting only statements that ran keeps unexecuted
    asserts from passing."""

    def __init__(self):
        self.passed_at: set[int] = set()
        self.failed_at: set[int] = set()

    @property
    def ok(self) -> int:
        return len(self.passed_at - self.failed_at)

    @property
    def failed(self) -> int:
        return len(self.failed_at)

    @property
    def executed(self) -> int:
        return len(self.passed_at | self.failed_at)

    def passed(self, i: int) -> None:
        self.passed_at.add(i)

    def fail(self, i: int, _msg=None):
        self.failed_at.add(i)
        raise CheckFailed(f"assertion {i + 1} failed")


class Raises:
    """The tests' `pytest.raises(T, match=...)`: one check, passed when T (or a candidate's T) is raised."""

    def __init__(self, checks: Checks, at: int, expected, match: str | None = None):
        self.checks, self.at, self.expected, self.match = checks, at, expected, match
        self.value = self.type = None

    def __enter__(self) -> Raises:
        return self

    def __exit__(self, et, ev, tb) -> bool:
        if ev is None:
            self.checks.fail(self.at)
        if isinstance(ev, Abort | CheckFailed):
            return False
        ok = isinstance(ev, _types_of(self.expected)) or (isinstance(ev, CandidateError) and ev.matches(self.expected))
        if ok and self.match is not None:
            ok = re.search(self.match, str(ev)) is not None
        if not ok:
            return False
        self.value, self.type = ev, type(ev)
        self.checks.passed(self.at)
        return True


def _typed(value, kind: type, what: str):
    if type(value) is not kind:
        raise Abort("bad_response", f"{what} answered a {type(value).__name__}, not a {kind.__name__}")
    return value


class Remote:
    """A handle to an object that lives in the candidate's process. Only plain data comes back."""

    __slots__ = ("_chan", "_h")

    def __init__(self, chan, h: int):
        object.__setattr__(self, "_chan", chan)
        object.__setattr__(self, "_h", h)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # protocol probes (copy, pickle, numpy) never reach the candidate
        return self._chan.op(self._h, "getattr", name)

    def __setattr__(self, name: str, value) -> None:
        self._chan.op(self._h, "setattr", name, value)

    def __call__(self, *args, **kwargs):
        return self._chan.call({"h": self._h}, args, kwargs)

    def __getitem__(self, key):
        return self._chan.op(self._h, "getitem", key)

    def __setitem__(self, key, value) -> None:
        self._chan.op(self._h, "setitem", key, value)

    def _snapshot(self) -> list:
        """The object's items as one plain list: len, iteration and `in` all answer from it."""
        return _typed(self._chan.op(self._h, "list"), list, "iteration")

    def __len__(self) -> int:
        return len(self._snapshot())

    def __iter__(self):
        return iter(self._snapshot())

    def __contains__(self, item) -> bool:
        return item in self._snapshot()  # the judge's `==` on plain data, never the candidate's __contains__

    def __bool__(self) -> bool:
        return _typed(self._chan.op(self._h, "bool"), bool, "bool()")

    def __str__(self) -> str:
        return _typed(self._chan.op(self._h, "str"), str, "str()")

    def __repr__(self) -> str:
        return _typed(self._chan.op(self._h, "repr"), str, "repr()")

    def __copy__(self) -> Remote:
        return self  # a handle is a reference; copying the channel behind it would break the protocol

    def __deepcopy__(self, memo) -> Remote:
        return self

    def __reduce__(self):
        raise TypeError("a handle to the candidate's object cannot be pickled")

    __eq__ = object.__eq__
    __hash__ = object.__hash__


def copy_back(target, new) -> None:
    """Copy a mutated argument's new plain value into the test's own object (top level only)."""
    if isinstance(target, list) and type(new) is list:
        target[:] = new
    elif isinstance(target, dict) and type(new) is dict:
        target.clear()
        target.update(new)
    elif isinstance(target, set) and type(new) is set:
        target.clear()
        target.update(new)
    elif isinstance(target, bytearray) and type(new) is bytes:
        target[:] = new


def proxy(chan, name: str):
    """A test-namespace function that calls the candidate's top-level `name`."""
    def call(*args, **kwargs):
        return chan.call({"name": name}, args, kwargs)

    call.__name__ = call.__qualname__ = name
    return call
