"""A watch-fed, in-memory copy of the cluster state one control-plane process reads from.

It holds nothing that is not in etcd (design invariant 1): it is a snapshot plus the watch
events after it, rebuilt from scratch whenever the watch breaks. Hot reads come from here
(placement snapshots, an agent's assignments, counts); writes still go to the store as
transactions that compare the versions read here, so a stale copy costs a `Conflict` and a
retry, never a lost update.

    view = StateView(store).start()
    view.instances("default")                # ContainerInstanceRecord by id, with versions
    view.instance_tasks("default", "i-1")    # the tasks placed there, not STOPPED yet
    view.service_tasks("default", "service:web", deployment_ids)  # what its controller weighs
    view.wait_for(revision)                  # read your own writes
    tasks, epoch, revision = view.instance_tasks_read("default", "i-1")  # what an agent is told
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Callable, Iterable

from controlplane.model import (ContainerInstanceRecord, Keys, RevokedInstance, ServiceRecord,
                               TaskRecord, UserRecord)
from controlplane.store import Event, Store, StoreError
from skiffcore.status import TaskStatus

log = logging.getLogger("skiff.controlplane.cache")

_INSTANCES = Keys.instances()
_SESSIONS = Keys.sessions()
_TASKS = Keys.tasks()
_SERVICES = Keys.services()
_USERS = Keys.user()
_REVOKED = Keys.revoked()
_LEADER = Keys.leader()


class StateView:
    def __init__(self, store: Store, resync_delay: float = 0.5):
        self.store = store
        self.resync_delay = resync_delay
        self._lock = threading.Condition()
        self._revision = 0
        self._epoch = 0  # the newest leader key's create_revision seen; kept across re-syncs
        self._instances: dict[str, dict[str, ContainerInstanceRecord]] = defaultdict(dict)
        self._sessions: dict[str, set[str]] = defaultdict(set)
        self._tasks: dict[str, dict[str, TaskRecord]] = defaultdict(dict)
        # Indexes that keep the hot reads proportional to what is live: stopped tasks stay
        # describable for an hour (ECS), and a busy cluster gathers thousands of them.
        self._active_by_instance: dict[tuple[str, str], dict[str, TaskRecord]] = defaultdict(dict)
        self._active_by_group: dict[tuple[str, str], dict[str, TaskRecord]] = defaultdict(dict)
        self._stopped_by_starter: dict[tuple[str, str, str], dict[str, TaskRecord]] = \
            defaultdict(dict)
        self._stopped: dict[str, dict[str, TaskRecord]] = defaultdict(dict)
        self._services: dict[str, dict[str, ServiceRecord]] = defaultdict(dict)
        self._users: dict[str, UserRecord] = {}
        self._users_by_token: dict[str, UserRecord] = {}
        self._revoked: set[str] = set()
        self._listeners: list[Callable[[], None]] = []
        self._subscribers: dict[tuple[str, str], set[Callable[[], None]]] = defaultdict(set)
        self._cancel: Callable[[], None] | None = None
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "StateView":
        self._sync()
        return self

    def close(self) -> None:
        self._closed = True
        if self._cancel:
            self._cancel()

    def _sync(self) -> None:
        """Load a fresh snapshot and watch from just after it."""
        entries, revision = self.store.snapshot(Keys.ROOT)
        with self._lock:
            self._instances.clear()
            self._sessions.clear()
            self._tasks.clear()
            for index in (self._active_by_instance, self._active_by_group,
                          self._stopped_by_starter, self._stopped):
                index.clear()
            self._services.clear()
            self._users.clear()
            self._users_by_token.clear()
            self._revoked.clear()
            for entry in entries:
                self._apply(Event(entry.key, entry.value, entry.mod_revision))
            self._revision = max(self._revision, revision)
            self._lock.notify_all()
        self._cancel = self.store.watch_prefix(Keys.ROOT, self._on_events,
                                               start_revision=revision + 1,
                                               on_error=self._on_error)
        self._notify_all()

    def _on_error(self, error: Exception) -> None:
        if self._closed or self.store.closed:
            return
        log.warning("state watch broke (%s); re-syncing", error)
        threading.Thread(target=self._resync, name="state-resync", daemon=True).start()

    def _resync(self) -> None:
        while not (self._closed or self.store.closed):
            try:
                self._sync()
                return
            except StoreError as exc:
                log.warning("re-sync failed: %s", exc)
                threading.Event().wait(self.resync_delay)

    # -- applying changes -------------------------------------------------------------------

    def _on_events(self, events: list[Event]) -> None:
        touched: set[tuple[str, str]] = set()
        with self._lock:
            for event in events:
                touched |= self._apply(event)
                self._revision = max(self._revision, event.mod_revision)
            self._lock.notify_all()
        for key in touched:
            for callback in list(self._subscribers.get(key, ())):
                callback()
        for listener in list(self._listeners):
            listener()

    def _apply(self, event: Event) -> set[tuple[str, str]]:
        """Apply one change; returns the (cluster, instance) pairs whose agents are told
        something new (see `subscribe`)."""
        key = event.key
        if key == _LEADER:
            # The leader key is only ever created (leader.py), never updated: the revision of
            # a put is its create_revision, the epoch. A deletion (no leader for a while)
            # keeps the last epoch: the next leader's is higher.
            if event.value is not None:
                self._epoch = max(self._epoch, event.mod_revision)
            return set()
        if key.startswith(_TASKS):
            cluster, task_id = key[len(_TASKS):].split("/", 1)
            old = self._tasks[cluster].pop(task_id, None)
            if old is not None:
                self._unindex(cluster, old)
            new = None
            if event.value is not None:
                new = TaskRecord.decode(event.value, event.mod_revision)
                self._tasks[cluster][task_id] = new
                self._index(cluster, new)
            if _assigned(old) == _assigned(new):
                return set()  # e.g. a status its agent reported itself
            return {(cluster, t.instance_id) for t in (old, new) if t is not None}
        if key.startswith(_INSTANCES):
            cluster, instance_id = key[len(_INSTANCES):].split("/", 1)
            if event.value is None:
                self._instances[cluster].pop(instance_id, None)
            else:
                self._instances[cluster][instance_id] = ContainerInstanceRecord.decode(
                    event.value, event.mod_revision)
        elif key.startswith(_SERVICES):
            cluster, name = key[len(_SERVICES):].split("/", 1)
            if event.value is None:
                self._services[cluster].pop(name, None)
            else:
                self._services[cluster][name] = ServiceRecord.decode(event.value, event.mod_revision)
        elif key.startswith(_SESSIONS):
            cluster, instance_id = key[len(_SESSIONS):].split("/", 1)
            if event.value is None:
                self._sessions[cluster].discard(instance_id)
            else:
                self._sessions[cluster].add(instance_id)
        elif key.startswith(_USERS):
            name = key[len(_USERS):]
            gone = self._users.pop(name, None)
            if gone is not None:
                self._users_by_token.pop(gone.token_hash, None)
            if event.value is not None:
                user = UserRecord.decode(event.value, event.mod_revision)
                self._users[name] = self._users_by_token[user.token_hash] = user
        elif key.startswith(_REVOKED):
            if event.value is not None:  # revocations are never taken back
                self._revoked.add(RevokedInstance.decode(event.value, event.mod_revision).instance_id)
        return set()

    def _task_indexes(self, cluster: str, task: TaskRecord) -> list[tuple[dict, object]]:
        """(index, key) of every index `task` belongs in, by its status."""
        if task.last_status == TaskStatus.STOPPED.name:
            return [(self._stopped, cluster),
                    (self._stopped_by_starter, (cluster, task.group, task.started_by))]
        return [(self._active_by_instance, (cluster, task.instance_id)),
                (self._active_by_group, (cluster, task.group))]

    def _index(self, cluster: str, task: TaskRecord) -> None:
        for index, key in self._task_indexes(cluster, task):
            index[key][task.task_id] = task

    def _unindex(self, cluster: str, task: TaskRecord) -> None:
        for index, key in self._task_indexes(cluster, task):
            entries = index.get(key)
            if entries is not None:
                entries.pop(task.task_id, None)
                if not entries:  # deployments and groups come and go: keep no empty entries
                    del index[key]

    def _notify_all(self) -> None:
        for callbacks in list(self._subscribers.values()):
            for callback in list(callbacks):
                callback()
        for listener in list(self._listeners):
            listener()

    # -- reads ------------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def epoch(self) -> int:
        """The create_revision of the newest leader key this copy has seen; 0 before any."""
        return self._epoch

    def wait_for(self, revision: int, timeout: float = 5.0) -> bool:
        """Block until the copy includes `revision` (read-your-writes); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._revision >= revision, timeout)

    # Records handed out are shared: callers treat them as read-only and copy to change.

    def user_by_token(self, token_hash: str) -> UserRecord | None:
        return self._users_by_token.get(token_hash)  # one dict read: atomic, no lock needed

    def users(self) -> dict[str, UserRecord]:
        with self._lock:
            return dict(self._users)

    def revoked(self, instance_id: str) -> bool:
        return instance_id in self._revoked

    def instances(self, cluster: str) -> dict[str, ContainerInstanceRecord]:
        with self._lock:
            return dict(self._instances.get(cluster, {}))

    def instance(self, cluster: str, instance_id: str) -> ContainerInstanceRecord | None:
        with self._lock:
            return self._instances.get(cluster, {}).get(instance_id)

    def connected(self, cluster: str) -> set[str]:
        with self._lock:
            return set(self._sessions.get(cluster, ()))

    def task(self, cluster: str, task_id: str) -> TaskRecord | None:
        with self._lock:
            return self._tasks.get(cluster, {}).get(task_id)

    def tasks(self, cluster: str) -> list[TaskRecord]:
        with self._lock:
            return list(self._tasks.get(cluster, {}).values())

    def instance_tasks(self, cluster: str, instance_id: str) -> list[TaskRecord]:
        """The tasks placed on the instance that are not STOPPED."""
        with self._lock:
            return list(self._active_by_instance.get((cluster, instance_id), {}).values())

    def instance_tasks_read(self, cluster: str, instance_id: str
                            ) -> tuple[list[TaskRecord], int, int]:
        """`instance_tasks` with the epoch (leader key's create_revision) and the etcd revision
        of the copy they were read from, all in one look, so the pair describes the tasks."""
        with self._lock:
            return self.instance_tasks(cluster, instance_id), self._epoch, self._revision

    def service_tasks(self, cluster: str, group: str, deployment_ids: Iterable[str]
                      ) -> list[TaskRecord]:
        """The group's tasks that are not STOPPED, and the STOPPED ones the given deployments
        started (their failures count). Older stopped tasks, of deployments gone or of a
        service deleted and created again under the same name, are history."""
        with self._lock:
            tasks = list(self._active_by_group.get((cluster, group), {}).values())
            for deployment_id in deployment_ids:
                tasks += self._stopped_by_starter.get((cluster, group, deployment_id), {}).values()
            return tasks

    def stopped_tasks(self, cluster: str) -> list[TaskRecord]:
        with self._lock:
            return list(self._stopped.get(cluster, {}).values())

    def clusters(self) -> set[str]:
        """Clusters with instances, tasks or services."""
        with self._lock:
            return {c for d in (self._instances, self._tasks, self._services) for c, v in d.items()
                    if v}

    def services(self, cluster: str) -> dict[str, ServiceRecord]:
        with self._lock:
            return dict(self._services.get(cluster, {}))

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` (no arguments) after every batch of changes and every re-sync."""
        self._listeners.append(listener)

    def subscribe(self, cluster: str, instance_id: str, callback: Callable[[], None]
                  ) -> Callable[[], None]:
        """Call `callback` (no arguments) whenever what the instance's agent is told changes
        (a task placed there or gone from its live set, a new desired status), and after a
        re-sync. Not for a status the agent reported itself: with many tasks reporting, that
        would rebuild the instance's set for nothing. Returns the unsubscribe function."""
        key = (cluster, instance_id)
        with self._lock:
            self._subscribers[key].add(callback)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers[key].discard(callback)
                if not self._subscribers[key]:
                    del self._subscribers[key]

        return unsubscribe


def _assigned(task: TaskRecord | None) -> tuple[str, str, str] | None:
    """What an instance's agent is told of `task`; None when it is not in a live set."""
    if task is None or task.last_status == TaskStatus.STOPPED.name:
        return None
    return task.instance_id, task.desired_status, task.task_definition_arn
