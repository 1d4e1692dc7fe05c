"""The registry knows the control plane's identities: `docker login` with a Skiff user's name and
token, rights from the role, anonymous pulls only from public repositories, agents pulling with
tokens the control plane issues, and a rotated token refused."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from registry.client import AdminClient
from skiffapi.v1 import controlplane_pb2 as pb
from skiffharness.images import build_busybox_image, docker_cli
from skiffharness.processes import wait_until
from tests.integration.harness import context_for, docker_login

pytestmark = pytest.mark.integration


def new_user(stack, role: str) -> tuple[str, str]:
    """(name, token) of a new Skiff user (the users of every test module share one etcd)."""
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    response = stack.client.api.CreateUser(pb.CreateUserRequest(name=name, role=role), timeout=10)
    return name, response.token


def docker(config: Path, *args: str) -> subprocess.CompletedProcess:
    return docker_cli("--config", str(config), *args, check=False)


def fresh_image(stack, repository: str) -> str:
    image = f"{stack.registry_address}/{repository}:{uuid.uuid4().hex[:8]}"
    docker_cli("tag", stack_image_local(stack), image)
    return image


def stack_image_local(stack) -> str:
    """A local busybox image to tag (the stack's own was removed so agents must pull it)."""
    tag = "skiff-identity-test/busybox:local"
    if docker_cli("image", "inspect", tag, check=False).returncode != 0:
        build_busybox_image(tag)
    return tag


def test_an_operator_logs_in_with_the_skiff_token_and_pushes_and_pulls(stack, tmp_path):
    name, token = new_user(stack, "operator")
    config = tmp_path / "docker"
    login = docker_login(config, stack.registry_address, name, token)
    assert login.returncode == 0, login.stderr
    image = fresh_image(stack, "team/operator-app")
    pushed = docker(config, "push", image)
    assert pushed.returncode == 0, pushed.stderr
    docker_cli("rmi", image)
    pulled = docker(config, "pull", image)
    assert pulled.returncode == 0, pulled.stderr
    docker_cli("rmi", image)


def test_a_viewer_pulls_but_may_not_push(stack, tmp_path):
    name, token = new_user(stack, "viewer")
    config = tmp_path / "docker"
    assert docker_login(config, stack.registry_address, name, token).returncode == 0
    assert docker(config, "pull", stack.image).returncode == 0
    docker_cli("rmi", stack.image)
    image = fresh_image(stack, "team/viewer-app")
    refused = docker(config, "push", image)
    assert refused.returncode != 0
    assert "denied" in refused.stderr.lower() or "unauthorized" in refused.stderr.lower()
    docker_cli("rmi", image)


def test_without_a_login_only_public_repositories_can_be_pulled(stack, tmp_path):
    nobody = tmp_path / "docker"
    nobody.mkdir()
    (nobody / "config.json").write_text("{}")
    image = fresh_image(stack, "open/app")
    refused = docker(nobody, "push", image)
    assert refused.returncode != 0
    assert docker(nobody, "pull", stack.image).returncode != 0

    admin = context_for(stack.endpoint)
    registry = AdminClient(f"http://{stack.registry_address}", admin.user, admin.token)
    registry.create_repository("open/app", public=True)
    config = tmp_path / "admin-docker"
    assert docker_login(config, stack.registry_address, admin.user, admin.token).returncode == 0
    assert docker(config, "push", image).returncode == 0
    docker_cli("rmi", image)
    pulled = docker(nobody, "pull", image)
    assert pulled.returncode == 0, pulled.stderr
    docker_cli("rmi", image)


def test_agents_pull_private_images_with_issued_credentials(stack):
    """The stack's image is private (nobody may pull it anonymously) and no agent was given a
    registry password: the control plane issues it a pull token."""
    assert docker_cli("image", "inspect", stack.image, check=False).returncode != 0
    td = stack.client.register(json.dumps({"family": "identity-pull", "containerDefinitions": [
        {"name": "main", "image": stack.image, "memory": 16, "command": ["sleep", "600"],
         "stopTimeout": 2}]}))
    task = stack.client.run(f"{td.family}:{td.revision}").tasks[0]
    stack.client.wait_status(task.task_id, "RUNNING")
    stack.client.stop(task.task_id)
    log = (stack.base / "controlplane.log").read_text(errors="replace")
    assert "registrytoken" not in log and "Bearer" not in log


def test_a_rotated_token_stops_working_at_the_registry(stack, tmp_path):
    name, token = new_user(stack, "operator")
    config = tmp_path / "docker"
    assert docker_login(config, stack.registry_address, name, token).returncode == 0
    rotated = stack.client.api.RotateUserToken(pb.RotateUserTokenRequest(name=name), timeout=10)

    def old_refused() -> bool:
        login = subprocess.run(["docker", "--config", str(tmp_path / "old"), "login",
                                stack.registry_address, "-u", name, "--password-stdin"],
                               input=token, text=True, capture_output=True)
        return login.returncode != 0

    wait_until(old_refused, 10, interval=0.5, message="the old token refused")
    image = fresh_image(stack, "team/rotated")
    # The login made with the old token is stale too (its stored password is the old token).
    assert docker(config, "push", image).returncode != 0
    assert docker_login(config, stack.registry_address, name, rotated.token).returncode == 0
    assert docker(config, "push", image).returncode == 0
    docker_cli("rmi", image)
