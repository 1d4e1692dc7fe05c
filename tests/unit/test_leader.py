"""Leader election and fencing, on the in-memory store with a fake clock."""

from __future__ import annotations

import pytest

from controlplane.leader import LEADER_KEY, Election, NotLeader
from controlplane.store import Conflict, MemoryStore
from tests.fakes import FakeClock


def elect(store, name):
    events = []
    election = Election(store, on_elected=lambda epoch: events.append(("elected", epoch)),
                        on_deposed=lambda: events.append(("deposed",)), identity=name)
    return election, events


def test_one_leader_at_a_time():
    store = MemoryStore()
    a, a_events = elect(store, "a")
    b, b_events = elect(store, "b")
    a._campaign()
    b._campaign()
    assert a.epoch is not None and b.epoch is None
    assert a_events == [("elected", a.epoch)] and b_events == []
    with pytest.raises(NotLeader):
        b.fence()


def test_a_deposed_leaders_fenced_write_fails():
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    a, a_events = elect(store, "a")
    b, _ = elect(store, "b")
    a._campaign()
    fence = a.fence()
    store.commit(puts={"/x": b"1"}, expect=fence)  # valid while a leads
    clock.now += 11  # a was paused past its lease
    b._campaign()
    assert b.epoch is not None
    with pytest.raises(Conflict):
        store.commit(puts={"/x": b"stale"}, expect=fence)  # a's write, under its old epoch
    assert store.get("/x").value == b"1"
    assert not a._still_leading()
    a._step_down()
    assert a_events[-1] == ("deposed",) and a.epoch is None


def test_resigning_hands_over_at_once():
    store = MemoryStore()
    a, _ = elect(store, "a")
    b, _ = elect(store, "b")
    a._campaign()
    a.close()
    assert store.get(LEADER_KEY) is None
    b._campaign()
    assert b.epoch is not None
