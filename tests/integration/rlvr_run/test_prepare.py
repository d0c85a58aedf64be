"""Every shipped config passes the cheap checks (`run.prepare`): verifiers exist, rows carry their fields.

The model is swapped for the tiny one so the test needs no download or conversion; nothing starts Ray.
"""

from __future__ import annotations

import pytest

from rlvr.config import configs_dir, load_config
from rlvr.run.cli import prepare

SHIPPED = sorted(p.stem for p in configs_dir().glob("*.yaml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_config_prepares(name, tmp_path):
    cfg = load_config(configs_dir() / f"{name}.yaml", ["model.path=tiny:0", f"run.output_dir={tmp_path}",
                                                       "data.train_size=16", "data.eval_size=4"])
    job = prepare(cfg)
    try:
        batch = job.stream.next_batch()
        assert len(batch) == cfg.data.prompts_per_step
        assert all(row["prompt"] and set(job.reward.required_fields) <= set(row) for row in batch)
        assert len(job.eval_rows) == 4 and len(job.probe) == cfg.sync.probe_len
    finally:
        job.pool.close()
