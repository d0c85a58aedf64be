"""The GRPO driver: prompts -> samplers -> completions -> rewards -> advantages -> learner -> weight sync.

`Trainer.run()` is the whole loop and reads like that diagram; prefetching the next batch, evaluation and
checkpointing are lines of the loop, not side effects of logging. One completion travels as the types of
`rlvr.types` (a `Group` from the samplers, scored in place, turned into `TrainSample`s by
`rlvr.learn.samples`); with an `env:` section each completion is a multi-turn episode (`rlvr.envs.rollout`, which
has the fleet's interface). The driver owns no model: the learner and the samplers are Ray actors, rewards run in
the `rewards` worker pool. It does not validate configs, data or the run folder (`rlvr.run.cli` and
`rlvr.run.folder` do, before anything expensive starts), holds no GRPO math (`rlvr.learn.grpo`) and no health
rules (`rlvr.health`: the loop hands it each step's and eval's numbers and asks it whether to stop).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from rlvr.envs.rollout import episode_metrics, runner_for, score_episodes
from rlvr.health.hook import RunHealth
from rlvr.health.signals import mean_se, step_signals
from rlvr.learn import grpo
from rlvr.learn.samples import train_samples
from rlvr.rollout.fleet import score_groups
from rlvr.run import checkpoint, outputs
from rlvr.run.actors import Actors
from rlvr.run.outputs import (
    DpoPairWriter,
    EvalItemWriter,
    MetricsWriter,
    flat_record,
    plot_reward_curve,
    read_jsonl,
)
from rlvr.types import Group, Job, TrainSample

log = logging.getLogger(__name__)


class Trainer:
    """One training run. `run()` is resumable: with `resume=True` it continues from the newest checkpoint."""

    def __init__(self, cfg, job: Job, resume: bool = False, say=print):
        self.cfg, self.job, self.resume = cfg, job, resume
        self.say = say  # the person's console (`rlvr.health.console.LogRoute.say` when logs go to run.log)
        self.out = Path(cfg.run.output_dir)
        self.step = 0
        self.actors: Actors | None = None
        self.tis = False  # resolved in _start, once the samplers' dtype is known

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self) -> dict:
        cfg = self.cfg
        self._start()
        if self.step == 0:
            self._evaluate()                                                         # held-out reward before
        pending = self._submit_next() if self.step < cfg.run.steps else None
        for step in range(self.step, cfg.run.steps):
            t0 = time.perf_counter()
            last = step + 1 >= cfg.run.steps
            groups, gen_s = self._collect(pending)                                    # samplers -> completions
            if cfg.run.off_policy and not last:
                pending = self._submit_next()                                        # prefetch: next batch meanwhile
            t1 = time.perf_counter()
            self._score(groups)                                                      # rewards
            reward_s = time.perf_counter() - t1
            samples, dropped = train_samples(groups, adv_norm=cfg.algo.adv_norm,      # advantages
                                             drop_zero_variance=cfg.algo.drop_zero_variance, eps=cfg.algo.eps,
                                             with_old_logprobs=cfg.run.off_policy and not self.tis)
            train = self._train(samples)                                             # learner
            sync = self.actors.sync.push(step + 1)                                   # weight sync (verified)
            if not cfg.run.off_policy and not last:
                pending = self._submit_next()                                        # next batch, new weights
            self.step = step + 1
            self._record(groups, train, sync, dropped, gen_s, reward_s, time.perf_counter() - t0)  # + health
            if _every(cfg.run.eval_every, self.step) and not last:
                self._evaluate()                                                     # held-out reward
            saved = _every(cfg.run.save_every, self.step) or last
            if saved:
                self._checkpoint()                                                   # resumable from here
            if (stop := self.health.stop()) is not None:                             # health.stop_on fired
                self._halt(stop, saved)
        return self._finish()

    # -- stages --------------------------------------------------------------------------------------------
    def _start(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        ckpt = checkpoint.latest(self.out) if self.resume else None
        t0 = time.perf_counter()
        n = self.cfg.sampler.num_samplers
        self.say(f"[rlvr] starting the learner and {n} sampler{'s' * (n > 1)} (model {self.job.model_dir})")
        self.actors = Actors.start(self.cfg, self.job, say=self.say)
        # multi-turn episodes (env.name set) run on the same samplers, turn by turn (rlvr.envs.rollout)
        self.rollout = runner_for(self.cfg, self.actors.fleet, self.job) if self.cfg.env.name else self.actors.fleet
        self.tis = grpo.tis_enabled(self.cfg.algo.tis, sampler_dtype=self.actors.sampler_dtype,
                                    learner_dtype=self.cfg.learner.dtype)
        self.say(f"[rlvr] truncated importance sampling {'on' if self.tis else 'off'} (algo.tis {self.cfg.algo.tis}: "
                 f"sampler {self.actors.sampler_dtype}, learner {self.cfg.learner.dtype})")
        if ckpt is not None:
            state = checkpoint.load_driver_state(ckpt)
            self.actors.load_learner(str(ckpt / "learner"))
            self.step = int(state["step"])
            self.job.stream.load_state(state["stream"])
            self.say(f"[rlvr] resumed from {ckpt} at step {self.step}")
        elif self.resume:
            log.warning("--resume: no checkpoint in %s; starting fresh", self.out)
        self._stream_mark = self.job.stream.state()
        resume_step = self.step if ckpt is not None else None  # a fresh run starts its files afresh
        self.metrics = MetricsWriter(self.out, resume_step=resume_step)
        self.pairs = DpoPairWriter(self.out, resume_step=resume_step)
        self.items = EvalItemWriter(self.out, resume_step=resume_step)
        self.health = RunHealth(self.cfg, self.out, self.metrics.write, self.say,
                                resumed_rows=read_jsonl(self.metrics.path) if resume_step is not None else ())
        sync = self.actors.sync.start(self.step)                                   # base once, then the adapter
        ws = self.actors.sync
        self.say(f"[rlvr] actors ready and weights verified in {time.perf_counter() - t0:.0f} s (sync mode {ws.mode}, "
                 f"{ws.dtype} samplers; probe |dlogp| max {sync['sync_max_diff']:.1e}, "
                 f"{ws.stat} {sync['sync_probe_judged']:.1e}, tolerance {ws.tolerance:.1e} on the {ws.stat}; "
                 f"base {sync['sync_base_loss']:.1e})")
        where = self.actors.placement()
        if len({where["learner"], *where["samplers"]}) > 1:  # a multi-node cluster: say what runs where
            short = [str(n)[:8] for n in (where["learner"], *where["samplers"])]
            self.say(f"[rlvr] learner on node {short[0]}, samplers on {', '.join(short[1:])}")

    def _submit_next(self):
        """Draw the next batch of rows and start generating it."""
        return self.rollout.submit(self.job.stream.next_batch(), **self._sampling()), time.perf_counter()

    def _collect(self, pending) -> tuple[list[Group], float]:
        """The groups of the batch `pending` generates. A checkpoint after this step resumes from the data
        position right after this batch (a batch prefetched later is drawn again on resume)."""
        handles, t0 = pending
        self._stream_mark = self.job.stream.state()  # the next batch is drawn after this, in either mode
        groups = self.rollout.collect(handles, **self._sampling())
        return groups, time.perf_counter() - t0

    def _sampling(self, evaluation: bool = False) -> dict:
        s = self.cfg.sampler
        if evaluation:
            return {"group_size": 1, "max_tokens": s.max_tokens, "temperature": s.eval_temperature, "top_p": 1.0}
        return {"group_size": s.group_size, "max_tokens": s.max_tokens, "temperature": s.temperature, "top_p": s.top_p}

    def _score(self, groups: list[Group]) -> None:
        """Fill each completion's reward; an episode's adds the environment's own (rlvr.envs.rollout)."""
        if self.cfg.env.name:
            score_episodes(groups, self.job.reward, self.job.pool, env_weight=self.cfg.env.reward_weight)
        else:
            score_groups(groups, self.job.reward, self.job.pool)

    def _train(self, samples: list[TrainSample]) -> dict:
        a, s = self.cfg.algo, self.cfg.sampler
        if not samples:  # every group had equal rewards: nothing to learn from this batch
            return {"skipped": 1.0}
        return self.actors.train_step(samples, clip_low=a.clip_low, clip_high=a.clip_high,
                                      loss_norm=a.loss_norm, kl=a.kl, kl_coef=a.kl_coef,
                                      max_tokens=self.cfg.env.max_episode_tokens if self.cfg.env.name else s.max_tokens,
                                      temperature=s.temperature, top_p=s.top_p,
                                      tis_cap=a.tis_cap if self.tis else None)

    def _evaluate(self) -> dict:
        """Mean reward (pass@1, greedy by default) with its standard error on the held-out split, overall and per
        verifier; and on the health regression set (another task) when the config names one."""
        t0 = time.perf_counter()
        out = self._score_heldout(self.job.eval_rows, "eval_reward")
        out["eval_s"] = time.perf_counter() - t0
        if self.job.regression_rows:
            out.update(self._score_heldout(self.job.regression_rows, "regression_reward"))
        row = self.metrics.write({"step": self.step, **out})
        log.info("eval at step %d: reward %.3f over %d prompts", self.step, out["eval_reward"], len(self.job.eval_rows))
        self.health.eval(row, len(self.job.eval_rows))
        return out

    def _score_heldout(self, rows: list[dict], key: str) -> dict:
        """`key` and `key_<component>`, each with `_se`, over the completions a verifier applied to."""
        groups = self.rollout.generate(rows, **self._sampling(evaluation=True))
        self._score(groups)
        self.items.write(self.step, key.removesuffix("_reward"), groups)
        out = {key.replace("_reward", "_n"): len(_scored(groups))}  # eval_n / regression_n: what the se stands on
        out.update({f"{key.replace('_reward', '')}_{k}": v for k, v in episode_metrics(groups).items()})
        for name, vals in {key: _scored(groups), **{f"{key}_{k}": v for k, v in _components(groups).items()}}.items():
            out[name], out[f"{name}_se"] = mean_se(vals)
        return out

    def _record(self, groups, train, sync, dropped, gen_s, reward_s, step_s) -> None:
        """The step's DPO pairs, its metrics line every `run.log_every` steps and at the last, and its health
        (the monitors see every step, logged or not; one console line per step)."""
        self.pairs.write(self.step, groups)
        completions = [c for g in groups for c in g.completions]
        rewards = _scored(groups)
        lengths = [len(c.token_ids) for c in completions]
        mean = sum(rewards) / max(len(rewards), 1)
        row = flat_record({
            "step": self.step, "reward_mean": mean,
            "reward_std": (sum((r - mean) ** 2 for r in rewards) / max(len(rewards), 1)) ** 0.5,
            "reward_not_applicable_frac": 1.0 - len(rewards) / len(completions),
            **{f"reward_{k}_mean": sum(v) / len(v) for k, v in _components(groups).items()},
            "groups_dropped_frac": dropped, "completion_len_mean": sum(lengths) / len(lengths),
            "completion_len_max": max(lengths), "tokens_per_s": sum(lengths) / gen_s if gen_s else 0.0,
            "gen_s": gen_s, "reward_s": reward_s, "step_s": step_s, **sync,
            # the learner counts its own optimizer steps (fewer when a batch had nothing to learn from)
            **{("learner_step" if k == "step" else k): v for k, v in train.items()},
            "sampler_restarts": self.actors.fleet.restarts,
            "reward_failures": sum(c.reason in ("timeout", "worker_died") for c in completions),
            "health": step_signals(groups, copy_ngram=self.cfg.health.copy_ngram),
            **episode_metrics(groups),  # multi-turn episodes: turns, tool calls/errors/seconds, drift ({} otherwise)
        })
        if _every(self.cfg.run.log_every, self.step) or self.step >= self.cfg.run.steps:
            self.metrics.write(row)
        self.health.step(row)

    def _checkpoint(self) -> None:
        checkpoint.save(self.out, self.step, {"stream": self._stream_mark}, self.actors.save_learner)

    def _halt(self, finding, saved: bool) -> None:
        """Stop for a health.stop_on monitor: checkpoint the step (if the loop did not), then the report and
        `HealthStop` (`--resume` continues from this step)."""
        if not saved:
            self._checkpoint()
        self._close_files()
        self.health.halt(finding)

    def _finish(self) -> dict:
        """The final evaluation, the adapter, the reward curve (the last step is already checkpointed), and the
        summary table with the run report."""
        final = self._evaluate()
        self.actors.save_adapter(str(self.out / outputs.ADAPTER))
        self._close_files()
        plot_reward_curve(self.out / outputs.METRICS, self.out / outputs.REWARD_CURVE)
        self.health.summary()
        return final

    def _close_files(self) -> None:
        for writer in (getattr(self, "metrics", None), getattr(self, "pairs", None), getattr(self, "items", None)):
            if writer is not None:
                writer.close()

    def close(self) -> None:
        """Close the output files and stop the actors (also after a failed run)."""
        self._close_files()
        if self.actors is not None:
            self.actors.close()


def _every(n: int, step: int) -> bool:
    """True on every `n`-th step (`n` = 0: never)."""
    return n > 0 and step % n == 0



def _scored(groups: list[Group]) -> list[float]:
    """The rewards of the completions a verifier applied to (a "not applicable" None is left out)."""
    return [c.reward for g in groups for c in g.completions if c.reward is not None]


def _components(groups: list[Group]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for g in groups:
        for c in g.completions:
            for name, value in c.components.items():
                out.setdefault(name, []).append(float(value))
    return out
