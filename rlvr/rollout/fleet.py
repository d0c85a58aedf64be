"""Rollouts: prompts -> samplers -> completions -> rewards, as one batch the learner can use.

`SamplerFleet` spreads a batch of prompts over several sampler actors and survives an actor's death (it is
restarted, given the current weights and asked again), also when its whole Ray node is lost: the replacement
asks for the same resources, so Ray puts it on another node that offers them. `score_groups` turns completions into rewards with the
`rewards` worker pool. The groups are `rlvr.types.Group`s: the sampler makes them, the fleet attaches each
one's data row, scoring fills their completions in place. This module does not compute advantages
(`rlvr.learn.samples`) or touch the learner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from rlvr.types import NOT_APPLICABLE, Completion, Group

log = logging.getLogger(__name__)


def _chunks(items: list, parts: int) -> list[list]:
    """Split items into `parts` contiguous, nearly equal chunks (some may be empty)."""
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out


class SamplerFleet:
    """Sampler actors that share each batch; a dead actor is replaced and its prompts generated again.

    `make_actor(index)` creates actor `index`; `prepare(actor)`, set by the weight sync's owner
    (`rlvr.sync.push.WeightSync`), gives a replacement the policy the others serve before it is used.
    """

    def __init__(self, make_actor: Callable[[int], Any], count: int,
                 prepare: Callable[[Any], None] | None = None, max_restarts: int = 3,
                 replace_timeout_s: float = 900.0):
        self._make_actor = make_actor
        self.prepare = prepare
        self.actors = [make_actor(i) for i in range(count)]
        self.restarts = 0
        self.max_restarts = max_restarts
        # A replacement that no node can host stays pending in Ray for ever: wait this long (an autoscaler's
        # new node included), then stop the run with the reason instead of hanging.
        self.replace_timeout_s = replace_timeout_s

    def submit(self, rows: list[dict], **sampling) -> list[tuple[int, list[dict], Any, Any]]:
        """Start generating each row's `prompt` on every actor; returns handles to pass to `collect`."""
        parts = _chunks(rows, len(self.actors))
        return [(i, part, self.actors[i].generate.remote([r["prompt"] for r in part], **sampling), self.actors[i])
                for i, part in enumerate(parts) if part]

    def collect(self, pending: list[tuple[int, list[dict], Any, Any]], **sampling) -> list[Group]:
        """Wait for `submit`'s groups in row order, each with its row attached (ready for `score_groups`),
        regenerating the parts of actors that died."""
        import ray

        groups: list[Group] = []
        for index, part, ref, actor in pending:
            while True:
                try:
                    got = ray.get(ref)
                    break
                except _lost() as err:
                    actor = self._restart(index, err, dead=actor)
                    ref = actor.generate.remote([r["prompt"] for r in part], **sampling)
            for row, group in zip(part, got, strict=True):
                group.row = row
                groups.append(group)
        return groups

    def generate(self, rows: list[dict], **sampling) -> list[Group]:
        return self.collect(self.submit(rows, **sampling), **sampling)

    def _restart(self, index: int, err: Exception, dead: Any):
        """Replace actor `index`, unless `dead` is already replaced: calls made before a loss (a prefetched batch,
        an eval) fail one by one, and each would otherwise replace the healthy replacement again."""
        import ray

        if self.actors[index] is not dead:
            return self.actors[index]
        self.restarts += 1
        if self.restarts > self.max_restarts:
            raise RuntimeError(f"sampler {index} died {self.restarts} times; giving up") from err
        log.warning("sampler %d died (%s); restarting it (restart %d)", index, type(err).__name__, self.restarts)
        try:
            ray.kill(self.actors[index])
        except Exception:  # already gone
            pass
        actor = self._make_actor(index)
        try:
            ray.get(actor.ready.remote(), timeout=self.replace_timeout_s)
        except ray.exceptions.GetTimeoutError:
            ray.kill(actor)
            raise RuntimeError(
                f"sampler {index} died and no node could start its replacement within {self.replace_timeout_s:.0f} s "
                f"(is there a node left with the CPUs and ray.sampler_resources a sampler asks for?); the run stops "
                f"here: resume it with --resume once the cluster has room") from err
        if self.prepare is not None:
            self.prepare(actor)
        self.actors[index] = actor
        return actor

    def call_all(self, method: str, *args, **kwargs) -> list:
        """Run `method` on every actor at once (e.g. load_weights, probe_logprobs), results in actor order;
        a dead actor is restarted once and asked again."""
        import ray

        actors = list(self.actors)
        refs = [getattr(actor, method).remote(*args, **kwargs) for actor in actors]
        out = []
        for i, ref in enumerate(refs):
            try:
                out.append(ray.get(ref))
            except _lost() as err:
                actor = self._restart(i, err, dead=actors[i])
                out.append(ray.get(getattr(actor, method).remote(*args, **kwargs)))
        return out


def _lost() -> tuple[type[Exception], ...]:
    """What a call to a sampler raises when the sampler is gone: its actor died (its process, or its whole node
    with everything on it), or its result was lost with the node's object store before the driver fetched it."""
    import ray

    return ray.exceptions.RayActorError, ray.exceptions.ObjectLostError


def score_groups(groups: list[Group], reward: Any, pool: Any,
                 skip: Callable[[Completion], bool] | None = None) -> None:
    """Fill each completion's reward, components, reason and why from `pool.map(reward, rows)` (the `rewards`
    worker pool; rows are each group's row plus the completion's text), in place. Completions for which
    `skip(completion)` is true are not scored and keep what they have (the caller scores them).

    A `None` score (the verifier does not apply to this row) stays None, with reason `NOT_APPLICABLE`:
    `rlvr.learn.samples` leaves such completions out of the advantages and the metrics out of the means.
    """
    todo = [(g, c) for g in groups for c in g.completions if skip is None or not skip(c)]
    rows = [{**g.row, "completion": c.text} for g, c in todo]
    t0 = time.perf_counter()
    scores = pool.map(reward, rows) if rows else []
    log.debug("scored %d completions in %.2f s", len(rows), time.perf_counter() - t0)
    for (_, c), s in zip(todo, scores, strict=True):
        info = {} if s is None else dict(s.info)
        c.reward = None if s is None else float(s.reward)
        c.components = dict(info.get("components", {}))
        c.reason = NOT_APPLICABLE if s is None else str(info.get("reason", ""))
        c.why = _why(info)


def _why(info: dict) -> dict[str, str]:
    """Component -> its verifier's reason, with where the answer was found when it says (`correct/last_number`)."""
    found = info.get("found_by") if isinstance(info.get("found_by"), dict) else {}
    return {name: f"{reason}/{found[name]}" if name in found else str(reason)
            for name, reason in info.get("reasons", {}).items()}
