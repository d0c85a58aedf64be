"""Strict config loading: unknown keys, wrong types, enums, ranges, overrides, shipped configs."""

import dataclasses
from pathlib import Path

import pytest

from rlvr.config import (
    ConfigError,
    RunConfig,
    VerifierSpec,
    configs_dir,
    load_config,
    parse_overrides,
    resolve_config_path,
    save_config,
)

SHIPPED = ["math", "smoke", "code", "json_schema", "tool_call", "gsm", "tool_use"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def test_defaults_match_the_documented_values():
    cfg = load_config(None)
    assert cfg == RunConfig()
    assert cfg.model.path == "embedded:smollm2-135m-instruct" and cfg.model.cache_dir is None
    assert cfg.sampler.group_size == 8 and cfg.sampler.in_process is True
    assert cfg.rewards.verifiers == [VerifierSpec("math", 1.0, {})]
    assert cfg.learner.target_modules[-1] == "down_proj" and cfg.learner.lr == 1e-4
    assert (cfg.algo.clip_low, cfg.algo.clip_high, cfg.algo.kl) == (0.2, 0.28, "off")
    assert (cfg.algo.tis, cfg.algo.tis_cap) == ("auto", 2.0)
    assert cfg.run.steps == 30 and cfg.ray.address is None


def test_sections_are_frozen():
    cfg = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.run.steps = 5  # type: ignore[misc]


def test_unknown_key_names_key_section_file_and_suggestion(tmp_path):
    path = write(tmp_path, "sampler:\n  temprature: 0.7\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert "'temprature'" in msg and "'sampler'" in msg and str(path) in msg
    assert "did you mean 'temperature'" in msg


def test_unknown_section_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown section 'sampling'.*did you mean 'sampler'"):
        load_config(write(tmp_path, "sampling:\n  group_size: 4\n"))


@pytest.mark.parametrize("text, match", [
    ("run:\n  steps: ten\n", r"run.steps must be an integer; got 'ten'"),
    ("run:\n  steps: 2.5\n", r"run.steps must be an integer"),
    ("sampler:\n  in_process: 3\n", r"sampler.in_process must be a bool"),
    ("sampler:\n  temperature: hot\n", r"sampler.temperature must be a number"),
    ("learner:\n  target_modules: q_proj\n", r"learner.target_modules must be a list"),
    ("learner:\n  lora_rank: true\n", r"learner.lora_rank must be an integer"),
    ("algo:\n  loss_norm: mean\n", r"algo.loss_norm must be one of 'token', 'sequence', 'constant'; got 'mean'"),
    ("sampler:\n  group_size: 1\n", r"group_size must be >= 2"),
    ("sampler:\n  top_p: 1.5\n", r"top_p must be in \(0, 1\]"),
    ("algo:\n  kl: k3\n", r"kl_coef is 0"),
    ("algo:\n  kl_coef: 0.1\n", r"kl_coef > 0 needs algo.kl"),
    ("algo:\n  tis: true\n", r"algo.tis must be one of 'auto', 'on', 'off'"),
    ("algo:\n  tis_cap: 0.5\n", r"algo.tis_cap must be >= 1"),
    ("algo:\n  tis_clip: 2\n", r"unknown key 'tis_clip'.*did you mean 'tis_cap'"),
    ("data:\n  source: jsonl\n", r"data.path is required"),
    ("data:\n  prompt_template: 'Solve: {q}'\n", r"must contain \{question\}"),
    ("rewards:\n  verifiers: []\n", r"at least one verifier"),
    ("rewards:\n  verifiers:\n    - {name: math, wieght: 2}\n", r"unknown key 'wieght'.*did you mean 'weight'"),
    ("sync:\n  mode: dense\n", r"sync.mode must be one of 'auto', 'lora', 'merge'; got 'dense'"),
    ("sync:\n  update_tolerance: 0\n", r"sync.update_tolerance must be > 0"),
    ("ray:\n  learner_resources: learner_node\n", r"ray.learner_resources must be a dict"),
    ("ray:\n  sampler_resources: {sampler_node: 0}\n", r"ray.sampler_resources.sampler_node must be a number > 0"),
    ("ray:\n  sampler_resources: {sampler_node: many}\n", r"sampler_node must be a number > 0; got 'many'"),
    ("ray:\n  learner_resources: {CPU: 2}\n", r"ray.learner_resources.CPU: rlvr reserves CPU itself"),
    ("ray:\n  address: auto\n  num_cpus: 4\n", r"ray.num_cpus sizes a local Ray"),
    ("ray:\n  learner_resource: {a: 1}\n", r"unknown key 'learner_resource'.*did you mean 'learner_resources'"),
    ("run: 5\n", r"section 'run' .* must be a mapping"),
    ("- a\n- b\n", r"must hold a mapping of sections"),
])
def test_invalid_files_are_rejected_with_a_clear_message(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_numbers_coerce_where_lossless(tmp_path):
    cfg = load_config(write(tmp_path, "learner:\n  lr: 1e-4\n  lora_alpha: 32\nsampler:\n  temperature: 1\n"))
    assert cfg.learner.lr == 1e-4 and isinstance(cfg.learner.lr, float)  # PyYAML reads `1e-4` as a string
    assert isinstance(cfg.sampler.temperature, float)


def test_verifiers_parse_with_defaults_and_shorthand(tmp_path):
    cfg = load_config(write(tmp_path, "rewards:\n  verifiers:\n    - math\n"
                                      "    - {name: format, weight: 0.2, options: {tag: boxed}}\n"))
    assert cfg.rewards.verifiers == [VerifierSpec("math"), VerifierSpec("format", 0.2, {"tag": "boxed"})]


def test_overrides_apply_on_top_of_the_file(tmp_path):
    path = write(tmp_path, "run:\n  steps: 10\n")
    cfg = load_config(path, ["run.steps=3", "sampler.temperature=0.7", "run.output_dir=/tmp/out",
                             "data.system_prompt=null", "rewards.verifiers=[{name: math}, {name: format}]"])
    assert cfg.run.steps == 3 and cfg.sampler.temperature == 0.7 and cfg.run.output_dir == "/tmp/out"
    assert [v.name for v in cfg.rewards.verifiers] == ["math", "format"]


@pytest.mark.parametrize("override, match", [
    ("run.steps=ten", r"run.steps must be an integer.*command-line overrides"),
    ("run.stepz=3", r"unknown key 'stepz' in section 'run'.*did you mean 'steps'"),
    ("runsteps=3", r"must look like section.key=value"),
    ("run.steps", r"must look like section.key=value"),
    ("bogus.x=1", r"unknown section 'bogus'"),
])
def test_bad_overrides_are_rejected(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(None, [override])


def test_parse_overrides_reads_yaml_scalars():
    assert parse_overrides(["a.b=3", "a.c=0.5", "a.d=true", "e.f=hello", "e.g=[1, 2]"]) == {
        "a": {"b": 3, "c": 0.5, "d": True}, "e": {"f": "hello", "g": [1, 2]}}


def test_relative_data_path_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "d").mkdir()
    path = write(tmp_path, "data:\n  source: jsonl\n  path: d/rows.jsonl\n")
    assert load_config(path).data.path == str((tmp_path / "d" / "rows.jsonl").resolve())
    assert load_config(path, ["data.path=x.jsonl"]).data.path == "x.jsonl"


def test_resolve_config_path(tmp_path):
    shipped = configs_dir() / "math.yaml"
    assert resolve_config_path("math") == shipped
    assert resolve_config_path("math.yaml") == shipped
    own = write(tmp_path, "run:\n  steps: 1\n")
    assert resolve_config_path(own) == own
    with pytest.raises(ConfigError, match="not found.*shipped configs:.*math"):
        resolve_config_path("nope")


def test_to_dict_round_trips_through_yaml(tmp_path):
    cfg = load_config("math", ["run.steps=7"])
    back = load_config(save_config(cfg, tmp_path / "resolved.yaml"))
    assert back == cfg
    assert cfg.to_dict()["rewards"]["verifiers"][1] == {"name": "format", "weight": 0.2, "options": {"style": "boxed"}}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_loads_strictly(name):
    cfg = load_config(name)
    assert isinstance(cfg, RunConfig)
    if cfg.data.source != "reasoning_gym":
        assert Path(cfg.data.path).is_file()


def test_all_shipped_configs_are_covered():
    assert sorted(p.stem for p in configs_dir().glob("*.yaml")) == sorted(SHIPPED)


def test_smoke_and_math_settings():
    smoke, math = load_config("smoke"), load_config("math")
    assert smoke.model.path == "tiny:0" and smoke.run.steps == 3 and smoke.sampler.group_size == 4
    assert smoke.sampler.dtype == "float32" and smoke.data.eval_size == 8 and smoke.sampler.max_tokens == 16
    kw = math.data.task_kwargs
    assert kw["max_terms"] <= 3 and kw["max_digits"] <= 2
    assert "boxed" in math.data.system_prompt
    assert {v.name: v.weight for v in math.rewards.verifiers} == {"math": 1.0, "format": 0.2}
    assert math.rewards.verifiers[1].options == {"style": "boxed"}


def test_env_section_is_strict_and_off_by_default(tmp_path):
    assert load_config(None).env.name is None
    cfg = load_config("tool_use")
    assert cfg.env.name == "calculator" and cfg.env.strict and cfg.env.max_turns >= 2
    with pytest.raises(ConfigError, match="did you mean 'max_turns'"):
        load_config("tool_use", ["env.max_turn=3"])
    with pytest.raises(ConfigError, match="env.max_turns must be >= 1"):
        load_config("tool_use", ["env.max_turns=0"])
    with pytest.raises(ConfigError, match="env.strict must be a bool"):
        load_config("tool_use", ["env.strict=sometimes"])


def test_placement_is_one_override_per_role():
    cfg = load_config("smoke", ["ray.address=10.0.0.1:6379", "ray.learner_resources={learner_node: 1}",
                                "ray.sampler_resources={sampler_node: 0.5}"])
    assert cfg.ray.learner_resources == {"learner_node": 1} and cfg.ray.sampler_resources == {"sampler_node": 0.5}
    assert load_config("smoke").ray.learner_resources == {} == load_config("smoke").ray.sampler_resources
