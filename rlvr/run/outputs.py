"""What a run leaves in its output folder: metrics, TensorBoard scalars, a reward curve, DPO pairs.

- `metrics.jsonl`: JSON objects tagged with their step (`{"step": 3, "reward_mean": 0.4, ...}`; an eval
  may add a second line for the same step), flushed line by line so a crashed run keeps what it
  logged; on resume, lines after the resumed step are cut.
- `tb/`: the same numbers as TensorBoard scalars (events past the resumed step are purged).
- `reward_curve.png`: train reward mean per step and eval reward points (`plot_reward_curve`).
- `eval_items.jsonl`: per evaluation, one line `{"step", "split", "items": [{"id", "reward", "components",
  "text"}]}` in the held-out rows' fixed order, so two evaluations of one run compare item by item (a paired
  standard error: `scripts/train_result.py`) and a reader sees what the model wrote.
- `dpo_pairs.jsonl`: per group, the best and worst completion when their rewards differ, in TRL's
  preference format `{"prompt", "chosen", "rejected"}` plus both rewards and the step: the same
  rollouts can later train a DPO model.

Metric names are the caller's; the plot reads `TRAIN_REWARD_KEY` and `EVAL_REWARD_KEY`.
The folder's file names are the constants below (`ALL`). What this module does NOT do: checkpoints
(`rlvr.run.checkpoint`), the folder's rules (`rlvr.run.folder`) or deciding what to log (the run loop).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ADAPTER", "ALL", "CHECKPOINTS", "CONFIG", "DPO_PAIRS", "EVAL_ITEMS", "MEMORY", "METRICS", "REPORT", "REPORT_DIR",
    "REWARD_CURVE", "RUN_LOG", "TENSORBOARD",
    "EVAL_REWARD_KEY", "TRAIN_REWARD_KEY", "DpoPairWriter", "EvalItemWriter", "MetricsWriter", "flat_record", "plot_reward_curve",
    "read_jsonl",
]

# The run folder's layout, in one place (`rlvr.run.folder` removes exactly these on --overwrite).
METRICS = "metrics.jsonl"
TENSORBOARD = "tb"
REWARD_CURVE = "reward_curve.png"
DPO_PAIRS = "dpo_pairs.jsonl"
EVAL_ITEMS = "eval_items.jsonl"  # each evaluation's per-item rewards and texts
ADAPTER = "adapter"              # the final peft adapter (written by the learner)
CHECKPOINTS = "checkpoints"      # `rlvr.run.checkpoint`'s folder
CONFIG = "config.resolved.yaml"  # the run's resolved config (`rlvr.run.folder.start`; copied into checkpoints)
MEMORY = "memory.json"           # the job's peak memory (`rlvr.run.memwatch`)
REPORT = "report.md"             # the health report (`rlvr.health.report`)
REPORT_DIR = "report"            # its figures and examples
RUN_LOG = "run.log"              # the full log (the console shows only what a person needs; `rlvr.run.cli`)
ALL = (CHECKPOINTS, METRICS, DPO_PAIRS, EVAL_ITEMS, TENSORBOARD, ADAPTER, REWARD_CURVE, CONFIG, MEMORY, REPORT, REPORT_DIR,
       RUN_LOG)

TRAIN_REWARD_KEY = "reward_mean"
EVAL_REWARD_KEY = "eval_reward"


def flat_record(metrics: Mapping[str, Any], step: int | None = None) -> dict:
    """The line `MetricsWriter.write` would write: `{"step", ...}` with nested dicts flattened to `a/b` keys
    (`{"health": {"entropy": 1.2}}` -> `"health/entropy"`) and values made JSON-safe."""
    if step is None:
        if "step" not in metrics:
            raise ValueError("metrics need a 'step' (in the dict or as the step argument)")
        step = metrics["step"]
    flat = {k: _json_safe(v) for k, v in _flatten(metrics).items() if k != "step"}
    return {"step": int(step), **flat}


def read_jsonl(path: str | Path) -> list[dict]:
    """All JSON lines of a file (a torn last line from a crash is skipped)."""
    rows = []
    with open(path) as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def _open_for_append(path: Path, resume_step: int | None):
    """Start the file afresh, or keep the lines with step <= resume_step and append after them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if resume_step is None or not path.exists():
        return open(path, "w")
    kept = [row for row in read_jsonl(path) if row.get("step", math.inf) <= resume_step]
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("".join(json.dumps(row) + "\n" for row in kept))
    os.replace(tmp, path)
    return open(path, "a")


def _flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "/"))
        else:
            out[name] = value
    return out


