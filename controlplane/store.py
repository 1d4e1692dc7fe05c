"""The control plane's access to its state: a small key-value interface with revisions.

etcd is the only source of truth (design invariant 1). Every write that depends on a read
is a `commit` that compares the mod_revision of what was read (invariant 3): a stale write
raises `Conflict`, and the caller re-reads and retries.

Two implementations with the same revision semantics share one contract test:
`EtcdStore` (the etcd client is imported here and nowhere else) and `MemoryStore`
(for unit tests and the scheduler's tools).

    store = EtcdStore.connect("127.0.0.1:2379")
    entry = store.get("/skiff/v1/clusters/default")
    store.commit(puts={entry.key: b"..."}, expect={entry.key: entry.mod_revision})
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Protocol

__all__ = ["Entry", "Conflict", "StoreUnavailable", "Store", "EtcdStore", "MemoryStore"]

# `expect` value meaning "the key must not exist".
ABSENT = 0


@dataclass(frozen=True)
class Entry:
    key: str
    value: bytes
    mod_revision: int
    create_revision: int


class StoreError(Exception):
    """Base of the store's errors."""


class Conflict(StoreError):
    """A compared key changed since it was read: re-read and retry."""


class StoreUnavailable(StoreError):
    """etcd did not answer (retriable)."""


