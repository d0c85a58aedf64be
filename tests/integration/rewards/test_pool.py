"""RewardPool: hard timeouts, dead workers, caps, order, futures, threads; the CLI end to end."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rewards import RewardPool, make
from rewards.base import MissingFieldError

FIXTURES = Path(__file__).parents[2] / "fixtures"


@pytest.fixture
def helpers(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))  # workers inherit sys.path, so they can unpickle these
    import pool_helpers

    return pool_helpers


@pytest.mark.timeout(120)
def test_hung_item_is_killed_and_the_worker_replaced(helpers):
    with RewardPool(workers=1, timeout_s=2) as pool:
        first = pool.map(helpers.Crashy(), [{"completion": "ok"}])[0]
        out = pool.map(helpers.Spin(), [{"completion": "", "spin": True}, {"completion": "", "spin": False}])
        after = pool.map(helpers.Crashy(), [{"completion": "ok"}])[0]
    assert out[0].reward == 0.0 and out[0].info["reason"] == "timeout"
    assert out[1].reward == 1.0  # the next item ran in a fresh worker
    assert out[1].info["pid"] != first.info["pid"] and after.reward == 1.0


@pytest.mark.timeout(120)
def test_dead_worker_errors_none_and_order(helpers):
    rows = [{"completion": "ok"}, {"completion": "x", "crash": True}, {"completion": "x", "raise": True},
            {"completion": "x", "none": True}, {"completion": "ok"}, {"completion": "no"}]
    with RewardPool(workers=2, timeout_s=20) as pool:
        out = pool.map(helpers.Crashy(), rows)
    assert out[0].reward == 1.0 and out[4].reward == 1.0 and out[5].reward == 0.0
    assert out[1].info["reason"] == "worker_died" and out[1].reward == 0.0
    assert out[2].info["reason"] == "verifier_error" and "boom" in out[2].info["error"]
    assert out[3] is None


@pytest.mark.timeout(120)
def test_memory_and_output_caps(helpers):
    with RewardPool(workers=1, timeout_s=20, memory_mb=1024, max_result_bytes=4096) as pool:
        hog, big = pool.map(helpers.Crashy(), [{"completion": "", "hog": True}, {"completion": "", "big": True}])
    assert hog.reward == 0.0 and hog.info["reason"] == "memory_limit"
    assert big.reward == 1.0 and big.info == {"reason": "big", "info_truncated": True}


@pytest.mark.timeout(120)
def test_submit_returns_a_future_and_threads_share_a_pool(helpers):
    v = make("math")
    results = {}
    with RewardPool(workers=2, timeout_s=30) as pool:
        fut = pool.submit(v, [{"completion": f"The answer is {i}.", "answer": str(i % 3)} for i in range(30)])

        def worker(k):
            results[k] = pool.map(v, [{"completion": f"\\boxed{{{k}}}", "answer": str(k)}] * 5)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        scores = fut.result(timeout=60)
    assert [s.reward for s in scores] == [float(i < 3) for i in range(30)]
    assert all(s.reward == 1.0 for k in range(4) for s in results[k])


def test_missing_field_is_refused_before_scoring():
    with RewardPool(workers=1) as pool:
        with pytest.raises(MissingFieldError, match="row 1"):
            pool.submit(make("math"), [{"completion": "1", "answer": "1"}, {"completion": "2"}])
        assert pool.map(make("math"), []) == []


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "rewards", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.timeout(180)
def test_cli_scores_a_file_and_refuses_bad_lines(tmp_path):
    rows = [{"completion": "7*8 = 56 ... The final answer is 56.", "answer": "56"},
            {"completion": "The answer is 3.", "answer": "4", "id": 7}]
    good = tmp_path / "in.jsonl"
    good.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    r = _cli("score", "--verifier", "math", str(good), "-o", str(out), "--workers", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["reward"] for g in got] == [1.0, 0.0] and got[1]["id"] == 7 and got[0]["info"]["reason"] == "correct"

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"completion": "x"}) + "\n")
    out2 = tmp_path / "out2.jsonl"
    r = _cli("score", "--verifier", "math", str(bad), "-o", str(out2), cwd=tmp_path)
    assert r.returncode == 2 and f"{bad}:2" in r.stderr and "'answer'" in r.stderr
    assert not out2.exists()
    bad.write_text("{not json\n")
    r = _cli("score", "--verifier", "math", str(bad), cwd=tmp_path)
    assert r.returncode == 2 and f"{bad}:1" in r.stderr and r.stdout == ""
    r = _cli("score", "--verifier", "nope", str(good), cwd=tmp_path)
    assert r.returncode == 2 and "known:" in r.stderr
