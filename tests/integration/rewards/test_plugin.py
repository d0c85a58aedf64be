"""A third-party plugin package (tests/fixtures/rlvr_plugin_example) installed with pip into a scratch
folder is found through the `rlvr.verifiers` entry point by `make`, the CLI and a RewardPool."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parents[2] / "fixtures" / "rlvr_plugin_example"

CHECK = """
import json
from rewards import RewardPool, available, make
v = make("exact_upper")
with RewardPool(workers=1, timeout_s=30) as pool:
    scores = pool.map(v, [{"completion": " abc ", "answer": "ABC"}, {"completion": "abd", "answer": "ABC"}])
print(json.dumps({"available": available(), "rewards": [s.reward for s in scores]}))
"""


@pytest.mark.timeout(300)
def test_installed_plugin_is_found_through_its_entry_point(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(PLUGIN)], check=True, timeout=240,
                   cwd=tmp_path, capture_output=True)
    assert any(p.name.endswith(".dist-info") for p in target.iterdir())
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, check=True,
                         cwd=tmp_path, timeout=120)
    got = json.loads(out.stdout)
    assert "exact_upper" in got["available"] and "math" in got["available"]
    assert got["rewards"] == [1.0, 0.0]
    listing = subprocess.run([sys.executable, "-m", "rewards", "list"], capture_output=True, text=True,
                             env=env, check=True, cwd=tmp_path).stdout
    assert "exact_upper" in listing and "rlvr-plugin-example" in listing