class Store(Protocol):
    def get(self, key: str) -> Entry | None:
        """The entry at `key`, or None."""

    def list(self, prefix: str) -> list[Entry]:
        """Every entry whose key starts with `prefix`, sorted by key."""

    def commit(self, puts: Mapping[str, bytes] = {}, deletes: Iterable[str] = (),
               expect: Mapping[str, int] = {}, lease: int | None = None) -> None:
        """Apply all puts and deletes atomically if every key in `expect` still has that
        mod_revision (ABSENT: does not exist); raise Conflict otherwise. Puts carry `lease`."""

    def grant_lease(self, ttl: int) -> int:
        """A new lease id; keys put with it vanish `ttl` seconds after its last refresh."""

    def refresh_lease(self, lease_id: int) -> bool:
        """Keep the lease alive; False when it has already expired."""

    def watch_prefix(self, prefix: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (no arguments: level-triggered readers re-read) after any change
        under `prefix`. Returns a function that cancels the watch."""

    def close(self) -> None:
        """Release connections."""


class EtcdStore:
    """`Store` on a real etcd v3 cluster."""

    def __init__(self, client, endpoints: list[str]):
        self._client = client
        self.endpoints = endpoints

    @classmethod
    def connect(cls, endpoints: str | list[str], timeout: float = 5.0) -> "EtcdStore":
        """Connect to `host:port` (or `http://host:port`, comma-separated for a cluster)."""
        import pyetcd

        if isinstance(endpoints, str):
            endpoints = [e for e in endpoints.split(",") if e.strip()]
        parsed = [_host_port(e) for e in endpoints]
        if len(parsed) == 1:
            client = pyetcd.client(host=parsed[0][0], port=parsed[0][1], timeout=timeout)
        else:
            client = pyetcd.MultiEndpointEtcd3Client(
                endpoints=[pyetcd.Endpoint(h, p, secure=False) for h, p in parsed],
                timeout=timeout, failover=True)
        return cls(client, endpoints)

    def _call(self, fn, *args, **kwargs):
        import grpc
        import pyetcd.exceptions as etcd_errors

        try:
            return fn(*args, **kwargs)
        except (etcd_errors.Etcd3Exception, grpc.RpcError) as exc:
            # Every etcd failure (down, timed out, no leader, database full) is worth a retry
            # by the caller; none of them means the request itself was wrong.
            raise StoreUnavailable(f"etcd at {','.join(self.endpoints)}: "
                                   f"{type(exc).__name__}: {exc}") from exc

    def get(self, key: str) -> Entry | None:
        value, meta = self._call(self._client.get, key)
        if value is None:
            return None
        return Entry(key, value, meta.mod_revision, meta.create_revision)

    def list(self, prefix: str) -> list[Entry]:
        rows = self._call(lambda: list(self._client.get_prefix(prefix, sort_order="ascend",
                                                                sort_target="key")))
        return [Entry(meta.key.decode(), value, meta.mod_revision, meta.create_revision)
                for value, meta in rows]

    def commit(self, puts: Mapping[str, bytes] = {}, deletes: Iterable[str] = (),
               expect: Mapping[str, int] = {}, lease: int | None = None) -> None:
        t = self._client.transactions
        compare = [t.mod(key) == revision for key, revision in expect.items()]
        success = [t.put(key, value, lease=lease) for key, value in puts.items()]
        success += [t.delete(key) for key in deletes]
        succeeded, _ = self._call(self._client.transaction, compare=compare, success=success,
                                  failure=[])
        if not succeeded:
            raise Conflict(f"changed since read: {', '.join(sorted(expect))}")

    def grant_lease(self, ttl: int) -> int:
        return self._call(self._client.lease, ttl).id

    def refresh_lease(self, lease_id: int) -> bool:
        responses = self._call(lambda: list(self._client.refresh_lease(lease_id)))
        return bool(responses) and responses[0].TTL > 0

    def watch_prefix(self, prefix: str, callback: Callable[[], None]) -> Callable[[], None]:
        watch_id = self._call(self._client.add_watch_prefix_callback, prefix,
                              lambda _response: callback())

        def cancel() -> None:
            try:
                self._client.cancel_watch(watch_id)
            except Exception:  # closing anyway; nothing to recover
                pass

        return cancel

    def close(self) -> None:
        self._client.close()


def _host_port(endpoint: str) -> tuple[str, int]:
    endpoint = endpoint.strip()
    for scheme in ("http://", "https://"):
        if endpoint.startswith(scheme):
            endpoint = endpoint[len(scheme):]
    host, _, port = endpoint.rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"etcd endpoint must be host:port, got {endpoint!r}")
    return host, int(port)


class MemoryStore:
    """`Store` in memory, with etcd's revision semantics (one global revision counter)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._data: dict[str, Entry] = {}
        self._key_lease: dict[str, int] = {}
        self._leases: dict[int, tuple[int, float]] = {}  # id -> (ttl, expires_at)
        self._revision = 0
        self._watches: dict[int, tuple[str, Callable[[], None]]] = {}
        self._next_id = 0
        self._clock = clock

    def _expire(self) -> list[str]:
        now = self._clock()
        dead = {lid for lid, (_, expires) in self._leases.items() if expires <= now}
        if not dead:
            return []
        for lid in dead:
            del self._leases[lid]
        gone = [k for k, lid in self._key_lease.items() if lid in dead]
        if gone:
            self._revision += 1
        for key in gone:
            self._data.pop(key, None)
            del self._key_lease[key]
        return gone

    def get(self, key: str) -> Entry | None:
        with self._lock:
            changed = self._expire()
            entry = self._data.get(key)
        self._notify(changed)
        return entry

    def list(self, prefix: str) -> list[Entry]:
        with self._lock:
            changed = self._expire()
            entries = [e for k, e in sorted(self._data.items()) if k.startswith(prefix)]
        self._notify(changed)
        return entries

    def commit(self, puts: Mapping[str, bytes] = {}, deletes: Iterable[str] = (),
               expect: Mapping[str, int] = {}, lease: int | None = None) -> None:
        deletes = list(deletes)
        with self._lock:
            changed = self._expire()
            for key, revision in expect.items():
                current = self._data.get(key)
                if (current.mod_revision if current else ABSENT) != revision:
                    raise Conflict(f"changed since read: {key}")
            if lease is not None and lease not in self._leases:
                raise StoreError(f"lease {lease} not found")
            if puts or deletes:
                self._revision += 1
            for key, value in puts.items():
                previous = self._data.get(key)
                created = previous.create_revision if previous else self._revision
                self._data[key] = Entry(key, bytes(value), self._revision, created)
                if lease is not None:
                    self._key_lease[key] = lease
                else:
                    self._key_lease.pop(key, None)
            for key in deletes:
                self._data.pop(key, None)
                self._key_lease.pop(key, None)
            changed += list(puts) + deletes
        self._notify(changed)

    def grant_lease(self, ttl: int) -> int:
        with self._lock:
            self._next_id += 1
            self._leases[self._next_id] = (ttl, self._clock() + ttl)
            return self._next_id

    def refresh_lease(self, lease_id: int) -> bool:
        with self._lock:
            changed = self._expire()
            alive = lease_id in self._leases
            if alive:
                ttl, _ = self._leases[lease_id]
                self._leases[lease_id] = (ttl, self._clock() + ttl)
        self._notify(changed)
        return alive

    def watch_prefix(self, prefix: str, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._next_id += 1
            watch_id = self._next_id
            self._watches[watch_id] = (prefix, callback)
        return lambda: self._watches.pop(watch_id, None)

    def _notify(self, keys: list[str]) -> None:
        if not keys:
            return
        for prefix, callback in list(self._watches.values()):
            if any(k.startswith(prefix) for k in keys):
                callback()

    def close(self) -> None:
        self._watches.clear()
