"""Agent sessions: which container instances have a live agent.

An instance counts as connected while its session key exists in etcd
(`Keys.session(cluster, instance)`). The control-plane process the agent talks to
writes that key under one etcd lease of its own, kept alive by one keepalive loop, so a
heartbeat costs no etcd write: it only refreshes a time in memory. The key goes away when

- the agent stops heartbeating for `timeout` seconds (this process deletes it), or
- this process dies (its lease expires and etcd deletes all its keys at once).

The key's value names the process and the address its API is reached at, so that another
process can send it what only the agent's own process can do (container logs).

Everything here can be lost: after a restart agents reconnect and register again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Callable

from controlplane.model import Keys
from controlplane.store import Conflict, Store, StoreError

log = logging.getLogger("skiff.controlplane.sessions")


class Sessions:
    def __init__(self, store: Store, timeout: float = 15.0, lease_ttl: int = 10,
                 clock: Callable[[], float] = time.monotonic, address: str = ""):
        self.store = store
        self.address = address  # this process's API, as other processes reach it
        self.timeout = timeout
        self.lease_ttl = lease_ttl
        self.clock = clock
        self.replica = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._last_seen: dict[tuple[str, str], float] = {}
        self._lease: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Sessions":
        self._thread = threading.Thread(target=self._maintain, name="sessions", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the upkeep and end the lease: this process's agents count as disconnected at
        once (and reconnect, to this process again or another) rather than after its TTL."""
        self._stop.set()
        with self._lock:
            lease, self._lease = self._lease, None
        if lease is not None:
            try:
                self.store.revoke_lease(lease)
            except StoreError as exc:
                log.warning("could not end the session lease (it runs out by itself): %s", exc)

    def _current_lease(self) -> int:
        with self._lock:
            if self._lease is None:
                self._lease = self.store.grant_lease(self.lease_ttl)
            return self._lease

    def touch(self, cluster: str, instance_id: str, claim: bool = False) -> None:
        """The agent is alive (heartbeat). Writes the session key if the agent is new here, or
        with `claim` (it registered: it may have come back from another process, which owns
        the key now and would delete it once the agent went quiet there)."""
        key = (cluster, instance_id)
        with self._lock:
            known = key in self._last_seen
            self._last_seen[key] = self.clock()
        if claim or not known:
            self._put(cluster, instance_id)

    def _put(self, cluster: str, instance_id: str) -> None:
        value = json.dumps({"replica": self.replica, "address": self.address}).encode()
        self.store.commit(puts={Keys.session(cluster, instance_id): value},
                          lease=self._current_lease())

    def peer_address(self, cluster: str, instance_id: str) -> str | None:
        """The API address of the other process the instance's agent is connected to; None if
        it is connected here, nowhere, or to a process that gave no address."""
        entry = self.store.get(Keys.session(cluster, instance_id))
        if entry is None:
            return None
        session = json.loads(entry.value)
        if session.get("replica") == self.replica:
            return None
        return session.get("address") or None

    def _maintain(self) -> None:
        """Keep the lease alive; expire agents that went quiet."""
        interval = min(self.lease_ttl / 3, self.timeout / 3)
        while not self._stop.wait(interval):
            try:
                self._keep_lease()
                self._expire_quiet_agents()
            except StoreError as exc:
                log.warning("session upkeep failed: %s", exc)

    def _keep_lease(self) -> None:
        with self._lock:
            lease = self._lease
        if lease is None or self.store.refresh_lease(lease):
            return
        # The lease ran out (etcd was away longer than its TTL): every key went with it.
        log.warning("session lease expired; writing the sessions again")
        with self._lock:
            self._lease = None
            alive = list(self._last_seen)
        for cluster, instance_id in alive:
            self._put(cluster, instance_id)

    def _expire_quiet_agents(self) -> None:
        now = self.clock()
        with self._lock:
            quiet = [k for k, seen in self._last_seen.items() if now - seen > self.timeout]
            for key in quiet:
                del self._last_seen[key]
        for cluster, instance_id in quiet:
            log.info("container instance %s missed its heartbeats: disconnected", instance_id)
            session_key = Keys.session(cluster, instance_id)
            entry = self.store.get(session_key)
            # The agent may have moved to another replica, which now owns the key.
            if entry and json.loads(entry.value).get("replica") == self.replica:
                try:
                    self.store.commit(deletes=[session_key],
                                      expect={session_key: entry.mod_revision})
                except Conflict:
                    pass
