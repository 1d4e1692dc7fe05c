"""One unit of work: read, decide, commit with the versions read; on `Conflict`, again.

Every read-modify-write of the control plane goes through here (design invariant 3):

    def attempt() -> TaskRecord:
        task = work.get(TaskRecord, Keys.task(cluster, task_id))   # carries its version
        ...                                                          # decide, change the copy
        work.commit(puts={key: task.encode()}, expect={key: task.version}, fence=fence)
        return task

    task = work.retry(attempt)

- `retry` runs the attempt until it commits without `Conflict` (bounded; then `Busy`), first
  letting this process's state view catch up with etcd, so the next attempt reads fresh data.
- `commit` is one etcd transaction; `fence` (`Election.fence()`) makes a leader-only write
  fail once its process no longer leads (invariant 8).
- After `commit` returns, this process's state view holds the write: what a caller reads next
  from the view includes it (read-your-writes).
"""

from __future__ import annotations

import random
import time
from typing import Callable, Iterable, Mapping, TypeVar

from controlplane.cache import StateView
from controlplane.errors import Busy
from controlplane.model import Keys, Record
from controlplane.store import Conflict, Store

__all__ = ["UnitOfWork", "now_ms"]

T = TypeVar("T")
R = TypeVar("R", bound=Record)


def now_ms() -> int:
    """Wall-clock milliseconds, as records store their times."""
    return int(time.time() * 1000)


class UnitOfWork:
    def __init__(self, store: Store, view: StateView, clock_ms: Callable[[], int] = now_ms,
                 max_attempts: int = 50):
        self.store = store
        self.view = view
        self.now_ms = clock_ms
        self.max_attempts = max_attempts

    def get(self, record_type: type[R], key: str) -> R | None:
        """The record at `key` read from etcd (not the view), with its version; None if absent."""
        entry = self.store.get(key)
        return record_type.decode(entry.value, entry.mod_revision) if entry else None

    def retry(self, attempt: Callable[[], T]) -> T:
        """Run a read-decide-commit `attempt` until it commits without `Conflict`; raises
        `Busy` after `max_attempts`. The attempt must read again each time (nothing it read
        before a Conflict is current) and may raise anything else to give up."""
        for n in range(self.max_attempts):
            try:
                return attempt()
            except Conflict:
                self._catch_up()
                time.sleep(random.uniform(0, 0.002 * (n + 1)))  # back off, de-synchronise
        raise Busy("too many concurrent updates; try again")

    def _catch_up(self) -> None:
        """After a Conflict the local copy may be behind: wait until it has what etcd has."""
        _, revision = self.store.snapshot(Keys.revision_probe())
        self.view.wait_for(revision)

    def commit(self, puts: Mapping[str, bytes] = {}, deletes: Iterable[str] = (),
               expect: Mapping[str, int] = {}, fence: Mapping[str, int] | None = None) -> int:
        """Write `puts` and `deletes` in one transaction if every key of `expect` (and of
        `fence`, the leader's epoch) still has that version (`store.ABSENT`: does not exist);
        raises `Conflict` otherwise. Returns the write's revision (0: nothing written), which
        this process's state view holds when this returns."""
        if fence:
            expect = {**expect, **fence}
        revision = self.store.commit(puts=puts, deletes=deletes, expect=expect)
        if revision:
            self.view.wait_for(revision)
        return revision
