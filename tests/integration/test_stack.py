"""`skiff up` / `skiff down`: the single-machine stack, its supervisor, and its task containers.

Each test runs its own stack (etcd, registry, control plane, one agent, all supervised) in a
temporary state dir on free loopback ports.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from skiffharness.images import build_busybox_image, docker_cli
from skiffharness.processes import free_port, port_open, wait_until
from skiffharness.stack import Stack, StackError
from tests.integration.harness import Client, skiff

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(docker_engine, tmp_path, monkeypatch):
    # `skiff up` writes the `local` client context and logs Docker in: here, not in the user's
    # own configs.
    monkeypatch.setenv("SKIFF_CONFIG", str(tmp_path / "client.json"))
    s = Stack(tmp_path / "state", f"127.0.0.1:{free_port()}", registry_port=free_port(),
              docker_config=tmp_path / "docker")
    assert s.up(stop_timeout=2).docker_login == ""
    yield s
    s.down()


def pids(stack: Stack) -> dict[str, int]:
    return json.loads((stack.state_dir / "stack.json").read_text())["pids"]


def alive(pid: int) -> bool:
    """The process exists and is no zombie (the supervisor is this test's child)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def container_running(name: str) -> bool:
    out = docker_cli("inspect", "-f", "{{.State.Running}}", name, check=False)
    return out.stdout.strip() == "true"


def sleeper(stack: Stack, client: Client) -> str:
    """A task that runs until stopped, from an image in the stack's registry; its task id."""
    image = f"{stack.registry_address}/stack-test/busybox:1"
    build_busybox_image(image)
    docker_cli("--config", str(stack.docker_config), "push", image)  # `up` logged Docker in
    td = client.register(json.dumps({"family": "stack-sleeper", "containerDefinitions": [{
        "name": "main", "image": image, "memory": 32, "command": ["sleep", "3600"],
        "stopTimeout": 2}]}))
    response = client.run(f"{td.family}:{td.revision}")
    assert not response.failures, response.failures
    task_id = response.tasks[0].task_id
    client.wait_status(task_id, "RUNNING")
    return task_id


def test_up_leaves_the_cli_logged_in_as_the_first_admin(stack):
    whoami = skiff(stack.endpoint, "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.strip() == "admin (admin)"
    nodes = skiff(stack.endpoint, "node", "ls")
    assert nodes.returncode == 0 and "ACTIVE" in nodes.stdout, nodes.stderr


def test_down_stops_the_task_containers_unless_asked_to_keep_them(stack):
    client = Client(stack.endpoint, context=stack.admin_context())
    task_id = sleeper(stack, client)
    container = f"skiff-{task_id}-main"
    try:
        assert container_running(container)

        kept = skiff(stack.endpoint, "down", "--state-dir", str(stack.state_dir), "--keep-tasks")
        assert kept.returncode == 0, kept.stderr
        assert "stopped agent, controlplane, registry, etcd" in kept.stdout
        assert f"kept 1 task container(s) running: {container}" in kept.stdout
        assert container_running(container)
        assert not port_open("127.0.0.1", int(stack.endpoint.rsplit(":", 1)[1]))

        # The next `up` adopts the kept container: the same task is still RUNNING.
        stack.up(stop_timeout=2)
        assert client.wait_status(task_id, "RUNNING").task_id == task_id
        assert container_running(container)

        down = skiff(stack.endpoint, "down", "--state-dir", str(stack.state_dir))
        assert down.returncode == 0, down.stderr
        assert f"stopped 1 task container(s): {container}" in down.stdout
        assert not container_running(container)
    finally:
        client.close()
        docker_cli("rm", "-f", container, check=False)


def test_a_killed_component_is_restarted_and_up_starts_what_is_missing(stack):
    controlplane = pids(stack)["controlplane"]
    os.kill(controlplane, signal.SIGKILL)

    def back() -> bool:
        pid = pids(stack).get("controlplane")
        return pid not in (None, controlplane) and len(stack.connected_instances()) == 1

    wait_until(back, 60, interval=0.2, message="the control plane to be restarted")
    log = (stack.state_dir / "logs" / "controlplane.log").read_text()
    assert "controlplane was killed by SIGKILL; restarting it in 1s" in log

    # No supervisor and no registry: `up` starts both instead of refusing.
    supervisor = json.loads((stack.state_dir / "stack.json").read_text())["supervisor"]["pid"]
    os.kill(supervisor, signal.SIGKILL)
    wait_until(lambda: not alive(supervisor), 10, message="the supervisor to die")
    registry = pids(stack)["registry"]
    os.kill(registry, signal.SIGKILL)
    wait_until(lambda: not port_open("127.0.0.1", stack.registry_port), 10,
               message="the registry to be gone")

    result = skiff(stack.endpoint, "up", "--state-dir", str(stack.state_dir), "--detach")
    assert result.returncode == 0, result.stderr
    assert "started what was missing: registry, supervisor" in result.stdout
    assert port_open("127.0.0.1", stack.registry_port)
    assert pids(stack)["controlplane"] != controlplane

    with pytest.raises(StackError, match="already running"):
        stack.up(stop_timeout=2)
