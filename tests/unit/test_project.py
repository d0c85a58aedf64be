"""The installed project: version, entry points, and the one-way layering sandbox <- rewards <- rlvr."""

import importlib.metadata as md
import subprocess
import sys

import pytest

import rlvr


def test_version_is_exposed_and_matches_metadata():
    assert rlvr.__version__ == md.version("rlvr")


BUILTIN_VERIFIERS = {"math", "code", "json_schema", "tool_call", "format", "length_penalty"}


def test_entry_point_group_lists_builtin_verifiers():
    names = {ep.name for ep in md.entry_points(group="rlvr.verifiers")}
    assert BUILTIN_VERIFIERS <= names


def test_builtin_verifiers_are_declared_once_and_repeated_only_where_checked():
    """`rewards.registry.BUILTIN` is the declaration; pyproject's entry points and each class's `name` match it."""
    import tomllib
    from pathlib import Path

    from rewards.custom import load_target
    from rewards.registry import BUILTIN

    pyproject = tomllib.loads((Path(rlvr.__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["rlvr.verifiers"] == BUILTIN
    assert set(BUILTIN) == BUILTIN_VERIFIERS
    assert {name: load_target(target).name for name, target in BUILTIN.items()} == {n: n for n in BUILTIN}


@pytest.mark.parametrize("name", sorted(BUILTIN_VERIFIERS))
def test_builtin_entry_points_load(name):
    (ep,) = [ep for ep in md.entry_points(group="rlvr.verifiers") if ep.name == name]
    assert callable(ep.load())


def _loaded_after_import(module: str) -> set[str]:
    code = (
        f"import sys, {module}; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "module, forbidden",
    [("sandbox", {"rewards", "rlvr"}), ("rewards", {"rlvr"})],
)
def test_layering_points_one_way(module, forbidden):
    """Importing a lower layer (and all its submodules) never pulls in a higher one."""
    import pkgutil

    pkg = __import__(module)
    subs = [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=module + ".")
            if not m.name.endswith("__main__")]
    for name in [module, *subs]:
        loaded = _loaded_after_import(name)
        assert not (loaded & forbidden), f"{name} imports {loaded & forbidden}"
