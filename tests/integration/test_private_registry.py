"""Private images: the registry wants credentials, and the agent is given them to pull."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from skiffapi.v1 import controlplane_pb2 as pb
from skiffharness.images import build_busybox_image, docker_cli
from tests.integration.harness import (SKIFF, Client, start_agent, start_controlplane,
                                       start_registry)

pytestmark = pytest.mark.integration


def add_user(auth_file, name: str, password: str, rights: str) -> None:
    subprocess.run([*SKIFF, "registry", "user-add", name, "--auth-file", str(auth_file),
                    "--allow", rights, "--password-stdin"], input=password, text=True, check=True,
                   capture_output=True)


def test_agent_pulls_a_private_image_with_its_credentials(etcd_endpoint, docker_engine, tmp_path):
    auth_file = tmp_path / "auth.json"
    add_user(auth_file, "pusher", "push-secret", "*=pull,push")
    add_user(auth_file, "agent", "pull-secret", "*=pull")
    registry, address = start_registry(tmp_path / "registry", tmp_path, "--auth-file", str(auth_file))
    controlplane, endpoint = start_controlplane(etcd_endpoint, tmp_path)
    creds = tmp_path / "agent-auth.json"
    creds.write_text(json.dumps({"auths": {address: {
        "auth": base64.b64encode(b"agent:pull-secret").decode()}}}))
    client = Client(endpoint, "private")
    agents = []
    try:
        image = f"{address}/team/private:1"
        build_busybox_image(image)
        # The pusher's login goes to a config dir of this test's own, never the user's.
        docker_config = str(tmp_path / "docker-config")
        login = subprocess.run(["docker", "--config", docker_config, "login", address, "-u",
                                "pusher", "--password-stdin"],
                               input="push-secret", text=True, capture_output=True)
        assert login.returncode == 0, login.stderr
        docker_cli("--config", docker_config, "push", image)
        docker_cli("rmi", image)

        client.api.CreateCluster(pb.CreateClusterRequest(cluster_name="private"), timeout=10)
        client.api.CreateCluster(pb.CreateClusterRequest(cluster_name="anonymous"), timeout=10)
        agents.append(start_agent(endpoint, tmp_path / "a1", tmp_path, "with-creds", "private",
                                  extra=("--registry-auth", str(creds))))
        agents.append(start_agent(endpoint, tmp_path / "a2", tmp_path, "without", "anonymous"))
        client.wait_connected()
        document = json.dumps({"family": "private-app", "containerDefinitions": [
            {"name": "main", "image": image, "memory": 16, "command": ["sleep", "600"],
             "linuxParameters": {"initProcessEnabled": True}}]})
        td = client.register(document)
        task = client.run(f"{td.family}:{td.revision}").tasks[0]
        client.wait_status(task.task_id, "RUNNING")
        client.stop(task.task_id)

        anonymous = Client(endpoint, "anonymous")
        anonymous.wait_connected()
        refused = anonymous.run(f"{td.family}:{td.revision}").tasks[0]
        stopped = anonymous.wait_status(refused.task_id, "STOPPED", timeout=60)
        assert stopped.stop_code == "TaskFailedToStart"
        assert "CannotPullContainerError" in stopped.stopped_reason
        anonymous.close()
    finally:
        for component in (*agents, controlplane, registry):
            component.stop()
        client.close()
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", "label=skiff.cluster=private"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
