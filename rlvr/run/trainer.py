"""The GRPO driver: prompts -> samplers -> completions -> rewards -> advantages -> learner -> weight sync.

`Trainer.run()` is the whole loop and reads like that diagram; prefetching the next batch, evaluation and
checkpointing are lines of the loop, not side effects of logging. One completion travels as the types of
`rlvr.types` (a `Group` from the samplers, scored in place, turned into `TrainSample`s by
`rlvr.learn.samples`). The driver owns no model: the learner and the samplers are Ray actors, rewards run in
the `rewards` worker pool. It does not validate configs, data or the run folder (`rlvr.run.cli` and
`rlvr.run.folder` do, before anything expensive starts) and holds no GRPO math (`rlvr.learn.grpo`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from rlvr.learn import grpo
from rlvr.learn.samples import train_samples
from rlvr.rollout.fleet import score_groups
from rlvr.run import checkpoint, outputs
from rlvr.run.actors import Actors
from rlvr.run.outputs import DpoPairWriter, MetricsWriter, plot_reward_curve
from rlvr.types import Group, Job, TrainSample

log = logging.getLogger(__name__)


class Trainer:
    """One training run. `run()` is resumable: with `resume=True` it continues from the newest checkpoint."""

    def __init__(self, cfg, job: Job, resume: bool = False):
        self.cfg, self.job, self.resume = cfg, job, resume
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
        for step in self._progress():
            t0 = time.perf_counter()
            last = step + 1 >= cfg.run.steps
            groups, gen_s = self._collect(pending)                                    # samplers -> completions
            if cfg.run.off_policy and not last:
                pending = self._submit_next()                                        # prefetch: next batch meanwhile
            t1 = time.perf_counter()
            score_groups(groups, self.job.reward, self.job.pool)                     # rewards
            reward_s = time.perf_counter() - t1
            samples, dropped = train_samples(groups, adv_norm=cfg.algo.adv_norm,      # advantages
                                             drop_zero_variance=cfg.algo.drop_zero_variance, eps=cfg.algo.eps,
                                             with_old_logprobs=cfg.run.off_policy and not self.tis)
            train = self._train(samples)                                             # learner
            sync = self.actors.sync.push(step + 1)                                   # weight sync (verified)
            if not cfg.run.off_policy and not last:
                pending = self._submit_next()                                        # next batch, new weights
            self.step = step + 1
            self._record(groups, train, sync, dropped, gen_s, reward_s, time.perf_counter() - t0)
            if _every(cfg.run.eval_every, self.step) and not last:
                self._evaluate()                                                     # held-out reward
            if _every(cfg.run.save_every, self.step) or last:
                self._checkpoint()                                                   # resumable from here
        return self._finish()

    # -- stages --------------------------------------------------------------------------------------------
    def _start(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        ckpt = checkpoint.latest(self.out) if self.resume else None
        t0 = time.perf_counter()
        n = self.cfg.sampler.num_samplers
        print(f"[rlvr] starting the learner and {n} sampler{'s' * (n > 1)} (model {self.job.model_dir})", flush=True)
        self.actors = Actors.start(self.cfg, self.job)
        self.tis = grpo.tis_enabled(self.cfg.algo.tis, sampler_dtype=self.actors.sampler_dtype,
                                    learner_dtype=self.cfg.learner.dtype)
        print(f"[rlvr] truncated importance sampling {'on' if self.tis else 'off'} (algo.tis {self.cfg.algo.tis}: "
              f"sampler {self.actors.sampler_dtype}, learner {self.cfg.learner.dtype})", flush=True)
        if ckpt is not None:
            state = checkpoint.load_driver_state(ckpt)
            self.actors.load_learner(str(ckpt / "learner"))
            self.step = int(state["step"])
            self.job.stream.load_state(state["stream"])
            print(f"[rlvr] resumed from {ckpt} at step {self.step}", flush=True)
        elif self.resume:
            log.warning("--resume: no checkpoint in %s; starting fresh", self.out)
        self._stream_mark = self.job.stream.state()
        resume_step = self.step if ckpt is not None else None  # a fresh run starts its files afresh
        self.metrics = MetricsWriter(self.out, resume_step=resume_step)
        self.pairs = DpoPairWriter(self.out, resume_step=resume_step)
        sync = self.actors.sync.start(self.step)                                   # base once, then the adapter
        ws = self.actors.sync
        print(f"[rlvr] actors ready and weights verified in {time.perf_counter() - t0:.0f} s (sync mode {ws.mode}, "
              f"{ws.dtype} samplers; probe max |dlogp| {sync['sync_max_diff']:.1e}, tolerance {ws.tolerance:.1e})",
              flush=True)

    def _progress(self):
        """The remaining steps, with a progress bar."""
        from tqdm import tqdm

        self._bar = tqdm(range(self.step, self.cfg.run.steps), desc="grpo", unit="step", initial=self.step,
                         total=self.cfg.run.steps, dynamic_ncols=True)
        return self._bar

    def _submit_next(self):
        """Draw the next batch of rows and start generating it."""
        return self.actors.fleet.submit(self.job.stream.next_batch(), **self._sampling()), time.perf_counter()

    def _collect(self, pending) -> tuple[list[Group], float]:
        """The groups of the batch `pending` generates. A checkpoint after this step resumes from the data
        position right after this batch (a batch prefetched later is drawn again on resume)."""
        handles, t0 = pending
        self._stream_mark = self.job.stream.state()  # the next batch is drawn after this, in either mode
        groups = self.actors.fleet.collect(handles, **self._sampling())
        return groups, time.perf_counter() - t0

    def _sampling(self, evaluation: bool = False) -> dict:
        s = self.cfg.sampler
        if evaluation:
            return {"group_size": 1, "max_tokens": s.max_tokens, "temperature": s.eval_temperature, "top_p": 1.0}
        return {"group_size": s.group_size, "max_tokens": s.max_tokens, "temperature": s.temperature, "top_p": s.top_p}

    def _train(self, samples: list[TrainSample]) -> dict:
        a, s = self.cfg.algo, self.cfg.sampler
        if not samples:  # every group had equal rewards: nothing to learn from this batch
            return {"skipped": 1.0}
        return self.actors.train_step(samples, clip_low=a.clip_low, clip_high=a.clip_high,
                                      loss_norm=a.loss_norm, max_tokens=s.max_tokens, kl=a.kl, kl_coef=a.kl_coef,
                                      temperature=s.temperature, top_p=s.top_p,
                                      tis_cap=a.tis_cap if self.tis else None)

    def _evaluate(self) -> dict:
        """Mean reward (pass@1, greedy by default) on the held-out split, overall and per verifier."""
        rows = self.job.eval_rows
        t0 = time.perf_counter()
        groups = self.actors.fleet.generate(rows, **self._sampling(evaluation=True))
        score_groups(groups, self.job.reward, self.job.pool)
        rewards = _scored(groups)
        out = {"eval_reward": sum(rewards) / max(len(rewards), 1), "eval_s": time.perf_counter() - t0,
               "eval_n": len(rewards), "eval_reward_stderr": stderr(rewards)}
        for name, vals in _components(groups).items():
            out[f"eval_reward_{name}"] = sum(vals) / len(vals)
            out[f"eval_reward_{name}_stderr"] = stderr(vals)
        self.metrics.write({"step": self.step, **out})
        log.info("eval at step %d: reward %.3f over %d prompts", self.step, out["eval_reward"], len(rows))
        print(f"[rlvr] eval step {self.step}: mean reward {out['eval_reward']:.3f} ({len(rows)} held-out prompts)",
              flush=True)
        return out

    def _record(self, groups, train, sync, dropped, gen_s, reward_s, step_s) -> None:
        """The step's DPO pairs, and its metrics line every `run.log_every` steps and at the last."""
        self.pairs.write(self.step, groups)
        if not (_every(self.cfg.run.log_every, self.step) or self.step >= self.cfg.run.steps):
            return
        completions = [c for g in groups for c in g.completions]
        rewards = _scored(groups)
        lengths = [len(c.token_ids) for c in completions]
        mean = sum(rewards) / max(len(rewards), 1)
        row = {
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
        }
        self.metrics.write(row)
        self._bar.set_postfix(reward=f"{mean:.3f}", kl=f"{row.get('kl', 0.0):.4f}")

    def _checkpoint(self) -> None:
        checkpoint.save(self.out, self.step, {"stream": self._stream_mark}, self.actors.save_learner)

    def _finish(self) -> dict:
        """The final evaluation, the adapter and the reward curve (the last step is already checkpointed)."""
        final = self._evaluate()
        self.actors.save_adapter(str(self.out / outputs.ADAPTER))
        self._close_files()
        plot_reward_curve(self.out / outputs.METRICS, self.out / outputs.REWARD_CURVE)
        return final

    def _close_files(self) -> None:
        for writer in (getattr(self, "metrics", None), getattr(self, "pairs", None)):
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


def stderr(values: list[float]) -> float:
    """Standard error of the mean (sample std / sqrt(n)); 0.0 for fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return (sum((v - mean) ** 2 for v in values) / (n - 1) / n) ** 0.5


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
