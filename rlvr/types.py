"""The types that cross stages: follow one completion from the sampler to the learner here.

    data row (dict) --sampler--> Group(prompt_ids, [Completion(token_ids, logprobs, text)], row)
                    --rewards--> each Completion's reward, components, reason filled in place
                    --rlvr.learn.samples--> TrainSample(prompt_ids, completion_ids, advantage, logprobs)
                    --learner--> one optimizer step

A multi-turn episode (`rlvr.envs`) is one `Completion` too: `token_ids` are every token after the prompt (the
sampled turns and the environment's observations between them, exactly as the engine saw them), `loss_mask`
says which are the model's (1) and which the environment's (0), and `episode` holds its turn and tool counts.

`Job` is what the CLI prepares before any actor starts (data, verifiers, the reward pool) and the driver
consumes. Plain dataclasses, no behaviour beyond reading their own fields: the stages own the work
(`rlvr.rollout`, `rlvr.learn`, `rlvr.run`); nothing here imports torch, Ray or vLLM, so a sampler actor
can return these and a test can build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewards import RewardPool, Verifier
    from rlvr.data.prompts import PromptStream

__all__ = ["NOT_APPLICABLE", "Completion", "Group", "Job", "TrainSample"]

NOT_APPLICABLE = "not_applicable"  # the reason of a completion whose verifier returned None


@dataclass
class Completion:
    """One sampled completion. `logprobs[i]` is the logprob of `token_ids[i]` under the distribution it was
    drawn from (the engine's `processed_logprobs`: after temperature and top-p, renormalised).

    The reward fields are empty until `rlvr.rollout.fleet.score_groups` fills them: `reward` stays None when
    the verifier said "not applicable" (`reason` is then `NOT_APPLICABLE`; TRL's contract for None), and
    `components` holds a composite's per-verifier rewards and `why` each one's reason (and where the answer
    was found, when the verifier says), which the health report reads."""

    token_ids: list[int]
    logprobs: list[float]
    text: str
    finish_reason: str  # "stop" (eos or a stop string) | "length"
    reward: float | None = None
    components: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    why: dict[str, str] = field(default_factory=dict)  # component -> why it scored (`correct/boxed`; rlvr.health)
    loss_mask: list[int] | None = None  # per token: 1 sampled (trained), 0 an environment's observation; None: all 1
    episode: dict[str, Any] | None = None  # a multi-turn episode's counts (`rlvr.envs.episode.Episode.summary`)


@dataclass
class Group:
    """The completions of one prompt (`sampler.group_size` of them in training), with the prompt's token ids
    as the engine saw them and the data row they were sampled for (`row["prompt"]` is the formatted prompt;
    the other fields are what the verifiers read). The sampler leaves `row` empty; the fleet fills it."""

    prompt_ids: list[int]
    completions: list[Completion]
    row: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return self.row.get("prompt", "")

    @property
    def rewards(self) -> list[float | None]:
        return [c.reward for c in self.completions]


@dataclass(frozen=True)
class TrainSample:
    """One scored completion as the learner takes it: token ids as the sampler saw them, its advantage, and
    optionally the old (behaviour) policy's logprobs for the clipped ratio and the sampler's own logprobs of
    the tokens (of the sampling distribution: tempered, top-p renormalised), one per completion token.
    `loss_mask` (one 0/1 per completion token; None = all 1) keeps an episode's observation tokens out of the
    loss and the stats: they are context the model read, not actions it took."""

    prompt_ids: list[int]
    completion_ids: list[int]
    advantage: float
    old_logprobs: list[float] | None = None
    sampler_logprobs: list[float] | None = None
    loss_mask: list[int] | None = None


@dataclass
class Job:
    """What `rlvr.run.cli.prepare` builds from a checked config before any actor starts."""

    model_dir: Path                # a local Hugging Face folder (`rlvr.model.resolve_model`)
    stream: PromptStream           # training rows (each with "prompt"), resumable
    eval_rows: list[dict]          # held-out rows (each with "prompt")
    reward: Verifier               # usually a `rewards.Composite` of the configured verifiers
    pool: RewardPool               # the `rewards` worker pool that runs `reward`
    probe: list[int]               # token ids the weight-sync check scores on both sides
    regression_rows: list[dict] = field(default_factory=list)  # health.regression_task's held-out rows (or none)
    tool_pool: RewardPool | None = None  # env.name set: the pool environments' tools run in (env.tool_timeout_s)
