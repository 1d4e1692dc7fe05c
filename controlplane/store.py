"""The control plane's access to its state: a small key-value interface with revisions.

etcd is the only source of truth (design invariant 1). Every write that depends on a read
is a `commit` that compares the mod_revision of what was read (invariant 3): a stale write
raises `Conflict`, and the caller re-reads and retries. Watches deliver changes in revision
order from a given revision, so a reader can keep an exact copy: snapshot, then watch from
the snapshot's revision + 1; a watch that breaks (`Compacted`, etcd away) means snapshot again.

Two implementations with the same revision semantics share one contract test:
`EtcdStore` (the etcd client is imported here and nowhere else) and `MemoryStore`
(for unit tests and the scheduler's tools).

    store = EtcdStore.connect("127.0.0.1:2379")
    entry = store.get(Keys.cluster("default"))        # keys: controlplane.model.Keys
    store.commit(puts={entry.key: b"..."}, expect={entry.key: entry.mod_revision})
"""

from __future__ import annotations

import builtins  # the stores have a `list` method: annotations after it say builtins.list
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Protocol, TypeVar

T = TypeVar("T")

__all__ = ["Entry", "Event", "StoreError", "Conflict", "Compacted", "StoreUnavailable", "Store",
           "EtcdStore", "MemoryStore", "ABSENT"]

# `expect` value meaning "the key must not exist".
ABSENT = 0


@dataclass(frozen=True)
class Entry:
    key: str
    value: bytes
    mod_revision: int
    create_revision: int


@dataclass(frozen=True)
class Event:
    """One change seen by a watch; `value` None means the key was deleted."""

    key: str
    value: bytes | None
    mod_revision: int


class StoreError(Exception):
    """Base of the store's errors."""


class Conflict(StoreError):
    """A compared key changed since it was read: re-read and retry."""


class StoreUnavailable(StoreError):
    """etcd did not answer (retriable)."""


class Compacted(StoreError):
    """A watch asked for history that is gone: take a fresh snapshot and watch from there."""


class Store(Protocol):
    def get(self, key: str) -> Entry | None:
        """The entry at `key`, or None."""

    def get_many(self, keys: Iterable[str]) -> dict[str, Entry | None]:
        """The entry (or None) at each key, in one round trip (one per 128 keys, etcd's limit
        of operations in a transaction; each round trip reads at one revision)."""

    def list(self, prefix: str) -> list[Entry]:
        """Every entry whose key starts with `prefix`, sorted by key."""

    def snapshot(self, prefix: str) -> tuple[builtins.list[Entry], int]:
        """`list(prefix)` and the store revision it was read at (watch from the next one)."""

    def commit(self, puts: Mapping[str, bytes] = {}, deletes: Iterable[str] = (),
               expect: Mapping[str, int] = {}, lease: int | None = None) -> int:
        """Apply all puts and deletes atomically if every key in `expect` still has that
        mod_revision (ABSENT: does not exist); raise Conflict otherwise. Puts carry `lease`.
        Returns the revision of the write (0 when there was nothing to write)."""

    def grant_lease(self, ttl: int) -> int:
        """A new lease id; keys put with it vanish `ttl` seconds after its last refresh."""

    def refresh_lease(self, lease_id: int) -> bool:
        """Keep the lease alive; False when it has already expired."""

    def revoke_lease(self, lease_id: int) -> None:
        """End the lease now: its keys go at once, as on expiry (an unknown lease: nothing)."""

    def watch_prefix(self, prefix: str, on_events: Callable[[builtins.list[Event]], None],
                     start_revision: int | None = None,
                     on_error: Callable[[Exception], None] | None = None) -> Callable[[], None]:
        """Call `on_events` with the changes under `prefix`, in revision order, from
        `start_revision` (default: from now on). A watch that breaks calls `on_error` once
        (`Compacted` or `StoreUnavailable`) and ends. Callbacks run on the store's thread and
        must not call the store. Returns a function that cancels the watch."""

    closed: bool  # set by close(); watchers stop re-syncing

    def close(self) -> None:
        """Release connections."""


_MAX_TXN_OPS = 128  # etcd's default --max-txn-ops


@dataclass(frozen=True)
class EtcdTls:
    """Files for a TLS connection to an external etcd: its CA, and a client certificate and
    key (etcd's `--client-cert-auth`)."""

    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None

    def read(self) -> tuple[bytes, bytes | None, bytes | None]:
        def read(path: str | None) -> bytes | None:
            return Path(path).read_bytes() if path else None

        ca = read(self.ca_file)
        assert ca is not None
        return ca, read(self.key_file), read(self.cert_file)


