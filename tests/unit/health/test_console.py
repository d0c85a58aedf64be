"""The console's lines: one per step, eval lines with errors, warnings, the summary table; logs routed to a file."""

import subprocess
import sys
import textwrap

from rlvr.health.console import eval_line, step_line, summary_lines, warning_line
from rlvr.health.monitors import Finding

STEP = {"step": 3, "reward_mean": 0.094, "reward_math_mean": 0.0, "reward_format_mean": 0.469,
        "completion_len_mean": 37.6, "health/trunc_frac": 0.03, "gen_s": 9.93, "seconds": 18.4, "sync_s": 0.1,
        "step_s": 28.6, "reward_std": 0.1}
EVAL0 = {"step": 0, "eval_reward": 0.284, "eval_reward_se": 0.05, "eval_reward_math": 0.219,
         "eval_reward_math_se": 0.052, "eval_reward_format": 0.328, "eval_reward_format_se": 0.059, "eval_s": 17.9,
         "regression_reward": 0.5, "regression_reward_se": 0.09}
EVAL16 = {**EVAL0, "step": 16, "eval_reward": 0.638, "eval_reward_math": 0.438, "eval_reward_format": 1.0,
          "eval_reward_format_se": 0.0, "regression_reward": 0.25}


def test_step_line_carries_reward_components_length_and_times():
    line = step_line(STEP, 16)
    assert line.startswith("step  3/16  reward 0.094 (math 0.000 format 0.469)")
    assert "len 38 trunc 3%" in line and "gen 9.9s train 18.4s sync 0.1s = 28.6s" in line
    assert "\n" not in line and "!" not in line
    assert step_line(STEP, 16, ["dominance"]).endswith("! dominance")


def test_eval_line_has_standard_errors_and_the_regression_set():
    line = eval_line(EVAL0, 64)
    assert "held-out 0.284 ± 0.050 (math 0.219 format 0.328; 64 prompts)" in line
    assert "regression set 0.500 ± 0.090" in line


def test_summary_table_before_after_per_component_and_monitors():
    f = Finding("dominance", 6, 0.1, 0.33, "reward hacking? format gained")
    lines = summary_lines([EVAL0, STEP, EVAL16], [f], "runs/math")
    text = "\n".join(lines)
    assert "before (step 0)" in text and "after (step 16)" in text
    row = next(x for x in lines if x.startswith("math"))
    assert "0.219 ± 0.052" in row and "0.438 ± 0.052" in row
    assert any(x.startswith("regression set") and "0.250" in x for x in lines)
    assert "monitors fired: 1" in text and warning_line(f) in text
    assert lines[-1].startswith("outputs: runs/math/")
    assert "monitors fired: none" in "\n".join(summary_lines([EVAL0], [], "o"))


def test_route_logs_sends_fd_output_to_the_file_and_says_lines_on_the_console(tmp_path):
    code = textwrap.dedent(f"""
        import logging, os, subprocess, sys
        from rlvr.health.console import route_logs
        logging.basicConfig()  # as rlvr.run.main does
        r = route_logs({str(tmp_path / 'run.log')!r})
        print("noise from python")
        os.write(2, b"noise on fd 2\\n")
        subprocess.run([sys.executable, "-c", "print('noise from a child')"])
        logging.getLogger("vllm").warning("a warning")
        logging.getLogger("rlvr").error("an error")
        r.say("[rlvr] a line for the person")
        r.restore()
        print("after restore")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["[rlvr] a line for the person", "after restore"]
    assert "an error" in proc.stderr and "a warning" not in proc.stderr  # errors still reach the person
    log = (tmp_path / "run.log").read_text()
    for noise in ("noise from python", "noise on fd 2", "noise from a child", "a warning"):
        assert noise in log
