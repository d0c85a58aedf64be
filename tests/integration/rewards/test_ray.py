"""RewardPool inside a Ray actor: the timeout still holds there (where signal.alarm-based checkers fail)."""

import os
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parents[2] / "fixtures"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pool_in_a_ray_actor_scores_and_times_out():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(FIXTURES), *sys.path])}})
    try:
        @ray.remote
        class Scorer:
            def run(self):
                import pool_helpers

                from rewards import RewardPool, make

                with RewardPool(workers=1, timeout_s=2) as pool:
                    math = pool.map(make("math"), [{"completion": "The final answer is 56.", "answer": "56"}])
                    hung = pool.map(pool_helpers.Spin(), [{"completion": ""}])
                return math[0].reward, hung[0].info["reason"]

        assert ray.get(Scorer.remote().run.remote(), timeout=240) == (1.0, "timeout")
    finally:
        ray.shutdown()
