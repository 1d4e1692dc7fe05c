"""The service controller's passes on the in-memory store: a pass whose inputs did not change
since the last one is skipped until the next tick, and any change brings it back."""

from __future__ import annotations

import pytest

from controlplane.controller import ServiceController
from controlplane.leader import Election
from controlplane.model import Keys
from controlplane.resources import ControlPlane
from controlplane.store import MemoryStore
from controlplane.types import TaskStateReport
from skiffcore.status import TaskStatus
from skiffharness.processes import wait_until
from tests.fakes import FakeClock


@pytest.fixture
def setup():
    store = MemoryStore()
    cp = ControlPlane(store)
    cp.view.start()  # the in-memory store's watch runs in the writer's thread
    election = Election(store, ttl=600).start()
    wait_until(lambda: election.epoch is not None, 5, interval=0.01, message="leadership")
    instance = cp.agents.register_instance("default", "i-1", "i-1", 4096, 4096, {}, "test").instance_id
    cp.agents.heartbeat("default", instance)
    cp.taskdefs.register_task_definition({"family": "web", "containerDefinitions": [
        {"name": "app", "image": "127.0.0.1:5000/web:1", "memory": 16}]})
    cp.services.create_service("default", "web", "web:1", 2,
                                            healthy_after_seconds=0)
    clock = FakeClock(1000.0)
    controller = ServiceController(cp, election, tick=1.0, clock=clock)
    passes: list[str] = []
    reconcile = controller._reconcile_service
    controller._reconcile_service = lambda cluster, service, *rest: (
        passes.append(service.name), reconcile(cluster, service, *rest))
    yield cp, instance, controller, clock, passes
    election.close()


def report(cp, instance, tasks, status):
    cp.agents.report_task_states("default", instance,
                             [TaskStateReport(t.task_id, status, ()) for t in tasks])


def test_an_unchanged_service_is_passed_over_until_the_next_tick(setup):
    cp, instance, controller, clock, passes = setup
    controller.run_once()  # places the two tasks
    tasks = cp.view.tasks("default")
    assert len(tasks) == 2
    controller.run_once()  # the tasks it placed are new inputs
    report(cp, instance, tasks, TaskStatus.RUNNING)
    controller.run_once()  # the rollout completes, and it writes the service: its own write...
    assert cp.view.services("default")["web"].deployments[0].rollout_state == "COMPLETED"
    count = len(passes)
    controller.run_once()  # ...is no reason for another pass
    assert len(passes) == count
    clock.now += 0.4
    controller.run_once()
    assert len(passes) == count
    clock.now += 0.6
    controller.run_once()  # the clock moved a tick: time-based rules get their look
    assert len(passes) == count + 1


def test_a_report_alone_leaves_the_service_record_as_it_is(setup):
    """Counts are read from the tasks: a task that starts running rewrites no service."""
    cp, instance, controller, clock, passes = setup
    controller.run_once()
    tasks = cp.view.tasks("default")
    controller.run_once()
    version = cp.view.services("default")["web"].version
    report(cp, instance, tasks[:1], TaskStatus.RUNNING)
    controller.run_once()
    assert cp.view.services("default")["web"].version == version
    [described], _ = cp.services.describe_services("default", ["web"])
    counts = [(d.running_count, d.pending_count) for d in described.deployments]
    assert counts == [(1, 1)]
    stored = cp.store.get(Keys.service("default", "web")).value
    assert b"running_count" not in stored and b"pending_count" not in stored


def test_a_changed_task_brings_the_pass_back(setup):
    cp, instance, controller, clock, passes = setup
    controller.run_once()
    tasks = cp.view.tasks("default")
    report(cp, instance, tasks, TaskStatus.RUNNING)
    controller.run_once()
    controller.run_once()
    count = len(passes)
    report(cp, instance, tasks[:1], TaskStatus.STOPPED)
    controller.run_once()
    assert len(passes) == count + 1
    running = [t for t in cp.view.tasks("default") if t.status != TaskStatus.STOPPED]
    assert len(running) == 2  # the stopped one was replaced at once, not a tick later


def test_stopped_tasks_are_forgotten_after_the_retention(setup):
    cp, instance, controller, clock, passes = setup
    now_ms = [10**12]
    cp.work.now_ms = lambda: now_ms[0]
    controller.stopped_retention_ms = 3_600_000
    controller.run_once()
    tasks = cp.view.tasks("default")
    report(cp, instance, tasks, TaskStatus.STOPPED)
    gone = {t.task_id for t in tasks}

    def describable() -> set[str]:
        return gone & {t.task_id for t in cp.view.tasks("default")}

    now_ms[0] += 3_599_000
    clock.now += 1.0
    controller.run_once()
    assert describable() == gone
    now_ms[0] += 2_000
    clock.now += 1.0
    controller.run_once()
    wait_until(lambda: not describable(), 5, interval=0.01, message="old stopped tasks forgotten")
