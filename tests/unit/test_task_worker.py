"""The task engine against the fake runtime: failure handling, adoption, no duplicates."""

from __future__ import annotations

import threading

import pytest

from agent.engine import ContainerPlan, EngineConfig, TaskEngine, TaskPlan, TaskReport, container_spec
from agent.fake_runtime import FakeRuntime
from agent.runtime import ImageNotFound, RuntimeUnavailable
from skiff.services import wait_until
from skiffcore.status import TaskStatus

IMAGE = "127.0.0.1:5000/app:1"


class Reports:
    def __init__(self) -> None:
        self.items: list[TaskReport] = []
        self.lock = threading.Lock()

    def __call__(self, report: TaskReport) -> None:
        with self.lock:
            self.items.append(report)

    def last(self, task_id: str) -> TaskReport | None:
        with self.lock:
            return next((r for r in reversed(self.items) if r.task_id == task_id), None)

    def statuses(self, task_id: str) -> list[TaskStatus]:
        with self.lock:
            return [r.status for r in self.items if r.task_id == task_id]


def plan(task_id: str, desired=TaskStatus.RUNNING, last=TaskStatus.PENDING,
         containers=(("app", True),)) -> TaskPlan:
    return TaskPlan(task_id, desired, tuple(
        ContainerPlan(name, essential, container_spec(
            task_id, "default", "i-1", "bridge", name, IMAGE, 0, 64, 0, [], [], [], [(80, 0, "tcp")],
            "", [], False))
        for name, essential in containers), last)


@pytest.fixture
def setup():
    runtime = FakeRuntime()
    reports = Reports()
    engine = TaskEngine(runtime, "i-1", reports, EngineConfig(
        poll_interval=0.01, retry_delay=0.01, start_timeout=0.3, stop_timeout=1))
    yield runtime, reports, engine
    engine.shutdown()


def wait_status(reports: Reports, task_id: str, status: TaskStatus) -> TaskReport:
    return wait_until(lambda: (r := reports.last(task_id)) and r.status == status and r, 5,
                      interval=0.01, message=f"{task_id} {status.name}")


def test_runs_reports_bindings_and_stops(setup):
    runtime, reports, engine = setup
    engine.apply([plan("a" * 32)])
    running = wait_status(reports, "a" * 32, TaskStatus.RUNNING)
    assert running.containers[0].network_bindings[0]["host_port"] >= 32768
    engine.apply([plan("a" * 32, desired=TaskStatus.STOPPED)])
    stopped = wait_status(reports, "a" * 32, TaskStatus.STOPPED)
    assert stopped.stop_code == "" and stopped.containers[0].exit_code == 143
    assert runtime.calls["create"] == 1


def test_essential_exit_reports_its_code(setup):
    runtime, reports, engine = setup
    task = "b" * 32
    engine.apply([plan(task, containers=(("main", True), ("side", False)))])
    wait_status(reports, task, TaskStatus.RUNNING)
    runtime.exit(task, "main", 3)
    stopped = wait_status(reports, task, TaskStatus.STOPPED)
    assert stopped.stop_code == "EssentialContainerExited"
    codes = {c.name: c.exit_code for c in stopped.containers}
    assert codes == {"main": 3, "side": 143}


def test_missing_image_fails_the_task(setup):
    runtime, reports, engine = setup
    runtime.registry = set()
    engine.apply([plan("c" * 32)])
    stopped = wait_status(reports, "c" * 32, TaskStatus.STOPPED)
    assert stopped.stop_code == "TaskFailedToStart"
    assert stopped.stopped_reason.startswith("CannotPullContainerError")


def test_retriable_errors_give_up_after_the_start_timeout(setup):
    runtime, reports, engine = setup
    runtime.fail_next("pull", RuntimeUnavailable("registry down"), times=10_000)
    engine.apply([plan("d" * 32)])
    stopped = wait_status(reports, "d" * 32, TaskStatus.STOPPED)
    assert stopped.stop_code == "TaskFailedToStart"
    assert 1 < runtime.calls["pull"] < 1000  # retried, with a pause between tries


def test_docker_away_never_reports_stopped(setup):
    runtime, reports, engine = setup
    task = "e" * 32
    engine.apply([plan(task)])
    wait_status(reports, task, TaskStatus.RUNNING)
    runtime.unavailable = True
    engine.apply([plan(task, desired=TaskStatus.STOPPED, last=TaskStatus.RUNNING)])
    wait_until(lambda: runtime.calls["inspect"] > 20, 5, interval=0.01)
    assert TaskStatus.STOPPED not in reports.statuses(task)
    runtime.unavailable = False
    wait_status(reports, task, TaskStatus.STOPPED)


def test_restarted_agent_adopts_without_restarting(setup):
    runtime, reports, engine = setup
    task = "f" * 32
    engine.apply([plan(task)])
    wait_status(reports, task, TaskStatus.RUNNING)
    engine.shutdown()
    # A new engine (a restarted agent) gets the task the control plane has as RUNNING.
    fresh = TaskEngine(runtime, "i-1", reports, engine.config)
    creates, starts = runtime.calls["create"], runtime.calls["start"]
    fresh.apply([plan(task, last=TaskStatus.RUNNING)])
    wait_until(lambda: runtime.calls["inspect"] > 10, 5, interval=0.01)
    assert (runtime.calls["create"], runtime.calls["start"]) == (creates, starts)
    assert len(runtime.containers) == 1
    fresh.shutdown()


def test_exited_container_is_not_restarted_after_agent_restart(setup):
    runtime, reports, engine = setup
    task = "1" * 32
    engine.apply([plan(task)])
    wait_status(reports, task, TaskStatus.RUNNING)
    engine.shutdown()
    runtime.exit(task, "app", 0)  # ended while the agent was down
    fresh = TaskEngine(runtime, "i-1", reports, engine.config)
    starts = runtime.calls["start"]
    fresh.apply([plan(task, last=TaskStatus.RUNNING)])
    stopped = wait_status(reports, task, TaskStatus.STOPPED)
    assert stopped.stop_code == "EssentialContainerExited"
    assert runtime.calls["start"] == starts
    fresh.shutdown()


def test_removed_container_is_not_recreated(setup):
    runtime, reports, engine = setup
    task = "2" * 32
    engine.apply([plan(task)])
    wait_status(reports, task, TaskStatus.RUNNING)
    runtime.delete(task, "app")
    stopped = wait_status(reports, task, TaskStatus.STOPPED)
    assert "removed outside Skiff" in stopped.stopped_reason
    assert runtime.calls["create"] == 1


def test_tasks_not_in_the_set_are_stopped(setup):
    runtime, reports, engine = setup
    task = "3" * 32
    engine.apply([plan(task)])
    wait_status(reports, task, TaskStatus.RUNNING)
    engine.shutdown()
    fresh = TaskEngine(runtime, "i-1", reports, engine.config)
    fresh.apply([])  # the authoritative set after a reconnect no longer has it
    wait_until(lambda: all(s.status == "exited" for s in runtime.containers.values()), 5,
               interval=0.01, message="the stray container to stop")
    fresh.shutdown()
