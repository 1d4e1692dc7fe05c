"""The state view's task indexes on the in-memory store: hot reads see what is live, and
stopped tasks only where they still count."""

from __future__ import annotations

import pytest

from controlplane.cache import StateView
from controlplane.model import Keys, TaskRecord
from controlplane.store import ABSENT, MemoryStore


@pytest.fixture
def store_and_view():
    store = MemoryStore()
    view = StateView(store).start()
    yield store, view
    view.close()


def put(store: MemoryStore, view: StateView, task_id: str, status: str = "RUNNING",
        instance: str = "i-1", group: str = "service:web", started_by: str = "ecs-svc/1"):
    task = TaskRecord(task_id, "default", "arn:td/web:1", instance, 0, 16, [], last_status=status,
                      group=group, started_by=started_by)
    revision = store.commit(puts={Keys.task("default", task_id): task.encode()})
    assert view.wait_for(revision)


def ids(tasks) -> set[str]:
    return {t.task_id for t in tasks}


def test_instance_tasks_leave_out_the_stopped(store_and_view):
    store, view = store_and_view
    put(store, view, "a")
    put(store, view, "b", instance="i-2")
    put(store, view, "c", status="STOPPED")
    assert ids(view.instance_tasks("default", "i-1")) == {"a"}
    put(store, view, "a", status="STOPPED")
    assert ids(view.instance_tasks("default", "i-1")) == set()
    assert ids(view.stopped_tasks("default")) == {"a", "c"}
    assert ids(view.tasks("default")) == {"a", "b", "c"}


def test_service_tasks_keep_only_the_stopped_of_the_deployments_asked_for(store_and_view):
    store, view = store_and_view
    put(store, view, "old-stopped", status="STOPPED", started_by="ecs-svc/old")
    put(store, view, "old-stopping", status="RUNNING", started_by="ecs-svc/old")
    put(store, view, "new-stopped", status="STOPPED", started_by="ecs-svc/new")
    put(store, view, "new-running", started_by="ecs-svc/new")
    put(store, view, "other-service", group="service:api", started_by="ecs-svc/new")
    assert ids(view.service_tasks("default", "service:web", ["ecs-svc/new"])) == {
        "old-stopping", "new-stopped", "new-running"}
    assert ids(view.service_tasks("default", "service:web", [])) == {"old-stopping", "new-running"}


def test_a_deleted_task_leaves_every_index(store_and_view):
    store, view = store_and_view
    put(store, view, "a")
    put(store, view, "b", status="STOPPED")
    revision = store.commit(deletes=[Keys.task("default", "a"), Keys.task("default", "b")])
    assert view.wait_for(revision)
    assert view.instance_tasks("default", "i-1") == []
    assert view.stopped_tasks("default") == []
    assert view.service_tasks("default", "service:web", ["ecs-svc/1"]) == []
    # Deployments come and go by the thousand: what they leave must not stay as empty entries.
    assert not (view._active_by_instance or view._active_by_group or view._stopped_by_starter
                or view._stopped)


def test_an_instance_hears_of_what_its_agent_acts_on_not_of_what_it_reported(store_and_view):
    store, view = store_and_view
    calls: list[str] = []
    view.subscribe("default", "i-1", lambda: calls.append("i-1"))

    def heard(**change) -> bool:
        calls.clear()
        put(store, view, "a", **change)
        return bool(calls)

    assert heard(status="PENDING")  # placed there
    assert not heard(status="RUNNING")  # what its agent reported
    task = view.task("default", "a").copy()
    task.desired_status = "STOPPED"
    calls.clear()
    assert view.wait_for(store.commit(puts={Keys.task("default", "a"): task.encode()}))
    assert calls  # to be stopped
    assert heard(status="STOPPED")  # gone from its live set
    assert not heard(status="STOPPED", instance="i-2")  # stopped elsewhere: nothing to it


def test_an_instances_tasks_are_read_with_the_epoch_and_revision_of_the_copy(store_and_view):
    store, view = store_and_view
    assert view.instance_tasks_read("default", "i-1") == ([], 0, 0)
    elected = store.commit(puts={Keys.leader(): b"{}"}, expect={Keys.leader(): ABSENT})
    put(store, view, "a")
    tasks, epoch, revision = view.instance_tasks_read("default", "i-1")
    assert ids(tasks) == {"a"} and epoch == elected and revision == store.snapshot(Keys.ROOT)[1]
    # No leader for a while keeps the last epoch; the next leader's is higher.
    assert view.wait_for(store.commit(deletes=[Keys.leader()]))
    assert view.epoch == elected
    reelected = store.commit(puts={Keys.leader(): b"{}"}, expect={Keys.leader(): ABSENT})
    assert view.wait_for(reelected)
    assert view.epoch == reelected > elected
    # A copy loaded from a snapshot knows the epoch too.
    fresh = StateView(store).start()
    assert (fresh.epoch, fresh.revision) == (view.epoch, view.revision)
    fresh.close()
