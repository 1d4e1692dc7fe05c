"""One contract, two stores: MemoryStore always, EtcdStore against a real etcd."""

from __future__ import annotations

import threading

import pytest

from controlplane.store import ABSENT, Conflict, EtcdStore, MemoryStore
from skiffharness.processes import wait_until
from tests.fakes import FakeClock


@pytest.fixture(params=["memory", "etcd"])
def store(request):
    if request.param == "memory":
        yield MemoryStore()
        return
    endpoint = request.getfixturevalue("etcd_endpoint")
    etcd = EtcdStore.connect(endpoint)
    prefix = f"/contract-{request.node.name}/"
    for entry in etcd.list(prefix):
        etcd.commit(deletes=[entry.key])
    yield etcd
    etcd.close()


@pytest.fixture
def prefix(request) -> str:
    return f"/contract-{request.node.name}/"


def test_get_missing_is_none(store, prefix):
    assert store.get(prefix + "nothing") is None


def test_get_many_reads_every_key_at_once(store, prefix):
    store.commit(puts={prefix + "a": b"1", prefix + "b": b"2"})
    keys = [prefix + "b", prefix + "missing", prefix + "a"]
    found = store.get_many(keys)
    assert list(found) == keys
    assert (found[prefix + "a"].value, found[prefix + "b"].value) == (b"1", b"2")
    assert found[prefix + "missing"] is None
    assert found[prefix + "a"] == store.get(prefix + "a")
    many = [prefix + f"k{n:03d}" for n in range(300)]  # more than one etcd transaction takes
    for start in range(0, len(many), 100):  # etcd takes up to 128 operations per commit
        store.commit(puts={key: b"x" for key in many[start:start + 100:2]})
    found = store.get_many(many)
    assert [key for key, entry in found.items() if entry is not None] == many[::2]


def test_put_then_get_carries_revisions(store, prefix):
    store.commit(puts={prefix + "a": b"1"})
    first = store.get(prefix + "a")
    assert first.value == b"1" and first.mod_revision == first.create_revision
    store.commit(puts={prefix + "a": b"2"}, expect={prefix + "a": first.mod_revision})
    second = store.get(prefix + "a")
    assert second.value == b"2"
    assert second.mod_revision > first.mod_revision
    assert second.create_revision == first.create_revision


def test_stale_write_conflicts_and_changes_nothing(store, prefix):
    store.commit(puts={prefix + "a": b"1"})
    stale = store.get(prefix + "a")
    store.commit(puts={prefix + "a": b"2"}, expect={prefix + "a": stale.mod_revision})
    with pytest.raises(Conflict):
        store.commit(puts={prefix + "a": b"3", prefix + "b": b"x"},
                     expect={prefix + "a": stale.mod_revision})
    assert store.get(prefix + "a").value == b"2"
    assert store.get(prefix + "b") is None


def test_expect_absent_creates_once(store, prefix):
    store.commit(puts={prefix + "k": b"1"}, expect={prefix + "k": ABSENT})
    with pytest.raises(Conflict):
        store.commit(puts={prefix + "k": b"2"}, expect={prefix + "k": ABSENT})
    assert store.get(prefix + "k").value == b"1"


def test_list_is_sorted_and_scoped(store, prefix):
    store.commit(puts={prefix + "b": b"2", prefix + "a": b"1", prefix + "c/d": b"3"})
    store.commit(puts={prefix[:-1] + "-other/x": b"no"})
    assert [e.key for e in store.list(prefix)] == [prefix + "a", prefix + "b", prefix + "c/d"]


def test_delete(store, prefix):
    store.commit(puts={prefix + "a": b"1"})
    store.commit(deletes=[prefix + "a"])
    assert store.get(prefix + "a") is None


def test_racing_writers_exactly_one_wins(store, prefix):
    store.commit(puts={prefix + "n": b"0"})
    read = store.get(prefix + "n")
    results = []

    def write(value: bytes) -> None:
        try:
            store.commit(puts={prefix + "n": value}, expect={prefix + "n": read.mod_revision})
            results.append(value)
        except Conflict:
            pass

    threads = [threading.Thread(target=write, args=(str(i).encode(),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1
    assert store.get(prefix + "n").value == results[0]


def test_commit_returns_its_revision_and_snapshot_reads_at_one(store, prefix):
    revision = store.commit(puts={prefix + "a": b"1", prefix + "b": b"2"})
    assert store.get(prefix + "a").mod_revision == revision
    entries, at = store.snapshot(prefix)
    assert [e.key for e in entries] == [prefix + "a", prefix + "b"] and at >= revision
    assert store.commit(puts={}, deletes=[]) == 0


def test_watch_delivers_events_in_order(store, prefix):
    seen, done = [], threading.Event()

    def on_events(events):
        seen.extend(events)
        if any(e.value is None for e in events):
            done.set()

    cancel = store.watch_prefix(prefix, on_events)
    try:
        first = store.commit(puts={prefix + "w": b"1"})
        second = store.commit(puts={prefix + "w": b"2"})
        third = store.commit(deletes=[prefix + "w"])
        store.commit(puts={prefix[:-1] + "-elsewhere/x": b"not mine"})
        assert done.wait(5)
    finally:
        cancel()
    assert [(e.key, e.value, e.mod_revision) for e in seen] == [
        (prefix + "w", b"1", first), (prefix + "w", b"2", second), (prefix + "w", None, third)]


def test_watch_from_a_past_revision_replays_history(store, prefix):
    first = store.commit(puts={prefix + "h": b"1"})
    store.commit(puts={prefix + "h": b"2"})
    seen, done = [], threading.Event()

    def on_events(events):
        seen.extend(e.value for e in events)
        if b"2" in seen:
            done.set()

    cancel = store.watch_prefix(prefix, on_events, start_revision=first)
    try:
        assert done.wait(5)
    finally:
        cancel()
    assert seen == [b"1", b"2"]


def test_lease_keeps_key_until_expiry():
    clock = FakeClock(1000.0)
    store = MemoryStore(clock=clock)
    lease = store.grant_lease(10)
    store.commit(puts={"/s": b"1"}, lease=lease)
    clock.now += 8
    assert store.refresh_lease(lease)
    clock.now += 8
    assert store.get("/s") is not None
    clock.now += 11
    assert store.get("/s") is None
    assert not store.refresh_lease(lease)


@pytest.mark.integration
def test_etcd_lease_expires(etcd_endpoint):
    store = EtcdStore.connect(etcd_endpoint)
    lease = store.grant_lease(1)
    store.commit(puts={"/contract-lease/s": b"1"}, lease=lease)
    assert store.refresh_lease(lease)
    wait_until(lambda: store.get("/contract-lease/s") is None, 10, message="lease expiry")
    assert not store.refresh_lease(lease)


def test_a_revoked_lease_takes_its_keys_at_once(store, prefix):
    lease = store.grant_lease(60)
    store.commit(puts={prefix + "session": b"1"}, lease=lease)
    store.commit(puts={prefix + "record": b"2"})
    store.revoke_lease(lease)
    assert store.get(prefix + "session") is None
    assert store.get(prefix + "record") is not None
    assert not store.refresh_lease(lease)
    store.revoke_lease(lease)  # gone already: nothing to do
