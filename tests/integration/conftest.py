"""One Skiff stack per test module: registry, control plane and agent as separate processes."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import pytest

from skiff.images import build_busybox_image, docker_cli
from skiffapi.v1 import controlplane_pb2 as pb
from tests.integration.harness import (Client, Component, start_agent, start_controlplane,
                                       start_registry)


@dataclass
class Stack:
    etcd: str
    registry: Component
    registry_address: str
    controlplane: Component
    endpoint: str
    agent: Component
    client: Client
    image: str  # busybox, pushed to the stack's registry

    def logs(self) -> str:
        return "\n".join(f"--- {c.name}\n{c.log()}" for c in (self.controlplane, self.agent))


@pytest.fixture(scope="module")
def stack(etcd_endpoint, docker_engine, tmp_path_factory, request):
    base = tmp_path_factory.mktemp("stack")
    cluster = "e2e-" + request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")
    registry, registry_address = start_registry(base / "registry", base)
    controlplane, endpoint = start_controlplane(etcd_endpoint, base)
    client = Client(endpoint, cluster)
    client.api.CreateCluster(pb.CreateClusterRequest(cluster_name=cluster), timeout=10)
    agent = start_agent(endpoint, base / "agent", base, name=f"{cluster}-agent", cluster=cluster)
    image = f"{registry_address}/skiff-test/busybox:1"
    build_busybox_image(image)
    docker_cli("push", image)
    docker_cli("rmi", image)  # the agent must pull it from the registry
    client.wait_connected()
    s = Stack(etcd_endpoint, registry, registry_address, controlplane, endpoint, agent, client, image)
    yield s
    for component in (agent, controlplane, registry):
        component.stop()
    client.close()
    # Containers this stack's agent made (tasks that ended are left stopped, as in ECS).
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=skiff.cluster={cluster}"],
                         capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
