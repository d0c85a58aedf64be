"""Checkpoints a run can resume from after a crash, SIGKILL included.

Layout under `output_dir/checkpoints/`: one folder per saved step (`step-000012/`) holding the learner's
state (written by the learner: adapter, optimizer, RNG), `driver.json` (step, data position, driver RNG)
and a copy of the run's resolved `config.resolved.yaml` (if the run folder has one; `--resume` compares it);
`LATEST` names the newest complete one. A folder is written under a temporary name and renamed into
place, and `LATEST` is replaced atomically, so a kill at any instant leaves the previous checkpoint usable.
This module does not know what the learner saves, only where.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rlvr.run.outputs import CHECKPOINTS, CONFIG

LATEST = "LATEST"
CONFIG_NAME = CONFIG  # the run's resolved config, in output_dir and copied into each checkpoint


def _root(output_dir: str | Path) -> Path:
    return Path(output_dir) / CHECKPOINTS


def save(output_dir: str | Path, step: int, driver_state: dict,
         save_learner: Callable[[str], None], keep: int = 2) -> Path:
    """Write checkpoint `step`: `save_learner(dir)` fills `dir/learner`, then driver.json; then publish."""
    root = _root(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:06d}"
    tmp = root / f".tmp-step-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_learner(str(tmp / "learner"))
    state = {**driver_state, "step": step, "python_rng": _encode_rng(random.getstate()),
             "numpy_rng": _encode_np(np.random.get_state())}
    (tmp / "driver.json").write_text(json.dumps(state))
    config = Path(output_dir) / CONFIG_NAME
    if config.is_file():
        shutil.copyfile(config, tmp / CONFIG_NAME)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _write_atomic(root / LATEST, final.name)
    _prune(root, keep)
    return final


def latest(output_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    root = _root(output_dir)
    try:
        name = (root / LATEST).read_text().strip()
    except FileNotFoundError:
        return None
    path = root / name
    return path if (path / "driver.json").exists() else None


def step_of(ckpt: Path) -> int:
    """The step a checkpoint folder holds (`step-000012` -> 12)."""
    return int(ckpt.name.rsplit("-", 1)[1])


def load_driver_state(ckpt: Path) -> dict:
    """driver.json of `ckpt`, restoring the driver's Python and numpy RNG as a side effect."""
    state = json.loads((ckpt / "driver.json").read_text())
    random.setstate(_decode_rng(state.pop("python_rng")))
    np.random.set_state(_decode_np(state.pop("numpy_rng")))
    return state


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _prune(root: Path, keep: int) -> None:
    steps = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _encode_rng(state: tuple) -> list:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _decode_rng(data: list) -> tuple:
    version, internal, gauss = data
    return (version, tuple(internal), gauss)


def _encode_np(state: tuple) -> list:
    name, keys, pos, has_gauss, cached = state
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _decode_np(data: list) -> tuple:
    name, keys, pos, has_gauss, cached = data
    return (name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached)
