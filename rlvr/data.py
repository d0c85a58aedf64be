"""Prompt data: sources, train/eval split, chat formatting and a resumable prompt stream.

A row is a plain dict carrying `question` (the prompt text) and whatever fields the verifiers read:
`answer` (math; tool_call's expected call), `tests`/`entry_point` (code), `schema` (json_schema),
`tools` (tool_call). Rows travel unchanged to the reward workers, so they stay picklable.

Sources:
- reasoning-gym (offline procedural tasks): train and eval come from different seeds, and any train
  question that also appears in eval is dropped, so the held-out set never overlaps the train set;
- JSONL / parquet files read through `datasets`: a fixed seeded shuffle, the first `eval_size` rows
  for eval, the rest for train (again without questions shared with eval).

What this module does NOT do: tokenize for training (the learner), check verifier-specific fields
beyond presence (`validate_rows` with the verifiers' `required_fields`), or download anything.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DataError", "PromptStream", "file_rows", "format_prompt", "load_splits", "reasoning_gym_rows", "validate_rows",
]

_EVAL_SEED_OFFSET = 1_000_003  # eval seed = seed + offset: a different reasoning-gym stream


class DataError(ValueError):
    """Prompt data is missing or malformed; the message names the source and the row."""


# ---------------------------------------------------------------------------------------------- sources


def reasoning_gym_rows(task: str, size: int, seed: int, task_kwargs: Mapping[str, Any] | None = None
                       ) -> list[dict]:
    """`size` rows of a reasoning-gym task: question, answer (str) and the generator's metadata."""
    import reasoning_gym

    try:
        dataset = reasoning_gym.create_dataset(task, size=size, seed=seed, **dict(task_kwargs or {}))
    except Exception as e:  # unknown task names and bad kwargs surface as assorted errors
        raise DataError(f"reasoning-gym task {task!r} with {dict(task_kwargs or {})}: {e}") from e
    return [{"question": item["question"], "answer": str(item["answer"]), "metadata": item.get("metadata", {})}
            for item in dataset]


def file_rows(path: str | Path, source: str = "jsonl") -> list[dict]:
    """All rows of a JSONL or parquet file, read with `datasets`; `prompt` is accepted for `question`.

    Arrow gives every row every column, so a column a row did not have comes back as None; such keys
    are dropped again to give each row only its own fields.
    """
    import datasets

    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    builder = {"jsonl": "json", "json": "json", "parquet": "parquet"}.get(source)
    if builder is None:
        raise DataError(f"unknown file source {source!r} for {path}; use jsonl or parquet")
    try:
        ds = datasets.load_dataset(builder, data_files=str(path), split="train")
    except Exception as e:
        raise DataError(f"cannot read {path} as {source}: {e}") from e
    rows = [{k: v for k, v in row.items() if v is not None} for row in ds.to_list()]
    for i, row in enumerate(rows):
        if "question" not in row and "prompt" in row:
            row["question"] = row["prompt"]
        if not isinstance(row.get("question"), str) or not row["question"]:
            raise DataError(f"{path}: row {i} has no 'question' (or 'prompt') string field; "
                            f"fields: {sorted(row)}")
    return rows


def validate_rows(rows: Sequence[Mapping], required_fields: Iterable[str], source_name: str) -> None:
    """Raise DataError naming the first row (index) and field that is missing or null."""
    required = list(required_fields)
    for i, row in enumerate(rows):
        for name in required:
            if row.get(name) is None:
                raise DataError(f"{source_name}: row {i} lacks required field {name!r} "
                                f"(has: {', '.join(sorted(row))})")


def _without(rows: list[dict], questions: set[str]) -> list[dict]:
    return [row for row in rows if row["question"] not in questions]