class EtcdStore:
    """`Store` on a real etcd v3 cluster."""

    def __init__(self, client, endpoints: list[str]):
        self._client = client
        self.endpoints = endpoints
        self.closed = False

    @classmethod
    def connect(cls, endpoints: str | list[str], timeout: float = 5.0,
                tls: EtcdTls | None = None) -> "EtcdStore":
        """Connect to `host:port` (or `http://host:port`, comma-separated for a cluster); with
        `tls`, over TLS verified against its CA, presenting its client certificate."""
        import grpc
        import pyetcd

        if isinstance(endpoints, str):
            endpoints = [e for e in endpoints.split(",") if e.strip()]
        parsed = [_host_port(e) for e in endpoints]
        if len(parsed) == 1:
            files = ({"ca_cert": tls.ca_file, "cert_cert": tls.cert_file,
                      "cert_key": tls.key_file} if tls else {})
            client = pyetcd.client(host=parsed[0][0], port=parsed[0][1], timeout=timeout, **files)
        else:
            creds = None
            if tls:
                creds = grpc.ssl_channel_credentials(*tls.read())
            client = pyetcd.MultiEndpointEtcd3Client(
                endpoints=[pyetcd.Endpoint(h, p, secure=tls is not None, creds=creds)
                           for h, p in parsed],
                timeout=timeout, failover=True)
        return cls(client, endpoints)

    def _call(self, fn, *args, **kwargs):
        import grpc
        import pyetcd.exceptions as etcd_errors

        try:
            return fn(*args, **kwargs)
        except etcd_errors.RevisionCompactedError as exc:
            raise Compacted(str(exc)) from exc
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

    def get_many(self, keys: Iterable[str]) -> dict[str, Entry | None]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, Entry | None] = {key: None for key in keys}
        if len(keys) > _MAX_TXN_OPS:  # etcd's own limit: one read per chunk, then
            for start in range(0, len(keys), _MAX_TXN_OPS):
                found.update(self.get_many(keys[start:start + _MAX_TXN_OPS]))
            return found
        t = self._client.transactions
        _, responses = self._call(self._client.transaction, compare=[],
                                  success=[t.get(key) for key in keys], failure=[])
        for key, kvs in zip(keys, responses):
            if kvs:
                value, meta = kvs[0]
                found[key] = Entry(key, value, meta.mod_revision, meta.create_revision)
        return found

    def list(self, prefix: str) -> list[Entry]:
        return self.snapshot(prefix)[0]

    def snapshot(self, prefix: str) -> tuple[builtins.list[Entry], int]:
        response = self._call(self._client.get_prefix_response, prefix, sort_order="ascend",
                              sort_target="key")
        return ([Entry(kv.key.decode(), kv.value, kv.mod_revision, kv.create_revision)
                 for kv in response.kvs], response.header.revision)

    def commit(self, puts: Mapping[str, bytes] = {}, deletes: Iterable[str] = (),
               expect: Mapping[str, int] = {}, lease: int | None = None) -> int:
        t = self._client.transactions
        compare = [t.mod(key) == revision for key, revision in expect.items()]
        success = [t.put(key, value, lease=lease) for key, value in puts.items()]
        success += [t.delete(key) for key in deletes]
        succeeded, responses = self._call(self._client.transaction, compare=compare,
                                          success=success, failure=[])
        if not succeeded:
            raise Conflict(f"changed since read: {', '.join(sorted(expect))}")
        if not responses:
            return 0
        op = responses[0]
        return getattr(op, op.WhichOneof("response")).header.revision

    def grant_lease(self, ttl: int) -> int:
        return self._call(self._client.lease, ttl).id

    def refresh_lease(self, lease_id: int) -> bool:
        responses = self._call(lambda: list(self._client.refresh_lease(lease_id)))
        return bool(responses) and responses[0].TTL > 0

    def revoke_lease(self, lease_id: int) -> None:
        try:
            self._call(self._client.revoke_lease, lease_id)
        except StoreUnavailable as exc:
            if "lease not found" not in str(exc):  # etcd's answer for an expired lease
                raise

    def watch_prefix(self, prefix: str, on_events: Callable[[builtins.list[Event]], None],
                     start_revision: int | None = None,
                     on_error: Callable[[Exception], None] | None = None) -> Callable[[], None]:
        import pyetcd.events
        import pyetcd.exceptions as etcd_errors

        failed = threading.Event()

        def deliver(response) -> None:
            if failed.is_set():
                return
            if isinstance(response, Exception):
                failed.set()
                if on_error:
                    on_error(Compacted(str(response))
                             if isinstance(response, etcd_errors.RevisionCompactedError)
                             else StoreUnavailable(f"watch on {prefix}: {response}"))
                return
            events = [Event(e.key.decode(),
                            None if isinstance(e, pyetcd.events.DeleteEvent) else e.value,
                            e.mod_revision) for e in response.events]
            if events:
                on_events(events)

        kwargs = {"start_revision": start_revision} if start_revision else {}
        watch_id = self._call(self._client.add_watch_prefix_callback, prefix, deliver, **kwargs)

        def cancel() -> None:
            failed.set()
            try:
                self._client.cancel_watch(watch_id)
            except Exception:  # closing anyway; nothing to recover
                pass

        return cancel

    def close(self) -> None:
        self.closed = True
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

    HISTORY = 10_000  # events kept for watches that start in the past

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        # Held from a change until its events are delivered: watchers see revision order.
        self._delivery = threading.RLock()
        self._data: dict[str, Entry] = {}
        self._key_lease: dict[str, int] = {}
        self._leases: dict[int, tuple[int, float]] = {}  # id -> (ttl, expires_at)
        self._revision = 0
        self._history: list[Event] = []
        self._watches: dict[int, tuple[str, Callable[[list[Event]], None]]] = {}
        self._next_id = 0
        self._clock = clock
        self.closed = False

    def _record(self, key: str, value: bytes | None) -> Event:
        event = Event(key, value, self._revision)
        self._history.append(event)
        if len(self._history) > self.HISTORY:
            del self._history[: len(self._history) - self.HISTORY]
        return event

    def _expire(self) -> list[Event]:
        now = self._clock()
        dead = {lid for lid, (_, expires) in self._leases.items() if expires <= now}
        if not dead:
            return []
        for lid in dead:
            del self._leases[lid]
        gone = [k for k, lid in self._key_lease.items() if lid in dead]
        if gone:
            self._revision += 1
        events = []
        for key in gone:
            self._data.pop(key, None)
            del self._key_lease[key]
            events.append(self._record(key, None))
        return events

    def _run(self, operation: Callable[[list[Event]], T]) -> T:
        """Run `operation(events)` under the lock (it appends what it changed to `events`),
        then deliver expired keys and those changes to the watchers, in order."""
        with self._delivery:
            with self._lock:
                events = self._expire()
                result = operation(events)
            self._notify(events)
        return result

    def get(self, key: str) -> Entry | None:
        return self._run(lambda _: self._data.get(key))

    def get_many(self, keys: Iterable[str]) -> dict[str, Entry | None]:
        return self._run(lambda _: {key: self._data.get(key) for key in keys})

    def list(self, prefix: str) -> list[Entry]:
        return self.snapshot(prefix)[0]

    def snapshot(self, prefix: str) -> tuple[builtins.list[Entry], int]:
        return self._run(lambda _: ([e for k, e in sorted(self._data.items())
                                     if k.startswith(prefix)], self._revision))

    def commit(self, puts: Mapping[str, bytes] = {}, deletes: Iterable[str] = (),
               expect: Mapping[str, int] = {}, lease: int | None = None) -> int:
        deletes = list(deletes)

        def apply(events: list[Event]) -> int:
            for key, revision in expect.items():
                current = self._data.get(key)
                if (current.mod_revision if current else ABSENT) != revision:
                    raise Conflict(f"changed since read: {key}")
            if lease is not None and lease not in self._leases:
                raise StoreError(f"lease {lease} not found")
            if not (puts or deletes):
                return 0
            self._revision += 1
            for key, value in puts.items():
                previous = self._data.get(key)
                created = previous.create_revision if previous else self._revision
                self._data[key] = Entry(key, bytes(value), self._revision, created)
                if lease is not None:
                    self._key_lease[key] = lease
                else:
                    self._key_lease.pop(key, None)
                events.append(self._record(key, bytes(value)))
            for key in deletes:
                if self._data.pop(key, None) is not None:
                    events.append(self._record(key, None))
                self._key_lease.pop(key, None)
            return self._revision

        return self._run(apply)

    def grant_lease(self, ttl: int) -> int:
        with self._lock:
            self._next_id += 1
            self._leases[self._next_id] = (ttl, self._clock() + ttl)
            return self._next_id

    def refresh_lease(self, lease_id: int) -> bool:
        def refresh(_events: list[Event]) -> bool:
            if lease_id not in self._leases:
                return False
            ttl, _ = self._leases[lease_id]
            self._leases[lease_id] = (ttl, self._clock() + ttl)
            return True

        return self._run(refresh)

    def revoke_lease(self, lease_id: int) -> None:
        def revoke(events: list[Event]) -> None:
            if lease_id in self._leases:
                self._leases[lease_id] = (0, float("-inf"))
                events.extend(self._expire())

        self._run(revoke)

    def watch_prefix(self, prefix: str, on_events: Callable[[builtins.list[Event]], None],
                     start_revision: int | None = None,
                     on_error: Callable[[Exception], None] | None = None) -> Callable[[], None]:
        with self._delivery:
            with self._lock:
                backlog: list[Event] = []
                if start_revision and start_revision <= self._revision:
                    oldest = self._history[0].mod_revision if self._history else self._revision + 1
                    if start_revision < oldest:
                        raise Compacted(f"revision {start_revision} is compacted")
                    backlog = [e for e in self._history
                               if e.mod_revision >= start_revision and e.key.startswith(prefix)]
                self._next_id += 1
                watch_id = self._next_id
                self._watches[watch_id] = (prefix, on_events)
            if backlog:
                on_events(backlog)

        def cancel() -> None:
            self._watches.pop(watch_id, None)

        return cancel

    def _notify(self, events: builtins.list[Event]) -> None:
        if not events:
            return
        for prefix, on_events in list(self._watches.values()):
            mine = [e for e in events if e.key.startswith(prefix)]
            if mine:
                on_events(mine)

    def close(self) -> None:
        self.closed = True
        self._watches.clear()
