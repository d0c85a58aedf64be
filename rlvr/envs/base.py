"""The environment contract, the tool runner environments call tools through, and the registry of environments.

An environment turns one data row into an episode: `reset(row)` gives the first chat messages, then each
`step(model_turn_text)` answers the model's turn with a `StepResult` (an observation to append, an optional
per-turn reward, whether the episode is over, and an info dict). Environments are plain Python objects, one per
episode, stepped from a thread of the driver; they never see token ids (`rlvr.envs.episode` owns the tokens, so
an environment cannot cause re-tokenization drift) and never run model-written code themselves.

Tools: an environment that executes something the model asked for calls `self.tools.call(target, arguments)`.
The `ToolRunner` runs the pure-Python function `target` ("module:function") in the `rewards` worker pool
(`rewards.RewardPool`: a worker process per slot, a hard timeout, a replacement worker after a kill); model-written
code belongs in `sandbox` instead. A tool that raises is an ordinary tool error (the environment shows it to the
model); a tool that is killed (timeout, dead worker) raises `ToolFailure`, and the episode runner ends that
episode with reward 0 and the reason, while the other episodes go on.

Registry: in-repo environments register with `@register("name")`; installed packages declare entry points in the
group `rlvr.envs` (`name = "pkg.module:Class"`); a `module:Class` or `path/file.py:Class` target works unregistered.
Loading goes through `rewards.custom.load_target`, the verifiers' own loader. This module does not step
episodes (`rlvr.envs.rollout`) or tokenize (`rlvr.envs.episode`).
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import json
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rewards.base import Score, Verifier
from rewards.custom import is_target, load_target

__all__ = ["GROUP", "Environment", "StepResult", "ToolFailure", "ToolRunner", "UnknownEnvironmentError",
           "available", "make", "register"]

GROUP = "rlvr.envs"
BUILTIN = {"calculator": "rlvr.envs.calculator:CalculatorEnv", "textarena": "rlvr.envs.textarena:TextArenaEnv"}
_registered: dict[str, type] = {}


@dataclass(frozen=True)
class StepResult:
    """An environment's answer to one model turn. `observation` is text for the model (None or "" when there
    is nothing to say, e.g. at the end); `reward` a per-turn reward (None: none this turn); `done` ends the
    episode; `info` is free-form (its `reason`, if any, becomes the episode's end reason)."""

    observation: str | None = None
    reward: float | None = None
    done: bool = False
    info: dict[str, Any] = field(default_factory=dict)


class Environment:
    """Base class: set `name`, implement `reset` and `step`. Options come as keywords to `__init__`.

    `observation_role` is the chat role an observation is rendered with (the model's chat template adds the
    delimiters). `tools` is set by the episode runner before `reset`.
    """

    name: ClassVar[str] = ""
    observation_role: ClassVar[str] = "user"
    tools: ToolRunner | None = None

    def reset(self, row: dict[str, Any]) -> list[dict[str, str]]:
        """The episode's first messages (system and user) for this data row."""
        raise NotImplementedError

    def step(self, text: str) -> StepResult:
        """The environment's answer to the model's turn `text` (its sampled text, end-of-turn token stripped)."""
        raise NotImplementedError

    def close(self) -> None:
        """Free what the episode held (called once, however it ended)."""


class ToolFailure(RuntimeError):
    """A tool was killed (timeout, worker died): the episode cannot go on. `reason` is the pool's reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"tool {reason}: {detail}" if detail else f"tool {reason}")


class PythonTool(Verifier):
    """Carries a tool call to a reward worker: `score(arguments_json)` calls `target(**arguments)` there and
    returns its result as text in `info["output"]` (reward unused). The worker pool's own reasons come back for
    a hang or a crash (`timeout`, `worker_died`, `memory_limit`) and `verifier_error` when the tool raised."""

    name = "python_tool"

    def __init__(self, target: str, max_chars: int = 2000) -> None:
        self.target, self.max_chars = target, max_chars

    def score(self, completion: str, **row: Any) -> Score:
        out = load_target(self.target)(**json.loads(completion))
        return Score(0.0, {"reason": "ok", "output": str(out)[: self.max_chars]})


class ToolRunner:
    """One episode's tool calls, run in a `rewards.RewardPool`, counted (calls, errors, seconds)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.calls = self.errors = 0
        self.seconds = 0.0

    def call(self, target: str, arguments: dict[str, Any]) -> tuple[bool, str]:
        """(ok, output text or error text) of `target(**arguments)`; raises ToolFailure when the tool is killed."""
        self.calls += 1
        t0 = time.perf_counter()
        try:
            (score,) = self.pool.map(PythonTool(target), [{"completion": json.dumps(arguments)}])
        finally:
            self.seconds += time.perf_counter() - t0
        reason = score.info.get("reason") if score is not None else "no_result"
        if reason == "ok":
            return True, str(score.info.get("output", ""))
        self.errors += 1
        if reason in ("timeout", "worker_died", "memory_limit", "no_result"):
            raise ToolFailure(reason, f"{target} after {time.perf_counter() - t0:.1f} s")
        return False, str(score.info.get("error", reason))

    def counts(self) -> dict[str, float]:
        return {"tool_calls": self.calls, "tool_errors": self.errors, "tool_seconds": self.seconds}


class UnknownEnvironmentError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def register(name: str | None = None):
    """Class decorator: make an `Environment` subclass available to `make(name)` (default: `cls.name`)."""

    def deco(cls: type) -> type:
        key = name or cls.name
        have = _registered.get(key) or _declared().get(key)
        target = f"{cls.__module__}:{cls.__qualname__}"
        if have is not None and (have if isinstance(have, str) else f"{have.__module__}:{have.__qualname__}") != target:
            raise ValueError(f"environment name {key!r} is already taken by {have}; refusing {target}")
        _registered[key] = cls
        return cls

    return deco


def _declared() -> dict[str, str]:
    """name -> "module:Class" from the built-in table and installed `rlvr.envs` entry points."""
    out = dict(BUILTIN)
    for ep in md.entry_points(group=GROUP):
        if ep.name in out and out[ep.name] != ep.value:
            raise ValueError(f"environment name {ep.name!r} is claimed by {out[ep.name]} and {ep.value}")
        out[ep.name] = ep.value
    return out


def available() -> list[str]:
    return sorted(set(_registered) | set(_declared()))


def resolve(name: str) -> type:
    """The environment class behind a registered name or a `module:Class` target."""
    if name in _registered:
        return _registered[name]
    declared = _declared()
    if not is_target(name) and name not in declared:
        close = difflib.get_close_matches(name, available(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownEnvironmentError(f"unknown environment {name!r}{hint}; known: {', '.join(available())}; "
                                      f"or name one as 'pkg.module:Class'")
    cls = load_target(name if is_target(name) else declared[name])
    if not (isinstance(cls, type) and issubclass(cls, Environment)):
        raise TypeError(f"environment {name!r} is {cls!r:.60}, not an rlvr.envs.Environment subclass")
    return cls


def make(name: str, **options: Any) -> Environment:
    """A fresh environment (one per episode); a wrong option is a TypeError naming the environment."""
    cls = resolve(name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise TypeError(f"environment {name!r}: {exc}") from exc
