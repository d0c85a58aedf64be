"""Run configuration: one frozen dataclass per stage under one `RunConfig`, loaded strictly from YAML.

Why strict: a typo in a YAML key (`temprature: 0.7`) silently falling back to a default wastes a whole
run. So every unknown section or key is an error naming the key, the section and the file (with the
closest known key as a hint), a value of the wrong type is an error (`steps: ten`), enum-like strings
list their allowed values, and numeric ranges are checked when a section is built.

YAML sections carry the dataclass names (`model`, `data`, `sampler`, `rewards`, `algo`, `learner`,
`sync`, `run`, `ray`, `health`, `env`); nesting stops at two levels (`rewards.verifiers` is a list of small mappings).
Command-line overrides are `section.key=value` strings whose value is parsed as a YAML scalar
(`run.steps=3`, `sampler.temperature=0.7`, `rewards.verifiers=[{name: math}]`).

What this module does NOT do: resolve model paths or cache folders (`rlvr.model`), check that verifier
names exist (the `rewards` registry does that when the run builds them), or read data.
"""

from __future__ import annotations

import dataclasses
import math
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from rlvr.config_schema import ConfigError, Section, check_keys, require, unknown
from rlvr.envs.config import EnvConfig
from rlvr.health.config import HealthConfig

__all__ = [
    "LORA_TARGETS", "AlgoConfig", "ConfigError", "DataConfig", "EnvConfig", "HealthConfig", "LearnerConfig", "ModelConfig",
    "RayConfig", "RewardsConfig",
    "RunConfig", "RunSection", "SamplerConfig", "SyncConfig", "VerifierSpec", "configs_dir", "load_config",
    "parse_overrides", "resolve_config_path", "save_config",
]


@dataclass(frozen=True)
class VerifierSpec(Section):
    """One reward component: a registered verifier `name`, its `weight`, and keyword `options` for it."""

    _name = "rewards.verifiers[]"
    name: str = "math"
    weight: float = 1.0
    options: dict = field(default_factory=dict)

    @classmethod
    def coerce(cls, value: Any, where: str) -> VerifierSpec:
        """Also the shorthand `- math` (a name alone)."""
        if isinstance(value, str):
            return cls(name=value)
        require(isinstance(value, Mapping | VerifierSpec),
                f"{where} must be a mapping {{name, weight, options}}; got {value!r}")
        return super().coerce(value, where)

    def _check(self) -> None:
        require(bool(self.name), "rewards.verifiers[].name must be a non-empty string")
        require(math.isfinite(self.weight), f"rewards.verifiers[{self.name}].weight must be finite")


@dataclass(frozen=True)
class ModelConfig(Section):
    _name = "model"
    path: str = "embedded:smollm2-135m-instruct"
    cache_dir: str | None = None
    max_model_len: int = 1024

    def _check(self) -> None:
        require(bool(self.path), "model.path must be a non-empty string")
        require(self.max_model_len >= 16, "model.max_model_len must be >= 16")


@dataclass(frozen=True)
class DataConfig(Section):
    _name = "data"
    source: Literal["reasoning_gym", "jsonl", "parquet"] = "reasoning_gym"
    task: str = "basic_arithmetic"
    task_kwargs: dict = field(default_factory=dict)
    path: str | None = None
    eval_path: str | None = None      # a fixed held-out file (another benchmark); else eval comes from `path`
    train_size: int = 2000
    eval_size: int = 64
    seed: int = 0
    system_prompt: str | None = None
    prompt_template: str = "{question}"
    prompts_per_step: int = 8

    def _check(self) -> None:
        require(self.train_size >= 1, "data.train_size must be >= 1")
        require(self.eval_size >= 0, "data.eval_size must be >= 0")
        require(self.prompts_per_step >= 1, "data.prompts_per_step must be >= 1")
        if self.source == "reasoning_gym":
            require(bool(self.task), "data.task must name a reasoning-gym task")
        else:
            require(bool(self.path), f"data.path is required when data.source is {self.source!r}")
        require(self.eval_path is None or self.source != "reasoning_gym",
                 "data.eval_path needs a file source (jsonl or parquet), not reasoning_gym")
        try:  # other {fields} of a row may appear too; only the syntax and {question} are checked here
            names = {name for _, name, _, _ in string.Formatter().parse(self.prompt_template) if name}
        except ValueError as e:
            raise ConfigError(f"data.prompt_template {self.prompt_template!r} is not a valid template: {e}") from None
        require("question" in names, "data.prompt_template must contain {question}")


