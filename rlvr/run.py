"""`python -m rlvr.run CONFIG [section.key=value ...] [--resume]`: train a policy with GRPO.

This module is the front door: it parses the command line, and checks everything that can be checked
cheaply (config keys, verifier names, the model's presence, every data row's fields) before Ray, vLLM or a
model start, so a typo costs a second, not a minute. The loop itself is `trainer.Trainer`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class UserError(Exception):
    """A problem the user can fix (config, model, data); printed without a traceback."""


@dataclass
class Job:
    """What the driver needs besides actors: data, reward, the probe for the sync check."""

    model_dir: Path
    stream: Any          # data.PromptStream over training rows (each with "prompt")
    eval_rows: list[dict]
    reward: Any          # rewards.Composite
    pool: Any            # rewards.RewardPool
    probe: list[int]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m rlvr.run", description=__doc__.splitlines()[0])
    p.add_argument("config", help="a YAML file, or the name of a shipped config (math, smoke, code, ...)")
    p.add_argument("overrides", nargs="*", help="section.key=value, e.g. run.steps=5 run.output_dir=runs/x")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in output_dir")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def prepare(cfg) -> Job:
    """Every cheap check, in order of cost; raises UserError with one clear message."""
    from rewards import Composite, RewardPool
    from rlvr import data
    from rlvr.data_checks import row_checker
    from rlvr.model import resolve_model
    from rlvr.sync import make_probe

    specs = [(v.name, v.weight, dict(v.options)) for v in cfg.rewards.verifiers]
    try:
        reward = Composite(specs)
    except (KeyError, ValueError) as err:
        raise UserError(f"rewards: {err}") from err
    try:  # data before the model: resolving it may convert weights (~45 s)
        check = row_checker(v.name for v in cfg.rewards.verifiers)  # a malformed row fails here, by line
        train_rows, eval_rows = data.load_splits(cfg.data, check=check)
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
                                           cfg.data.prompt_template)
    stream = data.PromptStream(train_rows, cfg.data.prompts_per_step, cfg.data.seed)
    pool = RewardPool(workers=cfg.rewards.workers, timeout_s=cfg.rewards.timeout_s)
    return Job(model_dir=model_dir, stream=stream, eval_rows=eval_rows, reward=reward, pool=pool,
               probe=make_probe(tokenizer, cfg.sync.probe_len))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rlvr.config import ConfigError, load_config, resolve_config_path

    try:
        cfg = load_config(resolve_config_path(args.config), args.overrides)
        print(f"[rlvr] config {args.config}: {cfg.run.steps} steps -> {cfg.run.output_dir}", flush=True)
        job = prepare(cfg)
    except (ConfigError, UserError, FileNotFoundError) as err:
        print(f"rlvr: error: {err}", file=sys.stderr)
        return 2
    from rlvr.sync import SyncMismatchError
    from rlvr.trainer import Trainer

    trainer = Trainer(cfg, job, resume=args.resume)
    try:
        final = trainer.run()
    except SyncMismatchError as err:
        print(f"rlvr: weight sync check failed: {err}", file=sys.stderr)
        return 3
    finally:
        trainer.close()
        job.pool.close()
    print(f"[rlvr] done: held-out reward {final['eval_reward']:.3f}; outputs in {cfg.run.output_dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
