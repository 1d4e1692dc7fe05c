"""Agent sessions: one lease per control-plane process, heartbeats in memory."""

from __future__ import annotations

import json

from controlplane.model import Keys
from controlplane.sessions import Sessions
from controlplane.store import MemoryStore
from tests.fakes import FakeClock


def make(timeout=15.0, ttl=10):
    clock = FakeClock(100.0)
    store = MemoryStore(clock=clock)
    return clock, store, Sessions(store, timeout=timeout, lease_ttl=ttl, clock=clock)


def test_touch_connects_and_silence_disconnects():
    clock, store, sessions = make()
    sessions.touch("default", "i-1")
    assert store.get(Keys.session("default", "i-1")) is not None

    def wait(seconds: int) -> None:  # the upkeep loop runs every few seconds
        for _ in range(seconds):
            clock.now += 1
            sessions._keep_lease()
            sessions._expire_quiet_agents()

    wait(10)
    sessions.touch("default", "i-1")
    wait(10)
    assert store.get(Keys.session("default", "i-1")) is not None  # heard from 10s ago
    wait(6)
    assert store.get(Keys.session("default", "i-1")) is None


def test_heartbeats_write_nothing():
    clock, store, sessions = make()
    sessions.touch("default", "i-1")
    revision = store.snapshot("/")[1]
    for _ in range(5):
        clock.now += 1
        sessions.touch("default", "i-1")
    assert store.snapshot("/")[1] == revision


def test_a_dead_process_takes_its_sessions_with_it():
    clock, store, sessions = make(ttl=10)
    sessions.touch("default", "i-1")
    sessions.touch("default", "i-2")
    clock.now += 11  # nobody kept the lease alive
    assert store.list(Keys.sessions("default")) == []


def test_an_expired_lease_is_replaced_and_sessions_rewritten():
    clock, store, sessions = make(timeout=60, ttl=10)
    sessions.touch("default", "i-1")
    clock.now += 11
    sessions.touch("default", "i-1")
    sessions._keep_lease()
    assert store.get(Keys.session("default", "i-1")) is not None


def test_does_not_delete_a_session_another_process_owns():
    clock, store, sessions = make()
    sessions.touch("default", "i-1")
    other = Sessions(store, lease_ttl=100, clock=clock)
    store.commit(puts={Keys.session("default", "i-1"): json.dumps({"replica": other.replica}).encode()},
                 lease=other._current_lease())
    clock.now += 16
    sessions._expire_quiet_agents()
    assert json.loads(store.get(Keys.session("default", "i-1")).value)["replica"] == other.replica


def test_another_process_finds_where_the_agent_is_connected():
    clock = FakeClock(100.0)
    store = MemoryStore(clock=clock)
    here = Sessions(store, clock=clock, address="10.0.0.1:7070")
    there = Sessions(store, clock=clock, address="10.0.0.2:7070")
    assert there.peer_address("default", "i-1") is None  # connected nowhere
    here.touch("default", "i-1")
    assert there.peer_address("default", "i-1") == "10.0.0.1:7070"
    assert here.peer_address("default", "i-1") is None  # connected to this very process


def test_an_agent_that_comes_back_by_registering_takes_its_session_back():
    clock = FakeClock(100.0)
    store = MemoryStore(clock=clock)
    first = Sessions(store, clock=clock, timeout=15, address="10.0.0.1:7070")
    second = Sessions(store, clock=clock, timeout=15, address="10.0.0.2:7070")
    first.touch("default", "i-1")
    second.touch("default", "i-1", claim=True)  # moved to the second process
    first.touch("default", "i-1", claim=True)   # and back, before the second forgot it
    assert second.peer_address("default", "i-1") == "10.0.0.1:7070"
    for _ in range(20):
        clock.now += 1
        first.touch("default", "i-1")
        first._keep_lease()
    second._expire_quiet_agents()  # quiet at the second: the key is not its to delete
    assert store.get(Keys.session("default", "i-1")) is not None


def test_a_process_that_stops_disconnects_its_agents_at_once():
    clock, store, sessions = make(ttl=10)
    sessions.touch("default", "i-1")
    sessions.close()
    assert store.get(Keys.session("default", "i-1")) is None
