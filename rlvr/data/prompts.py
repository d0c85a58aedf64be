"""Prompt data: sources, train/eval split, chat formatting and a resumable prompt stream.

A row is a plain dict carrying `question` (the prompt text) and whatever fields the verifiers read:
`answer` (math; tool_call's expected call), `tests`/`entry_point` (code), `schema` (json_schema),
`tools` (tool_call). Rows travel unchanged to the reward workers, so they stay picklable.

Sources:
- reasoning-gym (offline procedural tasks): train and eval come from different seeds, and any train
  question that also appears in eval is dropped, so the held-out set never overlaps the train set;
- JSONL (read with `json`) / parquet (read with `datasets`) files: a fixed seeded shuffle, the first
  `eval_size` rows for eval, the rest for train (again without questions shared with eval); or, with
  `eval_path`, a fixed held-out file (e.g. HumanEval while training on MBPP).
Shipped task files are built offline by `scripts/build_data.py` (`rlvr.data.sources`) and committed with their
sources and licences in `configs/data/README.md`; nothing here converts or downloads a benchmark.

What this module does NOT do: tokenize for training (the learner), know what a verifier needs (presence
is `validate_rows` with the verifiers' `required_fields`; shapes are `rlvr.data.checks`, passed in as
`check`), or download anything.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
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


def _where(path: Path, index: int, row: Any, jsonl: bool) -> str:
    where = f"{path}: line {index + 1}" if jsonl else f"{path}: row {index}"
    if isinstance(row, dict) and row.get("id") is not None:
        where += f" (id {row['id']})"
    return where


def _read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """(line index, value) for each non-blank line; a line that is not JSON is an error naming it."""
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            try:
                out.append((i, json.loads(line)))
            except ValueError as e:
                raise DataError(f"{path}: line {i + 1} is not JSON: {e}") from None
    return out


def _read_parquet(path: Path) -> list[tuple[int, Any]]:
    import datasets

    try:
        ds = datasets.load_dataset("parquet", data_files=str(path), split="train")
    except Exception as e:
        raise DataError(f"cannot read {path} as parquet: {e}") from e
    # Arrow gives every row every column: a column a row did not have comes back as None, so drop those.
    return [(i, {k: v for k, v in row.items() if v is not None}) for i, row in enumerate(ds.to_list())]


def file_rows(path: str | Path, source: str = "jsonl", check: Callable[[dict], None] | None = None) -> list[dict]:
    """All rows of a JSONL or parquet file; `prompt` is accepted for `question`.

    JSONL is read with `json` (not Arrow, which would merge the nested schemas of different rows), so a
    row comes back exactly as written. `check(row)` (e.g. `data_checks.row_checker`) runs on every row;
    any problem is one DataError naming the file, the line (JSONL) or row (parquet), the row's `id`
    and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    readers = {"jsonl": _read_jsonl, "json": _read_jsonl, "parquet": _read_parquet}
    if source not in readers:
        raise DataError(f"unknown file source {source!r} for {path}; use jsonl or parquet")
    jsonl = source != "parquet"
    rows = []
    for i, row in readers[source](path):
        if not isinstance(row, dict):
            raise DataError(f"{_where(path, i, row, jsonl)}: a row must be a JSON object, got {type(row).__name__}")
        if "question" not in row and "prompt" in row:
            row["question"] = row["prompt"]
        if not isinstance(row.get("question"), str) or not row["question"]:
            raise DataError(f"{_where(path, i, row, jsonl)}: has no 'question' (or 'prompt') string field; "
                            f"fields: {sorted(row)}")
        if check is not None:
            try:
                check(row)
            except ValueError as e:
                raise DataError(f"{_where(path, i, row, jsonl)}: {e}") from None
        rows.append(row)
    if not rows:
        raise DataError(f"{path} has no rows")
    return rows


def validate_rows(rows: Sequence[Mapping], required_fields: Iterable[str], source_name: str) -> None:
    """Raise DataError naming the first row (index, and `id` if it has one) and field that is missing or null."""
    required = list(required_fields)
    for i, row in enumerate(rows):
        for name in required:
            if row.get(name) is None:
                ident = f" (id {row['id']})" if row.get("id") is not None else ""
                raise DataError(f"{source_name}: row {i}{ident} lacks required field {name!r} "
                                f"(has: {', '.join(sorted(row))})")


def _without(rows: list[dict], questions: set[str]) -> list[dict]:
    return [row for row in rows if row["question"] not in questions]


def _shuffled(rows: list[dict], seed: int) -> list[dict]:
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    return [rows[i] for i in order]


def load_splits(data, check: Callable[[dict], None] | None = None) -> tuple[list[dict], list[dict]]:
    """(train_rows, eval_rows) for a `DataConfig`; eval never shares a question with train.

    With `data.eval_path` the held-out rows come from that file (a fixed benchmark split: its first
    `eval_size` rows after a seeded shuffle) and `path` is all training data; otherwise one file is
    shuffled and split. `check` runs on every file row as it is read (see `file_rows`).
    """
    if data.source == "reasoning_gym":
        eval_rows = reasoning_gym_rows(data.task, data.eval_size, data.seed + _EVAL_SEED_OFFSET,
                                       data.task_kwargs) if data.eval_size else []
        held_out = {row["question"] for row in eval_rows}
        # Draw a margin so that dropping eval duplicates still leaves train_size rows on small task spaces.
        train = reasoning_gym_rows(data.task, data.train_size + len(eval_rows), data.seed, data.task_kwargs)
        train = _without(train, held_out)[: data.train_size]
        for i, row in enumerate(eval_rows + train if check else []):
            try:
                check(row)
            except ValueError as e:
                raise DataError(f"reasoning-gym {data.task} row {i}: {e}") from None
    elif data.eval_path:
        eval_rows = _shuffled(file_rows(data.eval_path, data.source, check), data.seed)[: data.eval_size]
        held_out = {row["question"] for row in eval_rows}
        train = _without(_shuffled(file_rows(data.path, data.source, check), data.seed), held_out)
        train = train[: data.train_size]
    else:
        rows = _shuffled(file_rows(data.path, data.source, check), data.seed)
        eval_rows = rows[: data.eval_size]
        if len(eval_rows) >= len(rows):
            raise DataError(f"{data.path}: eval_size {data.eval_size} leaves no rows to train on "
                            f"({len(rows)} rows)")
        held_out = {row["question"] for row in eval_rows}
        train = _without(rows[data.eval_size:], held_out)[: data.train_size]
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
