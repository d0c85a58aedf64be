"""SamplerFleet's recovery without a cluster: fake actors, `ray.get` replaced by one that fails as a lost node does.

A node's loss shows up two ways: the actor is gone (`ActorDiedError`), or its result was stored in the lost
node's object store and cannot be fetched (`ObjectLostError`). Both must replace the actor, prepare it with
the current weights and ask it again.
"""

import pytest

ray = pytest.importorskip("ray")

from rlvr.rollout.fleet import SamplerFleet  # noqa: E402
from rlvr.types import Completion, Group  # noqa: E402


class Result:
    def __init__(self, value=None, error: Exception | None = None):
        self.value, self.error = value, error


class Method:
    def __init__(self, fn):
        self.fn = fn

    def remote(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


class FakeSampler:
    """Answers `generate` with one group per prompt; a doomed one answers with `error` (its node is gone)."""

    def __init__(self, index: int, error: Exception | None = None):
        self.index, self.error, self.prepared = index, error, False
        self.generate = Method(self._generate)
        self.ready = Method(lambda: Result(self.index, self.error))

    def _generate(self, prompts, **_):
        groups = [Group(prompt_ids=[1], completions=[Completion([2], [0.0], f"{p}@{self.index}", "stop")])
                  for p in prompts]
        return Result(groups, self.error)


def fake_get(result: Result, timeout: float | None = None):
    if result.error is not None:
        raise result.error
    return result.value


@pytest.fixture
def fleet_with_a_doomed_sampler(monkeypatch, request):
    monkeypatch.setattr(ray, "get", fake_get)
    monkeypatch.setattr(ray, "kill", lambda actor: None)
    made: list[FakeSampler] = []

    def make(index: int) -> FakeSampler:
        doomed = index == 0 and not made  # the first sampler 0 is on the node that goes
        made.append(FakeSampler(index, request.param if doomed else None))
        return made[-1]

    def prepare(actor) -> None:
        actor.prepared = True

    return SamplerFleet(make, 2, prepare=prepare), made


LOST = [ray.exceptions.ActorDiedError(), ray.exceptions.ObjectLostError("ab" * 14, None, "")]


@pytest.mark.parametrize("fleet_with_a_doomed_sampler", LOST, indirect=True, ids=["actor_died", "object_lost"])
def test_a_lost_sampler_is_replaced_prepared_and_its_prompts_generated_again(fleet_with_a_doomed_sampler):
    fleet, made = fleet_with_a_doomed_sampler
    rows = [{"prompt": f"p{i}"} for i in range(4)]
    groups = fleet.generate(rows, group_size=1, max_tokens=4)
    assert [g.row["prompt"] for g in groups] == ["p0", "p1", "p2", "p3"]  # every row, in order, once
    assert fleet.restarts == 1 and len(made) == 3
    assert fleet.actors[0] is made[2] and made[2].prepared  # the replacement got the weights before use
    assert [g.completions[0].text for g in groups[:2]] == ["p0@0", "p1@0"]  # asked again, answered by it


@pytest.mark.parametrize("fleet_with_a_doomed_sampler", LOST[:1], indirect=True)
def test_call_all_replaces_a_lost_sampler_once(fleet_with_a_doomed_sampler):
    fleet, made = fleet_with_a_doomed_sampler
    assert fleet.call_all("ready") == [0, 1]
    assert fleet.restarts == 1 and made[2].prepared


@pytest.mark.parametrize("fleet_with_a_doomed_sampler", [RuntimeError("a bug, not a lost node")], indirect=True)
def test_other_errors_are_not_taken_for_a_lost_node(fleet_with_a_doomed_sampler):
    fleet, _ = fleet_with_a_doomed_sampler
    with pytest.raises(RuntimeError, match="a bug"):
        fleet.generate([{"prompt": "p"}, {"prompt": "q"}], group_size=1, max_tokens=4)
    assert fleet.restarts == 0


@pytest.mark.parametrize("fleet_with_a_doomed_sampler", LOST[:1], indirect=True)
def test_calls_made_before_the_loss_do_not_replace_the_replacement(fleet_with_a_doomed_sampler):
    """A batch prefetched on the lost sampler fails after an eval already replaced it: one loss, one restart."""
    fleet, made = fleet_with_a_doomed_sampler
    pending = fleet.submit([{"prompt": "p"}, {"prompt": "q"}], group_size=1, max_tokens=4)  # on the doomed one
    assert fleet.call_all("ready") == [0, 1]  # the eval meets the loss first and replaces sampler 0
    groups = fleet.collect(pending, group_size=1, max_tokens=4)
    assert [g.completions[0].text for g in groups] == ["p@0", "q@1"]
    assert fleet.restarts == 1 and len(made) == 3 and fleet.actors[0] is made[2]


def test_a_replacement_no_node_can_host_stops_the_run_instead_of_hanging(monkeypatch):
    """Ray keeps an actor no node can host pending for ever; the fleet waits `replace_timeout_s`, kills it and
    says why (the run then stops, resumable from its checkpoint)."""
    waited, killed = [], []

    def get(result, timeout=None):
        waited.append(timeout)
        return fake_get(result)

    monkeypatch.setattr(ray, "get", get)
    monkeypatch.setattr(ray, "kill", killed.append)
    made: list[FakeSampler] = []

    def make(index: int) -> FakeSampler:
        if not made:
            made.append(FakeSampler(index, ray.exceptions.ActorDiedError()))
        else:  # the replacement never starts: its ready() times out
            made.append(FakeSampler(index, ray.exceptions.GetTimeoutError()))
        return made[-1]

    fleet = SamplerFleet(make, 1, prepare=lambda a: pytest.fail("an actor that never started was prepared"),
                         replace_timeout_s=7)
    with pytest.raises(RuntimeError, match="no node could start its replacement within 7 s"):
        fleet.generate([{"prompt": "p"}], group_size=1, max_tokens=4)
    assert 7 in waited and made[1] in killed and fleet.actors[0] is made[0]
