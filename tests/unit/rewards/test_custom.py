"""Verifiers without packaging: `file.py:Name` and `module:Name` targets (a Verifier class or a TRL-style
function), scored in process and in the RewardPool's worker processes; every mistake is one line."""

from __future__ import annotations

import sys
import textwrap

import pytest

from rewards import Composite, RewardPool, Verifier, make
from rewards.cli import main as cli_main
from rewards.custom import FunctionVerifier, column_fields, travel_check
from rewards.registry import VerifierLoadError, VerifierOptionError

PLUGIN = textwrap.dedent('''\
    from rewards import Score, Verifier

    class Shouty(Verifier):
        name = "shouty"
        required_fields = ("word",)

        def __init__(self, bonus: float = 0.0):
            self.bonus = bonus

        def score(self, completion, **row):
            return Score(float(row["word"].upper() in completion) + self.bonus, {"reason": "shouty"})

    def has_answer(prompts, completions, answer, **kwargs):
        return [None if a == "skip" else float(a in c) for c, a in zip(completions, answer)]

    def sees_prompt(prompts, completions, **kwargs):
        return [float(p in c) for p, c in zip(prompts, completions)]

    square = lambda prompts, completions, **kw: [1.0]
''')


@pytest.fixture
def plugin(tmp_path):
    name = f"fh_plugin_{tmp_path.name.replace('-', '_')}"
    path = tmp_path / f"{name}.py"
    path.write_text(PLUGIN)
    yield path
    sys.modules.pop(name, None)
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def test_a_file_class_builds_with_options_and_scores(plugin):
    v = make(f"{plugin}:Shouty", bonus=0.5)
    assert v.name == "shouty" and v.score("HI there", word="hi").reward == 1.5
    with pytest.raises(VerifierOptionError, match=r"unknown option 'bonsu' \(did you mean 'bonus'\? valid: bonus\)"):
        make(f"{plugin}:Shouty", bonsu=1)


def test_a_trl_function_becomes_a_verifier_with_its_columns_as_fields(plugin):
    v = make(f"{plugin}:has_answer")
    assert isinstance(v, FunctionVerifier) and v.name == "has_answer" and v.required_fields == ("answer",)
    assert v.score("it is 42", answer="42", question="q").reward == 1.0
    assert v.score("it is 42", answer="skip") is None
    p = make(f"{plugin}:sees_prompt")
    assert p.required_fields == () and p.score("say hi", prompt="hi").reward == 1.0
    assert p.score("say q1", question="q1").reward == 1.0  # no formatted prompt: the question stands in
    with pytest.raises(VerifierOptionError, match="reward function and takes no options"):
        make(f"{plugin}:has_answer", strict=True)


def test_file_targets_score_in_the_pool_workers(plugin):
    """The worker processes import the file's module by name: the folder was put on sys.path."""
    comp = Composite([(f"{plugin}:Shouty", 1.0, {}), (f"{plugin}:has_answer", 2.0, {})])
    rows = [{"completion": "HI 4", "word": "hi", "answer": "4"}, {"completion": "no", "word": "hi", "answer": "4"}]
    with RewardPool(workers=1, timeout_s=60) as pool:
        scores = pool.map(comp, rows)
    assert [s.reward for s in scores] == [3.0, 0.0]
    assert all(s.info["reason"] == "composite" for s in scores)


def test_a_module_target_works_like_a_name():
    v = make("rewards.math_answer:MathVerifier", last_number=False)
    assert v.name == "math" and v.score("\\boxed{4}", answer="4").reward == 1.0


def test_what_cannot_travel_to_a_worker_is_refused_with_the_fix(plugin):
    with pytest.raises(VerifierLoadError, match="cannot be sent to a reward worker: verifiers run in worker"):
        make(f"{plugin}:square")  # a lambda

    class Local(Verifier):
        name = "local"

    Local.__module__ = "__main__"
    with pytest.raises(VerifierLoadError, match=r"__main__\..*Local cannot be sent.*define it in a \.py file"):
        travel_check(Local(), "script")


@pytest.mark.parametrize("spec, needle", [
    ("{dir}/missing.py:X", "missing.py is not an existing .py file"),
    ("{plugin}:Nope", "has no 'Nope' (it defines: Score, Shouty, Verifier, has_answer, sees_prompt, square)"),
    ("{plugin}:", "expected 'pkg.module:Name' or 'path/to/file.py:Name'"),
    ("{dir}/bad-name.py:X", "which is not a Python identifier; rename it (e.g. bad_name.py)"),
    ("{dir}/json.py:X", "module name 'json' is already taken by"),
])
def test_load_mistakes_are_one_line(plugin, spec, needle):
    (plugin.parent / "bad-name.py").write_text("")
    (plugin.parent / "json.py").write_text("")
    with pytest.raises(VerifierLoadError) as err:
        make(spec.format(dir=plugin.parent, plugin=plugin))
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_a_file_that_fails_to_import_names_the_error(tmp_path):
    path = tmp_path / "fh_broken_mod.py"
    path.write_text("def f(:\n")
    try:
        with pytest.raises(VerifierLoadError, match="importing 'fh_broken_mod' failed: SyntaxError"):
            make(f"{path}:f")
    finally:
        sys.path.remove(str(tmp_path))


def test_column_fields_skip_trl_arguments_and_defaults():
    def fn(prompts, completions, answer, completion_ids=None, trainer_state=None, *, tests, lang="py", **kw):
        return []

    assert column_fields(fn) == ("answer", "tests")


def test_list_verbose_shows_fields_and_options(capsys):
    assert cli_main(["list", "-v"]) == 0
    out = capsys.readouterr().out
    assert "row fields: answer" in out and "last_number=True" in out
    assert "row fields: tools, answer" in out


class _Upper(Verifier):
    name = "fh_upper"

    def score(self, completion, **row):
        from rewards import Score

        return Score(float(completion.isupper()), {"reason": "upper"})


def test_the_pool_explains_a_verifier_from_main(monkeypatch):
    """A class from a script's __main__ is refused at submit, alone or inside a Composite; one that pickles
    here (the script's __main__ has it) fails to load in the worker, and says why."""
    from rewards.pool import _Fatal

    monkeypatch.setattr(_Upper, "__module__", "__main__")
    with RewardPool(workers=1, timeout_s=60) as pool:
        with pytest.raises(VerifierLoadError, match="cannot be sent to a reward worker"):
            pool.map(_Upper(), [{"completion": "A"}])
        with pytest.raises(VerifierLoadError, match="cannot be pickled .*define it in a .py file"):
            pool.map(Composite([(_Upper(), 1.0)]), [{"completion": "A"}])
        monkeypatch.setattr(sys.modules["__main__"], "_Upper", _Upper, raising=False)
        with pytest.raises(_Fatal, match="Can't get attribute '_Upper'.*define it in a .py file"):
            pool.map(Composite([(_Upper(), 1.0)]), [{"completion": "A"}])
