"""ECS services on real agents and real Docker: replacement, rolling updates, the circuit
breaker, draining, DAEMON, lost and restarted agents."""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter

import pytest

from skiffapi.v1 import controlplane_pb2 as pb, types_pb2
from skiffharness.processes import wait_until

pytestmark = pytest.mark.integration

AGENTS = 3
RUNNING = types_pb2.TaskStatus.Value("TASK_STATUS_RUNNING")


def sleeper(stack, family: str, image: str | None = None) -> str:
    td = stack.client.register(json.dumps({"family": family, "containerDefinitions": [
        {"name": "main", "image": image or stack.image, "memory": 16, "command": ["sleep", "600"],
         "linuxParameters": {"initProcessEnabled": True}}]}))
    return f"{td.family}:{td.revision}"


def create(stack, name, taskdef, desired=4, daemon=False, **config) -> pb.Service:
    return stack.client.api.CreateService(pb.CreateServiceRequest(
        cluster=stack.client.cluster, service_name=name, task_definition=taskdef,
        desired_count=desired, scheduling_strategy="DAEMON" if daemon else "REPLICA",
        healthy_after_seconds=1, deployment_configuration=pb.DeploymentConfiguration(**config)),
        timeout=10).service


def running(stack, name: str) -> list[types_pb2.Task]:
    return [t for t in stack.client.tasks() if t.group == f"service:{name}"
            and t.last_status == RUNNING]


def steady(stack, name: str, count: int, timeout: float = 60) -> list[types_pb2.Task]:
    def settled():
        service = stack.client.service(name)
        primary = next(d for d in service.deployments if d.status == "PRIMARY")
        tasks = running(stack, name)
        return (primary.rollout_state == "COMPLETED" and len(service.deployments) == 1
                and len(tasks) == count and tasks)

    return wait_until(settled, timeout, interval=0.3, message=f"service {name} steady at {count}")


def remove(stack, name: str) -> None:
    stack.client.api.DeleteService(pb.DeleteServiceRequest(cluster=stack.client.cluster,
                                                           service=name, force=True), timeout=10)
    wait_until(lambda: not running(stack, name), 60, interval=0.3, message=f"{name} removed")


def container_of(task: types_pb2.Task) -> str:
    return task.containers[0].runtime_id


def test_spread_replace_and_roll_out(stack):
    v1 = sleeper(stack, "svc-web")
    create(stack, "web", v1, desired=4)
    tasks = steady(stack, "web", 4)
    assert len({t.container_instance_id for t in tasks}) == 3  # spread over the instances

    # A container killed behind Skiff's back: the task stops, a replacement runs.
    victim = tasks[0]
    subprocess.run(["docker", "kill", container_of(victim)], capture_output=True, check=True)
    wait_until(lambda: victim.task_id not in {t.task_id for t in running(stack, "web")}, 30,
               interval=0.2, message="the killed task to stop")
    replaced = steady(stack, "web", 4)
    assert victim.task_id not in {t.task_id for t in replaced}

    # Roll out a new revision with min 50 / max 100 while a probe counts running tasks.
    v2 = sleeper(stack, "svc-web")
    seen, done = [], threading.Event()

    def probe():
        while True:
            seen.append(len(running(stack, "web")))
            if done.wait(0.05):  # a look every 50 ms until the rollout is over
                return

    thread = threading.Thread(target=probe)
    thread.start()
    try:
        stack.client.api.UpdateService(pb.UpdateServiceRequest(
            cluster=stack.client.cluster, service="web", task_definition=v2,
            deployment_configuration=pb.DeploymentConfiguration(minimum_healthy_percent=50,
                                                                maximum_percent=100)), timeout=10)
        rolled = steady(stack, "web", 4, timeout=90)
    finally:
        done.set()
        thread.join()
    assert {t.task_definition_arn.rsplit("/", 1)[-1] for t in rolled} == {v2}
    assert min(seen) >= 2, f"running tasks dipped to {min(seen)}"
    events = [e.message for e in stack.client.service("web").events]
    assert any("steady state" in e for e in events)
    remove(stack, "web")