def load_splits(data) -> tuple[list[dict], list[dict]]:
    """(train_rows, eval_rows) for a `DataConfig`; eval never shares a question with train."""
    if data.source == "reasoning_gym":
        eval_rows = reasoning_gym_rows(data.task, data.eval_size, data.seed + _EVAL_SEED_OFFSET,
                                       data.task_kwargs) if data.eval_size else []
        held_out = {row["question"] for row in eval_rows}
        # Draw a margin so that dropping eval duplicates still leaves train_size rows on small task spaces.
        train = reasoning_gym_rows(data.task, data.train_size + len(eval_rows), data.seed, data.task_kwargs)
        train = _without(train, held_out)[: data.train_size]
    else:
        rows = file_rows(data.path, data.source)
        order = list(range(len(rows)))
        random.Random(data.seed).shuffle(order)
        eval_rows = [rows[i] for i in order[: data.eval_size]]
        if len(eval_rows) >= len(rows):
            raise DataError(f"{data.path}: eval_size {data.eval_size} leaves no rows to train on "
                            f"({len(rows)} rows)")
        held_out = {row["question"] for row in eval_rows}
        train = _without([rows[i] for i in order[data.eval_size:]], held_out)[: data.train_size]
    if not train:
        raise DataError(f"no training rows left from {data.source} {data.path or data.task}")
    return train, eval_rows


# ----------------------------------------------------------------------------------------------- prompts


def _field_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def format_prompt(tokenizer, question: str, system_prompt: str | None = None,
                  prompt_template: str = "{question}", fields: Mapping[str, Any] | None = None) -> str:
    """The text a sampler continues: the chat template with a generation prompt, or plain text.

    `prompt_template` is filled with `question` and, if given, a row's other `fields` (non-strings as
    JSON, e.g. `{tools}`). A tokenizer without a chat template gets "system\\n\\nuser" as plain text.
    """
    extra = {k: _field_text(v) for k, v in (fields or {}).items() if k != "question"}
    user = prompt_template.format(**extra, question=question)
    if not getattr(tokenizer, "chat_template", None):
        return "\n\n".join(part for part in (system_prompt, user) if part)
    messages = ([{"role": "system", "content": system_prompt}] if system_prompt else [])
    messages.append({"role": "user", "content": user})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


class PromptStream:
    """Batches of rows in deterministic shuffled epochs; `state()` lets a resumed run continue in place.

    Epoch e visits the rows in the order of `random.Random(seed * 1_000_003 + e)`; a batch that
    crosses an epoch boundary takes the rest of one epoch and the start of the next.
    """

    def __init__(self, rows: Sequence[dict], prompts_per_step: int, seed: int = 0):
        if not rows:
            raise DataError("PromptStream needs at least one row")
        if prompts_per_step < 1:
            raise ValueError("prompts_per_step must be >= 1")
        self.rows, self.prompts_per_step, self.seed = list(rows), prompts_per_step, seed
        self.epoch, self.pos = 0, 0
        self._order = self._epoch_order(0)

    def _epoch_order(self, epoch: int) -> list[int]:
        order = list(range(len(self.rows)))
        random.Random(self.seed * 1_000_003 + epoch).shuffle(order)
        return order

    def next_batch(self) -> list[dict]:
        """The next `prompts_per_step` rows (copies, so callers may add fields)."""
        batch = []
        while len(batch) < self.prompts_per_step:
            if self.pos == len(self._order):
                self.epoch, self.pos = self.epoch + 1, 0
                self._order = self._epoch_order(self.epoch)
            batch.append(dict(self.rows[self._order[self.pos]]))
            self.pos += 1
        return batch

    def state(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch, "pos": self.pos, "num_rows": len(self.rows),
                "prompts_per_step": self.prompts_per_step}

    @classmethod
    def from_state(cls, rows: Sequence[dict], state: Mapping[str, Any]) -> PromptStream:
        """Rebuild a stream at a saved position; the rows must be the same ones (checked by count)."""
        stream = cls(rows, state["prompts_per_step"], state["seed"])
        stream.load_state(state)
        return stream

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Move this stream to a saved position (same rows, seed and batch size as when saved)."""
        mine = {"num_rows": len(self.rows), "seed": self.seed, "prompts_per_step": self.prompts_per_step}
        changed = {k: (state[k], v) for k, v in mine.items() if state[k] != v}
        if changed:
            raise DataError(f"saved prompt stream does not match this one (saved, now): {changed}; "
                            "the data or config changed since the checkpoint")
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._order = self._epoch_order(self.epoch)
