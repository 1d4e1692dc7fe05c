"""One Skiff stack per test module: registry, control plane and agent as separate processes."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from skiffapi.v1 import controlplane_pb2 as pb
from skiffharness.images import build_busybox_image, docker_cli
from tests.integration.harness import (Client, Component, context_for, docker_login,
                                       registry_args, start_agent, start_controlplane,
                                       start_identity_registry)


@dataclass
class Stack:
    etcd: str
    registry: Component
    registry_address: str
    controlplane: Component
    endpoint: str
    agents: list[Component]
    client: Client
    image: str  # busybox, pushed to the stack's registry
    base: Path  # logs and state
    controlplane_args: tuple[str, ...] = ()  # `controlplane serve` options (for a restart)

    @property
    def agent(self) -> Component:
        return self.agents[0]

    def start_agent(self, n: int) -> Component:
        """Start (again) agent number n, with its own state dir: a container instance."""
        return start_agent(self.endpoint, self.base / f"agent-{n}", self.base,
                           name=f"{self.client.cluster}-agent-{n}", cluster=self.client.cluster)

    def logs(self) -> str:
        return "\n".join(f"--- {c.name}\n{c.log()}" for c in [self.controlplane, *self.agents])


@pytest.fixture(scope="module")
def stack(etcd_endpoint, docker_engine, tmp_path_factory, request):
    base = tmp_path_factory.mktemp("stack")
    cluster = "e2e-" + request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")
    # The registry knows the control plane's users; agents pull with tokens it issues them.
    registry, registry_address, auth_file = start_identity_registry(base / "registry", base)
    controlplane, endpoint = start_controlplane(etcd_endpoint, base,
                                                extra=registry_args(registry_address, auth_file))
    client = Client(endpoint, cluster)
    client.api.CreateCluster(pb.CreateClusterRequest(cluster_name=cluster), timeout=10)
    image = f"{registry_address}/skiff-test/busybox:1"
    build_busybox_image(image)
    admin = context_for(endpoint)
    login = docker_login(base / "docker", registry_address, admin.user, admin.token)
    assert login.returncode == 0, login.stderr
    docker_cli("--config", str(base / "docker"), "push", image)
    docker_cli("rmi", image)  # the agents must pull it from the registry
    s = Stack(etcd_endpoint, registry, registry_address, controlplane, endpoint, [], client, image,
              base, registry_args(registry_address, auth_file))
    # A test module sets AGENTS = n for n container instances sharing the local Docker engine.
    s.agents = [s.start_agent(n) for n in range(1, getattr(request.module, "AGENTS", 1) + 1)]
    if s.agents:  # AGENTS = 0: the module starts its own
        client.wait_connected(count=len(s.agents))
    yield s
    # s.controlplane: a test may have replaced the one started here (a restart).
    for component in (*s.agents, s.controlplane, registry):
        component.stop()
    client.close()
    # Containers this stack's agent made (tasks that ended are left stopped, as in ECS).
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=skiff.cluster={cluster}"],
                         capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
