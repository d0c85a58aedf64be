"""Multi-turn rollouts: the G episodes of each prompt advance together, turn by turn, into one `Group` per prompt.

`EpisodeRunner` has the fleet's shape (`submit`, `collect`, `generate`), so the driver uses it where it would use
`rlvr.rollout.fleet.SamplerFleet`. Each round is one engine call for every episode ready for a turn (token ids
in, the sampled ids and logprobs out: `rlvr.envs.episode`), then those environments step at once, each in a
thread of its own; a tool runs in the worker pool with its hard timeout (`rlvr.envs.base.ToolRunner`). The next
round starts as soon as the first steps are back (`GATHER_S`): a slow tool holds back only its own episode. An episode ends when its environment says
done, after `max_turns` turns, when its token budget is spent, or when a tool is killed or a step overruns
`step_timeout_s` (then it scores 0 with that reason; the others go on).

Scoring (`score_episodes`): the configured verifiers score each episode's last model turn (its answer), as for
single-turn completions, and the environment's per-turn rewards are added as the component `env`, weighted by
`env.reward_weight`. Each episode's counts (turns, tool calls/errors/seconds, observation tokens, drift events)
travel in `Completion.episode`; `episode_metrics` sums them for the step's metrics line. This module does not
compute advantages or train: one episode is one `Completion`, and the learner takes it like any other.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import time
from collections.abc import Callable
from typing import Any

from rlvr.envs.base import Environment, ToolFailure, ToolRunner
from rlvr.envs.episode import Episode, ObservationRenderer
from rlvr.rollout.fleet import score_groups
from rlvr.types import Completion, Group

log = logging.getLogger(__name__)

__all__ = ["EpisodeRunner", "episode_metrics", "runner_for", "score_episodes"]

# After the first step of a round finishes, the steps finishing within this many seconds join the same engine call
# (tools in the pool take milliseconds; batching their episodes keeps the engine busy); a slower step's episode
# waits for a later call instead of holding the others back.
GATHER_S = 0.5
FAILED = ("tool_timeout", "tool_worker_died", "tool_memory_limit", "tool_no_result", "step_timeout", "step_error")


class EpisodeRunner:
    """Runs episodes of `make_env()` environments on `fleet` (anything with `generate(rows, **sampling)` whose
    rows' `prompt` may be token ids, returning one single-completion `Group` per row)."""

    def __init__(self, fleet: Any, tokenizer: Any, make_env: Callable[[], Environment], *, tool_pool: Any,
                 max_turns: int, max_episode_tokens: int, max_model_len: int, step_timeout_s: float,
                 strict: bool = True) -> None:
        self.fleet, self.make_env, self.tool_pool = fleet, make_env, tool_pool
        self.max_turns, self.max_episode_tokens, self.max_model_len = max_turns, max_episode_tokens, max_model_len
        self.step_timeout_s, self.strict = step_timeout_s, strict
        self.renderer = ObservationRenderer(tokenizer, make_env().observation_role)

    # the fleet's interface: episodes need each turn's observation before the next turn, so they run at collect
    def submit(self, rows: list[dict], **sampling) -> list[dict]:
        return rows

    def collect(self, rows: list[dict], **sampling) -> list[Group]:
        return self.generate(rows, **sampling)

    def generate(self, rows: list[dict], *, group_size: int, max_tokens: int, temperature: float,
                 top_p: float = 1.0) -> list[Group]:
        """`group_size` episodes per row, as one Group per row (each episode one Completion)."""
        sampling = dict(group_size=1, max_tokens=max_tokens, temperature=temperature, top_p=top_p)
        runs = [self._start(row) for row in rows for _ in range(group_size)]
        pool = cf.ThreadPoolExecutor(max_workers=min(32, len(runs)), thread_name_prefix="env-step")
        steps: dict[cf.Future, tuple[dict, float]] = {}  # a running step -> (its episode's run, start time)
        ready = runs
        try:
            while ready or steps:
                if ready := [r for r in ready if self._budget_left(r["episode"], max_tokens)]:
                    turns = self.fleet.generate([{"prompt": r["episode"].ids} for r in ready], **sampling)
                    for r, g in zip(ready, turns, strict=True):
                        c = g.completions[0]
                        r["episode"].add_turn(g.prompt_ids, c.token_ids, c.logprobs, c.text)
                        r["finish_reason"] = c.finish_reason
                        steps[pool.submit(r["env"].step, c.text)] = (r, time.monotonic())
                ready = self._settle(steps)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            for r in runs:
                r["env"].close()
        return [Group(prompt_ids=list(runs[i * group_size]["episode"].prompt_ids),
                      completions=[self._completion(r) for r in runs[i * group_size:(i + 1) * group_size]],
                      row={**row, "prompt": runs[i * group_size]["episode"].prompt_text})
                for i, row in enumerate(rows)]

    def _start(self, row: dict) -> dict:
        env = self.make_env()
        env.tools = ToolRunner(self.tool_pool)
        return {"env": env, "episode": Episode(env.reset(row), self.renderer, strict=self.strict),
                "finish_reason": "stop"}

    def _budget_left(self, episode: Episode, max_tokens: int) -> bool:
        if episode.done:
            return False
        if len(episode.completion_ids) >= self.max_episode_tokens or len(episode.ids) + max_tokens > self.max_model_len:
            episode.finish("token_budget")
            return False
        return True

    def _settle(self, steps: dict) -> list[dict]:
        """Wait for the first running step to finish and for those finishing within `GATHER_S` of it; apply their
        results; end the episodes whose step has run `step_timeout_s`. Returns the runs that need another turn:
        steps still running (a slow tool) do not hold them back."""
        if not steps:
            return []
        first_deadline = min(t0 for _, t0 in steps.values()) + self.step_timeout_s
        done, _ = cf.wait(steps, timeout=max(0.0, first_deadline - time.monotonic()), return_when=cf.FIRST_COMPLETED)
        if done:
            done = cf.wait(steps, timeout=GATHER_S)[0]
        ready = [steps[fut][0] for fut in done if self._apply(steps[fut][0], fut)]
        for fut in done:
            del steps[fut]
        for fut, (r, t0) in list(steps.items()):
            if time.monotonic() - t0 >= self.step_timeout_s:
                fut.cancel()
                del steps[fut]
                r["episode"].finish("step_timeout")
        return ready

    def _apply(self, run: dict, fut: cf.Future) -> bool:
        """A finished step's result on its episode; True when the episode goes on to another turn."""
        episode = run["episode"]
        try:
            result = fut.result()
        except ToolFailure as exc:
            episode.finish(f"tool_{exc.reason}")
            return False
        except Exception as exc:  # an environment bug ends its episode, visibly, not the run
            log.warning("environment step failed: %s: %s", type(exc).__name__, exc)
            episode.finish("step_error")
            return False
        if result.reward is not None:
            episode.rewards.append(float(result.reward))
        if result.done:
            episode.finish(str(result.info.get("reason", "done")))
        elif episode.turns >= self.max_turns:
            episode.finish("max_turns")
        else:
            episode.add_observation(result.observation or "")
        return not episode.done

    def _completion(self, run: dict) -> Completion:
        e: Episode = run["episode"]
        summary = {**e.summary(), **run["env"].tools.counts(), "failed": e.end in FAILED}
        return Completion(token_ids=list(e.completion_ids), logprobs=list(e.logprobs),
                          text=e.turn_texts[-1] if e.turn_texts else "", finish_reason=run["finish_reason"],
                          loss_mask=list(e.loss_mask), episode=summary)


def score_episodes(groups: list[Group], reward: Any, pool: Any, *, env_weight: float) -> None:
    """The verifiers on each episode's answer (its last turn), plus `env_weight` x the environment's rewards as
    the component `env`; an episode whose tool was killed or whose step failed scores 0 with that reason, and
    its answer is not sent to the verifiers."""
    score_groups(groups, reward, pool, skip=_failed)
    for c in (c for g in groups for c in g.completions if c.episode is not None):
        if c.episode["failed"]:
            c.reward, c.components, c.reason, c.why = 0.0, {}, c.episode["end"], {}
            continue
        env_reward = float(c.episode["env_reward"])
        c.components["env"] = env_reward
        if c.reward is not None:
            c.reward += env_weight * env_reward


def _failed(c: Completion) -> bool:
    return c.episode is not None and bool(c.episode["failed"])


def episode_metrics(groups: list[Group]) -> dict[str, float]:
    """Per-step means over episodes (turns, tool calls/errors, observation tokens), total tool seconds and drift
    events, and the fraction of episodes that failed (a killed tool or a failed step)."""
    eps = [c.episode for g in groups for c in g.completions if c.episode is not None]
    if not eps:
        return {}
    n = len(eps)
    return {"turns_mean": sum(e["turns"] for e in eps) / n, "tool_calls_mean": sum(e["tool_calls"] for e in eps) / n,
            "tool_errors_mean": sum(e["tool_errors"] for e in eps) / n,
            "tool_use_frac": sum(e["tool_calls"] > 0 for e in eps) / n,
            "tool_seconds": sum(e["tool_seconds"] for e in eps), "obs_tokens_mean": sum(e["obs_tokens"] for e in eps) / n,
            "drift_events": float(sum(e["drift_events"] for e in eps)),
            "episodes_failed_frac": sum(bool(e["failed"]) for e in eps) / n}


def runner_for(cfg: Any, fleet: Any, job: Any) -> EpisodeRunner:
    """The run's `EpisodeRunner` (config section `env`) on the sampler fleet, with the job's tool pool."""
    from transformers import AutoTokenizer

    from rlvr.envs.base import make

    e = cfg.env
    return EpisodeRunner(fleet, AutoTokenizer.from_pretrained(str(job.model_dir)), lambda: make(e.name, **e.options),
                         tool_pool=job.tool_pool, max_turns=e.max_turns, max_episode_tokens=e.max_episode_tokens,
                         max_model_len=cfg.model.max_model_len, step_timeout_s=e.step_timeout_s, strict=e.strict)
