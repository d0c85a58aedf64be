"""Score/Verifier contract, the field check and the registry (duplicates, unknown names, entry points)."""

import importlib.metadata as md
import sys

import pytest

import rewards
from rewards import Score, Verifier, available, make, register
from rewards.base import MissingFieldError, check_fields
from rewards.registry import DuplicateVerifierError, UnknownVerifierError, describe


def test_score_requires_reason_and_float_reward():
    assert Score(1, {"reason": "x"}).reward == 1.0
    with pytest.raises(ValueError, match="reason"):
        Score(1.0, {})
    with pytest.raises(ValueError, match="NaN"):
        Score(float("nan"), {"reason": "x"})
    with pytest.raises(AttributeError):
        Score(1.0, {"reason": "x"}).reward = 2.0


def test_check_fields_names_the_missing_field():
    with pytest.raises(MissingFieldError) as err:
        check_fields(make("tool_call"), {"completion": "", "tools": []}, where="row 3")
    assert err.value.field == "answer"
    assert "row 3" in str(err.value) and "'answer'" in str(err.value)
    check_fields(make("tool_call"), {"tools": [], "answer": []})


def test_builtins_available_without_importing_heavy_modules():
    assert {"math", "code", "json_schema", "tool_call", "format", "length_penalty"} <= set(available())
    assert {"target", "source", "name"} <= set(describe()[0])


def test_unknown_name_lists_known_ones():
    with pytest.raises(UnknownVerifierError) as err:
        make("maths")
    assert "maths" in str(err.value) and "math" in str(err.value) and "json_schema" in str(err.value)


def test_unknown_option_is_an_error():
    with pytest.raises(TypeError):
        make("math", lenient=True)


def test_register_refuses_a_second_class_for_a_taken_name():
    make("math")  # imports and registers the built-in

    with pytest.raises(DuplicateVerifierError, match="math"):
        @register("math")
        class OtherMath(Verifier):
            name = "math"


def test_register_new_name_then_make():
    @register("test_only_upper")
    class Upper(Verifier):
        name = "test_only_upper"

        def score(self, completion, **row):
            return Score(float(completion.isupper()), {"reason": "upper"})

    assert "test_only_upper" in available()
    assert make("test_only_upper").score("ABC").reward == 1.0
    register("test_only_upper")(Upper)  # the same class again is not a duplicate


def test_entry_point_claiming_a_builtin_name_is_refused(tmp_path, monkeypatch):
    dist = tmp_path / "clash_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: clash-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text('[rlvr.verifiers]\nmath = clash_plugin:Math\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert any(ep.value == "clash_plugin:Math" for ep in md.entry_points(group="rlvr.verifiers"))
    with pytest.raises(DuplicateVerifierError, match="clash_plugin:Math"):
        available()


def test_rewards_does_not_import_sympy_until_asked():
    import subprocess

    code = "import sys, rewards; print('sympy' in sys.modules, 'math_verify' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    assert rewards.__all__