@dataclass(frozen=True)
class SamplerConfig(Section):
    _name = "sampler"
    num_samplers: int = 1
    group_size: int = 8
    max_tokens: int = 128
    temperature: float = 1.0
    top_p: float = 1.0
    # "auto": bf16 where the CPU has native bf16 (AMX / AVX512-BF16) or on a GPU, else fp32 (bf16 is
    # emulated, ~6-10x slower, on AVX2-only CPUs); see sampler.pick_dtype.
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    kv_cache_gib: float = 1.0
    in_process: bool = True
    eval_temperature: float = 0.0

    def _check(self) -> None:
        require(self.num_samplers >= 1, "sampler.num_samplers must be >= 1")
        require(self.group_size >= 2, "sampler.group_size must be >= 2 (GRPO compares samples in a group)")
        require(self.max_tokens >= 1, "sampler.max_tokens must be >= 1")
        require(self.temperature > 0, "sampler.temperature must be > 0 (training samples must differ)")
        require(0 < self.top_p <= 1, "sampler.top_p must be in (0, 1]")
        require(self.kv_cache_gib > 0, "sampler.kv_cache_gib must be > 0")
        require(self.eval_temperature >= 0, "sampler.eval_temperature must be >= 0")


@dataclass(frozen=True)
class RewardsConfig(Section):
    _name = "rewards"
    verifiers: list[VerifierSpec] = field(default_factory=lambda: [VerifierSpec("math")])
    workers: int = 2
    timeout_s: float = 10.0

    def _check(self) -> None:
        require(len(self.verifiers) >= 1, "rewards.verifiers must list at least one verifier")
        require(self.workers >= 1, "rewards.workers must be >= 1")
        require(self.timeout_s > 0, "rewards.timeout_s must be > 0")


@dataclass(frozen=True)
class AlgoConfig(Section):
    _name = "algo"
    adv_norm: Literal["std", "none"] = "std"
    drop_zero_variance: bool = True
    clip_low: float = 0.2
    clip_high: float = 0.28
    loss_norm: Literal["token", "sequence", "constant"] = "token"
    kl: Literal["off", "k1", "k3"] = "off"
    kl_coef: float = 0.0
    eps: float = 1e-6
    # Truncated importance sampling against the sampler's logprobs (rlvr.learn.grpo.tis_weights): "auto" turns it
    # on where the sampler's resolved dtype differs from learner.dtype (bf16 sampler, fp32 learner), off
    # where they match; tis_cap truncates each token's weight.
    tis: Literal["auto", "on", "off"] = "auto"
    tis_cap: float = 2.0

    def _check(self) -> None:
        require(self.tis_cap >= 1, "algo.tis_cap must be >= 1 (a weight of 1 is no correction)")
        require(0 <= self.clip_low < 1, "algo.clip_low must be in [0, 1)")
        require(self.clip_high >= 0, "algo.clip_high must be >= 0")
        require(self.kl_coef >= 0, "algo.kl_coef must be >= 0")
        require(self.eps > 0, "algo.eps must be > 0")
        require(not (self.kl == "off" and self.kl_coef > 0), "algo.kl_coef > 0 needs algo.kl: k1 or k3")
        require(not (self.kl != "off" and self.kl_coef == 0),
                 f"algo.kl is {self.kl!r} but algo.kl_coef is 0: set kl_coef > 0 or kl: off")


# The modules that get LoRA adapters by default: every linear projection of a Llama-style block.
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LearnerConfig(Section):
    _name = "learner"
    quantize: Literal["nf4", "none"] = "nf4"
    lora_rank: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: list(LORA_TARGETS))
    lr: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    micro_batch: int = 16
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    grad_checkpoint: bool = False

    def _check(self) -> None:
        require(self.lora_rank >= 1, "learner.lora_rank must be >= 1")
        require(self.lora_alpha > 0, "learner.lora_alpha must be > 0")
        require(0 <= self.lora_dropout < 1, "learner.lora_dropout must be in [0, 1)")
        require(len(self.target_modules) >= 1, "learner.target_modules must not be empty")
        require(self.lr > 0, "learner.lr must be > 0")
        require(self.weight_decay >= 0, "learner.weight_decay must be >= 0")
        require(self.grad_clip >= 0, "learner.grad_clip must be >= 0 (0 turns clipping off)")
        require(self.micro_batch >= 1, "learner.micro_batch must be >= 1")


