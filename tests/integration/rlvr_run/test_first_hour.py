"""A user's mistakes through `python -m rlvr.run`'s `main`: each is one line on stderr, exit code 2, no
traceback, and nothing expensive started (`prepare` is made to fail the test where the mistake must be
caught before it). Also: the command line in any order, --print-config, --dry-run, a finished run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.config import load_config
from rlvr.run import checkpoint
from rlvr.run import cli as run
from rlvr.run import folder as run_folder


def _no_prepare(monkeypatch):
    def fail(cfg):
        raise AssertionError("prepare ran: the mistake was not caught first")

    monkeypatch.setattr(run, "prepare", fail)


def one_line_error(capsys, *argv) -> str:
    assert run.main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("rlvr: error: ")
    assert len(err.strip().splitlines()) == 1, err
    return err


def _fake_run(out, step, adapter=False, *overrides):
    cfg = load_config("smoke", [f"run.output_dir={out}", *overrides])
    run_folder.start(cfg, run_folder.plan(cfg))
    (out / "metrics.jsonl").write_text('{"step": 1}\n')
    checkpoint.save(out, step, {"stream": {}}, lambda d: __import__("os").mkdir(d))
    if adapter:
        (out / "adapter").mkdir()


def test_parse_args_takes_resume_and_overrides_in_any_order():
    a = run.parse_args(["--resume", "run.steps=5", "smoke", "learner.lr=0.1"])
    assert (a.config, a.resume, sorted(a.overrides)) == ("smoke", True, ["learner.lr=0.1", "run.steps=5"])
    a = run.parse_args(["smoke", "--resume", "runs/x", "run.steps=5", "--overwrite"])
    assert (a.config, a.resume, a.overrides, a.overwrite) == ("smoke", "runs/x", ["run.steps=5"], True)
    a = run.parse_args(["--resume", "smoke", "run.steps=5"])  # a config name, not a folder
    assert (a.config, a.resume, a.overrides) == ("smoke", True, ["run.steps=5"])
    a = run.parse_args(["--resume", "runs/x", "run.steps=5"])
    assert (a.config, a.resume, a.overrides) == (None, "runs/x", ["run.steps=5"])


@settings(max_examples=60, deadline=None)
@given(st.permutations(["smoke", "run.steps=5", "learner.lr=0.1", "--resume", "--dry-run"]))
def test_any_order_of_config_overrides_and_flags_parses_the_same(argv):
    a = run.parse_args(list(argv))
    assert (a.config, a.resume, a.dry_run) == ("smoke", True, True)
    assert sorted(a.overrides) == ["learner.lr=0.1", "run.steps=5"]


def test_an_existing_run_is_refused(tmp_path, capsys, monkeypatch):
    _no_prepare(monkeypatch)
    _fake_run(tmp_path, 2)
    err = one_line_error(capsys, "smoke", f"run.output_dir={tmp_path}")
    assert "already holds a run (checkpoint at step 2): pass --resume" in err
    assert (tmp_path / "checkpoints" / "step-000002").is_dir() and (tmp_path / "metrics.jsonl").read_text()


def test_resume_with_a_changed_config_is_refused_before_anything_starts(tmp_path, capsys, monkeypatch):
    _no_prepare(monkeypatch)
    _fake_run(tmp_path, 2)
    err = one_line_error(capsys, "--resume", str(tmp_path), "data.prompts_per_step=2", "smoke")
    assert "data.prompts_per_step (4 -> 2)" in err


def test_a_finished_run_says_so_and_exits_0(tmp_path, capsys, monkeypatch):
    _no_prepare(monkeypatch)
    _fake_run(tmp_path, 3, adapter=True)
    assert run.main(["--resume", str(tmp_path)]) == 0  # the run's own config.resolved.yaml
    assert "already finished at step 3" in capsys.readouterr().out


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    _no_prepare(monkeypatch)
    _fake_run(tmp_path, 2)
    with pytest.raises(run.UserError, match="already holds a run"):
        run.main(["smoke", f"run.output_dir={tmp_path}", "--debug"])


def test_print_config_is_the_resolved_config(tmp_path, capsys, monkeypatch):
    _no_prepare(monkeypatch)
    assert run.main(["--print-config", "smoke", "run.steps=7", f"run.output_dir={tmp_path}/x"]) == 0
    printed = capsys.readouterr().out
    (tmp_path / "c.yaml").write_text(printed)
    assert load_config(tmp_path / "c.yaml") == load_config("smoke", ["run.steps=7", f"run.output_dir={tmp_path}/x"])
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("overrides, needle", [
    (["rewards.verifiers=[{name: math, options: {lastnumber: true}}]"],
     "rewards.verifiers[0]: verifier 'math': unknown option 'lastnumber' (did you mean 'last_number'? "
     "valid: last_number)"),
    (["rewards.verifiers=[{name: tool_call, options: {strict: true}}]"],
     "verifier 'tool_call': unknown option 'strict' (valid: none: it takes no options)"),
    (["rewards.verifiers=[{name: 'no_such_pkg_x.mod:Thing'}]"],
     "cannot import module 'no_such_pkg_x.mod' (No module named 'no_such_pkg_x')"),
    (["rewards.verifiers=[{name: 'json:JSONDecoder'}]"],
     "verifier 'json:JSONDecoder' is type <class 'json.decoder.JSONDecoder'>, not a rewards.Verifier subclass"),
    (["rewards.verifiers=[{name: 'nofile/x.py:V'}]"], "nofile/x.py is not an existing .py file"),
])
def test_verifier_mistakes_are_one_line(tmp_path, capsys, overrides, needle):
    """Verifiers are built first in `prepare`: before the data, the model or any actor."""
    err = one_line_error(capsys, "smoke", f"run.output_dir={tmp_path}/out", *overrides)
    assert needle in err


def test_output_dir_under_a_file_is_one_line(tmp_path, capsys, monkeypatch):
    _no_prepare(monkeypatch)
    (tmp_path / "f").write_text("")
    err = one_line_error(capsys, "smoke", f"run.output_dir={tmp_path}/f/run")
    assert f"cannot be created: {tmp_path}/f is a file, not a folder" in err


def test_plugin_entry_point_to_a_missing_module_or_a_non_verifier(tmp_path, capsys, monkeypatch):
    dist = tmp_path / "fh_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fh-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[rlvr.verifiers]\nfh_gone = fh_gone_mod:V\nfh_notv = json:JSONDecoder\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = f"run.output_dir={tmp_path}/out"
    err = one_line_error(capsys, "smoke", out, "rewards.verifiers=[fh_gone]")
    assert "verifier 'fh_gone' (entry point fh_gone_mod:V, from fh-plugin) cannot be loaded" in err
    assert "No module named 'fh_gone_mod'" in err
    err = one_line_error(capsys, "smoke", out, "rewards.verifiers=[fh_notv]")
    assert "entry point json:JSONDecoder (from fh-plugin) is type" in err and "not a rewards.Verifier" in err


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _data_config(tmp_path, template, rows, verifier="math"):
    data = _jsonl(tmp_path / "rows.jsonl", rows)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(textwrap.dedent(f"""\
        model: {{path: "{tmp_path / 'no-model'}"}}
        data: {{source: jsonl, path: "{data}", eval_size: 1, prompt_template: "{template}"}}
        rewards: {{verifiers: [{verifier}]}}
        run: {{output_dir: "{tmp_path / 'out'}"}}
        """))
    return str(cfg)


def test_prompt_template_naming_a_missing_field_names_file_and_line(tmp_path, capsys):
    rows = [{"question": f"q{i}", "answer": "1", "topic": "t", "id": f"r{i}"} for i in range(4)]
    del rows[2]["topic"]
    err = one_line_error(capsys, _data_config(tmp_path, "{topic}: {question}", rows))
    assert "rows.jsonl: line 3 (id r2): data.prompt_template uses {topic}, which this row lacks" in err


def test_a_row_lacking_a_verifier_field_is_named_by_file_line(tmp_path, capsys):
    rows = [{"question": f"q{i}", "answer": "1", "id": f"r{i}"} for i in range(4)]
    del rows[3]["answer"]
    err = one_line_error(capsys, _data_config(tmp_path, "{question}", rows))
    assert "rows.jsonl: line 4 (id r3): lacks field 'answer', which the verifiers need" in err


def test_code_row_whose_tests_do_not_compile_names_file_line_and_id(tmp_path, capsys):
    rows = [{"question": f"q{i}", "tests": ["assert f() == 1"], "id": f"c{i}"} for i in range(3)]
    rows[1]["tests"] = "def test():\n    assert f( == 1\n"
    err = one_line_error(capsys, _data_config(tmp_path, "{question}", rows, verifier="code"))
    assert "rows.jsonl: line 2 (id c1): field 'tests': does not compile: line 2:" in err


def test_dry_run_checks_everything_and_starts_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main(["smoke", f"run.output_dir={out}", "--dry-run"]) == 0
    assert "pre-flight passed" in capsys.readouterr().out
    assert not out.exists()


def test_saved_config_round_trips(tmp_path):
    cfg = load_config("smoke", [f"run.output_dir={tmp_path}"])
    run_folder.start(cfg, run_folder.plan(cfg))
    assert yaml.safe_load((tmp_path / "config.resolved.yaml").read_text())["run"]["output_dir"] == str(tmp_path)


# -- end to end: custom rewards train; the run folder's rules on a real run ----------------------------------
HERE = Path(__file__).parent
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "RAY_AUTH_MODE": "disabled", "HF_HUB_OFFLINE": "1"}


def run_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlvr.run", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def step_lines(out: Path) -> list[dict]:
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return [x for x in lines if "reward_mean" in x]

CUSTOM = '''\
from rewards import Score, Verifier


class StartsWithDigit(Verifier):
    name = "starts_with_digit"

    def score(self, completion, **row):
        return Score(float(completion.lstrip()[:1].isdigit()), {"reason": "digit"})


def short(prompts, completions, **columns):
    return [1.0 - min(len(c), 64) / 64 for c in completions]
'''


@pytest.mark.slow
def test_custom_rewards_train_and_the_run_folder_rules_hold(tmp_path):
    plugin = tmp_path / "fh_custom_rewards.py"
    plugin.write_text(CUSTOM)
    out = tmp_path / "run"
    verifiers = f"rewards.verifiers=[{{name: '{plugin}:StartsWithDigit'}}, {{name: '{plugin}:short', weight: 0.5}}]"
    args = [str(HERE / "learn.yaml"), f"run.output_dir={out}", "run.steps=2", verifiers]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr[-4000:]
    steps = step_lines(out)
    assert [s["step"] for s in steps] == [1, 2]
    assert all("reward_starts_with_digit_mean" in s and "reward_short_mean" in s for s in steps), steps[0]
    assert all(s["reward_failures"] == 0 for s in steps)
    assert (out / "checkpoints" / "step-000002" / "config.resolved.yaml").is_file()

    again = run_cli(*args, timeout=300)
    assert again.returncode == 2 and "already holds a run (checkpoint at step 2)" in again.stderr
    changed = run_cli("--resume", str(out), "learner.lr=0.5", timeout=300)
    assert changed.returncode == 2 and "learner.lr (0.03 -> 0.5)" in changed.stderr
    assert "starting the learner" not in changed.stdout
    done = run_cli("--resume", str(out), timeout=300)
    assert done.returncode == 0 and "already finished at step 2" in done.stdout, done.stderr
    assert "starting the learner" not in done.stdout
    assert [s["step"] for s in step_lines(out)] == [1, 2]


def test_an_unquoted_template_override_is_one_line_with_the_quoting_fix(tmp_path, capsys, monkeypatch):
    _no_prepare(monkeypatch)
    err = one_line_error(capsys, "smoke", f"run.output_dir={tmp_path}", "data.prompt_template={topic} {question}")
    assert """needs YAML quotes, e.g. data.prompt_template="'{topic} {question}'\"""" in err
    cfg = load_config("smoke", ["data.prompt_template='{topic} {question}'"])  # the fix works
    assert cfg.data.prompt_template == "{topic} {question}"
