"""The whole path on real components: CLI/API → control plane → etcd → agent → Docker,
with the image pulled from Skiff's own registry. Each component is its own process."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import urllib.request

import pytest

from skiffapi.v1 import controlplane_pb2 as pb, types_pb2
from skiffharness.processes import wait_until
from tests.integration.harness import SKIFF, Client, skiff, skiff_env, start_controlplane

pytestmark = pytest.mark.integration


def httpd_taskdef(image: str, family: str) -> str:
    return json.dumps({
        "family": family,
        "containerDefinitions": [{
            "name": "web", "image": image, "memory": 64, "cpu": 128,
            "entryPoint": ["/bin/sh", "-c"],
            "command": ["mkdir -p /www && echo hello from skiff > /www/index.html"
                        " && exec httpd -f -p 8080 -h /www"],
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "GREETING", "value": "hi"}],
            "dockerLabels": {"team": "e2e"},
        }],
    })


def docker_inspect(container_id: str) -> dict:
    out = subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True)
    return json.loads(out.stdout)[0] if out.returncode == 0 else {}


def test_run_fetch_and_stop_httpd(stack):
    client = stack.client
    td = client.register(httpd_taskdef(stack.image, "e2e-httpd"))
    response = client.run(f"{td.family}:{td.revision}")
    assert not response.failures, response.failures
    task_id = response.tasks[0].task_id

    running = client.wait_status(task_id, "RUNNING")
    (binding,) = running.containers[0].network_bindings
    assert binding.container_port == 8080 and binding.host_port > 0
    page = wait_until(lambda: urllib.request.urlopen(
        f"http://127.0.0.1:{binding.host_port}/", timeout=2).read(), 20, message="the page")
    assert page == b"hello from skiff\n"
    container = docker_inspect(running.containers[0].runtime_id)
    assert "GREETING=hi" in container["Config"]["Env"]
    assert container["Config"]["Labels"]["team"] == "e2e"
    assert container["Config"]["Labels"]["skiff.task-id"] == task_id
    assert container["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert container["HostConfig"]["CpuShares"] == 128

    client.stop(task_id, "test is done")
    stopped = client.wait_status(task_id, "STOPPED", timeout=30)
    assert stopped.stop_code == "UserInitiated"
    assert stopped.stopped_reason == "test is done"
    assert stopped.desired_status == stopped.last_status
    state = docker_inspect(running.containers[0].runtime_id).get("State", {"Running": False})
    assert state["Running"] is False


def test_essential_exit_stops_the_task_with_its_exit_code(stack):
    client = stack.client
    td = client.register(json.dumps({"family": "e2e-exit", "containerDefinitions": [
        {"name": "main", "image": stack.image, "memory": 32, "essential": True,
         "command": ["sh", "-c", "sleep 1; exit 3"]},
        {"name": "sidecar", "image": stack.image, "memory": 32, "essential": False,
         "command": ["sleep", "600"], "linuxParameters": {"initProcessEnabled": True}},
    ]}))
    task_id = client.run(f"{td.family}:{td.revision}").tasks[0].task_id
    stopped = client.wait_status(task_id, "STOPPED", timeout=60)
    assert stopped.stop_code == "EssentialContainerExited"
    exit_codes = {c.name: c.exit_code for c in stopped.containers}
    assert exit_codes["main"] == 3
    sidecar = next(c for c in stopped.containers if c.name == "sidecar")
    assert docker_inspect(sidecar.runtime_id)["State"]["Running"] is False


def test_non_essential_exit_keeps_the_task_running(stack):
    client = stack.client
    td = client.register(json.dumps({"family": "e2e-sidecar", "containerDefinitions": [
        {"name": "main", "image": stack.image, "memory": 32, "command": ["sleep", "600"],
         "linuxParameters": {"initProcessEnabled": True}},
        {"name": "oneshot", "image": stack.image, "memory": 32, "essential": False,
         "command": ["sh", "-c", "exit 0"]},
    ]}))
    task_id = client.run(f"{td.family}:{td.revision}").tasks[0].task_id

    def oneshot_exited():
        task = client.describe(task_id)
        oneshot = next(c for c in task.containers if c.name == "oneshot")
        return oneshot.HasField("exit_code") and task

    task = wait_until(oneshot_exited, 60, interval=0.2, message="the non-essential exit")
    assert next(c for c in task.containers if c.name == "oneshot").exit_code == 0
    assert task.last_status == types_pb2.TaskStatus.Value("TASK_STATUS_RUNNING")
    assert task.stop_code == ""
    client.stop(task_id)
    assert client.wait_status(task_id, "STOPPED").stop_code == "UserInitiated"


def test_two_run_tasks_race_for_the_last_memory(stack):
    client = stack.client
    instance = client.wait_connected()
    free = next(r.integer_value for r in instance.remaining_resources if r.name == "MEMORY")
    # Each task wants more than half of what is left: only one can be placed.
    td = client.register(json.dumps({"family": "e2e-race", "containerDefinitions": [
        {"name": "main", "image": stack.image, "memoryReservation": free // 2 + 1,
         "command": ["sleep", "600"], "linuxParameters": {"initProcessEnabled": True}}]}))
    barrier = threading.Barrier(2)
    responses = []

    def run() -> None:
        barrier.wait()
        responses.append(client.run(f"{td.family}:{td.revision}"))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    placed = [t for r in responses for t in r.tasks]
    failures = [f for r in responses for f in r.failures]
    assert len(placed) == 1
    assert [f.reason for f in failures] == ["RESOURCE:MEMORY"]
    client.stop(placed[0].task_id)
    client.wait_status(placed[0].task_id, "STOPPED")


def test_controlplane_restart_loses_nothing(stack):
    client = stack.client
    td = client.register(httpd_taskdef(stack.image, "e2e-restart"))
    task_id = client.run(f"{td.family}:{td.revision}").tasks[0].task_id
    client.wait_status(task_id, "RUNNING")

    stack.controlplane.kill()  # SIGKILL: no chance to save anything
    port = int(stack.endpoint.rsplit(":", 1)[1])
    stack.controlplane, _ = start_controlplane(stack.etcd, stack.controlplane.log_path.parent, port,
                                               extra=stack.controlplane_args)

    fresh = Client(stack.endpoint, client.cluster)
    try:
        assert fresh.describe(task_id).last_status == client.wait_status(task_id, "RUNNING").last_status
        described = fresh.api.DescribeTaskDefinition(
            pb.DescribeTaskDefinitionRequest(task_definition=f"{td.family}:{td.revision}"), timeout=10)
        assert described.task_definition.document_json
        fresh.wait_connected(timeout=60)
        # The reconnected agent still acts on new instructions.
        fresh.stop(task_id)
        assert fresh.wait_status(task_id, "STOPPED", timeout=60).stop_code == "UserInitiated"
    finally:
        fresh.close()


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["containerDefinitions"][0].update(cpu=-1), "containerDefinitions[0].cpu"),
    (lambda d: d["containerDefinitions"][0]["portMappings"][0].update(hostPort=70000),
     "containerDefinitions[0].portMappings[0].hostPort"),
    (lambda d: d.update(containerDefinitions=[]), "containerDefinitions"),
    (lambda d: d["containerDefinitions"][0].update(essential=False), "containerDefinitions"),
    (lambda d: d["containerDefinitions"].append(dict(d["containerDefinitions"][0])),
     "containerDefinitions[1].name"),
    (lambda d: d["containerDefinitions"][0].update(image="Bad Image"), "containerDefinitions[0].image"),
    (lambda d: d.update(notAnEcsField=1), "notAnEcsField"),
], ids=["negative-cpu", "port-out-of-range", "no-container", "no-essential", "duplicate-names",
        "bad-image", "unknown-field"])
def test_cli_rejects_bad_task_definitions_and_stores_nothing(stack, tmp_path, mutate, field):
    document = json.loads(httpd_taskdef(stack.image, "e2e-rejected"))
    mutate(document)
    path = tmp_path / "td.json"
    path.write_text(json.dumps(document))
    result = skiff(stack.endpoint, "taskdef", "register", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and field in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    listed = stack.client.api.ListTaskDefinitions(
        pb.ListTaskDefinitionsRequest(family_prefix="e2e-rejected", status="ALL"), timeout=10)
    assert list(listed.task_definition_arns) == []


def test_cli_json_is_the_ecs_shape(stack):
    client = stack.client
    td = client.register(httpd_taskdef(stack.image, "e2e-json"))
    task_id = client.run(f"{td.family}:{td.revision}").tasks[0].task_id
    client.wait_status(task_id, "RUNNING")
    result = skiff(stack.endpoint, "task", "describe", task_id, "--cluster", client.cluster,
                   "--json", check=True)
    (task,) = json.loads(result.stdout)["tasks"]
    assert task["lastStatus"] == "RUNNING" and task["desiredStatus"] == "RUNNING"
    assert task["taskArn"].endswith(task_id)
    assert task["containers"][0]["networkBindings"][0]["containerPort"] == 8080
    client.stop(task_id)
    client.wait_status(task_id, "STOPPED")


def run_talker(stack) -> str:
    """A task that writes a numbered line every 0.2 s; its id, once it runs."""
    client = stack.client
    td = client.register(json.dumps({"family": "e2e-logs", "containerDefinitions": [
        {"name": "talker", "image": stack.image, "memory": 16,
         "command": ["sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"],
         "linuxParameters": {"initProcessEnabled": True}}]}))
    task_id = client.run(f"{td.family}:{td.revision}").tasks[0].task_id
    client.wait_status(task_id, "RUNNING")
    return task_id


def follow_sees_new_lines(endpoint: str, logs: list[str]) -> None:
    """`skiff logs --follow` shows lines written after it began."""
    follower = subprocess.Popen([*SKIFF, "--endpoint", endpoint, *logs, "--follow",
                                 "--tail", "1"], stdout=subprocess.PIPE, text=True,
                                env=skiff_env(endpoint))
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout], daemon=True).start()
    try:
        first = int(lines.get(timeout=20).split()[1])
        newer = wait_until(lambda: (n := int(lines.get(timeout=5).split()[1])) > first + 3 and n,
                           20, message="lines written after following began")
        assert newer > first
    finally:
        follower.kill()
        follower.wait(10)


def test_logs_stream_through_the_control_plane(stack):
    client = stack.client
    task_id = run_talker(stack)
    logs = ["logs", task_id, "--cluster", client.cluster]
    wait_until(lambda: "line 2" in skiff(stack.endpoint, *logs).stdout,
               20, interval=0.2, message="the first lines")
    follow_sees_new_lines(stack.endpoint, logs)
    as_json = skiff(stack.endpoint, *logs, "--json", "--tail", "3")
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(events) == 3 and all(e["message"].startswith("line ") for e in events)
    missing = skiff(stack.endpoint, *logs, "--container", "nope")
    assert missing.returncode == 1 and "container" in missing.stderr
    client.stop(task_id)
    client.wait_status(task_id, "STOPPED")


def test_logs_through_a_control_plane_process_the_agent_is_not_connected_to(stack):
    """Every process serves the API: one without the agent's stream passes the request on to
    the one that has it."""
    other, other_endpoint = start_controlplane(stack.etcd, stack.base, name="controlplane-2")
    try:
        task_id = run_talker(stack)
        logs = ["logs", task_id, "--cluster", stack.client.cluster]
        wait_until(lambda: "line 2" in skiff(other_endpoint, *logs).stdout,
                   20, interval=0.2, message="the first lines, through the other process")
        follow_sees_new_lines(other_endpoint, logs)
        stack.client.stop(task_id)
        stack.client.wait_status(task_id, "STOPPED")
    finally:
        other.stop()
