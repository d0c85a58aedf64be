"""Actor placement arithmetic and resource checks (no Ray needed)."""

import pytest

from rlvr.run.actors import cpu_shares, local_resources, unplaceable


@pytest.mark.parametrize("total, samplers, share", [(16, 2, 1.0), (3, 2, 1.0), (2, 1, 1.0), (2, 2, 2 / 3),
                                                    (2, 3, 0.5), (1, 1, 0.5)])
def test_learner_and_samplers_always_fit(total, samplers, share):
    assert cpu_shares(total, samplers) == pytest.approx(share)
    assert cpu_shares(total, samplers) * (1 + samplers) <= total + 1e-9


def test_a_local_ray_declares_what_all_actors_ask_for():
    assert local_resources({}, {}, 3) == {}
    assert local_resources({"learner_node": 1}, {"sampler_node": 1}, 2) == {"learner_node": 1.0, "sampler_node": 2.0}
    assert local_resources({"big": 1}, {"big": 0.25, "fast": 1}, 2) == {"big": 1.5, "fast": 2.0}  # shared name


def _node(alive: bool, **resources) -> dict:
    return {"Alive": alive, "Resources": {"CPU": 2.0, **resources}}


@pytest.mark.parametrize("ask, nodes, missing", [
    ({}, [_node(True)], []),
    ({"learner_node": 1}, [_node(True), _node(True, learner_node=1.0)], []),
    ({"learner_node": 1}, [_node(True)], ["learner_node"]),
    ({"learner_node": 1}, [_node(False, learner_node=1.0)], ["learner_node"]),  # only on a lost node
    ({"sampler_node": 2}, [_node(True, sampler_node=1.0), _node(True, sampler_node=1.0)], ["sampler_node"]),
    ({"a": 1, "b": 1}, [_node(True, a=1.0), _node(True, b=1.0)], ["a", "b"]),  # one node must have both
    ({"a": 1, "b": 1}, [_node(True, a=1.0), _node(True, a=1.0, b=1.0)], []),
])
def test_unplaceable_names_what_no_alive_node_offers(ask, nodes, missing):
    assert unplaceable(ask, nodes) == missing
