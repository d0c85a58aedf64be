"""scripts/train_result.py: a run folder's first and last eval lines -> results/train_<config>.json.

The summary reports the config's first (correctness) verifier, not the weighted total, with each mean's
standard error; `rlvr.health.signals.mean_se` is the standard error those eval lines carry.
"""

import importlib.util
import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr.health.signals import mean_se


def stderr(values):
    return mean_se(values)[1]


ROOT = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location("train_result", ROOT / "scripts" / "train_result.py")
train_result = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_result)


def eval_line(step, math_vals, fmt_vals):
    total = [m + 0.2 * f for m, f in zip(math_vals, fmt_vals, strict=True)]
    return {"step": step, "eval_reward": sum(total) / len(total), "eval_reward_se": stderr(total),
            "eval_n": len(total), "eval_s": 30.0,
            "eval_reward_math": sum(math_vals) / len(math_vals), "eval_reward_math_se": stderr(math_vals),
            "eval_reward_format": sum(fmt_vals) / len(fmt_vals), "eval_reward_format_se": stderr(fmt_vals)}


def make_run(tmp_path, lines, config_name="config.resolved.yaml"):
    """A run folder; its resolved config as today's runs save it (YAML) or as older runs did (JSON)."""
    run = tmp_path / "gsm"
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    cfg = {"model": {"path": "embedded:smollm2-135m-instruct"},
           "rewards": {"verifiers": [{"name": "math", "weight": 1.0}, {"name": "format", "weight": 0.2}]}}
    # JSON is YAML: the same text serves both names
    (run / config_name).write_text(json.dumps(cfg))
    return run


def test_summary_reports_the_correctness_verifier_with_se(tmp_path):
    before = eval_line(0, [1, 0, 0, 0], [0, 0, 1, 0])
    after = eval_line(2, [1, 1, 0, 0], [1, 1, 1, 1])
    steps = [{"step": s, "reward_mean": 0.1 * s, "step_s": 60.0, "groups_dropped_frac": 0.5} for s in (1, 2)]
    run = make_run(tmp_path, [before, steps[0], steps[1], after])
    out = train_result.summarise(run)
    assert out["metric"] == "eval_reward_math"            # not the weighted total, which format inflates
    assert (out["before"], out["after"], out["heldout_n"], out["steps"]) == (0.25, 0.5, 4, 2)
    assert out["stderr"]["before"] == pytest.approx(0.25)  # sample std 0.5 / sqrt(4)
    assert out["delta_se"] == pytest.approx(math.hypot(out["stderr"]["before"], out["stderr"]["after"]))
    assert sorted(out["components"]) == ["format", "math"]
    assert out["components"]["format"]["after"] == 1.0 and out["components"]["format"]["stderr"]["after"] == 0.0
    assert out["minutes"] == pytest.approx((2 * 60 + 2 * 30) / 60, abs=0.05)


@pytest.mark.parametrize("config_name", ["config.resolved.yaml", "config.resolved.json"])
def test_summary_reads_the_saved_config_of_new_and_old_runs(tmp_path, config_name):
    run = make_run(tmp_path, [eval_line(0, [0, 0], [0, 1]), eval_line(1, [1, 0], [1, 1])], config_name)
    out = train_result.summarise(run)
    assert (out["model"], out["metric"], out["after"]) == ("embedded:smollm2-135m-instruct", "eval_reward_math", 0.5)


def test_summary_refuses_a_run_without_its_config(tmp_path):
    run = make_run(tmp_path, [eval_line(0, [0, 0], [0, 1]), eval_line(1, [1, 0], [1, 1])])
    (run / "config.resolved.yaml").unlink()
    with pytest.raises(SystemExit, match="no resolved config"):
        train_result.summarise(run)


def test_summary_refuses_a_run_without_before_and_after(tmp_path):
    run = make_run(tmp_path, [eval_line(0, [1, 0], [1, 1])])
    with pytest.raises(SystemExit, match="before and an after"):
        train_result.summarise(run)


