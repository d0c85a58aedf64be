"""Shared by the sampler tests: one way to build an in-process fp32 engine."""

import os

import pytest

from rlvr.rollout.sampler import Sampler


@pytest.fixture(scope="session")
def in_process_sampler():
    """Factory for in-process vLLM engines (seconds, not tens, to start); restores the env afterwards."""
    saved = os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING")
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    try:
        yield lambda folder: Sampler(str(folder), dtype="float32", max_model_len=512, kv_cache_gib=0.25, seed=0)
    finally:
        if saved is None:
            os.environ.pop("VLLM_ENABLE_V1_MULTIPROCESSING", None)
        else:
            os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = saved
