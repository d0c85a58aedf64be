"""benchmarks/multiturn_tokenization.py in quick mode (tiny model): the JSON's shape, rlvr's replay rebuilding the
sampled sequences exactly (0 drift) and the re-tokenizing peer leaving them; no timing thresholds."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


@pytest.mark.slow
def test_quick_benchmark_writes_its_json(tmp_path):
    out = tmp_path / "mt.json"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "multiturn_tokenization.py"), "--model", "tiny:0",
                           "--turns", "2", "6", "--episodes", "2", "--out", str(out)], capture_output=True, text=True,
                          timeout=600, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert [r["turns"] for r in data["results"]] == [2, 6]
    for r in data["results"]:
        assert r["tito_drift_events"] == 0 and r["generation_s"] > 0 and r["tito_tokenize_s"] > 0
        assert r["tito_frac_of_generation"] == pytest.approx(r["tito_tokenize_s"] / r["generation_s"], rel=0.01)
    assert data["results"][-1]["retokenize_drift_events"] > 0  # a random model's tokens are rarely canonical
    assert "loadavg_before_after" in data
