"""Run outputs: metrics.jsonl (+ resume), TensorBoard scalars, the reward curve PNG, DPO pairs."""

import json
import math
from types import SimpleNamespace

import pytest

from rlvr.run.outputs import DpoPairWriter, MetricsWriter, plot_reward_curve, read_jsonl


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_metrics_lines_are_flushed_per_step(tmp_path):
    writer = MetricsWriter(tmp_path, tensorboard=False)
    writer.write({"step": 1, "reward_mean": 0.25, "nested": {"a": 1}})
    # readable before close: each line is flushed
    assert lines(tmp_path / "metrics.jsonl") == [{"step": 1, "reward_mean": 0.25, "nested/a": 1}]
    writer.write({"loss": float("nan"), "count": 3}, step=2)
    writer.close()
    assert lines(tmp_path / "metrics.jsonl")[1] == {"step": 2, "loss": None, "count": 3}
    with pytest.raises(ValueError, match="step"):
        MetricsWriter(tmp_path / "x", tensorboard=False).write({"reward_mean": 1.0})


def test_metrics_resume_keeps_lines_up_to_the_step(tmp_path):
    with MetricsWriter(tmp_path, tensorboard=False) as w:
        for step in range(1, 6):
            w.write({"step": step, "reward_mean": step / 10})
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 6, "rew')  # a torn line from a crash
    with MetricsWriter(tmp_path, resume_step=3, tensorboard=False) as w:
        w.write({"step": 4, "reward_mean": 0.99})
    assert [(r["step"], r["reward_mean"]) for r in read_jsonl(tmp_path / "metrics.jsonl")] == [
        (1, 0.1), (2, 0.2), (3, 0.3), (4, 0.99)]
    with MetricsWriter(tmp_path, tensorboard=False) as w:  # no resume: a fresh file
        w.write({"step": 1, "reward_mean": 0.0})
    assert len(lines(tmp_path / "metrics.jsonl")) == 1


def test_tensorboard_scalars_are_written(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with MetricsWriter(tmp_path) as w:
        w.write({"step": 1, "reward_mean": 0.5, "name": "text is skipped", "flag": True})
        w.write({"step": 2, "reward_mean": 0.75})
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    assert acc.Tags()["scalars"] == ["reward_mean"]
    assert [(e.step, e.value) for e in acc.Scalars("reward_mean")] == [(1, 0.5), (2, 0.75)]


def test_tensorboard_resume_purges_later_steps(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with MetricsWriter(tmp_path) as w:
        for step in range(1, 6):
            w.write({"step": step, "reward_mean": 0.1})
    with MetricsWriter(tmp_path, resume_step=3) as w:
        w.write({"step": 4, "reward_mean": 0.9})
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    assert [(e.step, round(e.value, 3)) for e in acc.Scalars("reward_mean")] == [
        (1, 0.1), (2, 0.1), (3, 0.1), (4, 0.9)]


def test_reward_curve_png(tmp_path):
    with MetricsWriter(tmp_path, tensorboard=False) as w:
        w.write({"step": 0, "eval_reward": 0.1})
        for step in range(1, 11):
            w.write({"step": step, "reward_mean": math.sin(step) ** 2})
        w.write({"step": 10, "eval_reward": 0.4})
    png = plot_reward_curve(tmp_path / "metrics.jsonl", tmp_path / "plots" / "reward_curve.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_dpo_pairs_pick_best_and_worst(tmp_path):
    with DpoPairWriter(tmp_path) as w:
        assert w.add_group(1, "P", ["a", "b", "c", "d"], [0.2, 1.0, 0.0, 1.0]) is True
        assert w.add_group(1, "Q", ["x", "y"], [0.5, 0.5]) is False  # no preference: no pair
        groups = [SimpleNamespace(prompt="R", completions=[SimpleNamespace(text="good"), SimpleNamespace(text="bad")],
                                  rewards=[1.0, 0.0])]
        assert w.write(2, groups) == 1
    pairs = lines(tmp_path / "dpo_pairs.jsonl")
    assert pairs == [
        {"prompt": "P", "chosen": "b", "rejected": "c", "chosen_reward": 1.0, "rejected_reward": 0.0, "step": 1},
        {"prompt": "R", "chosen": "good", "rejected": "bad", "chosen_reward": 1.0, "rejected_reward": 0.0,
         "step": 2},
    ]
    with pytest.raises(ValueError, match="2 completions but 3 rewards"):
        DpoPairWriter(tmp_path / "y").add_group(1, "P", ["a", "b"], [1, 2, 3])


def test_dpo_pairs_resume(tmp_path):
    with DpoPairWriter(tmp_path) as w:
        for step in range(1, 4):
            w.add_group(step, f"p{step}", ["a", "b"], [1.0, 0.0])
    with DpoPairWriter(tmp_path, resume_step=1) as w:
        w.add_group(2, "again", ["a", "b"], [0.0, 1.0])
    assert [(p["step"], p["prompt"]) for p in lines(tmp_path / "dpo_pairs.jsonl")] == [(1, "p1"), (2, "again")]


def test_dpo_pairs_load_as_a_trl_preference_dataset(tmp_path):
    import datasets

    with DpoPairWriter(tmp_path) as w:
        w.add_group(1, "P", ["a", "b"], [0.0, 1.0])
    ds = datasets.load_dataset("json", data_files=str(tmp_path / "dpo_pairs.jsonl"), split="train")
    assert {"prompt", "chosen", "rejected"} <= set(ds.column_names)


def test_dpo_pairs_leave_out_not_applicable_completions(tmp_path):
    from rlvr.types import Completion, Group

    def comp(text, reward):
        return Completion(token_ids=[1], logprobs=[0.0], text=text, finish_reason="stop", reward=reward)

    groups = [Group([1], [comp("a", None), comp("b", 0.0), comp("c", 1.0)], row={"prompt": "p"}),
              Group([1], [comp("x", None), comp("y", 1.0)], row={"prompt": "q"})]  # one scored: no pair
    with DpoPairWriter(tmp_path) as writer:
        assert writer.write(3, groups) == 1
    pairs = read_jsonl(tmp_path / "dpo_pairs.jsonl")
    assert [(p["prompt"], p["chosen"], p["rejected"]) for p in pairs] == [("p", "c", "b")]
