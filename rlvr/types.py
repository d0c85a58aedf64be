"""The types that cross stages: follow one completion from the sampler to the learner here.

    data row (dict) --sampler--> Group(prompt_ids, [Completion(token_ids, logprobs, text)], row)
                    --rewards--> each Completion's reward, components, reason filled in place
                    --rlvr.learn.samples--> TrainSample(prompt_ids, completion_ids, advantage, logprobs)
                    --learner--> one optimizer step

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
    `components` holds a composite's per-verifier rewards."""

    token_ids: list[int]
    logprobs: list[float]
    text: str
    finish_reason: str  # "stop" (eos or a stop string) | "length"
    reward: float | None = None
    components: dict[str, float] = field(default_factory=dict)
    reason: str = ""


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
    the tokens (of the sampling distribution: tempered, top-p renormalised), one per completion token."""

    prompt_ids: list[int]
    completion_ids: list[int]
    advantage: float
    old_logprobs: list[float] | None = None
    sampler_logprobs: list[float] | None = None


@dataclass
class Job:
    """What `rlvr.run.cli.prepare` builds from a checked config before any actor starts."""

    model_dir: Path                # a local Hugging Face folder (`rlvr.model.resolve_model`)
    stream: PromptStream           # training rows (each with "prompt"), resumable
    eval_rows: list[dict]          # held-out rows (each with "prompt")
    reward: Verifier               # usually a `rewards.Composite` of the configured verifiers
    pool: RewardPool               # the `rewards` worker pool that runs `reward`
    probe: list[int]               # token ids the weight-sync check scores on both sides
