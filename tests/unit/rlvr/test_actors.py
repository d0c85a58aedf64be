"""Actor placement arithmetic (no Ray needed)."""

import pytest

from rlvr.run.actors import cpu_shares


@pytest.mark.parametrize("total, samplers, share", [(16, 2, 1.0), (3, 2, 1.0), (2, 1, 1.0), (2, 2, 2 / 3),
                                                    (2, 3, 0.5), (1, 1, 0.5)])
def test_learner_and_samplers_always_fit(total, samplers, share):
    assert cpu_shares(total, samplers) == pytest.approx(share)
    assert cpu_shares(total, samplers) * (1 + samplers) <= total + 1e-9