def _json_safe(value: Any) -> Any:
    """NaN/inf become null so the file stays strict JSON; tensors and numpy scalars become floats."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsWriter:
    """Append one metrics line per step to `output_dir/metrics.jsonl` and mirror numbers to TensorBoard.

    `resume_step=None` starts both afresh; otherwise lines and events after `resume_step` are dropped.
    Nested dicts are flattened to `a/b` keys.
    """

    def __init__(self, output_dir: str | Path, resume_step: int | None = None, tensorboard: bool = True):
        self.path = Path(output_dir) / METRICS
        self._file = _open_for_append(self.path, resume_step)
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            purge = None if resume_step is None else resume_step + 1
            self._tb = SummaryWriter(log_dir=str(Path(output_dir) / TENSORBOARD), purge_step=purge)

    def write(self, metrics: Mapping[str, Any], step: int | None = None) -> dict:
        """Log `metrics` for `step` (default: `metrics["step"]`); returns the flat record written."""
        record = flat_record(metrics, step)
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, int | float) and not isinstance(value, bool):
                    self._tb.add_scalar(key, value, global_step=record["step"])
            self._tb.flush()
        return record

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def plot_reward_curve(metrics_path: str | Path, png_path: str | Path, train_key: str = TRAIN_REWARD_KEY,
                      eval_key: str = EVAL_REWARD_KEY) -> Path:
    """Draw the train reward mean per step (line) and eval rewards (points) from metrics.jsonl to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_jsonl(metrics_path)
    train = [(r["step"], r[train_key]) for r in rows if r.get(train_key) is not None]
    evals = [(r["step"], r[eval_key]) for r in rows if r.get(eval_key) is not None]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        ax.plot(*zip(*train, strict=True), label="train reward (mean)", color="tab:blue")
    if evals:
        ax.plot(*zip(*evals, strict=True), "o--", label="eval reward", color="tab:orange")
    ax.set_xlabel("step")
    ax.set_ylabel("reward")
    ax.grid(alpha=0.3)
    if train or evals:
        ax.legend()
    ax.set_title(Path(metrics_path).parent.name or "reward")
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, bbox_inches="tight")
    plt.close(fig)
    return png_path


def _pair_side(c: Any) -> str | list[dict]:
    """A completion's text, or an episode's messages after its prompt."""
    if isinstance(c, str):
        return c
    episode = getattr(c, "episode", None)
    return list(episode["messages"]) if episode else c.text


class _JsonlAppender:
    """One JSON object a line, appended to a file of the run folder and flushed at once (a crash keeps what was
    written); on resume, lines past the resumed step are cut first."""

    def __init__(self, output_dir: str | Path, name: str, resume_step: int | None):
        self.path = Path(output_dir) / name
        self._file = _open_for_append(self.path, resume_step)

    def _append(self, obj: dict) -> None:
        self._file.write(json.dumps(obj) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DpoPairWriter(_JsonlAppender):
    """Append the best and worst completion of each group to `output_dir/dpo_pairs.jsonl` (TRL format)."""

    def __init__(self, output_dir: str | Path, resume_step: int | None = None):
        super().__init__(output_dir, DPO_PAIRS, resume_step)

    def add_group(self, step: int, prompt: str, completions: Sequence[str | list], rewards: Sequence[float]) -> bool:
        """Write one pair if the group's rewards differ; True if written. Ties go to the first sample."""
        if len(completions) != len(rewards) or not completions:
            raise ValueError(f"{len(completions)} completions but {len(rewards)} rewards")
        best = max(range(len(rewards)), key=lambda i: rewards[i])
        worst = min(range(len(rewards)), key=lambda i: rewards[i])
        if not rewards[best] > rewards[worst]:
            return False
        pair = {"prompt": prompt, "chosen": completions[best], "rejected": completions[worst],
                "chosen_reward": float(rewards[best]), "rejected_reward": float(rewards[worst]),
                "step": int(step)}
        self._append(pair)
        return True

    def write(self, step: int, groups: Iterable[Any]) -> int:
        """`add_group` for each group object with `.prompt`, `.completions` (str or objects with `.text`)
        and `.rewards`, e.g. the run loop's `rlvr.types.Group`s; returns the number of pairs written. A
        completion whose reward is None (not applicable) is neither chosen nor rejected. A multi-turn episode
        is written whole, as TRL's conversational format: its messages after the prompt (model and environment)."""
        written = 0
        for g in groups:
            pairs = [(_pair_side(c), r) for c, r in zip(g.completions, g.rewards, strict=True) if r is not None]
            if pairs:
                written += self.add_group(step, g.prompt, [t for t, _ in pairs], [r for _, r in pairs])
        return written


class EvalItemWriter(_JsonlAppender):
    """Append each evaluation's items to `output_dir/eval_items.jsonl`: one line per (step, split) with every
    held-out completion's id, reward (None: not applicable), per-verifier rewards and text (cut at
    `max_text` characters), in the rows' order."""

    def __init__(self, output_dir: str | Path, resume_step: int | None = None, max_text: int = 4000):
        super().__init__(output_dir, EVAL_ITEMS, resume_step)
        self.max_text = max_text

    def write(self, step: int, split: str, groups: Sequence[Any]) -> None:
        items = [{"id": g.row.get("id", i), "reward": c.reward, "components": dict(c.components),
                  "text": c.text[: self.max_text]}
                 for i, g in enumerate(groups) for c in g.completions]
        self._append({"step": int(step), "split": split, "items": items})
