"""dependsOn, restartPolicy, healthCheck and stopTimeout on the real dockerd, through the task
engine and the Docker runtime directly (no control plane): what ECS users see of these fields.
One last test takes the whole path (API, control plane, agent process) to check the wiring.

Every test gets its own container-instance id; the fixture removes that instance's containers.
Health checks and restart periods are far shorter than ECS allows (the engine does not enforce
the task definition's limits; `controlplane.taskdef` does), so the whole module runs in seconds.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime
from typing import Iterator

import pytest

from agent.decision import Dependency, HealthStatus, RestartPolicy
from agent.engine import EngineConfig, TaskEngine
from agent.plan import ContainerPlan, TaskPlan, TaskReport
from agent.runtime import ContainerSpec, HealthCheck, docker_container_name
from agent.runtime.docker_sdk import DockerRuntime
from skiffcore.status import TaskStatus
from skiffharness.images import build_busybox_image, docker_cli
from skiffharness.processes import wait_until

pytestmark = pytest.mark.integration

IMAGE = "skiff-test/features:1"
# The image is FROM scratch plus busybox: no /tmp, so the check makes its own directory.
READY_CHECK = HealthCheck(("CMD-SHELL", "test -f /x/ok"), interval=0.2, timeout=2, retries=2)


class Reports:
    """A reporter that keeps every report."""

    def __init__(self) -> None:
        self.items: list[TaskReport] = []
        self.lock = threading.Lock()

    def __call__(self, report: TaskReport) -> None:
        with self.lock:
            self.items.append(report)

    def last(self, task_id: str) -> TaskReport | None:
        with self.lock:
            return next((r for r in reversed(self.items) if r.task_id == task_id), None)

    def wait(self, task_id: str, status: TaskStatus, timeout: float = 20) -> TaskReport:
        return wait_until(lambda: (r := self.last(task_id)) and r.status == status and r, timeout,
                          interval=0.05, message=f"task {task_id} {status.name}")


class Harness:
    def __init__(self, runtime: DockerRuntime, image: str) -> None:
        self.runtime = runtime
        self.image = image
        self.instance_id = f"features-{uuid.uuid4().hex[:12]}"
        self.reports = Reports()
        self.engine = TaskEngine(runtime, self.instance_id, self.reports, EngineConfig(
            poll_interval=0.1, retry_delay=0.2, pull_behavior="prefer-cached", stop_timeout=30,
            start_timeout=30))
        self.plans: dict[str, TaskPlan] = {}

    def container(self, task_id: str, name: str, script: str, essential: bool = True, *,
                  healthcheck: HealthCheck | None = None, stop_timeout: int | None = None,
                  depends_on: tuple[tuple[str, str], ...] = (), restart: RestartPolicy | None = None,
                  init: bool = True) -> ContainerPlan:
        spec = ContainerSpec(task_id=task_id, container_name=name, cluster="features",
                             instance_id=self.instance_id, image=self.image,
                             entry_point=("sh", "-c"), command=(script,), init=init,
                             healthcheck=healthcheck, stop_timeout=stop_timeout)
        return ContainerPlan(name, essential, spec,
                             depends_on=tuple(Dependency(n, c) for n, c in depends_on),
                             restart_policy=restart)

    def run(self, task_id: str, *containers: ContainerPlan) -> None:
        self.plans[task_id] = TaskPlan(task_id, TaskStatus.RUNNING, containers)
        self.engine.apply(list(self.plans.values()))

    def stop(self, task_id: str) -> None:
        plan = self.plans[task_id]
        self.plans[task_id] = TaskPlan(task_id, TaskStatus.STOPPED, plan.containers)
        self.engine.apply(list(self.plans.values()))

    def state(self, task_id: str, name: str):
        return self.runtime.inspect(docker_container_name(task_id, name))


def at(timestamp: str | None) -> datetime:
    assert timestamp, "the container never started"
    return datetime.fromisoformat(timestamp)


@pytest.fixture(scope="module")
def image(docker_engine) -> str:
    return build_busybox_image(IMAGE)


@pytest.fixture(scope="module")
def runtime(docker_engine) -> Iterator[DockerRuntime]:
    rt = DockerRuntime()
    yield rt
    rt.close()


@pytest.fixture
def harness(runtime: DockerRuntime, image: str) -> Iterator[Harness]:
    h = Harness(runtime, image)
    yield h
    h.engine.shutdown()
    for state in runtime.list_containers(h.instance_id):
        runtime.remove(state.container_id)


def new_task() -> str:
    return uuid.uuid4().hex


def test_health_check_turns_healthy_and_a_healthy_dependency_waits_for_it(harness: Harness):
    t = new_task()
    harness.run(t,
                harness.container(t, "db", "sleep 1.5; mkdir -p /x && touch /x/ok; exec sleep 600",
                                  healthcheck=READY_CHECK),
                harness.container(t, "app", "exec sleep 600", depends_on=(("db", "HEALTHY"),)))
    wait_until(lambda: harness.state(t, "db").running, 20, message="db running")
    assert harness.state(t, "app").status == "created"  # db is still "starting"
    running = harness.reports.wait(t, TaskStatus.RUNNING)

    db, app = harness.state(t, "db"), harness.state(t, "app")
    assert db.health == "healthy"
    assert (at(app.started_at) - at(db.started_at)).total_seconds() >= 1.5
    assert {c.name: c.health_status for c in running.containers} == {
        "db": HealthStatus.HEALTHY, "app": HealthStatus.UNKNOWN}  # app has no check of its own
    assert running.health_status == HealthStatus.HEALTHY


def test_success_and_complete_order_the_start(harness: Harness):
    t = new_task()
    harness.run(t,
                harness.container(t, "migrate", "sleep 1; exit 0", essential=False),
                harness.container(t, "warmup", "sleep 0.5; exit 4", essential=False),
                harness.container(t, "app", "exec sleep 600",
                                  depends_on=(("migrate", "SUCCESS"), ("warmup", "COMPLETE"))))
    running = harness.reports.wait(t, TaskStatus.RUNNING)
    migrate, warmup, app = (harness.state(t, n) for n in ("migrate", "warmup", "app"))
    assert at(app.started_at) >= at(migrate.finished_at)
    assert at(app.started_at) >= at(warmup.finished_at)
    assert {c.name: c.exit_code for c in running.containers} == {
        "migrate": 0, "warmup": 4, "app": None}


def test_a_failed_success_dependency_stops_the_task(harness: Harness):
    t = new_task()
    harness.run(t,
                harness.container(t, "migrate", "exit 1", essential=False),
                harness.container(t, "app", "exec sleep 600", depends_on=(("migrate", "SUCCESS"),)))
    stopped = harness.reports.wait(t, TaskStatus.STOPPED)
    assert stopped.stop_code == "TaskFailedToStart"
    assert "depends on migrate (SUCCESS), but it exited with code 1" in stopped.stopped_reason
    assert harness.state(t, "app").status == "created"  # never started


def test_restart_policy_restarts_in_place_unless_the_code_is_ignored(harness: Harness):
    flaky, done = new_task(), new_task()
    policy = RestartPolicy(ignored_exit_codes=(3,), restart_attempt_period=0.5)
    harness.run(flaky, harness.container(flaky, "app", "sleep 0.7; exit 1", restart=policy))
    harness.run(done, harness.container(done, "app", "sleep 0.7; exit 3", restart=policy))

    stopped = harness.reports.wait(done, TaskStatus.STOPPED)
    assert stopped.stop_code == "EssentialContainerExited"
    assert (stopped.containers[0].exit_code, stopped.containers[0].restart_count) == (3, 0)

    first_id = harness.state(flaky, "app").container_id
    restarted = wait_until(
        lambda: (r := harness.reports.last(flaky)) and r.containers[0].restart_count >= 2 and r,
        20, message="two restarts")
    assert restarted.status == TaskStatus.RUNNING  # an essential container, restarted in place
    assert harness.state(flaky, "app").container_id == first_id == restarted.containers[0].runtime_id
    harness.stop(flaky)
    harness.reports.wait(flaky, TaskStatus.STOPPED)


def test_stop_timeout_is_honoured(harness: Harness):
    t = new_task()
    # Without --init, sleep is PID 1 and ignores SIGTERM: only SIGKILL after the timeout ends it.
    harness.run(t, harness.container(t, "stubborn", "exec sleep 600", init=False, stop_timeout=2))
    harness.reports.wait(t, TaskStatus.RUNNING)
    assert harness.state(t, "stubborn").stop_timeout == 2  # Docker's StopTimeout, too
    started = time.monotonic()
    harness.stop(t)
    stopped = harness.reports.wait(t, TaskStatus.STOPPED)
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 10, elapsed  # the container's 2 s, not the agent's 30 s
    assert stopped.containers[0].exit_code == 137  # SIGKILL


def test_the_whole_path_applies_the_task_definition(stack):
    """Registered through the API, sent by the control plane, applied by a separate agent
    process: the health check and stop timeout are Docker's, and dependsOn orders the start."""
    client = stack.client
    td = client.register(json.dumps({"family": "features-path", "containerDefinitions": [
        {"name": "db", "image": stack.image, "memory": 32, "essential": False,
         "entryPoint": ["sh", "-c"], "command": ["mkdir -p /x && touch /x/ok && exec sleep 600"],
         "linuxParameters": {"initProcessEnabled": True},
         "healthCheck": {"command": ["CMD-SHELL", "test -f /x/ok"], "interval": 5, "retries": 1}},
        {"name": "app", "image": stack.image, "memory": 32, "stopTimeout": 3,
         "command": ["sleep", "600"], "linuxParameters": {"initProcessEnabled": True},
         "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
    ]}))
    assert list(td.ignored_fields) == []
    task_id = client.run(f"{td.family}:{td.revision}").tasks[0].task_id
    running = client.wait_status(task_id, "RUNNING", timeout=40)
    ids = {c.name: c.runtime_id for c in running.containers}
    db, app = (json.loads(docker_cli("inspect", ids[n]).stdout)[0] for n in ("db", "app"))
    assert db["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "test -f /x/ok"],
                                           "Interval": 5_000_000_000, "Timeout": 5_000_000_000,
                                           "Retries": 1}
    assert db["State"]["Health"]["Status"] == "healthy"
    assert app["Config"]["StopTimeout"] == 3
    # Docker runs the first check one interval after the start: app waited for it.
    waited = at(app["State"]["StartedAt"]) - at(db["State"]["StartedAt"])
    assert waited.total_seconds() >= 4.5
    client.stop(task_id, "done")
    client.wait_status(task_id, "STOPPED", timeout=30)
