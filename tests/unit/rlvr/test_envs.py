"""rlvr.envs: token-in/token-out episodes (no drift, where re-tokenizing drifts), the loss mask, a killed tool,
the calculator environment through the real worker pool, scoring and metrics, and the registry.

The engine is scripted: it "samples" a fixed text per turn as the tokenizer's one-character pieces, a valid
token sequence that is not the tokenizer's canonical split of that text (what a sampling model does all the
time: ` 5` then `6` where the tokenizer would write ` 56`)."""

import re
from pathlib import Path

import pytest

from rewards import Composite, RewardPool
from rlvr import envs
from rlvr.envs.calculator import CalculatorEnv
from rlvr.envs.episode import DriftError, Episode, ObservationRenderer, prefix_holds
from rlvr.envs.rollout import EpisodeRunner, episode_metrics, score_episodes
from rlvr.types import Completion, Group

FIXTURES = Path(__file__).parents[2] / "fixtures"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from rlvr.model import build_tiny_model

    return AutoTokenizer.from_pretrained(str(build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=0)))


def split_ids(tok, text: str) -> list[int]:
    return [i for ch in text for i in tok(ch, add_special_tokens=False)["input_ids"]]


class ScriptedFleet:
    """`generate` like the sampler fleet; `policy(prompt_text) -> turn text`; the engine reports `prompt` as
    given unless `tamper` says otherwise."""

    def __init__(self, tok, policy, tamper=None):
        self.tok, self.policy, self.tamper, self.calls = tok, policy, tamper, []

    def generate(self, rows, *, group_size, max_tokens, temperature, top_p=1.0):
        self.calls.append([re.findall(r"What is [^?]*\?", self.tok.decode(r["prompt"]))[-1] for r in rows])
        out = []
        for row in rows:
            ids = list(row["prompt"])
            text = self.policy(self.tok.decode(ids))
            sampled = split_ids(self.tok, text)[:max_tokens] + [self.tok.eos_token_id]
            reported = self.tamper(ids) if self.tamper else ids
            out.append(Group(reported, [Completion(sampled, [-0.5] * len(sampled), text, "stop")]))
        return out


def calculator_policy(prompt_text: str) -> str:
    """Call the calculator on the question's expression, then answer with what it said."""
    question = list(re.finditer(r"What is ([\d\s*+-]+)\?", prompt_text))[-1]  # the user's (not the example's)
    said = re.findall(r"calculator: (-?[\d.]+)", prompt_text[question.end():])
    if said:
        return f"The answer is \\boxed{{{said[-1]}}}."
    expression = question.group(1).replace(" ", "")
    return f'<tool_call>{{"name": "calculator", "arguments": {{"expression": "{expression}"}}}}</tool_call>'


ROWS = [{"question": "What is 123 * 45?", "answer": "5535"}, {"question": "What is 17 + 999 * 2?", "answer": "2015"}]


def run_one(tok, episode: Episode, fleet, env, turns: int = 4) -> Episode:
    for _ in range(turns):
        (g,) = fleet.generate([{"prompt": episode.ids}], group_size=1, max_tokens=256, temperature=1.0)
        c = g.completions[0]
        episode.add_turn(g.prompt_ids, c.token_ids, c.logprobs, c.text)
        result = env.step(c.text)
        if result.done:
            break
        episode.add_observation(result.observation)
    return episode


class OfflineTools:
    """A ToolRunner stand-in that evaluates in-process (the pool is tested below)."""

    calls = errors = 0

    def call(self, target, arguments):
        from rlvr.envs.calculator import evaluate

        self.calls += 1
        return True, evaluate(arguments["expression"])