def test_summary_refuses_eval_lines_without_se(tmp_path):
    lines = [eval_line(0, [1, 0], [1, 1]), eval_line(1, [1, 1], [1, 1])]
    for x in lines:
        del x["eval_reward_math_se"]
    with pytest.raises(SystemExit, match="stderr"):
        train_result.summarise(make_run(tmp_path, lines))


@given(st.lists(st.floats(0, 1), min_size=2, max_size=50))
def test_se_is_sample_std_over_sqrt_n(vals):
    n, mean = len(vals), sum(vals) / len(vals)
    want = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1) / n)
    assert stderr(vals) == pytest.approx(want, abs=1e-12)
    assert stderr(vals[:1]) == 0.0


@pytest.mark.parametrize("path", sorted((ROOT / "results").glob("train_*.json")), ids=lambda p: p.name)
def test_committed_results_name_their_run(path):
    res = json.loads(path.read_text())
    for key in ("config", "model", "steps", "minutes", "heldout_n", "before", "after", "stderr", "command"):
        assert key in res, f"{path.name} lacks {key}"
    assert res["heldout_n"] >= 100
    assert (ROOT / "configs" / f"{res['config']}.yaml").exists()


def test_from_run_records_the_note_and_no_load_of_its_own(tmp_path):
    run = make_run(tmp_path, [eval_line(0, [0, 0], [0, 1]), eval_line(1, [1, 0], [1, 1])])
    out = tmp_path / "train_gsm.json"
    rc = train_result.main(["configs/gsm.yaml", "--from-run", str(run), "--out", str(out),
                            "--command", "python -m rlvr.run gsm", "--note", "load 5-9"])
    res = json.loads(out.read_text())
    assert rc == 0 and res["config"] == "gsm" and res["note"] == "load 5-9"
    assert res["command"] == "python -m rlvr.run gsm"
    assert res["machine"]["load"] is None  # the load at summary time says nothing about the run


def write_items(run, step, math_vals, fmt_vals, ids=None):
    items = [{"id": (ids or list(range(len(math_vals))))[i], "reward": m + 0.2 * f,
              "components": {"math": m, "format": f}, "text": "..."}
             for i, (m, f) in enumerate(zip(math_vals, fmt_vals, strict=True))]
    with open(run / "eval_items.jsonl", "a") as fh:
        fh.write(json.dumps({"step": step, "split": "eval", "items": items}) + "\n")
        fh.write(json.dumps({"step": step, "split": "regression", "items": items[:1]}) + "\n")


def test_paired_delta_is_item_by_item_on_the_correctness_verifier(tmp_path):
    before_m, after_m = [1, 1, 1, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 0, 0, 0]
    run = make_run(tmp_path, [eval_line(0, before_m, [0] * 8), eval_line(3, after_m, [1] * 8)])
    write_items(run, 0, before_m, [0] * 8)
    write_items(run, 3, after_m, [1] * 8)  # format moved on every item: it must not count
    p = train_result.summarise(run)["paired"]
    diffs = [a - b for a, b in zip(after_m, before_m, strict=True)]
    assert (p["n"], p["improved"], p["worsened"]) == (8, 2, 1)
    assert p["delta"] == pytest.approx(1 / 8)
    assert p["se"] == pytest.approx(stderr(diffs))
    # unpaired is looser here: the items that did not move carry no noise in the paired error
    assert p["se"] < train_result.summarise(run)["delta_se"]


def test_paired_delta_is_none_without_items_or_when_the_items_differ(tmp_path):
    run = make_run(tmp_path, [eval_line(0, [1, 0], [0, 0]), eval_line(2, [1, 1], [0, 0])])
    assert train_result.summarise(run)["paired"] is None
    write_items(run, 0, [1, 0], [0, 0], ids=["a", "b"])
    write_items(run, 2, [1, 1], [0, 0], ids=["a", "c"])
    assert train_result.summarise(run)["paired"] is None
