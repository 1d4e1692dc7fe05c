"""Leader election with fencing (design invariant 8).

Every control-plane process campaigns for one key, `Keys.leader()`, created under a lease
of its own. The winner runs the scheduler's and controllers' loops. A lease alone is not
mutual exclusion: a leader paused past its TTL wakes up believing it still leads. So every
write a leader-only loop makes carries `Leadership.fence()` in its `expect`: the leader key
must still be the one this process created (its mod_revision never changes after creation,
so it is the epoch). A deposed leader's writes fail with `Conflict`, and it steps down.

    election = Election(store, on_elected=start_loops, on_deposed=stop_loops).start()
    store.commit(puts=..., expect={**versions, **election.fence()})
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Callable

from controlplane.model import Keys
from controlplane.store import ABSENT, Conflict, Store, StoreError

log = logging.getLogger("skiff.controlplane.leader")

LEADER_KEY = Keys.leader()


class NotLeader(Exception):
    """This process does not (or no longer) lead."""


class Election:
    def __init__(self, store: Store, on_elected: Callable[[int], None] = lambda epoch: None,
                 on_deposed: Callable[[], None] = lambda: None, ttl: int = 10,
                 identity: str | None = None):
        self.store = store
        self.ttl = ttl
        self.identity = identity or uuid.uuid4().hex[:12]
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self._epoch: int | None = None
        self._lease: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def epoch(self) -> int | None:
        """The leader key's revision while this process leads, else None."""
        return self._epoch

    def fence(self) -> dict[str, int]:
        """The `expect` entry that makes a write valid only under this leadership."""
        epoch = self._epoch
        if epoch is None:
            raise NotLeader(f"{self.identity} does not lead")
        return {LEADER_KEY: epoch}

    def start(self) -> "Election":
        self._thread = threading.Thread(target=self._run, name="election", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop campaigning; resign if leading so another process takes over at once."""
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        epoch = self._epoch
        self._step_down()
        if epoch is not None:
            try:
                self.store.commit(deletes=[LEADER_KEY], expect={LEADER_KEY: epoch})
            except StoreError:
                pass  # the lease will expire anyway

    def _run(self) -> None:
        interval = self.ttl / 3
        while not self._stop.is_set():
            try:
                if self._epoch is None:
                    self._campaign()
                elif not self._still_leading():
                    log.warning("%s lost the leadership (epoch %s)", self.identity, self._epoch)
                    self._step_down()
            except StoreError as exc:
                log.warning("election: %s", exc)
                if self._epoch is not None and not self._still_leading_safely():
                    self._step_down()
            self._stop.wait(interval)

    def _campaign(self) -> None:
        lease = self.store.grant_lease(self.ttl)
        try:
            revision = self.store.commit(
                puts={LEADER_KEY: json.dumps({"leader": self.identity}).encode()},
                expect={LEADER_KEY: ABSENT}, lease=lease)
        except Conflict:
            return  # someone leads; try again later
        with self._lock:
            self._lease, self._epoch = lease, revision
        log.info("%s is the leader (epoch %d)", self.identity, revision)
        self.on_elected(revision)

    def _still_leading(self) -> bool:
        if self._lease is None or not self.store.refresh_lease(self._lease):
            return False
        entry = self.store.get(LEADER_KEY)
        return entry is not None and entry.mod_revision == self._epoch

    def _still_leading_safely(self) -> bool:
        try:
            return self._still_leading()
        except StoreError:
            return False  # cannot prove it: stop acting as leader; fenced writes fail anyway

    def _step_down(self) -> None:
        with self._lock:
            was_leading = self._epoch is not None
            self._epoch, self._lease = None, None
        if was_leading:
            self.on_deposed()
