"""The task engine against the fake runtime: failure handling, adoption, no duplicates, and the
container features (dependsOn, restartPolicy, healthCheck, stopTimeout)."""

from __future__ import annotations

import threading
import time

import pytest

from agent.decision import Dependency, HealthStatus, RestartPolicy
from agent.engine import EngineConfig, TaskEngine, TaskWorker
from agent.fake_runtime import FakeRuntime
from agent.plan import ContainerPlan, TaskPlan, TaskReport
from agent.runtime import (ContainerSpec, HealthCheck, PortSpec, RuntimeUnavailable,
                           docker_container_name)
from skiffcore.status import TaskStatus
from skiffharness.processes import wait_until

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
         containers=(("app", True),), ports=((80, 0, "tcp"),)) -> TaskPlan:
    return TaskPlan(task_id, desired, tuple(
        ContainerPlan(name, essential, ContainerSpec(
            task_id=task_id, container_name=name, cluster="default", instance_id="i-1",
            image=IMAGE, memory=64, port_mappings=tuple(PortSpec(*p) for p in ports)))
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


@pytest.mark.parametrize("ports, looks", [((), 0), (((80, 0, "tcp"),), 1)])
def test_a_fresh_task_is_looked_at_before_running_only_for_the_host_ports_docker_picked(
        ports, looks):
    """Create and start say what they made: the only look at Docker before RUNNING is for
    the host ports Docker chose for published bridge ports."""
    runtime = FakeRuntime()
    running: list[TaskReport] = []
    inspects_at_running: list[int] = []

    def report(r: TaskReport) -> None:
        if r.status == TaskStatus.RUNNING and not inspects_at_running:
            inspects_at_running.append(runtime.calls["inspect"])
            running.append(r)

    engine = TaskEngine(runtime, "i-1", report, EngineConfig(poll_interval=0.01))
    engine.apply([plan("3" * 32, ports=ports)])
    wait_until(lambda: inspects_at_running, 5, interval=0.01, message="RUNNING")
    engine.shutdown()
    assert (runtime.calls["create"], runtime.calls["start"], inspects_at_running[0]) == (
        1, 1, looks)
    container = running[0].containers[0]
    assert container.runtime_id and container.status == TaskStatus.RUNNING
    assert len(container.network_bindings) == len(ports)


def test_a_container_that_exits_right_after_its_start_stops_the_task(setup):
    runtime, reports, engine = setup
    task_id = "e" * 32
    engine.apply([plan(task_id, ports=())])
    wait_status(reports, task_id, TaskStatus.RUNNING)
    runtime.exit(task_id, "app", 3)
    stopped = wait_status(reports, task_id, TaskStatus.STOPPED)
    assert stopped.containers[0].exit_code == 3


def test_a_plan_that_only_records_the_reported_status_wakes_no_worker():
    worker = TaskWorker(plan("9" * 32), FakeRuntime(), Reports(), EngineConfig(),
                        on_done=lambda task_id: None)  # not started: nothing clears the wake
    worker.update(plan("9" * 32, last=TaskStatus.RUNNING))
    assert not worker._wake.is_set()
    worker.update(plan("9" * 32, desired=TaskStatus.STOPPED, last=TaskStatus.RUNNING))
    assert worker._wake.is_set()


@pytest.mark.parametrize("current, offered, desired", [
    (TaskStatus.RUNNING, TaskStatus.STOPPED, TaskStatus.STOPPED),
    (TaskStatus.STOPPED, TaskStatus.RUNNING, TaskStatus.STOPPED),
    (TaskStatus.RUNNING, TaskStatus.RUNNING, TaskStatus.RUNNING),
    (TaskStatus.STOPPED, TaskStatus.STOPPED, TaskStatus.STOPPED),
    (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.RUNNING),
    (TaskStatus.RUNNING, TaskStatus.PENDING, TaskStatus.RUNNING),
], ids=["stop", "no-start-after-stop", "same-running", "same-stopped", "pending-to-running",
        "no-pending-after-running"])
def test_a_plan_moves_the_desired_status_only_forward(current, offered, desired):
    worker = TaskWorker(plan("8" * 32, desired=current), FakeRuntime(), Reports(), EngineConfig(),
                        on_done=lambda task_id: None)  # not started: only the update is looked at
    worker.update(plan("8" * 32, desired=offered, last=TaskStatus.RUNNING))
    assert worker.plan.desired == desired
    assert worker.plan.last_status == TaskStatus.RUNNING  # the rest of the plan is taken


def test_a_task_that_leaves_the_set_while_running_is_stopped_at_once(setup):
    runtime, reports, engine = setup
    kept, dropped = "4" * 32, "5" * 32
    engine.apply([plan(kept), plan(dropped)])
    wait_status(reports, kept, TaskStatus.RUNNING)
    wait_status(reports, dropped, TaskStatus.RUNNING)
    engine.apply([plan(kept)])

    def status(task_id: str) -> str:
        return next(c.status for c in runtime.containers.values() if c.task_id == task_id)

    wait_until(lambda: status(dropped) == "exited", 5, interval=0.01,
               message="the dropped task's container to stop")
    assert status(kept) == "running"


def test_new_sets_list_no_containers_until_a_task_leaves_or_the_sweep(setup):
    """Listing every container on each assignment message would load Docker in proportion
    to tasks × messages; new tasks and dropped STOPPED tasks need no list."""
    runtime, reports, engine = setup
    first, second = "6" * 32, "7" * 32
    engine.apply([plan(first)])  # the first set: strays of an earlier agent are looked for
    assert runtime.calls["container_summaries"] == 1
    wait_status(reports, first, TaskStatus.RUNNING)
    engine.apply([plan(first, last=TaskStatus.RUNNING), plan(second)])
    engine.apply([plan(first, desired=TaskStatus.STOPPED), plan(second)])
    wait_status(reports, first, TaskStatus.STOPPED)
    engine.apply([plan(second)])  # dropped once STOPPED: its container stopped already
    assert runtime.calls["container_summaries"] == 1
    engine.apply([plan(second)], sweep=True)  # the periodic one, sooner than its interval
    assert runtime.calls["container_summaries"] == 1
    engine.config.sweep_interval = 0
    engine.apply([plan(second)], sweep=True)
    assert runtime.calls["container_summaries"] == 2


# --- dependsOn, restartPolicy, healthCheck, stopTimeout ------------------------------------------

CHECK = HealthCheck(("CMD-SHELL", "true"), interval=1, timeout=1, retries=1)


def container(task_id: str, name: str, essential: bool = True, *, healthcheck=None,
              stop_timeout=None, depends_on=(), restart=None) -> ContainerPlan:
    return ContainerPlan(name, essential, ContainerSpec(
        task_id=task_id, container_name=name, cluster="default", instance_id="i-1", image=IMAGE,
        memory=64, healthcheck=healthcheck, stop_timeout=stop_timeout or None),
        depends_on=tuple(Dependency(n, cond) for n, cond in depends_on), restart_policy=restart)


def task(task_id: str, *containers: ContainerPlan, desired=TaskStatus.RUNNING) -> TaskPlan:
    return TaskPlan(task_id, desired, containers)


def status(runtime: FakeRuntime, task_id: str, name: str) -> str:
    return runtime.inspect(docker_container_name(task_id, name)).status


def test_healthy_dependency_delays_the_start(setup):
    runtime, reports, engine = setup  # start_timeout=0.3
    t = "4" * 32
    engine.apply([task(t, container(t, "db", healthcheck=CHECK),
                       container(t, "app", depends_on=[("db", "HEALTHY")]))])
    wait_until(lambda: status(runtime, t, "db") == "running", 5, interval=0.01)
    # It waits as long as it takes (ECS without startTimeout): even past the start timeout.
    began = time.monotonic()
    wait_until(lambda: time.monotonic() - began > 0.6 and runtime.calls["inspect"] > 60, 5,
               interval=0.01)
    assert status(runtime, t, "app") == "created"
    assert reports.statuses(t) and set(reports.statuses(t)) == {TaskStatus.PENDING}
    runtime.set_health(t, "db", "healthy")
    running = wait_status(reports, t, TaskStatus.RUNNING)
    assert status(runtime, t, "app") == "running"
    health = {c.name: c.health_status for c in running.containers}
    assert health == {"db": HealthStatus.HEALTHY, "app": HealthStatus.UNKNOWN}
    assert running.health_status == HealthStatus.HEALTHY


def test_failed_success_dependency_stops_the_task_with_its_reason(setup):
    runtime, reports, engine = setup
    t = "5" * 32
    engine.apply([task(t, container(t, "init", False), container(t, "db"),
                       container(t, "app", depends_on=[("init", "SUCCESS"), ("db", "START")]))])
    wait_until(lambda: status(runtime, t, "init") == "running", 5, interval=0.01)
    runtime.exit(t, "init", 2)
    stopped = wait_status(reports, t, TaskStatus.STOPPED)
    assert stopped.stop_code == "TaskFailedToStart"
    assert stopped.stopped_reason == ("DependencyError: container app depends on init (SUCCESS), "
                                      "but it exited with code 2")
    assert status(runtime, t, "app") == "created"  # never started
    assert status(runtime, t, "db") == "exited"    # stopped with the task


def test_complete_dependency_orders_the_start(setup):
    runtime, reports, engine = setup
    t = "6" * 32
    engine.apply([task(t, container(t, "init", False),
                       container(t, "app", depends_on=[("init", "COMPLETE")]))])
    wait_until(lambda: status(runtime, t, "init") == "running", 5, interval=0.01)
    assert status(runtime, t, "app") == "created"
    runtime.exit(t, "init", 7)
    running = wait_status(reports, t, TaskStatus.RUNNING)
    assert {c.name: c.exit_code for c in running.containers} == {"init": 7, "app": None}


def test_restart_policy_restarts_an_essential_container_in_place(setup):
    runtime, reports, engine = setup
    t = "8" * 32
    policy = RestartPolicy(ignored_exit_codes=(3,), restart_attempt_period=60)
    engine.apply([task(t, container(t, "app", restart=policy))])
    wait_status(reports, t, TaskStatus.RUNNING)
    starts = runtime.calls["start"]
    runtime.exit(t, "app", 1, ran_for=61)
    restarted = wait_until(lambda: (r := reports.last(t)) and r.containers[0].restart_count == 1 and r,
                           5, interval=0.01, message="a report of the restart")
    assert restarted.status == TaskStatus.RUNNING
    assert runtime.calls["start"] == starts + 1 and runtime.calls["create"] == 1
    assert status(runtime, t, "app") == "running"
    runtime.exit(t, "app", 3, ran_for=61)  # ignored: not restarted, so the task ends
    stopped = wait_status(reports, t, TaskStatus.STOPPED)
    assert stopped.stop_code == "EssentialContainerExited"
    assert (stopped.containers[0].exit_code, stopped.containers[0].restart_count) == (3, 1)


def test_a_container_that_exits_before_the_attempt_period_is_not_restarted(setup):
    runtime, reports, engine = setup
    t = "9" * 32
    engine.apply([task(t, container(t, "app", restart=RestartPolicy(restart_attempt_period=60)),
                       container(t, "side", False, restart=RestartPolicy(restart_attempt_period=60)))])
    wait_status(reports, t, TaskStatus.RUNNING)
    runtime.exit(t, "side", 1, ran_for=5)
    wait_until(lambda: reports.last(t).containers[1].status == TaskStatus.STOPPED, 5, interval=0.01)
    assert reports.last(t).status == TaskStatus.RUNNING  # a non-essential exit keeps the task
    runtime.exit(t, "app", 1, ran_for=5)
    stopped = wait_status(reports, t, TaskStatus.STOPPED)
    assert stopped.stop_code == "EssentialContainerExited"
    assert [c.restart_count for c in stopped.containers] == [0, 0]


def test_health_changes_are_reported_and_survive_the_stop(setup):
    runtime, reports, engine = setup
    t = "a1" * 16
    containers = (container(t, "app", healthcheck=CHECK), container(t, "side", False))
    engine.apply([task(t, *containers)])
    running = wait_status(reports, t, TaskStatus.RUNNING)
    assert running.health_status == HealthStatus.UNKNOWN  # "starting"
    runtime.set_health(t, "app", "healthy")
    wait_until(lambda: reports.last(t).health_status == HealthStatus.HEALTHY, 5, interval=0.01)
    runtime.set_health(t, "app", "unhealthy")
    unhealthy = wait_until(lambda: (r := reports.last(t)).health_status == HealthStatus.UNHEALTHY and r,
                           5, interval=0.01)
    assert unhealthy.status == TaskStatus.RUNNING  # the control plane decides (services replace)
    assert [c.health_status for c in unhealthy.containers] == [HealthStatus.UNHEALTHY,
                                                               HealthStatus.UNKNOWN]
    runtime.set_health(t, "app", "healthy")
    wait_until(lambda: reports.last(t).health_status == HealthStatus.HEALTHY, 5, interval=0.01)
    engine.apply([task(t, *containers, desired=TaskStatus.STOPPED)])
    stopped = wait_status(reports, t, TaskStatus.STOPPED)
    # The last health seen while it ran is what is reported, not Docker's post-stop "unhealthy".
    assert stopped.containers[0].health_status == HealthStatus.HEALTHY
    assert stopped.health_status == HealthStatus.HEALTHY


def test_stop_honours_stop_timeouts_and_stops_dependents_first(setup):
    runtime, reports, engine = setup  # the agent's default stop timeout is 1
    t = "b2" * 16
    containers = (container(t, "db", stop_timeout=20),
                  container(t, "web", depends_on=[("db", "START")], stop_timeout=5),
                  container(t, "cache", False))
    engine.apply([task(t, *containers)])
    wait_status(reports, t, TaskStatus.RUNNING)
    engine.apply([task(t, *containers, desired=TaskStatus.STOPPED)])
    wait_status(reports, t, TaskStatus.STOPPED)
    assert dict(runtime.stops) == {"db": 20, "web": 5, "cache": 1}
    names = [name for name, _ in runtime.stops]
    assert names.index("web") < names.index("db")


def test_a_task_definition_reaches_the_engine_through_the_assignment():
    """taskdef -> control plane's assignment (protobuf) -> agent's plan: nothing lost, ECS's
    defaults filled in, absent features absent."""
    from agent.session import task_plan
    from controlplane.convert import assignment_pb
    from controlplane.model import TaskRecord
    from controlplane.taskdef import parse_task_definition

    spec = parse_task_definition({"family": "f", "containerDefinitions": [
        {"name": "db", "image": IMAGE, "memory": 64, "stopTimeout": 90,
         "healthCheck": {"command": ["CMD", "pg_isready"], "interval": 10, "startPeriod": 20}},
        {"name": "app", "image": IMAGE, "memory": 64,
         "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}],
         "restartPolicy": {"enabled": True, "ignoredExitCodes": [0, 2], "restartAttemptPeriod": 120}},
        {"name": "plain", "image": IMAGE, "memory": 64, "essential": False,
         "restartPolicy": {"enabled": False}},
    ]})
    record = TaskRecord(task_id="c" * 32, cluster="default", task_definition_arn="arn", instance_id="i-1",
                        cpu=0, memory=192, containers=[])
    db, app, plain = task_plan(assignment_pb(record, spec), "default", "i-1").containers
    assert db.spec.healthcheck == HealthCheck(("CMD", "pg_isready"), interval=10, timeout=5, retries=3,
                                              start_period=20)
    assert (db.spec.stop_timeout, db.depends_on, db.restart_policy) == (90, (), None)
    assert app.depends_on == (Dependency("db", "HEALTHY"),)
    assert app.restart_policy == RestartPolicy(True, (0, 2), 120)
    assert (app.spec.healthcheck, app.spec.stop_timeout) == (None, None)
    assert plain.restart_policy == RestartPolicy(False, (), 300)


def test_stopped_task_containers_are_removed_after_the_delay():
    runtime, reports = FakeRuntime(), Reports()
    engine = TaskEngine(runtime, "i-1", reports, EngineConfig(
        poll_interval=0.01, retry_delay=0.01, stop_timeout=1, cleanup_after=0, sweep_interval=0))
    task = "9" * 32
    engine.apply([plan(task)])
    wait_status(reports, task, TaskStatus.RUNNING)
    engine.apply([plan(task, desired=TaskStatus.STOPPED)])
    wait_status(reports, task, TaskStatus.STOPPED)
    engine.apply([])  # the control plane dropped the stopped task
    engine.apply([], sweep=True)  # the periodic re-apply finds it due
    wait_until(lambda: not runtime.containers, 5, interval=0.01, message="the container removed")
    engine.shutdown()


def test_stopped_task_containers_stay_until_the_delay():
    runtime, reports = FakeRuntime(), Reports()
    engine = TaskEngine(runtime, "i-1", reports, EngineConfig(
        poll_interval=0.01, retry_delay=0.01, stop_timeout=1, cleanup_after=3600,
        sweep_interval=0))
    task = "8" * 32
    engine.apply([plan(task)])
    wait_status(reports, task, TaskStatus.RUNNING)
    engine.apply([plan(task, desired=TaskStatus.STOPPED)])
    wait_status(reports, task, TaskStatus.STOPPED)
    engine.apply([])
    calls = runtime.calls["container_summaries"]
    engine.apply([], sweep=True)  # the periodic look: sees it, and leaves it
    assert runtime.calls["container_summaries"] == calls + 1
    assert len(runtime.containers) == 1
    engine.shutdown()


def test_an_assignment_converts_to_one_spec_field_by_field():
    """The one converter from the wire: every field lands in its keyword, and a zero or empty
    field (protobuf has no "unset") takes the spec's default."""
    from agent.session import container_spec
    from skiffapi.v1 import agent_pb2, types_pb2

    full = agent_pb2.TaskAssignment(task_id="d" * 32, network_mode="host", containers=[
        agent_pb2.ContainerAssignment(
            name="web", image=IMAGE, cpu=256, memory=128, memory_reservation=64,
            command=["serve"], entry_point=["/bin/app"],
            environment=[types_pb2.KeyValuePair(name="A", value="1")],
            port_mappings=[types_pb2.PortMapping(container_port=80, host_port=8080)],
            working_directory="/srv", docker_labels=[types_pb2.KeyValuePair(name="l", value="v")],
            init_process_enabled=True, stop_timeout=7)])
    assert container_spec(full, full.containers[0], cluster="c", instance_id="i-1") == ContainerSpec(
        task_id="d" * 32, container_name="web", cluster="c", instance_id="i-1", image=IMAGE,
        cpu=256, memory=128, memory_reservation=64, command=("serve",), entry_point=("/bin/app",),
        environment=(("A", "1"),), port_mappings=(PortSpec(80, 8080, "tcp"),),
        working_directory="/srv", docker_labels=(("l", "v"),), network_mode="host", init=True,
        stop_timeout=7)

    bare = agent_pb2.TaskAssignment(task_id="e" * 32, containers=[
        agent_pb2.ContainerAssignment(name="app", image=IMAGE)])
    assert container_spec(bare, bare.containers[0], cluster="c", instance_id="i-1") == ContainerSpec(
        task_id="e" * 32, container_name="app", cluster="c", instance_id="i-1", image=IMAGE)
