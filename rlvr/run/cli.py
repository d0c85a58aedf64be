"""`python -m rlvr.run CONFIG [section.key=value ...] [--resume [RUN_DIR] | --overwrite]`: train with GRPO.

This module is the front door: it parses the command line, and checks everything that can be checked
cheaply before Ray, vLLM or a model start, so a mistake costs a second and one line (exit code 2), not a
minute and a traceback: config keys, the run folder's rules (`run_folder`: an existing run is never
replaced or resumed with a different config by accident), every verifier with its options, every data row
and the prompt template on it (`preflight`, `data_checks`), the model's presence. `--dry-run` stops there;
`--print-config` prints the resolved config. `--debug` shows a traceback for a user error too.
The loop itself is `trainer.Trainer`.

    python -m rlvr.run smoke run.output_dir=runs/s      # a fresh run (refused if runs/s holds one)
    python -m rlvr.run smoke run.steps=10 --resume runs/s
    python -m rlvr.run --resume runs/s run.steps=10    # the saved config, with overrides
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rlvr.run.preflight import UserError
from rlvr.types import Job

__all__ = ["UserError", "main", "parse_args", "prepare"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Options and positionals in any order; `--resume` takes an optional run folder (not a `k=v` override)."""
    p = argparse.ArgumentParser(prog="python -m rlvr.run", description=__doc__.splitlines()[0])
    p.add_argument("args", nargs="*", metavar="CONFIG [section.key=value ...]",
                   help="a YAML file or a shipped config name (math, smoke, code, ...), then overrides such as "
                        "run.steps=5; with --resume RUN_DIR the config may be left out (the run's own is used)")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR (default: run.output_dir) from its newest checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in run.output_dir")
    p.add_argument("--dry-run", action="store_true", help="run the pre-flight checks only, then exit")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    p.add_argument("--debug", action="store_true", help="show a traceback for user errors too")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_intermixed_args(argv)
    if isinstance(args.resume, str) and "=" in args.resume:  # `--resume run.steps=5`: an override, not a folder
        args.args.append(args.resume)
        args.resume = True
    if isinstance(args.resume, str) and not Path(args.resume).is_dir() and _is_config(args.resume):
        args.args.insert(0, args.resume)  # `--resume smoke`: the config, resumed in its run.output_dir
        args.resume = True
    config = [a for a in args.args if "=" not in a]
    if len(config) > 1:
        p.error(f"one config expected, got {config}; overrides look like section.key=value")
    args.config = config[0] if config else None
    args.overrides = [a for a in args.args if "=" in a]
    if args.config is None and not isinstance(args.resume, str):
        p.error("a config is required (a YAML file or a shipped name), unless resuming with --resume RUN_DIR")
    return args


def _is_config(name: str) -> bool:
    from rlvr.config import ConfigError, resolve_config_path

    try:
        return resolve_config_path(name).is_file()
    except ConfigError:
        return False


def load(args: argparse.Namespace):
    """The run's config: CONFIG (or RUN_DIR's saved config) with the overrides; `--resume RUN_DIR` sets output_dir."""
    from rlvr.config import load_config, resolve_config_path
    from rlvr.run.folder import CONFIG_NAME

    overrides = list(args.overrides)
    if isinstance(args.resume, str):
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise UserError(f"--resume {args.resume}: no such run folder")
        overrides.insert(0, f"run.output_dir={run_dir}")
        if args.config is None:
            if not (run_dir / CONFIG_NAME).is_file():
                raise UserError(f"--resume {args.resume}: no {CONFIG_NAME} there; give the run's config too")
            return load_config(run_dir / CONFIG_NAME, overrides)
    return load_config(resolve_config_path(args.config), overrides)


def prepare(cfg) -> Job:
    """Every cheap check, in order of cost; raises UserError with one clear message."""
    from rewards import RewardPool
    from rlvr.data import prompts as data
    from rlvr.data.checks import row_checker
    from rlvr.model import resolve_model
    from rlvr.run.preflight import build_reward, combine, fields_checker, template_checker
    from rlvr.sync.push import make_probe

    reward = build_reward(cfg.rewards.verifiers)
    try:  # data before the model: resolving it may convert weights (~45 s)
        check = combine(fields_checker(reward.required_fields), row_checker(v.name for v in cfg.rewards.verifiers),
                        template_checker(cfg.data.prompt_template))
        train_rows, eval_rows = data.load_splits(cfg.data, check=check)  # a malformed row fails here, by line
        data.validate_rows(train_rows + eval_rows, reward.required_fields, cfg.data.path or cfg.data.task)
    except (KeyError, ValueError, FileNotFoundError) as err:
        raise UserError(f"data: {err}") from err
    try:
        model_dir = resolve_model(cfg.model.path, cfg.model.cache_dir)
    except (FileNotFoundError, OSError, ValueError) as err:
        raise UserError(str(err)) from err
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    for row in (*train_rows, *eval_rows):
        row["prompt"] = data.format_prompt(tokenizer, row["question"], cfg.data.system_prompt,
                                           cfg.data.prompt_template, fields=row)
    regression_rows = _regression_rows(cfg, tokenizer)
    tool_pool = _check_env(cfg, tokenizer)
    stream = data.PromptStream(train_rows, cfg.data.prompts_per_step, cfg.data.seed)
    pool = RewardPool(workers=cfg.rewards.workers, timeout_s=cfg.rewards.timeout_s)
    return Job(model_dir=model_dir, stream=stream, eval_rows=eval_rows, reward=reward, pool=pool,
               probe=make_probe(tokenizer, cfg.sync.probe_len), regression_rows=regression_rows, tool_pool=tool_pool)


