"""Composite rewards, the TRL adapter, pickling, and the docstring examples."""

import doctest
import importlib
import pickle

import pytest

from rewards import Composite, make, trl_reward
from rewards.base import MissingFieldError


def test_composite_reports_total_and_components():
    c = Composite([("math", 1.0, {}), ("format", 0.2, {}),
                   {"name": "length_penalty", "weight": 0.5, "options": {"max_length": 10, "buffer": 0}}])
    s = c.score("7*8 = 56. The final answer is \\boxed{56}.", answer="56")
    assert s.info["components"] == {"math": 1.0, "format": 1.0, "length_penalty": -1.0}
    assert s.reward == pytest.approx(1.0 + 0.2 - 0.5)
    assert c.required_fields == ("answer",)


def test_composite_skips_not_applicable_and_labels_repeats():
    class NA(type(make("format"))):
        name = "na"

        def score(self, completion, **row):
            return None

    assert Composite([(NA(), 1.0)]).score("x") is None
    c = Composite([("format", 1.0), ("format", 1.0, {"style": "think_answer"})])
    assert set(c.score("\\boxed{1}").info["components"]) == {"format", "format#2"}


def test_verifiers_pickle_round_trip():
    for v in [make("math"), make("format", style="regex", pattern="a+"), make("json_schema"),
              make("tool_call"), make("length_penalty"), make("code"), Composite([("math", 1.0)])]:
        again = pickle.loads(pickle.dumps(v))
        assert type(again) is type(v)


def test_trl_reward_shape_and_conversational_completions():
    f = trl_reward("math")
    assert f.__name__ == "math_reward"
    out = f(prompts=["a", "b"], completions=[[{"role": "assistant", "content": "The answer is 4."}],
                                             "The answer is 5."],
            answer=["4", "6"], trainer_state=object())
    assert out == [1.0, 0.0]
    with pytest.raises(MissingFieldError):
        f(prompts=["a"], completions=["4"])


@pytest.mark.parametrize("module", ["base", "registry", "compose", "math_extract", "math_normalize", "math_answer", "format",
                                    "json_extract", "json_schema", "tool_call", "code"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(f"rewards.{module}"))
    assert result.failed == 0
