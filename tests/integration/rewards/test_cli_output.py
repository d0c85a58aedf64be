"""`python -m rewards score` never loses a batch to what it writes (issue 10, class 9): a lone surrogate or
any other unencodable detail is sanitised, the output is strict JSON in UTF-8, and the temporary file is
removed on any failure."""

import json
import os

import pytest

from rewards import cli
from rewards.json_extract import loads_strict

ROWS = [  # the first two put a lone surrogate in info["detail"] (the tool name), the third in the completion
    {"completion": '<tool_call>{"name": "x\\ud800", "arguments": {}}</tool_call>', "tools": [], "answer": []},
    {"completion": '<tool_call>{"name": "\\udfff\\ud83d\\ude00", "arguments": {}}</tool_call>', "tools": [],
     "answer": []},
    {"completion": "\\udc80 no call", "tools": [], "answer": [], "id": "\\ud800"},
]


def _input(tmp_path):
    path = tmp_path / "in.jsonl"
    # json.dumps keeps the escapes as text; json.loads in the CLI turns them into lone surrogates
    path.write_text("".join(json.dumps(r).replace("\\\\u", "\\u") + "\n" for r in ROWS), encoding="utf-8")
    return path


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".rewards-")]


@pytest.mark.timeout(180)
def test_lone_surrogates_are_sanitised_and_the_batch_is_written(tmp_path, capsysbinary):
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    assert cli.main(["score", "--verifier", "tool_call", str(src), "-o", str(out), "--workers", "1", "-q"]) == 0
    lines = out.read_bytes().decode("utf-8").splitlines()  # strict UTF-8: raises on any surrogate
    got = [loads_strict(line) for line in lines]
    assert [g["info"]["reason"] for g in got] == ["unknown_tool", "unknown_tool", "no_call_expected"]
    assert got[0]["info"]["detail"] == "x\ufffd" and got[1]["info"]["detail"] == "\ufffd\U0001f600"
    assert got[2]["completion"].startswith("\ufffd") and got[2]["id"] == "\ufffd"
    assert not _leftovers(tmp_path)
    assert cli.main(["score", "--verifier", "tool_call", str(src), "--workers", "1", "-q"]) == 0
    assert capsysbinary.readouterr().out.decode("utf-8").splitlines() == lines


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fail_at", ["write", "replace"])
def test_a_failed_write_leaves_no_temporary_file_and_no_output(tmp_path, monkeypatch, fail_at):
    src, out = _input(tmp_path), tmp_path / "out.jsonl"

    def boom(*args, **kwargs):
        raise OSError("disk full (injected)")

    if fail_at == "replace":
        monkeypatch.setattr(cli.os, "replace", boom)
    else:
        real_fdopen = os.fdopen

        def fdopen(fd, *args, **kwargs):
            f = real_fdopen(fd, *args, **kwargs)
            f.writelines = boom
            return f
        monkeypatch.setattr(cli.os, "fdopen", fdopen)
    assert cli.main(["score", "--verifier", "tool_call", str(src), "-o", str(out), "--workers", "1", "-q"]) == 2
    assert not out.exists() and not _leftovers(tmp_path)


def test_clean_makes_any_value_strict_utf8_json():
    value = {"s": "a\ud800b\udc00", "pair": "\ud83d\ude00", "nan": float("nan"), "inf": -float("inf"),
             3: {1, 2}, "deep": [[("t", None, True, 1.5)]], "obj": object}
    text = json.dumps(cli.clean(value), ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")
    back = loads_strict(text)
    assert back["s"] == "a\ufffdb\ufffd" and back["pair"] == "\U0001f600" and back["nan"] == "nan"
    assert back["inf"] == "-inf" and back["3"] == "{1, 2}" and back["deep"] == [[["t", None, True, 1.5]]]


@pytest.mark.timeout(180)
def test_output_to_a_fifo_writes_through_and_leaves_the_node_in_place(tmp_path):
    """`-o /dev/null` once replaced the device node with a plain file (a rename onto it, as root): a non-regular
    target is written to directly. A FIFO stands in for /dev/null here; the test must not touch the real one."""
    import stat
    import threading

    src, fifo = _input(tmp_path), tmp_path / "sink"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert cli.main(["score", "--verifier", "tool_call", str(src), "-o", str(fifo), "--workers", "1", "-q"]) == 0
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the FIFO, not a regular file renamed over it
    assert len(got) == 1 and len(got[0].decode("utf-8").splitlines()) == len(ROWS)
    assert _leftovers(tmp_path) == []
