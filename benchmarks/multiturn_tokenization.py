"""Multi-turn episodes: episode throughput, and the tokenization cost of token-in/token-out vs re-tokenizing.

One run: `--episodes` episodes of an environment that always answers (a short status line, never done) are
played on an in-process vLLM engine (`rlvr.envs.rollout.EpisodeRunner`, SmolLM2-135M-Instruct by default) for 8
and for 64 turns, `--max-tokens` sampled tokens per turn at most. Generation time is the engine calls' wall time.
Then the same episodes (their sampled ids and observations) are replayed through both tokenization paths of
`rlvr.envs.episode.Episode` and timed:
- token-in/token-out (rlvr): each observation rendered with the template's delimiters and tokenized alone, the
  sampled ids appended as they are;
- re-tokenizing (the peer, what many agent loops do): the whole conversation re-rendered with the chat template
  and tokenized each turn.
Each is reported as a fraction of the generation time (target for rlvr: <= 1%), their ratio, and the drift
events of each path (the re-tokenized prefix leaving the sampled ids). Writes JSON (default
results/multiturn_tokenization.json) with the machine load.
Usage: python benchmarks/multiturn_tokenization.py [--model embedded:smollm2-135m-instruct] [--turns 8 64]
       [--episodes 4] [--max-tokens 16] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from rlvr.envs.base import Environment, StepResult
from rlvr.envs.episode import Episode
from rlvr.envs.rollout import EpisodeRunner


class StatusEnv(Environment):
    """Answers each turn with a short status line; the turn budget ends the episode."""

    name = "status"

    def reset(self, row):
        return [{"role": "user", "content": row["question"]}]

    def step(self, text):
        return StepResult(f"status: {len(text)} chars received, turn noted; continue.")


class TimedFleet:
    """`generate(rows, ...)` on one in-process Sampler, timing the engine calls."""

    def __init__(self, sampler):
        self.sampler, self.seconds, self.tokens = sampler, 0.0, 0

    def generate(self, rows, **sampling):
        t0 = time.perf_counter()
        groups = self.sampler.generate([r["prompt"] for r in rows], **sampling)
        self.seconds += time.perf_counter() - t0
        self.tokens += sum(len(c.token_ids) for g in groups for c in g.completions)
        return groups


def replay(runner: EpisodeRunner, group, retokenize: bool) -> tuple[float, int]:
    """Seconds spent on the tokens of one group's episodes along one path, and its drift events."""
    seconds, drift = 0.0, 0
    for c in group.completions:
        msgs = c.episode["messages"]
        sampled = [msgs[i]["content"] for i in range(0, len(msgs), 2)]
        observations = [msgs[i]["content"] for i in range(1, len(msgs), 2)]
        ids = list(group.prompt_ids) + c.token_ids
        turns = _turn_ids(c.token_ids, c.loss_mask)
        t0 = time.perf_counter()
        e = Episode([{"role": "user", "content": group.row["question"]}], runner.renderer, strict=False,
                    retokenize=retokenize)
        for k, text in enumerate(sampled):
            if k:
                e.add_observation(observations[k - 1])
            engine_prompt = e.ids  # what this path would hand the engine
            e.add_turn(engine_prompt, turns[k], [0.0] * len(turns[k]), text)
        if len(observations) == len(sampled):  # an episode ended by its token budget after an observation
            e.add_observation(observations[-1])
        seconds += time.perf_counter() - t0
        drift += e.drift_events + (not retokenize and e.ids != ids)  # rlvr's replay must rebuild the sequence
    return seconds, drift


def _turn_ids(token_ids: list[int], mask: list[int]) -> list[list[int]]:
    """The sampled ids of each turn (runs of mask 1)."""
    turns, cur = [], []
    for t, m in zip(token_ids, mask, strict=True):
        if m:
            cur.append(t)
        elif cur:
            turns.append(cur)
            cur = []
    if cur:
        turns.append(cur)
    return turns


def measure(sampler, turns: int, episodes: int, max_tokens: int) -> dict:
    fleet = TimedFleet(sampler)
    runner = EpisodeRunner(fleet, sampler.tokenizer, StatusEnv, tool_pool=None, max_turns=turns,
                           max_episode_tokens=turns * (max_tokens + 40), max_model_len=sampler_len(turns, max_tokens),
                           step_timeout_s=60)
    t0 = time.perf_counter()
    groups = runner.generate([{"question": f"Tell me a short story, part {i}."} for i in range(episodes)],
                             group_size=1, max_tokens=max_tokens, temperature=1.0)
    wall = time.perf_counter() - t0
    tito = [replay(runner, g, retokenize=False) for g in groups]
    peer = [replay(runner, g, retokenize=True) for g in groups]
    tito_s, peer_s = sum(s for s, _ in tito), sum(s for s, _ in peer)
    done_turns = [c.episode["turns"] for g in groups for c in g.completions]
    return {
        "turns": turns, "episodes": episodes, "turns_done_mean": sum(done_turns) / len(done_turns),
        "generation_s": round(fleet.seconds, 3), "episode_wall_s": round(wall, 3),
        "episodes_per_s": round(episodes / wall, 4), "sampled_tokens_per_s": round(fleet.tokens / fleet.seconds, 1),
        "tito_tokenize_s": round(tito_s, 6), "retokenize_s": round(peer_s, 6),
        "tito_frac_of_generation": round(tito_s / fleet.seconds, 5),
        "retokenize_frac_of_generation": round(peer_s / fleet.seconds, 5),
        "retokenize_over_tito": round(peer_s / tito_s, 2) if tito_s else None,
        "tito_drift_events": sum(d for _, d in tito), "retokenize_drift_events": sum(d for _, d in peer),
    }


def sampler_len(turns: int, max_tokens: int) -> int:
    return 256 + turns * (max_tokens + 40)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded:smollm2-135m-instruct")
    ap.add_argument("--turns", type=int, nargs="+", default=[8, 64])
    ap.add_argument("--episodes", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--out", default="results/multiturn_tokenization.json")
    args = ap.parse_args()
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    from rlvr.model import resolve_model
    from rlvr.rollout.sampler import Sampler

    model_dir = resolve_model(args.model, None)
    sampler = Sampler(str(model_dir), max_model_len=sampler_len(max(args.turns), args.max_tokens), kv_cache_gib=1.0)
    sampler.generate([[1, 2, 3]], group_size=1, max_tokens=4, temperature=1.0)  # warm-up, not timed
    load = os.getloadavg()
    rows = [measure(sampler, t, args.episodes, args.max_tokens) for t in args.turns]
    out = {"benchmark": "multiturn_tokenization", "model": args.model, "sampler_dtype": sampler.dtype,
           "max_tokens_per_turn": args.max_tokens, "results": rows,
           "loadavg_before_after": [round(load[0], 2), round(os.getloadavg()[0], 2)],
           "machine": f"{platform.machine()} {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    for r in rows:
        print(f"{r['turns']:>3} turns: generation {r['generation_s']:.1f} s ({r['episodes_per_s']:.3f} episodes/s); "
              f"tokenization rlvr {100 * r['tito_frac_of_generation']:.3f}% vs re-tokenizing "
              f"{100 * r['retokenize_frac_of_generation']:.2f}% of generation ({r['retokenize_over_tito']}x); "
              f"drift events rlvr {r['tito_drift_events']}, re-tokenizing {r['retokenize_drift_events']}")


if __name__ == "__main__":
    main()
