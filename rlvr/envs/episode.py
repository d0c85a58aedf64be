"""Token-in/token-out episodes: the sequence trained on is exactly the sampled ids plus the observation ids.

Why: re-rendering the conversation with the chat template and tokenizing it again each turn (what many agent
loops do) gives ids the model never sampled whenever its sampled tokens are not the tokenizer's canonical split
of their text (` 5`+`6` sampled, ` 56` re-tokenized) or an observation's first characters merge with the last
sampled token. The learner then scores tokens nobody sampled: the logprobs disagree, the ratio and TIS weights
are wrong (TRL, verl, prime-rl, rLLM and NeMo-RL have each had issues about it). Here nothing is re-tokenized:

- the first prompt is the chat template of `Environment.reset`'s messages, tokenized once;
- each model turn appends the engine's own sampled ids and logprobs (loss mask 1);
- each observation is rendered with the template's own turn delimiters (`ObservationRenderer`: the text the
  template puts after an assistant message, then the observation as a message of the environment's role, then
  the generation prompt) and tokenized *alone*, then appended (loss mask 0, logprob 0 as a placeholder);
- before each turn the ids the engine reports it was given must start with the previous turn's ids (the
  prefix invariant). A break is a drift event: counted, and a `DriftError` when `strict`.

`retokenize=True` is the peer (the whole conversation re-rendered and re-tokenized each turn), kept for the
benchmark and the tests that show it drifts; never the run's path. What this module does not do: call the
engine or the environment (`rlvr.envs.rollout`), or score episodes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DriftError", "Episode", "ObservationRenderer", "prefix_holds"]

_MODEL = "rlvr-model-turn-5f0c"
_OBS = "rlvr-observation-5f0c"


class DriftError(RuntimeError):
    """The ids given to the engine for a turn do not extend the previous turn's ids."""


def prefix_holds(before: list[int], after: list[int]) -> bool:
    """True when `after` starts with `before` (the ids of turn k+1 extend those of turn k)."""
    return len(after) >= len(before) and after[: len(before)] == before


class ObservationRenderer:
    """The text and ids that follow a model turn: the rest of the assistant message, an observation message in
    `role`, and the generation prompt, all as the tokenizer's chat template writes them (read once here)."""

    def __init__(self, tokenizer: Any, role: str = "user") -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("multi-turn episodes need a tokenizer with a chat template (its turn delimiters)")
        self.tokenizer, self.role = tokenizer, role
        head = [{"role": "user", "content": "q"}, {"role": "assistant", "content": _MODEL}]
        base = tokenizer.apply_chat_template(head, tokenize=False)
        full = tokenizer.apply_chat_template([*head, {"role": role, "content": _OBS}], tokenize=False,
                                             add_generation_prompt=True)
        if not full.startswith(base) or _OBS not in full[len(base):]:
            raise ValueError("the chat template does not append a new message after the earlier ones; "
                             "token-in/token-out episodes need an append-only template")
        self.after_model = base[base.index(_MODEL) + len(_MODEL):]  # e.g. "<|im_end|>\n"
        self.before_obs, self.after_obs = full[len(base):].split(_OBS)
        self.eos_ids = {i for i in (tokenizer.eos_token_id, getattr(tokenizer, "pad_token_id", None)) if i is not None}

    def text(self, observation: str, ended_turn: bool) -> str:
        """The text appended after a model turn: `ended_turn` when the turn's last sampled token was the
        end-of-turn token (then its text is not repeated), else the turn was cut and the delimiter is added."""
        tail = self.after_model
        eos = self.tokenizer.eos_token or ""
        if ended_turn and eos and tail.startswith(eos):
            tail = tail[len(eos):]
        return tail + self.before_obs + observation + self.after_obs

    def ids(self, observation: str, ended_turn: bool) -> list[int]:
        """`text(...)` tokenized alone: never together with the sampled tokens before it."""
        return list(self.tokenizer(self.text(observation, ended_turn), add_special_tokens=False)["input_ids"])


class Episode:
    """One episode's tokens, loss mask, logprobs and counts, turn by turn. `ids` is what the engine gets next."""

    def __init__(self, messages: list[dict[str, str]], renderer: ObservationRenderer, *, strict: bool = True,
                 retokenize: bool = False) -> None:
        tok = renderer.tokenizer
        self.renderer, self.strict, self.retokenize = renderer, strict, retokenize
        self.messages = [dict(m) for m in messages]
        self.first_messages = len(self.messages)
        self.prompt_text = tok.apply_chat_template(self.messages, tokenize=False, add_generation_prompt=True)
        self.prompt_ids = list(tok(self.prompt_text, add_special_tokens=False)["input_ids"])
        self.ids = list(self.prompt_ids)  # prompt + every turn so far: the next engine input
        self.completion_ids: list[int] = []
        self.logprobs: list[float] = []
        self.loss_mask: list[int] = []
        self.turn_texts: list[str] = []
        self.turns = self.drift_events = self.obs_tokens = 0
        self.rewards: list[float] = []
        self.done, self.end = False, ""
        self._last: list[int] | None = None  # the ids after the previous model turn (prompt + sampled)

    def add_turn(self, engine_prompt_ids: list[int], token_ids: list[int], logprobs: list[float], text: str) -> None:
        """Record a sampled turn: `engine_prompt_ids` are the ids the engine reports it continued."""
        if self._last is not None and not prefix_holds(self._last, list(engine_prompt_ids)):
            self.drift_events += 1
            if self.strict:
                at = next((i for i, (a, b) in enumerate(zip(self._last, engine_prompt_ids, strict=False)) if a != b),
                          min(len(self._last), len(engine_prompt_ids)))
                raise DriftError(f"turn {self.turns + 1}: the engine's prompt does not extend turn {self.turns}'s "
                                 f"ids (first difference at token {at} of {len(self._last)})")
        self.turns += 1
        self.completion_ids += token_ids  # (the retokenize peer keeps only `ids` right: it is never trained on)
        self.logprobs += list(logprobs)
        self.loss_mask += [1] * len(token_ids)
        self.ids = list(engine_prompt_ids) + list(token_ids)
        self._last = list(self.ids)
        self.turn_texts.append(text)
        self.messages.append({"role": "assistant", "content": text})

    def add_observation(self, observation: str) -> None:
        """Append an observation after the last turn (rendered with the template's delimiters, tokenized alone)."""
        ended = bool(self.ids) and self.ids[-1] in self.renderer.eos_ids
        self.messages.append({"role": self.renderer.role, "content": observation})
        if self.retokenize:  # the peer: re-render and re-tokenize the whole conversation
            tok = self.renderer.tokenizer
            text = tok.apply_chat_template(self.messages, tokenize=False, add_generation_prompt=True)
            self.ids = list(tok(text, add_special_tokens=False)["input_ids"])
            return
        obs = self.renderer.ids(observation, ended)
        self.obs_tokens += len(obs)
        self.completion_ids += obs
        self.logprobs += [0.0] * len(obs)
        self.loss_mask += [0] * len(obs)
        self.ids += obs

    def finish(self, end: str) -> None:
        self.done, self.end = True, end

    def summary(self) -> dict[str, Any]:
        """The counts a `Completion.episode` carries (the tool counts are added by the runner)."""
        return {"turns": self.turns, "obs_tokens": self.obs_tokens, "drift_events": self.drift_events,
                "env_reward": sum(self.rewards), "end": self.end, "messages": self.messages[self.first_messages:]}
