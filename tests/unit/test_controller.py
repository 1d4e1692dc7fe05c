"""The service controller's passes on the in-memory store: a pass whose inputs did not change
since the last one is skipped until the next tick, and any change brings it back."""

from __future__ import annotations

import pytest

from controlplane.controller import ServiceController
from controlplane.ecs_services import ServiceOperations
from controlplane.leader import Election
from controlplane.model import Keys
from controlplane.service import ControlPlaneService
from controlplane.types import TaskStateReport
from controlplane.store import MemoryStore
from skiff.services import wait_until
from skiffcore.status import TaskStatus
from tests.fakes import FakeClock


@pytest.fixture
def setup():
    store = MemoryStore()
    layer = ControlPlaneService(store)
    election = Election(store, ttl=600).start()
    wait_until(lambda: election.epoch is not None, 5, interval=0.01, message="leadership")
    instance = layer.register_instance("default", "i-1", "i-1", 4096, 4096, {}, "test").instance_id
    layer.heartbeat("default", instance)
    layer.register_task_definition({"family": "web", "containerDefinitions": [
        {"name": "app", "image": "127.0.0.1:5000/web:1", "memory": 16}]})
    ServiceOperations(layer).create_service("default", "web", "web:1", 2,
                                            healthy_after_seconds=0)
    clock = FakeClock(1000.0)
    controller = ServiceController(layer, election, tick=1.0, clock=clock)
    passes: list[str] = []
    reconcile = controller._reconcile_service
    controller._reconcile_service = lambda cluster, service, *rest: (
        passes.append(service.name), reconcile(cluster, service, *rest))
    yield layer, instance, controller, clock, passes
    election.close()


def report(layer, instance, tasks, status):
    layer.report_task_states("default", instance,
                             [TaskStateReport(t.task_id, status, ()) for t in tasks])


def test_an_unchanged_service_is_passed_over_until_the_next_tick(setup):
    layer, instance, controller, clock, passes = setup
    controller.run_once()  # places the two tasks
    tasks = layer.view.tasks("default")
    assert len(tasks) == 2
    controller.run_once()  # the tasks it placed are new inputs
    report(layer, instance, tasks, TaskStatus.RUNNING)
    controller.run_once()  # the rollout completes, and it writes the service: its own write...
    assert layer.view.services("default")["web"].deployments[0].rollout_state == "COMPLETED"
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
    layer, instance, controller, clock, passes = setup
    controller.run_once()
    tasks = layer.view.tasks("default")
    controller.run_once()
    version = layer.view.services("default")["web"].version
    report(layer, instance, tasks[:1], TaskStatus.RUNNING)
    controller.run_once()
    assert layer.view.services("default")["web"].version == version
    [described], _ = ServiceOperations(layer).describe_services("default", ["web"])
    counts = [(d.running_count, d.pending_count) for d in described.deployments]
    assert counts == [(1, 1)]
    stored = layer.store.get(Keys.service("default", "web")).value
    assert b"running_count" not in stored and b"pending_count" not in stored


def test_a_changed_task_brings_the_pass_back(setup):
    layer, instance, controller, clock, passes = setup
    controller.run_once()
    tasks = layer.view.tasks("default")
    report(layer, instance, tasks, TaskStatus.RUNNING)
    controller.run_once()
    controller.run_once()
    count = len(passes)
    report(layer, instance, tasks[:1], TaskStatus.STOPPED)
    controller.run_once()
    assert len(passes) == count + 1
    running = [t for t in layer.view.tasks("default") if t.status != TaskStatus.STOPPED]
    assert len(running) == 2  # the stopped one was replaced at once, not a tick later


def test_stopped_tasks_are_forgotten_after_the_retention(setup):
    layer, instance, controller, clock, passes = setup
    now_ms = [10**12]
    layer.now_ms = lambda: now_ms[0]
    controller.stopped_retention_ms = 3_600_000
    controller.run_once()
    tasks = layer.view.tasks("default")
    report(layer, instance, tasks, TaskStatus.STOPPED)
    gone = {t.task_id for t in tasks}

    def describable() -> set[str]:
        return gone & {t.task_id for t in layer.view.tasks("default")}

    now_ms[0] += 3_599_000
    clock.now += 1.0
    controller.run_once()
    assert describable() == gone
    now_ms[0] += 2_000
    clock.now += 1.0
    controller.run_once()
    wait_until(lambda: not describable(), 5, interval=0.01, message="old stopped tasks forgotten")
