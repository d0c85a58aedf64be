"""The GRPO driver: prompts -> samplers -> completions -> rewards -> advantages -> learner -> weight sync.

`Trainer.run()` is the whole loop and reads like that diagram. The driver owns no model: the learner and the
samplers are Ray actors, rewards run in the `rewards` worker pool. It does not validate configs or data (see
`run.py`, which does that before anything expensive starts) and holds no GRPO math (see `grpo.py`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch

from rlvr.learn import grpo
from rlvr.learn.learner import TrainSample
from rlvr.rollout.fleet import ScoredGroup, score_groups
from rlvr.run import checkpoint
from rlvr.run.actors import Actors
from rlvr.run.outputs import DpoPairWriter, MetricsWriter, plot_reward_curve

log = logging.getLogger(__name__)


def train_samples(groups: list[ScoredGroup], *, adv_norm: str, drop_zero_variance: bool, eps: float,
                  with_old_logprobs: bool) -> tuple[list[TrainSample], float]:
    """Group advantages -> one TrainSample per completion; returns (samples, fraction of groups dropped).

    Every sample carries the sampler's logprobs (for the mismatch metrics and TIS); `with_old_logprobs`
    also makes them the clipped ratio's old policy (off-policy without TIS: the ratio is then taken
    against the sampler itself)."""
    rewards = torch.tensor([g.rewards for g in groups], dtype=torch.float32)  # [B, G]
    adv = grpo.group_advantages(rewards, norm=adv_norm, eps=eps)  # [B, G]
    keep = ~grpo.zero_variance_groups(rewards) if drop_zero_variance else torch.ones(len(groups), dtype=torch.bool)  # [B]
    samples = [
        TrainSample(prompt_ids=list(g.prompt_ids), completion_ids=list(c.token_ids), advantage=float(adv[b, i]),
                    old_logprobs=list(c.logprobs) if with_old_logprobs else None,
                    sampler_logprobs=list(c.logprobs))
        for b, g in enumerate(groups) if keep[b]
        for i, c in enumerate(g.completions) if c.token_ids
    ]
    return samples, 1.0 - float(keep.float().mean()) if len(groups) else 0.0


class Trainer:
    """One training run. `run()` is resumable: with `resume=True` it continues from the newest checkpoint."""

    def __init__(self, cfg, job, resume: bool = False):
        self.cfg, self.job, self.resume = cfg, job, resume
        self.out = Path(cfg.run.output_dir)
        self.step = 0
        self.probe = job.probe
        self.actors: Actors | None = None
        self.tis = False  # resolved in _start, once the samplers' dtype is known

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self) -> dict:
        cfg = self.cfg
        self._start()
        pending = self._submit_next() if self.step < cfg.run.steps else None
        from tqdm import tqdm

        bar = tqdm(range(self.step, cfg.run.steps), desc="grpo", unit="step", initial=self.step,
                   total=cfg.run.steps, dynamic_ncols=True)
        for step in bar:
            t0 = time.perf_counter()
            groups, gen_s = self._collect(pending)                                    # samplers -> completions
            last = step + 1 >= cfg.run.steps
            if cfg.run.off_policy and not last:                                      # next batch runs meanwhile
                pending = self._submit_next()
            t1 = time.perf_counter()
            score_groups(groups, self.job.reward, self.job.pool)                     # rewards
            reward_s = time.perf_counter() - t1
            samples, dropped = train_samples(groups, adv_norm=cfg.algo.adv_norm,      # advantages
                                             drop_zero_variance=cfg.algo.drop_zero_variance, eps=cfg.algo.eps,
                                             with_old_logprobs=cfg.run.off_policy and not self.tis)
            train = self._train(samples)                                             # learner
            sync = self.actors.sync.push(step + 1)                                   # weight sync (verified)
            if not cfg.run.off_policy and not last:
                pending = self._submit_next()
            elif last:
                self._stream_mark = self.job.stream.state()
            self.step = step + 1
            row = self._record(groups, train, sync, dropped, gen_s, reward_s, time.perf_counter() - t0)
            bar.set_postfix(reward=f"{row['reward_mean']:.3f}", kl=f"{row.get('kl', 0.0):.4f}")
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
        elif checkpoint.latest(self.out) is not None:  # a fresh run replaces the old run's outputs
            print(f"[rlvr] starting fresh in {self.out}: removing the previous run's checkpoints "
                  f"(pass --resume to continue it instead)", flush=True)
            checkpoint.clear(self.out)
        self._stream_mark = self.job.stream.state()
        resume_step = self.step if ckpt is not None else None  # a fresh run starts its files afresh
        self.metrics = MetricsWriter(self.out, resume_step=resume_step)
        self.pairs = DpoPairWriter(self.out, resume_step=resume_step)
        sync = self.actors.sync.start(self.step)                                   # base once, then the adapter
        ws = self.actors.sync
        print(f"[rlvr] actors ready and weights verified in {time.perf_counter() - t0:.0f} s (sync mode {ws.mode}, "
              f"{ws.dtype} samplers; probe max |dlogp| {sync['sync_max_diff']:.1e}, tolerance {ws.tolerance:.1e})",
              flush=True)
        if self.step == 0 and self.cfg.run.eval_every >= 0:
            self._evaluate()

    def _submit_next(self):
        """Draw the next batch and start generating it; a checkpoint resumes from before this draw."""
        self._stream_mark = self.job.stream.state()
        rows = self.job.stream.next_batch()
        prompts = [r["prompt"] for r in rows]
        return rows, self.actors.fleet.submit(prompts, **self._sampling()), time.perf_counter()

    def _collect(self, pending) -> tuple[list[ScoredGroup], float]:
        rows, handles, t0 = pending
        groups = _groups(rows, self.actors.fleet.collect(handles, **self._sampling()))
        return groups, time.perf_counter() - t0

    def _sampling(self, evaluation: bool = False) -> dict:
        s = self.cfg.sampler
        if evaluation:
            return {"n": 1, "max_tokens": s.max_tokens, "temperature": s.eval_temperature, "top_p": 1.0}
        return {"n": s.group_size, "max_tokens": s.max_tokens, "temperature": s.temperature, "top_p": s.top_p}

    def _train(self, samples: list[TrainSample]) -> dict:
        a, s = self.cfg.algo, self.cfg.sampler
        if not samples:  # every group had equal rewards: nothing to learn from this batch
            return {"skipped": 1.0}
        return self.actors.train_step(samples, clip_low=a.clip_low, clip_high=a.clip_high,
                                      loss_norm=a.loss_norm, max_len=s.max_tokens, kl=a.kl, kl_coef=a.kl_coef,
                                      temperature=s.temperature, top_p=s.top_p,
                                      tis_cap=a.tis_cap if self.tis else None)

    def _evaluate(self) -> dict:
        """Mean reward (pass@1, greedy by default) on the held-out split, overall and per verifier."""
        rows = self.job.eval_rows
        t0 = time.perf_counter()
        groups = _groups(rows, self.actors.fleet.generate([r["prompt"] for r in rows],
                                                          **self._sampling(evaluation=True)))
        score_groups(groups, self.job.reward, self.job.pool)
        rewards = [r for g in groups for r in g.rewards]
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

    def _record(self, groups, train, sync, dropped, gen_s, reward_s, step_s) -> dict:
        cfg = self.cfg
        rewards = [r for g in groups for r in g.rewards]
        lengths = [len(c.token_ids) for g in groups for c in g.completions]
        mean = sum(rewards) / len(rewards)
        row = {
            "step": self.step, "reward_mean": mean,
            "reward_std": (sum((r - mean) ** 2 for r in rewards) / len(rewards)) ** 0.5,
            **{f"reward_{k}_mean": sum(v) / len(v) for k, v in _components(groups).items()},
            "groups_dropped_frac": dropped, "completion_len_mean": sum(lengths) / len(lengths),
            "completion_len_max": max(lengths), "tokens_per_s": sum(lengths) / gen_s if gen_s else 0.0,
            "gen_s": gen_s, "reward_s": reward_s, "step_s": step_s, **sync,
            # the learner counts its own optimizer steps (fewer when a batch had nothing to learn from)
            **{("learner_step" if k == "step" else k): v for k, v in train.items()},
            "sampler_restarts": self.actors.fleet.restarts,
            "reward_failures": sum(r in ("timeout", "worker_died") for g in groups for r in g.reasons),
        }
        self.metrics.write(row)
        self.pairs.write(self.step, groups)
        if cfg.run.eval_every > 0 and self.step % cfg.run.eval_every == 0 and self.step < cfg.run.steps:
            self._evaluate()
        if cfg.run.save_every > 0 and self.step % cfg.run.save_every == 0:
            self._checkpoint()
        return row

    def _checkpoint(self) -> None:
        checkpoint.save(self.out, self.step, {"stream": self._stream_mark}, self.actors.save_learner)

    def _finish(self) -> dict:
        final = self._evaluate()
        if not (self.out / "checkpoints" / f"step-{self.step:06d}").exists():  # the last step not yet saved
            self._checkpoint()
        self.actors.save_adapter(str(self.out / "adapter"))
        self.metrics.close()
        plot_reward_curve(self.out / "metrics.jsonl", self.out / "reward_curve.png")
        (self.out / "config.resolved.json").write_text(json.dumps(self.cfg.to_dict(), indent=2, default=str))
        return final

    def close(self) -> None:
        if self.actors is not None:
            self.actors.close()


def _groups(rows: list[dict], results: list) -> list[ScoredGroup]:
    """Pair each data row with the sampler's Group (prompt ids + completions) for it."""
    return [ScoredGroup(row=row, prompt=row["prompt"], prompt_ids=list(res.prompt_ids),
                        completions=list(res.completions)) for row, res in zip(rows, results, strict=True)]


def stderr(values: list[float]) -> float:
    """Standard error of the mean (sample std / sqrt(n)); 0.0 for fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return (sum((v - mean) ** 2 for v in values) / (n - 1) / n) ** 0.5


def _components(groups: list[ScoredGroup]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for g in groups:
        for comp in g.components:
            for name, value in comp.items():
                out.setdefault(name, []).append(float(value))
    return out