def _check_env(cfg, tokenizer):
    """With `env.name`: the environment builds with its options, the chat template can render observations, the
    run is on-policy; returns the pool its tools run in (None without an environment)."""
    from rewards import RewardPool
    from rlvr.envs import ObservationRenderer, make

    if not cfg.env.name:
        return None
    if cfg.run.off_policy:
        raise UserError("env: multi-turn episodes need run.off_policy: false (a push between two turns of an "
                        "episode would mix two policies in one sequence)")
    try:
        ObservationRenderer(tokenizer, make(cfg.env.name, **cfg.env.options).observation_role)
    except (KeyError, TypeError, ValueError, ImportError) as err:
        raise UserError(f"env: {err}") from err
    return RewardPool(workers=cfg.rewards.workers, timeout_s=cfg.env.tool_timeout_s)


def _close_pools(job: Job) -> None:
    """The job's worker pools: the rewards' and, with an environment, its tools'."""
    for pool in (job.pool, job.tool_pool):
        if pool is not None:
            pool.close()


def _regression_rows(cfg, tokenizer) -> list[dict]:
    """health.regression_task's rows (another reasoning-gym task), prompted like the training rows."""
    from rlvr.data import prompts as data

    h = cfg.health
    if not h.regression_task:
        return []
    try:
        rows = data.reasoning_gym_rows(h.regression_task, h.regression_size, cfg.data.seed + 7_000_003,
                                       h.regression_task_kwargs)
    except data.DataError as err:
        raise UserError(f"health.regression_task: {err}") from err
    for row in rows:
        row["prompt"] = data.format_prompt(tokenizer, row["question"], cfg.data.system_prompt, "{question}", fields=row)
    return rows


def preflight(args: argparse.Namespace):
    """Config, folder plan and every cheap check; returns (cfg, plan, job), job None when there is nothing to run."""
    import yaml

    from rlvr.run import folder as run_folder
    from rlvr.run.preflight import check_output_dir

    cfg = load(args)
    if args.print_config:
        print(yaml.safe_dump(cfg.to_dict(), sort_keys=False), end="", flush=True)
        return cfg, None, None
    print(f"[rlvr] config {args.config or args.resume}: {cfg.run.steps} steps -> {cfg.run.output_dir}", flush=True)
    check_output_dir(cfg.run.output_dir)
    plan = run_folder.plan(cfg, resume=bool(args.resume), overwrite=args.overwrite)
    if plan.note:
        print(f"[rlvr] {plan.note}", flush=True)
    if plan.action == "finished":
        return cfg, plan, None
    job = prepare(cfg)
    if args.dry_run:
        _close_pools(job)
        print(f"[rlvr] pre-flight passed ({len(job.eval_rows)} eval rows, verifiers "
              f"{', '.join(v.name for v in cfg.rewards.verifiers)}); --dry-run: nothing started", flush=True)
        return cfg, plan, None
    run_folder.start(cfg, plan)
    return cfg, plan, job


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rlvr.config import ConfigError

    try:
        cfg, plan, job = preflight(args)
    except (ConfigError, UserError, FileNotFoundError) as err:
        if args.debug:
            raise
        print(f"rlvr: error: {err}", file=sys.stderr)
        return 2
    if job is None:
        return 0
    return train(cfg, plan, job, verbose=args.verbose)


def train(cfg, plan, job, verbose: bool = False) -> int:
    """Run the loop; unless `verbose`, Ray/vLLM/transformers output goes to RUN_DIR/run.log and the console
    carries only rlvr's lines (rlvr.health.console) and errors."""
    from rlvr.health.console import route_logs
    from rlvr.health.watch import HealthStop
    from rlvr.run import outputs
    from rlvr.run.memwatch import MemoryWatch, write_summary
    from rlvr.run.trainer import Trainer
    from rlvr.sync.push import SyncMismatchError

    log_path = Path(cfg.run.output_dir) / outputs.RUN_LOG
    route = None if verbose else route_logs(log_path)
    say = route.say if route else lambda line: print(line, flush=True)
    if route:
        say(f"[rlvr] Ray, vLLM and transformers logs -> {log_path} (--verbose shows them here)")
    watch = MemoryWatch().start()  # the driver's process tree: Ray, every actor, the reward workers
    trainer = Trainer(cfg, job, resume=plan.action == "resume", say=say)
    try:
        final = trainer.run()
    except SyncMismatchError as err:
        say(f"rlvr: weight sync check failed: {err}")
        return 3
    except HealthStop as err:
        say(f"rlvr: stopped by a health monitor: {err}; the last step is checkpointed (--resume continues)")
        return 4
    except BaseException as err:
        if route:  # the traceback is in run.log; the person sees what failed and where to look
            import traceback

            traceback.print_exc()
            say(f"rlvr: error: {type(err).__name__}: {err} (traceback in {log_path})")
        raise
    finally:
        trainer.close()
        _close_pools(job)
        say(f"[rlvr] {write_summary(watch.stop(), cfg.run.output_dir)}")
        if route:
            route.restore()
    print(f"[rlvr] done: held-out reward {final['eval_reward']:.3f}; outputs in {cfg.run.output_dir}", flush=True)
    return 0