def test_token_in_token_out_has_no_drift_where_retokenizing_does(tokenizer):
    fleet = ScriptedFleet(tokenizer, calculator_policy)
    renderer = ObservationRenderer(tokenizer)
    drift = {}
    for retokenize in (False, True):
        env = CalculatorEnv()
        env.tools = OfflineTools()
        episode = Episode(env.reset(ROWS[0]), renderer, strict=False, retokenize=retokenize)
        run_one(tokenizer, episode, fleet, env)
        assert episode.turns == 2 and episode.turn_texts[-1] == "The answer is \\boxed{5535}."
        drift[retokenize] = episode.drift_events
    assert drift == {False: 0, True: 1}


def test_the_trained_sequence_is_the_sampled_ids_plus_the_observation_ids(tokenizer):
    fleet = ScriptedFleet(tokenizer, calculator_policy)
    renderer = ObservationRenderer(tokenizer)
    env = CalculatorEnv()
    env.tools = OfflineTools()
    e = run_one(tokenizer, Episode(env.reset(ROWS[0]), renderer), fleet, env)
    turn1 = split_ids(tokenizer, calculator_policy(e.prompt_text)) + [tokenizer.eos_token_id]
    obs = renderer.ids("calculator: 5535", ended_turn=True)
    turn2 = split_ids(tokenizer, "The answer is \\boxed{5535}.") + [tokenizer.eos_token_id]
    assert e.completion_ids == turn1 + obs + turn2
    assert e.loss_mask == [1] * len(turn1) + [0] * len(obs) + [1] * len(turn2)
    assert e.logprobs == [-0.5] * len(turn1) + [0.0] * len(obs) + [-0.5] * len(turn2)
    assert e.obs_tokens == len(obs) and e.ids == e.prompt_ids + e.completion_ids
    # the text is the chat template's rendering of the conversation: the delimiters came from the template
    assert tokenizer.decode(e.ids) + "\n" == tokenizer.apply_chat_template(e.messages, tokenize=False)


def test_a_broken_prefix_raises_when_strict_and_is_counted_when_not(tokenizer):
    for strict in (True, False):
        env = CalculatorEnv()
        env.tools = OfflineTools()
        episode = Episode(env.reset(ROWS[0]), ObservationRenderer(tokenizer), strict=strict)
        first = len(episode.prompt_ids)

        def tamper(ids, first=first):  # an engine that "saw" something else than it was given, after turn 1
            return ids if len(ids) == first else ids[:100] + [ids[100] + 1] + ids[101:]

        fleet = ScriptedFleet(tokenizer, calculator_policy, tamper=tamper)
        if strict:
            with pytest.raises(DriftError, match="first difference at token 100"):
                run_one(tokenizer, episode, fleet, env)
        else:
            assert run_one(tokenizer, episode, fleet, env).drift_events == 1
    assert prefix_holds([1, 2], [1, 2, 3]) and not prefix_holds([1, 2], [1, 3, 3]) and not prefix_holds([1, 2], [1])


@pytest.fixture(scope="module")
def pool():
    import sys

    sys.path.insert(0, str(FIXTURES))  # workers inherit sys.path: they can import env_helpers
    try:
        with RewardPool(workers=2, timeout_s=3) as p:
            yield p
    finally:
        sys.path.remove(str(FIXTURES))


def runner(tokenizer, fleet, pool, **env_options):
    return EpisodeRunner(fleet, tokenizer, lambda: CalculatorEnv(**env_options), tool_pool=pool, max_turns=4,
                         max_episode_tokens=512, max_model_len=1024, step_timeout_s=60)


@pytest.mark.timeout(300)
def test_calculator_episodes_through_the_pool_are_scored_with_the_env_term(tokenizer, pool):
    fleet = ScriptedFleet(tokenizer, calculator_policy)
    groups = runner(tokenizer, fleet, pool).generate(ROWS[:1], group_size=3, max_tokens=128, temperature=1.0)
    assert len(fleet.calls[0]) == 3  # the first turn of every episode in one engine call
    score_episodes(groups, Composite([("math", 1.0, {})]), pool, env_weight=0.1)
    (g,) = groups
    assert g.row["prompt"].startswith("<|im_start|>system") and len(g.completions) == 3
    for c in g.completions:
        assert c.reward == pytest.approx(1.1) and c.components == {"math": 1.0, "env": 1.0}
        assert c.episode["turns"] == 2 and c.episode["tool_calls"] == 1 and c.episode["end"] == "answered"
    m = episode_metrics(groups)
    assert m["turns_mean"] == 2 and m["tool_calls_mean"] == 1 and m["drift_events"] == 0
    assert m["obs_tokens_mean"] > 0 and m["tool_seconds"] > 0 and m["episodes_failed_frac"] == 0


