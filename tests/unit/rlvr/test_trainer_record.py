"""`Trainer._record` without actors: a metrics line every `run.log_every` steps and at the last, DPO pairs every
step, means over the completions a verifier applied to."""

from types import SimpleNamespace

import pytest

from rlvr.config import load_config
from rlvr.run.outputs import DpoPairWriter, MetricsWriter, read_jsonl
from rlvr.run.trainer import Trainer
from rlvr.types import Completion, Group


def groups(step: int) -> list[Group]:
    comps = [Completion(token_ids=[1] * (i + 1), logprobs=[0.0] * (i + 1), text=f"{step}-{i}", finish_reason="stop",
                        reward=r, components={} if r is None else {"math": r}, reason="")
             for i, r in enumerate([1.0, 0.0, None])]
    return [Group(prompt_ids=[1], completions=comps, row={"prompt": "p"})]


def test_metrics_every_log_every_steps_and_the_last_pairs_every_step(tmp_path):
    cfg = load_config("smoke", [f"run.output_dir={tmp_path}", "run.steps=5", "run.log_every=2"])
    trainer = Trainer(cfg, job=None)
    trainer.metrics = MetricsWriter(tmp_path, tensorboard=False)
    trainer.pairs = DpoPairWriter(tmp_path)
    trainer.actors = SimpleNamespace(fleet=SimpleNamespace(restarts=0))
    trainer._bar = SimpleNamespace(set_postfix=lambda **kw: None)
    for step in range(1, 6):
        trainer.step = step
        trainer._record(groups(step), {"loss": 0.1}, {"sync_s": 0.0}, 0.0, 1.0, 0.5, 2.0)
    trainer._close_files()
    lines = read_jsonl(tmp_path / "metrics.jsonl")
    assert [line["step"] for line in lines] == [2, 4, 5]
    assert all(line["reward_mean"] == 0.5 and line["reward_not_applicable_frac"] == pytest.approx(1 / 3) for line in lines)
    assert all(line["reward_math_mean"] == 0.5 for line in lines)
    assert len(read_jsonl(tmp_path / "dpo_pairs.jsonl")) == 5
