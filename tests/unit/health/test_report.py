"""`python -m rlvr.report RUN_DIR` rebuilds report.md + PNGs from metrics.jsonl, for a finished and a crashed run."""

import json
import subprocess
import sys

from rlvr.config import load_config
from rlvr.health.report import build, replay


def write_run(folder, steps=8, torn=False, config=True):
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"step": 0, "eval_reward": 0.3, "eval_reward_se": 0.05, "eval_reward_math": 0.2, "eval_reward_format": 0.3,
             "regression_reward": 0.6, "regression_reward_se": 0.05}]
    for s in range(1, steps + 1):
        fmt = 0.3 if s <= 3 else 1.0  # format climbs while math stays flat: dominance fires
        rows.append({"step": s, "reward_mean": 0.2 + 0.2 * fmt, "reward_math_mean": 0.2, "reward_format_mean": fmt,
                     "completion_len_mean": 40.0, "completion_len_max": 64, "health/trunc_frac": 0.1,
                     "health/copy_frac": 0.0, "health/identical_frac": 0.1, "health/zero_var_frac": 0.2,
                     "health/paid_truncated_frac": 0.0, "health/entropy": 0.7,
                     "health/pay/math/correct:boxed": 1.0, "gen_s": 10.0, "reward_s": 0.01, "seconds": 18.0,
                     "sync_s": 0.1, "step_s": 28.0, "sync_max_diff": 0.4, "mismatch_kl": 0.001})
    rows.append({"step": steps, "eval_reward": 0.5, "eval_reward_se": 0.05, "eval_reward_math": 0.2,
                 "eval_reward_format": 1.0, "regression_reward": 0.2, "regression_reward_se": 0.05})
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if torn:  # a crash mid-write: the last line is cut
        text += json.dumps(rows[-2])[:40]
    (folder / "metrics.jsonl").write_text(text)
    if config:
        cfg = load_config(None, [f"run.steps={steps}", "rewards.verifiers=[{name: math}, {name: format, weight: 0.2}]"])
        (folder / "config.resolved.json").write_text(json.dumps(cfg.to_dict()))
    pairs = [{"prompt": "p", "chosen": f"\\boxed{{{s}}}", "rejected": "no | pipe", "chosen_reward": 1.2,
              "rejected_reward": 0.0, "step": s} for s in range(1, steps + 1)]
    (folder / "dpo_pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    return rows


def test_report_of_a_finished_run(tmp_path):
    write_run(tmp_path / "run")
    md = build(tmp_path / "run").read_text()
    assert "8 train steps logged (last step 8 of 8); finished." in md
    assert "| dominance | 6 | reward hacking?" in md
    assert "| regression | 8 | capability regression: the regression set fell 0.600 -> 0.200" in md
    assert "| prompt_copy | - | quiet |" in md
    assert "| math/correct:boxed | 100% | 100% |" in md
    for png in ("reward", "heldout", "lengths", "health", "sync", "time"):
        assert f"(report/{png}.png)" in md
        assert (tmp_path / "run" / "report" / f"{png}.png").stat().st_size > 1000
    assert "| 8 | \\boxed{8} (1.20) | no \\| pipe (0.00) |" in md


def test_report_of_a_crashed_run_with_a_torn_line_and_no_config(tmp_path):
    write_run(tmp_path / "run", steps=5, torn=True, config=False)
    md = build(tmp_path / "run").read_text()
    assert "1 torn line(s) in metrics.jsonl were skipped" in md and "unfinished" in md
    assert "No saved config" in md


def test_cli_rebuilds_and_refuses_a_folder_without_metrics(tmp_path):
    write_run(tmp_path / "run", steps=4)
    proc = subprocess.run([sys.executable, "-m", "rlvr.report", str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("report.md")
    bad = subprocess.run([sys.executable, "-m", "rlvr.report", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no metrics.jsonl" in bad.stderr


def test_replay_fires_like_the_watch_did(tmp_path):
    rows = write_run(tmp_path / "run")
    from rlvr.config import HealthConfig

    fired = replay(rows, HealthConfig(), {"math": 1.0, "format": 0.2})
    assert [(f.monitor, f.step) for f in fired] == [("dominance", 6), ("regression", 8)]