@pytest.mark.timeout(300)
def test_a_killed_tool_scores_its_episode_0_with_a_reason_and_the_others_go_on(tokenizer, pool):
    fleet = ScriptedFleet(tokenizer, calculator_policy)
    run = runner(tokenizer, fleet, pool, tool="env_helpers:sleepy_evaluate")
    groups = run.generate(ROWS, group_size=2, max_tokens=128, temperature=1.0)
    score_episodes(groups, Composite([("math", 1.0, {})]), pool, env_weight=0.1)
    fine, stuck = groups
    assert [c.reward for c in fine.completions] == [pytest.approx(1.1)] * 2
    assert [(c.reward, c.reason) for c in stuck.completions] == [(0.0, "tool_timeout")] * 2
    assert all(c.episode["failed"] and c.episode["turns"] == 1 for c in stuck.completions)
    assert episode_metrics(groups)["episodes_failed_frac"] == 0.5
    # the pool replaced the killed workers: the next batch runs as before
    again = run.generate(ROWS[:1], group_size=2, max_tokens=128, temperature=1.0)
    assert all(c.episode["end"] == "answered" for c in again[0].completions)


@pytest.mark.timeout(300)
def test_a_slow_tool_holds_back_only_its_own_episode(tokenizer, pool):
    fleet = ScriptedFleet(tokenizer, calculator_policy)
    rows = [ROWS[0], {"question": "What is 888 + 1?", "answer": "889"}]
    groups = runner(tokenizer, fleet, pool, tool="env_helpers:sleepy_evaluate").generate(
        rows, group_size=2, max_tokens=128, temperature=1.0)
    assert all(c.episode["end"] == "answered" for g in groups for c in g.completions)  # slow, not killed
    assert len(fleet.calls[0]) == 4 and fleet.calls[1] == [ROWS[0]["question"]] * 2  # answered while 888 runs
    assert fleet.calls[-1] == [rows[1]["question"]] * 2


def test_malformed_calls_and_tool_errors_are_shown_to_the_model(tokenizer):
    env = CalculatorEnv()
    env.tools = envs.ToolRunner(pool=None)
    env.reset(ROWS[0])
    bad = env.step('<tool_call>{"name": "calculator", "arguments": }</tool_call>')
    assert not bad.done and bad.observation.startswith("error: malformed tool call") and env.tools.errors == 1
    other = env.step('<tool_call>{"name": "search", "arguments": {}}</tool_call>')
    assert "unknown tool 'search'" in other.observation and other.reward is None
    assert env.step("The answer is 4.").done


def test_the_registry_finds_builtins_and_targets_and_names_what_it_knows():
    assert {"calculator", "textarena"} <= set(envs.available())
    assert isinstance(envs.make("calculator", tool_reward=0.5), CalculatorEnv)
    assert isinstance(envs.make("rlvr.envs.calculator:CalculatorEnv"), CalculatorEnv)
    with pytest.raises(envs.UnknownEnvironmentError, match="did you mean 'calculator'"):
        envs.make("calculater")
    with pytest.raises(TypeError, match="environment 'calculator'"):
        envs.make("calculator", colour="red")


def test_pyproject_declares_the_builtin_environments_as_entry_points():
    import tomllib

    from rlvr.envs.base import BUILTIN

    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["rlvr.envs"] == BUILTIN
    assert pyproject["project"]["optional-dependencies"]["envs"] == ["textarena==0.7.4"]