@dataclass(frozen=True)
class SyncConfig(Section):
    _name = "sync"
    # how the samplers serve the learner's adapter (rlvr.sync.push / rlvr.sync.serving): lora (unmerged, exact in
    # every dtype), merge (into the serving weights: exact in fp32, lossy in bf16, announced at start);
    # auto = lora (benchmarks/README.md has the numbers).
    mode: Literal["auto", "lora", "merge"] = "auto"
    check: bool = True
    # |logprob| difference allowed between learner and samplers on the probe (fp32: the largest per token,
    # default 1e-3, measured ~1e-5..1e-4; bf16/fp16: the median, default 0.5, measured 0.03-0.12), widened
    # to 3x the floor measured at start-up when None.
    tolerance: float | None = None
    # max relative L2 error of the served weight update (sync_update_loss) in an exact mode
    update_tolerance: float = 0.01
    probe_len: int = 32

    def _check(self) -> None:
        require(self.update_tolerance > 0, "sync.update_tolerance must be > 0")
        require(self.tolerance is None or self.tolerance > 0, "sync.tolerance must be > 0 (or null for auto)")
        require(self.probe_len >= 2, "sync.probe_len must be >= 2")


@dataclass(frozen=True)
class RunSection(Section):
    _name = "run"
    steps: int = 30
    output_dir: str = "runs/math"
    eval_every: int = 10
    save_every: int = 1
    seed: int = 0
    off_policy: bool = False
    log_every: int = 1

    def _check(self) -> None:
        require(self.steps >= 1, "run.steps must be >= 1")
        require(bool(self.output_dir), "run.output_dir must be a non-empty path")
        require(self.eval_every >= 0, "run.eval_every must be >= 0 (0 = no periodic eval)")
        require(self.save_every >= 0, "run.save_every must be >= 0 (0 = no checkpoints)")
        require(self.log_every >= 1, "run.log_every must be >= 1")


# Resources Ray itself accounts for: rlvr reserves these (cpu shares, a GPU for the learner), not the config.
_RAY_BUILTIN_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")


@dataclass(frozen=True)
class RayConfig(Section):
    _name = "ray"
    address: str | None = None
    num_cpus: int | None = None
    # Custom Ray resources each actor asks for (`{learner_node: 1}`): Ray places the actor only on a node that
    # declares them (`ray start --resources='{"learner_node": 1}'`); a sampler asks for its own each. A local
    # Ray (no address) declares what the actors ask for, so the same config runs on a laptop.
    learner_resources: dict = field(default_factory=dict)
    sampler_resources: dict = field(default_factory=dict)

    def _check(self) -> None:
        require(self.num_cpus is None or self.num_cpus >= 1, "ray.num_cpus must be >= 1 or null")
        require(self.num_cpus is None or not self.address,
                "ray.num_cpus sizes a local Ray; with ray.address the cluster's nodes declare their own CPUs")
        for key in ("learner_resources", "sampler_resources"):
            _check_resources(f"ray.{key}", getattr(self, key))


def _check_resources(where: str, resources: Mapping) -> None:
    """Ray custom resources: non-empty names other than Ray's own, finite quantities > 0."""
    for name, amount in resources.items():
        require(isinstance(name, str) and bool(name), f"{where}: resource names must be non-empty strings")
        require(name not in _RAY_BUILTIN_RESOURCES,
                f"{where}.{name}: rlvr reserves {name} itself; name a custom resource (e.g. learner_node: 1)")
        require(isinstance(amount, int | float) and not isinstance(amount, bool) and math.isfinite(amount)
                and amount > 0, f"{where}.{name} must be a number > 0; got {amount!r}")


_SECTIONS: dict[str, type[Section]] = {
    "model": ModelConfig, "data": DataConfig, "sampler": SamplerConfig, "rewards": RewardsConfig,
    "algo": AlgoConfig, "learner": LearnerConfig, "sync": SyncConfig, "run": RunSection, "ray": RayConfig,
    "health": HealthConfig, "env": EnvConfig,
}


