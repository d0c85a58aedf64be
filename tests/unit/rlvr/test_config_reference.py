"""docs/config.md is the generated key reference, every key has a meaning, and no meaning is stale."""

from pathlib import Path

from rlvr import config_reference as ref
from rlvr.run.folder import RESUMABLE

DOC = Path(__file__).resolve().parents[3] / "docs" / "config.md"


def test_every_key_has_a_meaning_and_no_meaning_is_stale():
    keys = [k for k, _, _ in ref.keys()]
    assert [k for k in keys if k not in ref.MEANINGS] == []
    assert sorted(set(ref.MEANINGS) - set(keys)) == []
    assert set(ref.TRL_NAMES) <= set(keys) and RESUMABLE <= set(keys)


def test_docs_config_md_is_current():
    assert DOC.read_text() == ref.render(), "run: python -m rlvr.config_reference > docs/config.md"