def test_circuit_breaker_rolls_back(stack):
    good = sleeper(stack, "svc-cb")
    create(stack, "cb", good, desired=2)
    steady(stack, "cb", 2)
    bad = sleeper(stack, "svc-cb", image=f"{stack.registry_address}/skiff-test/missing:1")
    stack.client.api.UpdateService(pb.UpdateServiceRequest(
        cluster=stack.client.cluster, service="cb", task_definition=bad,
        deployment_configuration=pb.DeploymentConfiguration(
            circuit_breaker_enable=True, circuit_breaker_rollback=True,
            circuit_breaker_threshold=2)), timeout=10)

    def rolled_back():
        service = stack.client.service("cb")
        failed = [d for d in service.deployments if d.rollout_state == "FAILED"]
        return failed or any("deployment failed" in e.message for e in service.events)

    wait_until(rolled_back, 90, interval=0.3, message="the circuit breaker")
    tasks = steady(stack, "cb", 2, timeout=90)
    assert {t.task_definition_arn.rsplit("/", 1)[-1] for t in tasks} == {good}
    assert stack.client.service("cb").task_definition.endswith(good)
    remove(stack, "cb")


def test_update_inside_the_grace_to_a_missing_image_keeps_the_service_up(stack):
    """Create, then at once (every task still inside its health grace) update to an image that
    does not exist: the old tasks keep serving, the breaker fails the deployment, and with no
    completed deployment to roll back to the service stays on its first revision."""
    first = sleeper(stack, "svc-young")
    stack.client.api.CreateService(pb.CreateServiceRequest(
        cluster=stack.client.cluster, service_name="young", task_definition=first,
        desired_count=3, healthy_after_seconds=600,
        deployment_configuration=pb.DeploymentConfiguration(
            circuit_breaker_enable=True, circuit_breaker_rollback=True,
            circuit_breaker_threshold=2)), timeout=10)
    wait_until(lambda: len(running(stack, "young")) == 3, 60, interval=0.2,
               message="3 tasks running")
    bad = sleeper(stack, "svc-young", image=f"{stack.registry_address}/skiff-test/missing:1")
    seen, done = [], threading.Event()

    def probe():
        while True:
            seen.append(len(running(stack, "young")))
            if done.wait(0.05):
                return

    thread = threading.Thread(target=probe)
    thread.start()
    try:
        stack.client.api.UpdateService(pb.UpdateServiceRequest(
            cluster=stack.client.cluster, service="young", task_definition=bad), timeout=10)

        def gave_up():
            events = [e.message for e in stack.client.service("young").events]
            return any("could not roll back" in e for e in events)

        wait_until(gave_up, 90, interval=0.3, message="the breaker to fail the deployment")
        looks = len(seen)
        # A few more controller passes and looks, to see it stays there.
        wait_until(lambda: len(seen) >= looks + 40, 30, interval=0.1, message="more looks")
    finally:
        done.set()
        thread.join()
    assert min(seen) == 3, f"running tasks dipped to {min(seen)}"
    service = stack.client.service("young")
    failed = next(d for d in service.deployments if d.status == "PRIMARY")
    assert failed.rollout_state == "FAILED" and failed.task_definition.endswith(bad)
    tasks = running(stack, "young")
    assert len(tasks) == 3
    assert {t.task_definition_arn.rsplit("/", 1)[-1] for t in tasks} == {first}
    remove(stack, "young")


def test_drain_moves_service_tasks(stack):
    create(stack, "drained", sleeper(stack, "svc-drain"), desired=3)
    tasks = steady(stack, "drained", 3)
    target = tasks[0].container_instance_id
    stack.client.api.UpdateContainerInstancesState(pb.UpdateContainerInstancesStateRequest(
        cluster=stack.client.cluster, container_instances=[target], status="DRAINING"), timeout=10)
    try:
        moved = wait_until(lambda: (t := running(stack, "drained")) and len(t) == 3 and all(
            x.container_instance_id != target for x in t) and t, 60, interval=0.3,
            message="tasks off the draining instance")
        assert len(moved) == 3
    finally:
        stack.client.api.UpdateContainerInstancesState(pb.UpdateContainerInstancesStateRequest(
            cluster=stack.client.cluster, container_instances=[target], status="ACTIVE"),
            timeout=10)
    remove(stack, "drained")