@dataclass(frozen=True)
class RunConfig:
    """The whole run: one field per stage, named like the YAML sections."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    rewards: RewardsConfig = field(default_factory=RewardsConfig)
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    run: RunSection = field(default_factory=RunSection)
    ray: RayConfig = field(default_factory=RayConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    env: EnvConfig = field(default_factory=EnvConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dicts and lists (YAML/JSON-ready); `load_config` reads the result back unchanged."""
        return dataclasses.asdict(self)


# ------------------------------------------------------------------------------------------------ loading


def parse_overrides(overrides: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`["run.steps=3", "sampler.temperature=0.7"]` -> `{"run": {"steps": 3}, "sampler": {...}}`."""
    out: dict[str, dict[str, Any]] = {}
    for item in overrides:
        dotted, sep, raw = item.partition("=")
        section, dot, key = dotted.strip().partition(".")
        if not sep or not dot or not section or not key or "." in key:
            raise ConfigError(f"override {item!r} must look like section.key=value (e.g. run.steps=3)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as e:
            problem = " ".join(str(e).split("\n")[0].split())
            raise ConfigError(f"override {item!r}: value is not valid YAML ({problem}); text with braces or "
                              f"colons needs YAML quotes, e.g. {dotted.strip()}=\"'{raw.strip()}'\"") from None
        out.setdefault(section, {})[key] = value
    return out


def _build(raw: Mapping[str, Any], origin: str) -> RunConfig:
    sections = {}
    for name, body in raw.items():
        if name not in _SECTIONS:
            raise unknown(str(name), _SECTIONS, origin, what="section")
        body = {} if body is None else body
        if not isinstance(body, Mapping):
            raise ConfigError(f"section {name!r} in {origin} must be a mapping; got {body!r}")
        try:
            check_keys(body, _SECTIONS[name], name)
            sections[name] = _SECTIONS[name](**body)
        except ConfigError as e:
            raise ConfigError(f"{e} [in {origin}]") from None
    return RunConfig(**sections)


def _merge(raw: dict[str, Any], extra: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    merged = {k: dict(v or {}) for k, v in raw.items()}  # raw already passed _build: sections are mappings
    for section, values in extra.items():
        merged.setdefault(section, {}).update(values)
    return merged


def _relative_to(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A relative `data.path` / `data.eval_path` in a config file means relative to that file (so shipped
    configs work from any working directory); paths given as overrides stay relative to the working directory."""
    data = raw.get("data")
    for key in ("path", "eval_path"):
        if isinstance(data, Mapping) and isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
            raw["data"] = data = {**data, key: str((folder / data[key]).resolve())}
    return raw


def configs_dir() -> Path:
    """The `configs/` folder shipped at the repository root."""
    import rlvr

    return Path(rlvr.__file__).resolve().parents[1] / "configs"


def resolve_config_path(name: str | Path) -> Path:
    """An existing path as is; else `math`, `math.yaml` -> the shipped `configs/math.yaml`."""
    path = Path(name)
    if path.is_file():
        return path
    stem = path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml"
    shipped = configs_dir() / stem
    if len(path.parts) == 1 and shipped.is_file():
        return shipped
    available = sorted(p.stem for p in configs_dir().glob("*.yaml"))
    raise ConfigError(f"config {str(name)!r} not found (shipped configs: {', '.join(available)})")


def load_config(path: str | Path | None, overrides: Iterable[str] = ()) -> RunConfig:
    """Read a YAML run config strictly, apply `section.key=value` overrides, return a checked RunConfig.

    `path=None` starts from the defaults. Overrides are checked like the file (and named as
    command-line overrides in errors).
    """
    overrides = list(overrides)
    raw: dict[str, Any] = {}
    origin = "defaults"
    if path is not None:
        file = resolve_config_path(path)
        origin = str(file)
        try:
            loaded = yaml.safe_load(file.read_text())
        except yaml.YAMLError as e:
            raise ConfigError(f"{file} is not valid YAML: {e}") from None
        if loaded is not None and not isinstance(loaded, Mapping):
            raise ConfigError(f"{file} must hold a mapping of sections; got {type(loaded).__name__}")
        raw = _relative_to(dict(loaded or {}), file.parent)
        _build(raw, origin)  # errors in the file itself name the file alone
    extra = parse_overrides(overrides)
    if extra:
        origin = f"{origin} + command-line overrides {overrides}"
    return _build(_merge(raw, extra), origin)


def save_config(config: RunConfig, path: str | Path) -> Path:
    """Write the resolved config as YAML (readable by `load_config`), e.g. next to a run's outputs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    return path