def test_daemon_follows_the_instances(stack):
    create(stack, "everywhere", sleeper(stack, "svc-daemon"), daemon=True)
    tasks = steady(stack, "everywhere", 3)
    assert len({t.container_instance_id for t in tasks}) == 3
    fourth = stack.start_agent(4)
    try:
        stack.client.wait_connected(count=4, timeout=60)
        tasks = steady(stack, "everywhere", 4)
        assert len({t.container_instance_id for t in tasks}) == 4
    finally:
        remove(stack, "everywhere")
        fourth.stop()


def test_lost_agent_tasks_come_back_elsewhere_without_duplicates(stack):
    create(stack, "sturdy", sleeper(stack, "svc-lost"), desired=4)
    tasks = steady(stack, "sturdy", 4)
    counts = Counter(t.container_instance_id for t in tasks)
    names = {i.instance_id: i.name for i in stack.client.instances()}
    lost_instance = max(counts, key=counts.get)
    victim_index = next(n for n, a in enumerate(stack.agents) if a.name == names[lost_instance])
    stack.agents[victim_index].kill()  # kill -9: no goodbye
    replaced = wait_until(lambda: (t := running(stack, "sturdy")) and len(
        [x for x in t if x.container_instance_id != lost_instance]) == 4 and t, 90,
        interval=0.5, message="replacements on the other instances")
    assert replaced
    # The agent comes back: the tasks that were replaced are stopped there.
    stack.agents[victim_index] = stack.start_agent(victim_index + 1)
    stack.client.wait_connected(count=3, timeout=60)
    settled = wait_until(lambda: (t := running(stack, "sturdy")) and len(t) == 4 and all(
        x.container_instance_id != lost_instance for x in t) and t, 90, interval=0.5,
        message="the count to settle at 4")
    assert len(settled) == 4
    leftovers = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=skiff.container-instance={lost_instance}"],
        capture_output=True, text=True).stdout.split()
    wait_until(lambda: not subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=skiff.container-instance={lost_instance}"],
        capture_output=True, text=True).stdout.split(), 60, interval=0.5,
        message="the returning agent to stop what was replaced")
    assert leftovers is not None
    remove(stack, "sturdy")


def test_agent_restart_restarts_no_container(stack):
    create(stack, "calm", sleeper(stack, "svc-calm"), desired=3)
    tasks = steady(stack, "calm", 3)
    started = {t.task_id: subprocess.run(
        ["docker", "inspect", "-f", "{{.State.StartedAt}}", container_of(t)],
        capture_output=True, text=True).stdout for t in tasks}
    stack.agents[0].stop()
    stack.agents[0] = stack.start_agent(1)
    stack.client.wait_connected(count=3, timeout=60)
    after = steady(stack, "calm", 3)
    assert {t.task_id for t in after} == set(started)
    for task in after:
        assert subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}",
                               container_of(task)], capture_output=True,
                              text=True).stdout == started[task.task_id]
    remove(stack, "calm")


def test_failing_health_check_gets_the_task_replaced(stack):
    td = stack.client.register(json.dumps({"family": "svc-health", "containerDefinitions": [
        {"name": "main", "image": stack.image, "memory": 16,
         "command": ["sh", "-c", "mkdir -p /x && touch /x/ok && exec sleep 600"],
         "healthCheck": {"command": ["CMD-SHELL", "test -f /x/ok"], "interval": 5, "timeout": 2,
                         "retries": 1},
         "linuxParameters": {"initProcessEnabled": True}}]}))
    create(stack, "checked", f"{td.family}:{td.revision}", desired=1)
    (task,) = steady(stack, "checked", 1, timeout=60)  # steady needs it HEALTHY
    assert task.health_status == types_pb2.HealthStatus.Value("HEALTH_STATUS_HEALTHY")
    subprocess.run(["docker", "exec", container_of(task), "rm", "/x/ok"], check=True,
                   capture_output=True)
    replaced = wait_until(lambda: (t := running(stack, "checked")) and len(t) == 1
                          and t[0].task_id != task.task_id and t, 90, interval=0.5,
                          message="the unhealthy task to be replaced")
    stopped = stack.client.describe(task.task_id)
    assert stopped.stopped_reason == "Task failed container health checks"
    assert replaced
    remove(stack, "checked")
